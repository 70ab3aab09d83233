"""`bill` on the real ingest and dbt models: a correction of a finalized month that turns the
next invoice into a credit note (R14, R15), and a preview that consumes no numbers (R16).

Hand-computed:
- K (policy subscription): pay_stubs 2 all year, tier 2, rate 12.50 -> 25.00 a month;
  implementation 2.00 h on 2026-03-10 -> 500.00. March: INV-202603-00001, 525.00.
- L: pay_stubs 2 from 2026-01-01 -> 25.00 a month. March: INV-202603-00002, 25.00.
- A corrected timesheet says TS-K1 was 0.50 h (R-IN4 upsert): March recomputed 125.00, so
  d = 125.00 - 500.00 = -375.00 (R15). April for K: 25.00 - 375.00 = -350.00, a credit
  note CN-202604-00001 (R14); L's April invoice is INV-202604-00001 (separate sequences).
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from support_billing.billing import flow as billing
from support_billing.storage.warehouse import ensure_home, open_warehouse

pytestmark = pytest.mark.slow
D = Decimal

FILES = {
    "customers.csv": "customer_id,customer_name,overage_policy\nK,Kilo Co,subscription\n"
                     "L,Lima Co,upfront\n",
    "subscriptions.csv": "subscription_id,customer_id,module,annual_incidents,start_date\n"
                         "S-K1,K,pay_stubs,2,2026-01-01\nS-L1,L,pay_stubs,2,2026-01-01\n",
    "timesheets.csv": "entry_id,customer_id,work_date,hours,activity\n"
                      "TS-K1,K,2026-03-10,2.00,implementation\n",
}


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def march(prefect_server, tmp_path_factory) -> Path:
    home = ensure_home(tmp_path_factory.mktemp("credit_note") / "home")
    for name, text in FILES.items():
        (home / "inbox" / name).write_text(text, encoding="utf-8")
    assert billing.cli_bill(home, "2026-03", False) == 0
    return home


def test_march_invoices(march):
    rows = read_csv(march / "exports" / "2026-03" / "invoices.csv")
    assert [(r["invoice_number"], r["document_type"], r["customer_id"], r["total"])
            for r in rows] == [
        ("INV-202603-00001", "invoice", "K", "525.00"),
        ("INV-202603-00002", "invoice", "L", "25.00"),
    ]


def test_preview_then_correction_gives_a_credit_note(march):
    # R16: a preview of April finalizes nothing and consumes no numbers
    assert billing.cli_bill(march, "2026-04", True) == 0
    preview = read_csv(march / "exports" / "_preview" / "2026-04" / "invoices.csv")
    assert [(r["invoice_number"], r["customer_id"], r["total"]) for r in preview] == [
        ("INV-202604-00001", "K", "25.00"),
        ("INV-202604-00002", "L", "25.00"),
    ]
    assert not (march / "exports" / "2026-04").exists()
    with open_warehouse(march) as con:
        assert con.execute("select period from billing.finalized_months").fetchall() == [
            ("2026-03",)]

    # R15: the corrected hours of March reach April as a negative adjustment
    (march / "inbox" / "timesheets_fix.csv").write_text(
        "entry_id,customer_id,work_date,hours,activity\nTS-K1,K,2026-03-10,0.50,implementation\n",
        encoding="utf-8")
    assert billing.cli_bill(march, "2026-04", False) == 0
    folder = march / "exports" / "2026-04"
    invoices = read_csv(folder / "invoices.csv")
    assert [(r["invoice_number"], r["document_type"], r["customer_id"], r["total"],
             r["line_count"]) for r in invoices] == [
        ("INV-202604-00001", "invoice", "L", "25.00", "1"),
        ("CN-202604-00001", "credit_note", "K", "-350.00", "2"),
    ]
    lines = read_csv(folder / "invoice_lines.csv")
    assert [(r["invoice_number"], r["line_number"], r["line_type"], r["quantity"],
             r["unit_price"], r["amount"], r["source_ref"], r["rule"])
            for r in lines if r["customer_id"] == "K"] == [
        ("CN-202604-00001", "1", "support_subscription", "2", "12.50", "25.00", "S-K1", "R7"),
        ("CN-202604-00001", "2", "prior_period_adjustment", "1", "-375.00", "-375.00",
         "2026-03:INV-202603-00001:implementation_hours", "R15"),
    ]
    # accounting systems get the credit note as a credit note: Xero's sales template with
    # the negative total it turns into a credit note, US dates (section 8)
    xero_cn = read_csv(folder / "xero_credit_notes.csv")
    assert {r["InvoiceNumber"] for r in xero_cn} == {"CN-202604-00001"}
    assert {r["InvoiceDate"] for r in xero_cn} == {"04/30/2026"}
    assert sum(D(r["Quantity"]) * D(r["UnitAmount"]) for r in xero_cn) == D("-350.00")
    assert all(r["InvoiceNumber"] != "CN-202604-00001"
               for r in read_csv(folder / "xero_invoices.csv"))
    qbo_cm = read_csv(folder / "quickbooks_credit_memos.csv")
    assert {(r["CreditMemoNo"], r["CreditMemoDate"]) for r in qbo_cm} == {
        ("CN-202604-00001", "04/30/2026")}
    assert sum(D(r["ItemAmount"]) for r in qbo_cm) == D("350.00")
