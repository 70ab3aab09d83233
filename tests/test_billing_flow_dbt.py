"""`support-billing bill` end to end on the real dbt models and the real ingest: inbox CSVs
-> ingest -> dbt build -> quality gate -> exports -> finalization (R7, R12-R16).

Hand-computed scenario (SPEC section 7 style), billed for March and April 2026:
- A (policy subscription): remote_payroll 8 (S-A1) + pay_stubs 2 (S-A2) all year: tier total
  10, rate 10.00 -> 80.00 + 20.00 a month; implementation 1.50 h on 2026-03-20 -> 375.00.
- B (policy upfront): field_reports 2 (S-B1) from 2026-03-16: March 2 x 12.50 x 16/31 =
  12.90. Allotment ceil(2 x 10/12) + 2 extras = 4 from 2026-03-16. A billable ticket on
  2026-03-10 (B not active: overage, up front) and five from 2026-03-17 (4 covered, the
  fifth overage, up front): additional_incident_upfront 2 x 150.00 = 300.00.
- C: pay_stubs 2 (S-C1) -> 25.00; 3.00 implementation hours from prepaid block PB-C1 (10 h)
  -> a zero prepaid_hours_deduction line.
- D: no subscription; 2.00 training hours from block PB-D1 (5 h): only a deduction, so no
  invoice, and prepaid_2026-03.csv lists PB-D1 with a blank invoice number (R14).
- E: an `implementation` ticket without timesheet hours: in the quality report.
"""

from __future__ import annotations

import csv
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from support_billing.billing import flow as billing
from support_billing.exports import writers as exporters
from support_billing.storage.warehouse import ensure_home, open_warehouse

MARTS = Path(__file__).resolve().parents[1] / "dbt_project" / "models" / "marts"
NEEDED = ("invoices.sql", "invoice_lines.sql", "prepaid_deductions.sql", "fct_incidents.sql",
          "fct_invoice_lines_computed.sql", "fct_ticket_classification.sql")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not all((MARTS / n).exists() for n in NEEDED),
                       reason="the dbt marts of docs/contracts.md are not there yet"),
]
D = Decimal

FILES = {
    "customers.csv": """customer_id,customer_name,overage_policy,accounting_ref,email
A,Acme Builders,subscription,"Acme Builders, Inc.",ap@acme.test
B,Beta Paving,upfront,,
C,Cedar Roofing,,Cedar Roofing LLC,
D,Delta Drywall,subscription,,
E,Echo Electric,subscription,,
""",
    "subscriptions.csv": """subscription_id,customer_id,module,annual_incidents,start_date,end_date
S-A1,A,remote_payroll,8,2026-01-01,2026-12-31
S-A2,A,hh2 Pay Stubs,,2026-01-01,2026-12-31
S-B1,B,field_reports,2,2026-03-16,
S-C1,C,pay_stubs,2,2026-01-01,
S-E1,E,pay_stubs,2,2026-01-01,
""",
    "tickets.csv": """ticket_id,customer_id,opened_at,category,time_sensitive,status
T-B0,B,2026-03-10 09:00,sync_support,,closed
T-B1,B,2026-03-17 09:00,sync_support,,closed
T-B2,B,2026-03-18 09:00,admin_task,,closed
T-B3,B,2026-03-19 09:00,extended_help,,closed
T-B4,B,2026-03-20 09:00,sync_support,,closed
T-B5,B,2026-03-23 09:00,sync_support,,open
T-E1,E,2026-03-05 10:00,implementation,,closed
""",
    "timesheets.csv": """entry_id,customer_id,work_date,hours,activity,ticket_id,employee
TS-A1,A,2026-03-20,1.50,implementation,,kim
TS-C1,C,2026-03-10,3.00,implementation,,kim
TS-D1,D,2026-03-12,2.00,training,,lee
""",
    "prepaid_hours.csv": """block_id,customer_id,hours,purchased_on
PB-C1,C,10.00,2026-01-05
PB-D1,D,5.00,2026-02-01
""",
}


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of an export folder, statements/ included (section 5)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def billed(prefect_server, tmp_path_factory):
    """One home, March billed (the dbt build runs inside each bill)."""
    home = ensure_home(tmp_path_factory.mktemp("dbt_billing") / "home")
    for name, text in FILES.items():
        (home / "inbox" / name).write_text(text, encoding="utf-8")
    code = billing.cli_bill(home, "2026-03", False)
    return home, code


