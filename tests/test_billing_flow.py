"""The monthly billing flow end to end (R14-R16, section 5 and 6) on the real ingest and the
real dbt models: gate, atomic publication, finalization, preview, ordering, lock.

The scenario is hand-computed in tests/flow_scenario.py. ``flow_template`` (conftest.py)
ingests and builds it once per session; each test bills a copy of that home
(``billing_home``), so `bill` runs its real ingest and dbt build, which find the models
current for May and rebuild what another month or a new export needs.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import json
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from conftest import copy_home
from flow_scenario import add_timesheet
from support_billing import periods
from support_billing.billing import finalize
from support_billing.billing import flow as billing
from support_billing.exports import writers as exporters
from support_billing.storage import dbt_runner
from support_billing.storage.warehouse import open_warehouse

D = Decimal


@pytest.fixture
def after_build(monkeypatch) -> list:
    """Hooks ``hook(con)`` run right after the real dbt build of each `bill`: a defect
    seeded between build and gate (the marts hold every month; the gate reads one)."""
    hooks: list = []
    real = dbt_runner.build

    def build_then_hooks(home, **kwargs):
        result = real(home, **kwargs)
        with open_warehouse(home) as con:
            for hook in hooks:
                hook(con)
        return result

    monkeypatch.setattr(dbt_runner, "build", build_then_hooks)
    return hooks


def bill(home, period, preview=False) -> int:
    return billing.cli_bill(home, period, preview)


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def finalized_count(home: Path) -> tuple[int, int, int, int]:
    with open_warehouse(home) as con:
        return tuple(con.execute(f"select count(*) from billing.{t}").fetchone()[0] for t in
                     ("finalized_months", "finalized_invoices", "finalized_invoice_lines",
                      "finalized_policies"))


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of an export folder, statements/ included (section 5)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- tests
def test_bill_publishes_exports_and_finalizes(billing_home, capsys):
    home = billing_home
    assert bill(home, "2026-05") == 0
    out = capsys.readouterr().out
    for stage in ("ingest", "build", "gate", "export", "finalize"):
        assert f"{stage} done in" in out
    assert "invoices: 3   credit notes: 0   total billed: 662.90 USD" in out
    assert "rejected rows waiting: 1   rows held: 1" in out
    assert "hours billed: 1.50" in out

    folder = home / "exports" / "2026-05"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [*exporters.EXPORT_FILES, "manifest.json", "statements"])
    assert not list((home / "exports").glob(".tmp-*"))
    invoices = read_csv(folder / "invoices.csv")
    assert [(i["invoice_number"], i["customer_id"], i["total"], i["line_count"])
            for i in invoices] == [
        ("INV-202605-00001", "A", "475.00", "4"),
        ("INV-202605-00002", "B", "162.90", "2"),
        ("INV-202605-00003", "E", "25.00", "1"),
    ]
    assert invoices[0] == {
        "invoice_number": "INV-202605-00001", "document_type": "invoice", "customer_id": "A",
        "customer_name": "Acme Builders", "accounting_ref": "Acme Builders, Inc.",
        "period": "2026-05", "invoice_date": "2026-05-31", "due_date": "2026-06-30",
        "currency": "USD", "total": "475.00", "line_count": "4"}
    lines = read_csv(folder / "invoice_lines.csv")
    assert [(ln["invoice_number"], ln["line_number"], ln["line_type"], ln["quantity"],
             ln["unit_price"], ln["amount"], ln["source_ref"], ln["rule"]) for ln in lines] == [
        ("INV-202605-00001", "1", "support_subscription", "8", "10.00", "80.00", "S-A1", "R7"),
        ("INV-202605-00001", "2", "support_subscription", "2", "10.00", "20.00", "S-A2", "R7"),
        ("INV-202605-00001", "3", "implementation_hours", "1.50", "250.00", "375.00", "TS-A1",
         "R13"),
        ("INV-202605-00001", "4", "prepaid_hours_deduction", "2.00", "0.00", "0.00", "PB-A1",
         "R13"),
        ("INV-202605-00002", "1", "support_subscription", "2", "12.50", "12.90", "S-B1", "R7"),
        ("INV-202605-00002", "2", "additional_incident_upfront", "1", "150.00", "150.00",
         "T-B9", "R12"),
        ("INV-202605-00003", "1", "support_subscription", "2", "12.50", "25.00", "S-E1", "R7"),
    ]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["period"] == "2026-05"
    assert manifest["invoice_count"] == 3 and manifest["credit_note_count"] == 0
    assert manifest["first_invoice_number"] == "INV-202605-00001"
    assert manifest["last_invoice_number"] == "INV-202605-00003"
    assert manifest["grand_total"] == "662.90"
    assert manifest["quality_gate"] == {
        "success": True, "suites": ["invoices", "invoice_lines", "incident_reconciliation",
                                    "statement_totals", "statement_incidents"]}
    for entry in manifest["files"]:
        data = (folder / entry["name"]).read_bytes()
        assert (entry["rows"] == data.count(b"\n") - 1 or entry["name"] == "invoice_lines.csv"
                or entry["name"].startswith("statements/"))
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    # a statement's rows: the invoice lines it shows (section 5, docs/decisions.md)
    assert {e["name"]: e["rows"] for e in manifest["files"]} == {
        "invoices.csv": 3, "invoice_lines.csv": 7, "quickbooks_invoices.csv": 6,
        "quickbooks_credit_memos.csv": 0, "xero_invoices.csv": 6, "xero_credit_notes.csv": 0,
        "statements/INV-202605-00001.html": 4, "statements/INV-202605-00002.html": 2,
        "statements/INV-202605-00003.html": 1}

    # R14: every block deduction listed, blank invoice where none was issued
    assert read_csv(home / "reports" / "prepaid_2026-05.csv") == [
        {"period": "2026-05", "customer_id": "A", "block_id": "PB-A1", "hours_taken": "2.00",
         "hours_left": "8.00", "invoice_number": "INV-202605-00001"},
        {"period": "2026-05", "customer_id": "C", "block_id": "PB-C1", "hours_taken": "3.00",
         "hours_left": "0.00", "invoice_number": ""},
    ]
    report = json.loads((home / "reports" / "quality_2026-05.json").read_text())
    assert report["success"] is True
    assert [t["ticket_id"] for t in report["findings"]["hourly_work_without_hours"]] == ["T-A7"]
    assert [h["row_key"] for h in report["findings"]["held_rows"]] == ["T-Z1"]

    assert finalized_count(home) == (1, 3, 7, 4)
    with open_warehouse(home) as con:
        assert con.execute("select invoice_count, grand_total from billing.finalized_months"
                           ).fetchone() == (3, D("662.90"))


def test_accounting_files_parse_back_with_totals(billing_home):
    home = billing_home
    assert bill(home, "2026-05") == 0
    folder = home / "exports" / "2026-05"
    totals = {i["invoice_number"]: D(i["total"]) for i in read_csv(folder / "invoices.csv")}
    qbo = read_csv(folder / "quickbooks_invoices.csv")
    assert list(qbo[0]) == exporters.QBO_INVOICE_HEADER
    assert {r["InvoiceDate"] for r in qbo} == {"05/31/2026"}
    assert {r["DueDate"] for r in qbo} == {"06/30/2026"}
    assert {r["Terms"] for r in qbo} == {"Net 30"}
    assert qbo[0]["Customer"] == "Acme Builders, Inc."
    qbo_totals: dict[str, Decimal] = {}
    for r in qbo:
        assert D(r["ItemQuantity"]) * D(r["ItemRate"]) == D(r["ItemAmount"])
        qbo_totals[r["InvoiceNo"]] = qbo_totals.get(r["InvoiceNo"], D(0)) + D(r["ItemAmount"])
    assert qbo_totals == totals
    prorated = [r for r in qbo if r["InvoiceNo"] == "INV-202605-00002"][0]
    assert (prorated["ItemQuantity"], prorated["ItemRate"], prorated["ItemAmount"]) == (
        "1", "12.90", "12.90")
    assert "prorated: 2 x 12.50 = 25.00" in prorated["ItemDescription"]

    xero = read_csv(folder / "xero_invoices.csv")
    assert list(xero[0]) == exporters.XERO_INVOICE_HEADER
    # section 8: a US organisation reads MM/DD/YYYY in Xero too; US default chart and rate
    assert {r["InvoiceDate"] for r in xero} == {"05/31/2026"}
    assert {r["DueDate"] for r in xero} == {"06/30/2026"}
    assert {(r["AccountCode"], r["TaxType"], r["Currency"]) for r in xero} == {
        ("400", "Tax Exempt", "USD")}
    xero_totals: dict[str, Decimal] = {}
    for r in xero:
        xero_totals[r["InvoiceNumber"]] = xero_totals.get(r["InvoiceNumber"], D(0)) + (
            D(r["Quantity"]) * D(r["UnitAmount"]))
    assert xero_totals == totals
    assert "PB-A1" not in (folder / "xero_invoices.csv").read_text()  # zero line left out


def test_rerun_is_byte_identical_and_changes_nothing(billing_home, flow_template, tmp_path,
                                                      capsys):
    home = billing_home
    assert bill(home, "2026-05") == 0
    first = snapshot(home / "exports" / "2026-05")
    counts = finalized_count(home)
    capsys.readouterr()
    # billing a finalized month again: exit 0, nothing changes, differences reported (none)
    assert bill(home, "2026-05") == 0
    out = capsys.readouterr().out
    assert "already finalized" in out and "nothing to carry forward" in out
    assert snapshot(home / "exports" / "2026-05") == first
    assert finalized_count(home) == counts

    # the same inputs in another home give byte-identical files (no home path, no run time)
    other = copy_home(flow_template, tmp_path / "other")
    assert bill(other, "2026-05") == 0
    assert snapshot(other / "exports" / "2026-05") == first


def test_gate_failure_exports_nothing(billing_home, after_build, capsys):
    home = billing_home

    def tamper(con):
        con.execute("update main.invoice_lines set amount = 21.00 "
                    "where source_ref = 'S-A2'")

    after_build.append(tamper)
    assert bill(home, "2026-05") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: quality gate failed for 2026-05: ")
    assert "invoices: invoice total = sum of its lines (1 rows)" in err[0]
    assert "amount = quantity x unit price" in err[0]
    assert not (home / "exports" / "2026-05").exists()
    assert not list((home / "exports").glob(".tmp-*"))
    assert not (home / "reports" / "prepaid_2026-05.csv").exists()
    report = json.loads((home / "reports" / "quality_2026-05.json").read_text())
    assert report["success"] is False
    failing = {c["check"]: c for s in report["suites"] for c in s["checks"] if not c["success"]}
    assert failing["invoice total = sum of its lines"]["unexpected_rows"] == ["INV-202605-00001"]
    assert "FAIL invoice total = sum of its lines" in (
        home / "reports" / "quality_2026-05.md").read_text()
    assert finalized_count(home) == (0, 0, 0, 0)


def test_corrupted_price_fails_the_gate(billing_home, after_build, capsys):
    def corrupt(con):
        con.execute("update main.invoice_lines set unit_price = 200.00, amount = 300.00 "
                    "where line_type = 'implementation_hours'")
        con.execute("update main.invoices set total = 400.00 where customer_id = 'A'")

    after_build.append(corrupt)
    assert bill(billing_home, "2026-05") == 1
    err = capsys.readouterr().err
    assert "unit prices are price-book prices in force" in err
    assert not (billing_home / "exports" / "2026-05").exists()


def test_crash_mid_export_leaves_no_partial_folder(billing_home, monkeypatch, capsys):
    home = billing_home
    real = exporters._write_csv
    calls = []

    def dying(folder, name, header, rows):
        calls.append(name)
        if len(calls) == 3:
            raise OSError("disk unplugged")
        return real(folder, name, header, rows)

    monkeypatch.setattr(exporters, "_write_csv", dying)
    assert bill(home, "2026-05") == 1
    assert "disk unplugged" in capsys.readouterr().err
    assert not (home / "exports" / "2026-05").exists()
    assert [p.name for p in (home / "exports").iterdir()] == []
    assert finalized_count(home) == (0, 0, 0, 0)

    # a stale temp folder from a killed process is cleaned by the next run
    stale = home / "exports" / ".tmp-2026-05-999999"
    stale.mkdir()
    (stale / "invoices.csv").write_text("partial")
    monkeypatch.setattr(exporters, "_write_csv", real)
    assert bill(home, "2026-05") == 0
    assert not stale.exists()
    assert sorted(p.name for p in (home / "exports").iterdir()) == ["2026-05"]
    assert finalized_count(home)[0] == 1


@pytest.mark.slow  # several real bills (ingest, dbt build, gate, export) in one test
def test_crash_between_publication_and_finalization(billing_home, monkeypatch, capsys):
    """R15a: the next run records the published folder as it stands."""
    home = billing_home

    def dying(*args, **kwargs):
        raise RuntimeError("killed before commit")

    monkeypatch.setattr(finalize, "finalize_published", dying)
    assert bill(home, "2026-05") == 1
    published = snapshot(home / "exports" / "2026-05")
    assert finalized_count(home) == (0, 0, 0, 0)
    capsys.readouterr()

    monkeypatch.undo()
    assert bill(home, "2026-05") == 0
    out = capsys.readouterr().out
    assert ("2026-05 was published by an earlier run that stopped before recording it; "
            "recorded as published (R15a: published is final)") in out
    assert "2026-05 was already finalized: nothing changed." in out
    assert snapshot(home / "exports" / "2026-05") == published
    assert finalized_count(home) == (1, 3, 7, 4)
    assert (home / "ledger" / "months" / "2026-05.jsonl").is_file()


@pytest.mark.slow  # several real bills (ingest, dbt build, gate, export) in one test
def test_preview_consumes_nothing_and_writes_only_under_preview(billing_home, capsys):
    home = billing_home
    current = periods.current_period()
    assert bill(home, current, preview=True) == 0
    assert bill(home, "2026-05", preview=True) == 0
    assert sorted(p.name for p in (home / "exports").iterdir()) == ["_preview"]
    assert sorted(p.name for p in (home / "exports" / "_preview").iterdir()) == sorted(
        {current, "2026-05"})
    # R18: ingest rewrites reports/rejected_rows.csv; the rest stays under _preview
    assert sorted(p.name for p in (home / "reports").iterdir()) == [
        "_preview", "rejected_rows.csv"]
    assert (home / "reports" / "_preview" / "prepaid_2026-05.csv").exists()
    assert finalized_count(home) == (0, 0, 0, 0)
    preview = snapshot(home / "exports" / "_preview" / "2026-05")
    # previewing again replaces the preview; the real run uses the same numbers (none consumed)
    assert bill(home, "2026-05", preview=True) == 0
    assert snapshot(home / "exports" / "_preview" / "2026-05") == preview
    assert bill(home, "2026-05") == 0
    assert snapshot(home / "exports" / "2026-05") == preview


def test_unfinished_month_and_malformed_period_are_refused(home, capsys):
    current = periods.current_period()
    assert billing.cli_bill(home, current, False) == 1
    err = capsys.readouterr().err
    assert err.strip() == (f"error: {current} has not ended yet (America/Denver); bill it from "
                           "the 1st of the next month, or use --preview")
    assert billing.cli_bill(home, periods.shift_period(current, 3), False) == 1
    for bad in ("2026-5", "2026-13", "May 2026", "2026/05", ""):
        assert billing.cli_bill(home, bad, False) == 2
        assert "--period must be a month written YYYY-MM" in capsys.readouterr().err
    assert not (home / "warehouse.duckdb").exists()


@pytest.mark.slow  # several real bills (ingest, dbt build, gate, export) in one test
def test_months_are_billed_in_order(billing_home, capsys):
    home = billing_home
    assert bill(home, "2026-03") == 0
    capsys.readouterr()
    assert bill(home, "2026-05") == 1
    assert capsys.readouterr().err.strip() == (
        "error: cannot bill 2026-05: earlier month(s) 2026-04 not finalized yet; months are "
        "billed in order (R15), bill them first")
    assert not (home / "exports" / "2026-05").exists()
    assert bill(home, "2026-05", preview=True) == 0  # a preview may run at any time
    assert bill(home, "2026-04") == 0
    assert bill(home, "2026-05") == 0
    with open_warehouse(home) as con:
        assert finalize.finalized_periods(con) == ["2026-03", "2026-04", "2026-05"]


@pytest.mark.slow  # several real bills (ingest, dbt build, gate, export) in one test
def test_adjustments_credit_note_and_differences_of_a_finalized_month(
        billing_home, capsys):
    home = billing_home
    # E: 2.00 custom development hours in April (2.00 x 250.00 = 500.00, R13). April's
    # invoices: A 100.00 (INV-202604-00001), E 25.00 + 500.00 (INV-202604-00002).
    add_timesheet(home, "timesheets_april.csv",
                  "TS-E1,E,2026-04-14,2.00,custom_development,,lee")
    assert bill(home, "2026-04") == 0
    # the April dev hours turn out to be support work, not billed (R13): a later export
    # replaces the entry (R-IN4) and April recomputes 500.00 lower
    add_timesheet(home, "timesheets_april_fix.csv", "TS-E1,E,2026-04-14,2.00,support,,lee")
    capsys.readouterr()
    assert bill(home, "2026-04") == 0
    out = capsys.readouterr().out
    assert "1 difference(s) totalling -500.00 would be carried forward" in out
    assert ("E custom_development_hours: finalized 500.00, recomputed 0.00, difference -500.00"
            in out)

    assert bill(home, "2026-05") == 0
    folder = home / "exports" / "2026-05"
    invoices = read_csv(folder / "invoices.csv")
    assert [(i["invoice_number"], i["document_type"], i["customer_id"], i["total"])
            for i in invoices] == [
        ("INV-202605-00001", "invoice", "A", "475.00"),
        ("INV-202605-00002", "invoice", "B", "162.90"),
        ("CN-202605-00001", "credit_note", "E", "-475.00"),
    ]
    adj = [ln for ln in read_csv(folder / "invoice_lines.csv")
           if ln["line_type"] == "prior_period_adjustment"]
    assert adj == [{
        "invoice_number": "CN-202605-00001", "line_number": "2", "customer_id": "E",
        "line_type": "prior_period_adjustment", "description": "Adjustment for 2026-04 "
        "custom_development_hours (recomputed after late or corrected data)", "quantity": "1", "unit_price": "-500.00",
        "amount": "-500.00", "source_ref": "2026-04:INV-202604-00002:custom_development_hours",
        "rule": "R15"}]
    memos = read_csv(folder / "quickbooks_credit_memos.csv")
    assert list(memos[0]) == exporters.QBO_CREDIT_MEMO_HEADER
    assert [(m["CreditMemoNo"], m["CreditMemoDate"], m["ItemQuantity"], m["ItemRate"],
             m["ItemAmount"]) for m in memos] == [
        ("CN-202605-00001", "05/31/2026", "2", "-12.50", "-25.00"),
        ("CN-202605-00001", "05/31/2026", "1", "500.00", "500.00"),
    ]
    assert sum(D(m["ItemAmount"]) for m in memos) == D("475.00")
    notes = read_csv(folder / "xero_credit_notes.csv")
    assert list(notes[0]) == exporters.XERO_CREDIT_NOTE_HEADER
    # Xero: the sales template, the credit note's own negative total (docs/accounting.md)
    assert sum(D(n["Quantity"]) * D(n["UnitAmount"]) for n in notes) == D("-475.00")
    assert {n["InvoiceDate"] for n in notes} == {"05/31/2026"}
    assert "CN-202605-00001" not in (folder / "quickbooks_invoices.csv").read_text()
    with open_warehouse(home) as con:
        assert con.execute(
            "select adjusts_period, adjusts_line_type from billing.finalized_invoice_lines "
            "where line_type = 'prior_period_adjustment'").fetchall() == [
            ("2026-04", "custom_development_hours")]
    capsys.readouterr()
    assert bill(home, "2026-04") == 0  # the difference is now carried: nothing left
    out = capsys.readouterr().out
    assert "nothing to carry forward" in out
    # May carried an adjustment: this run builds what its report reads, and June's bill
    # the invoice marts (test_dbt_incremental.py)
    assert "rebuilt what prior_period_differences reads of: source:billing." in out


def test_a_second_run_fails_fast_while_the_lock_is_held(billing_home, capsys):
    with open(billing_home / ".bill.lock", "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert bill(billing_home, "2026-05") == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: another billing run is in progress")
    assert not (billing_home / "exports" / "2026-05").exists()
    assert bill(billing_home, "2026-05") == 0


def test_rounding_of_scenario_is_hand_computed():
    """The scenario's prorated line: 2 x 12.50 x 16/31 = 12.903... -> 12.90 (R7)."""
    assert (D(2) * D("12.50") * 16 / 31).quantize(D("0.01"), ROUND_HALF_UP) == D("12.90")
    assert date(2026, 5, 31) == periods.last_day("2026-05")


