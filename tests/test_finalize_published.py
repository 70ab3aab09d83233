"""R15a: a month is recorded from its published folder as it stands (finalize.py), and the
ledger copy of it (R19) restores the same rows."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from support_billing.billing import finalize
from support_billing.exports import writers as exporters
from support_billing.storage import ledger
from support_billing.storage.warehouse import init_warehouse

D = Decimal

INVOICES = [
    ["INV-202606-00001", "invoice", "K", "Kilo Co", "Kilo Co", "2026-06", "2026-06-30",
     "2026-07-30", "USD", "275.00", "2"],
    ["CN-202606-00001", "credit_note", "L", "Lima, \"Co\"", "Lima Co", "2026-06",
     "2026-06-30", "2026-07-30", "USD", "-10.00", "2"],
]
LINES = [
    ["INV-202606-00001", "1", "K", "support_subscription", "pay stubs", "2", "12.50", "25.00",
     "S-K1", "R7"],
    ["INV-202606-00001", "2", "K", "prior_period_adjustment", "Adjustment\nfor May", "1",
     "250.00", "250.00", "2026-05:INV-202605-00001:training_hours", "R15"],
    ["CN-202606-00001", "1", "L", "support_subscription", "pay stubs", "2", "12.50", "25.00",
     "S-L1", "R7"],
    ["CN-202606-00001", "2", "L", "prior_period_adjustment", "Adjustment", "1", "-35.00",
     "-35.00", "2026-04::implementation_hours", "R15"],
]


def publish(folder: Path) -> Path:
    folder.mkdir(parents=True)
    files = []
    for name, header, rows in (("invoices.csv", exporters.INVOICES_HEADER, INVOICES),
                               ("invoice_lines.csv", exporters.LINES_HEADER, LINES)):
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")  # RFC 4180, as the exporters write
        writer.writerows([header, *rows])
        data = buf.getvalue().encode("utf-8")
        (folder / name).write_bytes(data)
        files.append({"name": name, "rows": len(rows),
                      "sha256": hashlib.sha256(data).hexdigest()})
    (folder / "manifest.json").write_text(json.dumps(
        {"period": "2026-06", "document_count": 2, "grand_total": "265.00", "files": files}))
    return folder


@pytest.fixture
def con():
    c = duckdb.connect(":memory:")
    init_warehouse(c)
    c.execute("insert into raw.customers values ('K', 'Kilo Co', 'subscription', 'Kilo Co', "
              "null, 'customers.csv', 2, 1), ('L', 'Lima Co', 'upfront', 'Lima Co', null, "
              "'customers.csv', 3, 1)")
    yield c
    c.close()


def test_the_published_folder_is_recorded_as_it_stands(con, tmp_path):
    folder = publish(tmp_path / "exports" / "2026-06")
    assert finalize.published_unfinalized(con, tmp_path / "exports") == [("2026-06", folder)]
    res = finalize.finalize_published(con, "2026-06", folder)
    assert (res.invoice_count, res.grand_total, res.already) == (2, D("265.00"), False)
    assert con.execute(
        "select invoice_number, document_type, customer_name, total, line_count "
        "from billing.finalized_invoices order by customer_id").fetchall() == [
        ("INV-202606-00001", "invoice", "Kilo Co", D("275.00"), 2),
        ("CN-202606-00001", "credit_note", 'Lima, "Co"', D("-10.00"), 2)]
    assert con.execute(
        "select invoice_number, line_number, description, amount, adjusts_period, "
        "adjusts_line_type from billing.finalized_invoice_lines "
        "where line_type = 'prior_period_adjustment' order by 1").fetchall() == [
        ("CN-202606-00001", 2, "Adjustment", D("-35.00"), "2026-04", "implementation_hours"),
        ("INV-202606-00001", 2, "Adjustment\nfor May", D("250.00"), "2026-05",
         "training_hours")]
    assert con.execute("select customer_id, overage_policy from billing.finalized_policies "
                       "order by 1").fetchall() == [("K", "subscription"), ("L", "upfront")]
    assert finalize.published_unfinalized(con, tmp_path / "exports") == []
    again = finalize.finalize_published(con, "2026-06", folder)  # idempotent
    assert again.already and con.execute(
        "select count(*) from billing.finalized_invoices").fetchone()[0] == 2

    # R19: the ledger copy restores exactly these rows into a fresh warehouse
    ledger.write_month(con, tmp_path, "2026-06")
    fresh = duckdb.connect(":memory:")
    init_warehouse(fresh)
    ledger.restore(fresh, tmp_path)
    for table in ("finalized_months", "finalized_invoices", "finalized_invoice_lines",
                  "finalized_policies"):
        q = f"select * from billing.{table} order by all"
        assert fresh.execute(q).fetchall() == con.execute(q).fetchall(), table


def test_a_folder_that_does_not_match_its_manifest_records_nothing(con, tmp_path):
    folder = publish(tmp_path / "2026-06")
    data = (folder / "invoices.csv").read_bytes().replace(b"275.00", b"276.00")
    (folder / "invoices.csv").write_bytes(data)
    with pytest.raises(finalize.PublishedFolderError, match="does not match its manifest"):
        finalize.finalize_published(con, "2026-06", folder)
    assert con.execute("select count(*) from billing.finalized_invoices").fetchone()[0] == 0


def test_a_manifest_total_that_differs_records_nothing(con, tmp_path):
    folder = publish(tmp_path / "2026-06")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["grand_total"] = "265.01"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(finalize.PublishedFolderError, match="nothing finalized"):
        finalize.finalize_published(con, "2026-06", folder)
    for table in ("finalized_months", "finalized_invoices", "finalized_invoice_lines",
                  "finalized_policies"):
        assert con.execute(f"select count(*) from billing.{table}").fetchone()[0] == 0


def test_a_ledger_month_the_warehouse_lost_is_refused(con, tmp_path):
    folder = publish(tmp_path / "2026-06")
    finalize.finalize_published(con, "2026-06", folder)
    ledger.sync(con, tmp_path)
    assert (tmp_path / "ledger" / "months" / "2026-06.jsonl").is_file()
    empty = duckdb.connect(":memory:")
    init_warehouse(empty)
    empty.execute("create table raw_dummy as select 1")
    with pytest.raises(ledger.LedgerError, match="run 'support-billing rebuild'"):
        ledger.sync(empty, tmp_path)


def test_carried_differences_read_the_r15_adjustments_of_the_next_month(con):
    """R15: what billing a finalized month again reports is int_prior_period_adjustments'
    lines for the month after the last finalized one (the rule's one definition), beside
    the recomputed amount and recomputed - d as finalized; lines of other months and
    other finalized months are not this month's differences."""
    from helpers import add_models

    con.execute("insert into billing.finalized_months values "
                "('2026-05', now(), 1, 0, null), ('2026-06', now(), 1, 0, null)")
    con.execute("""create table main.fct_invoice_lines_computed as
        select * from (values
            ('2026-05', 'K', 'support_subscription', 100.00::decimal(18, 2)),
            ('2026-05', 'K', 'support_subscription', 25.00::decimal(18, 2)),
            ('2026-05', 'K', 'training_hours', 40.00::decimal(18, 2)),
            ('2026-06', 'L', 'support_subscription', 60.00::decimal(18, 2))
        ) as t (period, customer_id, line_type, amount)""")
    con.execute("""create table main.int_prior_period_adjustments as
        select * from (values
            ('2026-07', 'K', '2026-05', 'support_subscription', 35.00::decimal(18, 2)),
            ('2026-07', 'K', '2026-05', 'implementation_hours', -250.00::decimal(18, 2)),
            ('2026-07', 'L', '2026-06', 'support_subscription', -5.00::decimal(18, 2)),
            ('2026-08', 'K', '2026-05', 'training_hours', 40.00::decimal(18, 2))
        ) as t (period, customer_id, adjusts_period, adjusts_line_type, amount)""")
    add_models(con, "marts", ("prior_period_differences",))
    assert [(d.customer_id, d.line_type, d.recomputed, d.finalized, d.amount)
            for d in finalize.carried_differences(con, "2026-05")] == [
        ("K", "implementation_hours", Decimal("0.00"), Decimal("250.00"), Decimal("-250.00")),
        ("K", "support_subscription", Decimal("125.00"), Decimal("90.00"), Decimal("35.00")),
    ]
    assert [d.amount for d in finalize.carried_differences(con, "2026-06")] == [Decimal("-5.00")]
    assert finalize.carried_differences(con, "2026-04") == []


def test_the_adjustment_line_type_comes_from_the_seed():
    """R15's line type is the line_types seed's row with rule R15; a published line of that
    type is read as an adjustment (source_ref M:<invoice>:T), any other as none."""
    from helpers import LINE_TYPES

    types = finalize.adjustment_line_types()
    assert types == {r["line_type"] for r in LINE_TYPES if r["rule"] == "R15"}
    assert types == {"prior_period_adjustment"}
    ref = "2026-05:INV-202605-00001:training_hours"
    assert finalize._adjusts({"line_type": "prior_period_adjustment", "source_ref": ref},
                             types) == ("2026-05", "training_hours")
    assert finalize._adjusts({"line_type": "training_hours", "source_ref": ref},
                             types) == (None, None)