def test_march_is_billed_exactly(billed):
    home, code = billed
    assert code == 0
    folder = home / "exports" / "2026-03"
    invoices = read_csv(folder / "invoices.csv")
    assert [(i["invoice_number"], i["customer_id"], i["accounting_ref"], i["total"],
             i["line_count"], i["invoice_date"], i["due_date"]) for i in invoices] == [
        ("INV-202603-00001", "A", "Acme Builders, Inc.", "475.00", "3", "2026-03-31",
         "2026-04-30"),
        ("INV-202603-00002", "B", "Beta Paving", "312.90", "2", "2026-03-31", "2026-04-30"),
        ("INV-202603-00003", "C", "Cedar Roofing LLC", "25.00", "2", "2026-03-31",
         "2026-04-30"),
        ("INV-202603-00004", "E", "Echo Electric", "25.00", "1", "2026-03-31", "2026-04-30"),
    ]
    lines = read_csv(folder / "invoice_lines.csv")
    assert [(ln["invoice_number"], ln["line_number"], ln["line_type"], ln["quantity"],
             ln["unit_price"], ln["amount"], ln["rule"]) for ln in lines] == [
        ("INV-202603-00001", "1", "support_subscription", "8", "10.00", "80.00", "R7"),
        ("INV-202603-00001", "2", "support_subscription", "2", "10.00", "20.00", "R7"),
        ("INV-202603-00001", "3", "implementation_hours", "1.50", "250.00", "375.00", "R13"),
        ("INV-202603-00002", "1", "support_subscription", "2", "12.50", "12.90", "R7"),
        ("INV-202603-00002", "2", "additional_incident_upfront", "2", "150.00", "300.00",
         "R12"),
        ("INV-202603-00003", "1", "support_subscription", "2", "12.50", "25.00", "R7"),
        ("INV-202603-00003", "2", "prepaid_hours_deduction", "3.00", "0.00", "0.00", "R13"),
        ("INV-202603-00004", "1", "support_subscription", "2", "12.50", "25.00", "R7"),
    ]
    assert read_csv(home / "reports" / "prepaid_2026-03.csv") == [
        {"period": "2026-03", "customer_id": "C", "block_id": "PB-C1", "hours_taken": "3.00",
         "hours_left": "7.00", "invoice_number": "INV-202603-00003"},
        {"period": "2026-03", "customer_id": "D", "block_id": "PB-D1", "hours_taken": "2.00",
         "hours_left": "3.00", "invoice_number": ""},
    ]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert (manifest["invoice_count"], manifest["grand_total"], manifest["quality_gate"]) == (
        4, "837.90",
        {"success": True, "suites": ["invoices", "invoice_lines", "incident_reconciliation",
                                     "statement_totals", "statement_incidents"]})
    report = json.loads((home / "reports" / "quality_2026-03.json").read_text())
    assert report["success"] is True
    assert [t["ticket_id"] for t in report["findings"]["hourly_work_without_hours"]] == ["T-E1"]
    with open_warehouse(home) as con:
        assert con.execute("select period, invoice_count, grand_total "
                           "from billing.finalized_months").fetchall() == [
            ("2026-03", 4, D("837.90"))]
        assert con.execute("select count(*) from billing.finalized_invoice_lines "
                           "where period = '2026-03'").fetchone()[0] == 8
        assert con.execute("select customer_id, overage_policy from billing.finalized_policies "
                           "order by customer_id").fetchall() == [
            ("A", "subscription"), ("B", "upfront"), ("C", "subscription"),
            ("D", "subscription"), ("E", "subscription")]


def test_accounting_totals_match_invoices(billed):
    home, _ = billed
    folder = home / "exports" / "2026-03"
    totals = {i["invoice_number"]: D(i["total"]) for i in read_csv(folder / "invoices.csv")}
    qbo: dict[str, Decimal] = {}
    for r in read_csv(folder / "quickbooks_invoices.csv"):
        qbo[r["InvoiceNo"]] = qbo.get(r["InvoiceNo"], D(0)) + D(r["ItemAmount"])
    xero: dict[str, Decimal] = {}
    for r in read_csv(folder / "xero_invoices.csv"):
        xero[r["InvoiceNumber"]] = xero.get(r["InvoiceNumber"], D(0)) + (
            D(r["Quantity"]) * D(r["UnitAmount"]))
    assert qbo == totals == xero