@pytest.mark.slow  # several real bills (ingest, dbt build, gate, export) in one test
def test_default_period_is_the_previous_month(billing_home, capsys):
    assert billing.cli_bill(billing_home, None, False) == 0
    previous = periods.previous_period()
    assert (billing_home / "exports" / previous / "manifest.json").exists()
    assert f"support-billing bill: {previous}" in capsys.readouterr().out


@pytest.mark.slow  # several real bills (ingest, dbt build, gate, export) in one test
def test_published_folder_that_no_longer_matches_is_final_and_adjusted_next_month(
        billing_home, monkeypatch, capsys):
    """R15a: a folder published by a run that died before finalizing is final as it
    stands; the inputs that changed since reach the next month as R15 adjustments."""
    home = billing_home
    monkeypatch.setattr(finalize, "finalize_published",
                        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("killed")))
    assert bill(home, "2026-05") == 1
    published = snapshot(home / "exports" / "2026-05")
    monkeypatch.undo()
    # the inputs changed since publication: 2.00 custom development hours of E in May
    add_timesheet(home, "timesheets_late.csv", "TS-E2,E,2026-05-20,2.00,custom_development,,lee")
    capsys.readouterr()
    assert bill(home, "2026-05") == 0
    out = capsys.readouterr().out
    assert "recorded as published (R15a: published is final)" in out
    assert "E custom_development_hours: finalized 0.00, recomputed 500.00, difference 500.00" in out
    assert snapshot(home / "exports" / "2026-05") == published
    assert finalized_count(home) == (1, 3, 7, 4)
    with open_warehouse(home) as con:  # what is final is the folder, not the recomputation
        assert con.execute("select invoice_number, total from billing.finalized_invoices "
                           "order by 1").fetchall() == [
            ("INV-202605-00001", D("475.00")), ("INV-202605-00002", D("162.90")),
            ("INV-202605-00003", D("25.00"))]
    assert not list((home / "exports").glob(".tmp-*"))

    assert bill(home, "2026-06") == 0
    lines = read_csv(home / "exports" / "2026-06" / "invoice_lines.csv")
    adjustments = [(ln["invoice_number"], ln["amount"], ln["source_ref"]) for ln in lines
                   if ln["line_type"] == "prior_period_adjustment"]
    assert adjustments == [
        ("INV-202606-00003", "500.00", "2026-05:INV-202605-00003:custom_development_hours")]