def test_rebill_then_correction_carried_into_april(billed, tmp_path, capsys):
    home, _ = billed
    folder = home / "exports" / "2026-03"
    before = snapshot(folder)
    # a corrected timesheet: TS-A1 was 2.00 hours, not 1.50 (R-IN4 upsert)
    (home / "inbox" / "timesheets_fix.csv").write_text(
        "entry_id,customer_id,work_date,hours,activity\nTS-A1,A,2026-03-20,2.00,implementation\n",
        encoding="utf-8")
    capsys.readouterr()
    assert billing.cli_bill(home, "2026-03", False) == 0
    out = capsys.readouterr().out
    assert "A implementation_hours: finalized 375.00, recomputed 500.00, difference 125.00" in out
    assert snapshot(folder) == before

    assert billing.cli_bill(home, "2026-04", False) == 0
    april = read_csv(home / "exports" / "2026-04" / "invoice_lines.csv")
    assert [(ln["invoice_number"], ln["line_number"], ln["line_type"], ln["quantity"],
             ln["unit_price"], ln["amount"], ln["source_ref"]) for ln in april
            if ln["customer_id"] == "A"] == [
        ("INV-202604-00001", "1", "support_subscription", "8", "10.00", "80.00", "S-A1"),
        ("INV-202604-00001", "2", "support_subscription", "2", "10.00", "20.00", "S-A2"),
        ("INV-202604-00001", "3", "prior_period_adjustment", "1", "125.00", "125.00",
         "2026-03:INV-202603-00001:implementation_hours"),
    ]
    with open_warehouse(home) as con:
        assert con.execute(
            "select invoice_number, adjusts_period, adjusts_line_type, amount "
            "from billing.finalized_invoice_lines where line_type = 'prior_period_adjustment'"
        ).fetchall() == [("INV-202604-00001", "2026-03", "implementation_hours", D("125.00"))]


def test_same_inputs_give_byte_identical_files(billed, tmp_path):
    home, _ = billed
    other = ensure_home(tmp_path / "again")
    for name, text in FILES.items():
        (other / "inbox" / name).write_text(text, encoding="utf-8")
    assert billing.cli_bill(other, "2026-03", True) == 0
    a = home / "exports" / "2026-03"
    b = other / "exports" / "_preview" / "2026-03"
    assert snapshot(a) == snapshot(b)
    assert not (other / "exports" / "2026-03").exists()
    with open_warehouse(other) as con:
        assert con.execute("select count(*) from billing.finalized_months").fetchone()[0] == 0
    shutil.rmtree(other)


def test_gate_fails_on_a_tampered_price_book(prefect_server, tmp_path, monkeypatch, capsys):
    """A corrupted price in force between build and gate (int_calendar_months, where the
    gate reads it, section 4): exit 1, nothing exported, report saved."""
    from support_billing.storage import dbt_runner

    home = ensure_home(tmp_path / "tampered")
    for name, text in FILES.items():
        (home / "inbox" / name).write_text(text, encoding="utf-8")
    real = dbt_runner.build

    def build_then_tamper(h, **kwargs):
        res = real(h, **kwargs)
        with open_warehouse(h) as con:
            con.execute("update main.int_calendar_months set hourly_price = 260.00")
        return res

    monkeypatch.setattr(dbt_runner, "build", build_then_tamper)
    assert billing.cli_bill(home, "2026-03", False) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: quality gate failed for 2026-03: ")
    assert "unit prices are price-book prices in force" in err[-1]
    assert not (home / "exports" / "2026-03").exists()
    assert json.loads((home / "reports" / "quality_2026-03.json").read_text())["success"] is False
    with open_warehouse(home) as con:
        assert con.execute("select count(*) from billing.finalized_months").fetchone()[0] == 0


def test_export_file_set(billed):
    home, _ = billed
    assert sorted(p.name for p in (home / "exports" / "2026-03").iterdir()) == sorted(
        [*exporters.EXPORT_FILES, exporters.MANIFEST, "statements"])


def test_preview_of_a_later_month(billed, tmp_path):
    """R16: a month after the current one may be previewed (the marts hold every month of
    the calendar, to December of next year): the open-ended subscriptions of B, C and E are
    billed 2 x 12.50 = 25.00 each (R6, R7: whole month), A's ended on 2026-12-31."""
    from conftest import copy_home
    from support_billing import periods

    home = copy_home(billed[0], tmp_path / "home")
    later = max(periods.shift_period(periods.current_period(), 2), "2027-01")
    assert billing.cli_bill(home, later, True) == 0
    folder = home / "exports" / "_preview" / later
    invoices = read_csv(folder / "invoices.csv")
    assert [(i["customer_id"], i["total"], i["line_count"]) for i in invoices] == [
        ("B", "25.00", "1"), ("C", "25.00", "1"), ("E", "25.00", "1")]
    lines = read_csv(folder / "invoice_lines.csv")
    assert {(ln["line_type"], ln["quantity"], ln["unit_price"], ln["amount"])
            for ln in lines} == {("support_subscription", "2", "12.50", "25.00")}
