"""The SQL-rendered export (support_billing/export_sql.py) gives the same bytes as the
row-by-row Python oracle (tests/oracle/export_oracle.py) on random rows: SPEC section 5
(quoting, dates, order, accounting formats, prorated lines, credit notes, manifest), R2
(half-up cents), R14 (prepaid report). Both entry points are checked: plain rows
(``write_export``) and the warehouse tables of one period (``write_export_from``)."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from oracle import export_oracle
from support_billing.exports import writers as exporters
from support_billing.exports.writers import DEFAULT_ITEMS, LINE_TYPE_ORDER, ExportConfig

PERIOD = "2026-05"
GATE = {"suites": ["invoices", "invoice_lines", "incident_reconciliation"], "success": True}

# Free text with what CSV must quote (comma, quote, \n, \r), unicode and blanks.
SPECIAL = st.sampled_from([",", '"', "\n", "\r", " ", "'", ";", "é", "€", "😀", "\t"])
CHARS = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
TEXT = st.text(st.one_of(SPECIAL, CHARS), max_size=8)
MAYBE_TEXT = st.none() | TEXT


def cents(lo: int, hi: int):
    return st.integers(lo, hi).map(lambda n: Decimal(n) / 100)


@st.composite
def month(draw):
    """Documents with unique numbers, their lines, a few lines without a document, and
    prepaid deductions; amounts exact, prorated (incl. half-cent full-month products),
    zero or negative."""
    n_docs = draw(st.integers(0, 6))
    numbers = draw(st.lists(TEXT.filter(bool) | st.sampled_from(
        [f"INV-202605-{i:05d}" for i in range(1, 9)] + [f"CN-202605-{i:05d}" for i in range(1, 4)]),
        min_size=n_docs, max_size=n_docs, unique=True))
    invoices, lines = [], []
    for number in numbers:
        invoice_date = draw(st.dates(date(1000, 1, 1), date(2999, 12, 31)))
        invoices.append({
            "period": PERIOD, "invoice_number": number,
            "document_type": draw(st.sampled_from(["invoice", "credit_note"])),
            "customer_id": draw(TEXT), "customer_name": draw(MAYBE_TEXT),
            "accounting_ref": draw(MAYBE_TEXT), "email": draw(MAYBE_TEXT),
            "invoice_date": invoice_date,
            "due_date": invoice_date + timedelta(days=draw(st.integers(-5, 90))),
            "currency": draw(st.sampled_from(["USD", "EUR", "", None])),
            "total": draw(cents(-10**8, 10**8)), "line_count": draw(st.integers(0, 9)),
        })
        lines += draw(doc_lines(number))
    orphan = draw(st.none() | TEXT)  # lines whose document is not in the month
    if orphan is not None and orphan not in numbers:
        lines += draw(doc_lines(orphan))
    blocks = draw(st.lists(st.tuples(TEXT, TEXT), max_size=4, unique=True))
    deductions = [{
        "period": PERIOD, "customer_id": customer, "block_id": block,
        "hours_taken": draw(cents(0, 10**5)), "hours_left": draw(cents(-10**4, 10**5)),
        "invoice_number": draw(MAYBE_TEXT),
    } for customer, block in blocks]
    return invoices, lines, deductions


@st.composite
def doc_lines(draw, number):
    out = []
    for line_number in draw(st.lists(st.integers(1, 30), max_size=4, unique=True)):
        line_type = draw(st.sampled_from([*LINE_TYPE_ORDER, "unknown_type", None]))
        if line_type in exporters.WHOLE_QUANTITY_TYPES:
            quantity = Decimal(draw(st.integers(-3, 40)))
        else:
            quantity = draw(cents(-500, 5000))
        unit_price = draw(cents(-100000, 100000))
        amount = draw(st.sampled_from(["exact", "rounded", "other", "zero"]))
        if amount == "exact" and (quantity * unit_price) == (quantity * unit_price).quantize(
                Decimal("0.01")):
            amount = quantity * unit_price
        elif amount == "zero":
            amount = Decimal("0.00")
        elif amount == "rounded":  # half-cent products and plain proration (R2, R7)
            amount = (quantity * unit_price / 2).quantize(Decimal("0.01"))
        else:
            amount = draw(cents(-10**7, 10**7))
        out.append({
            "period": PERIOD, "invoice_number": number, "customer_id": draw(TEXT),
            "line_number": line_number, "line_type": line_type,
            "description": draw(MAYBE_TEXT), "quantity": quantity,
            "unit_price": unit_price, "amount": Decimal(amount),
            "source_ref": draw(MAYBE_TEXT), "rule": draw(MAYBE_TEXT),
            "adjusts_period": None, "adjusts_line_type": None,
        })
    return out


DATE_FORMAT = st.sampled_from(["MM/DD/YYYY", "DD/MM/YYYY", "YYYY-MM-DD"])
CONFIGS = st.builds(
    ExportConfig,
    xero_account_code=TEXT,
    xero_tax_type=TEXT,
    items=st.dictionaries(st.sampled_from(LINE_TYPE_ORDER), TEXT, max_size=8)
    | st.just(dict(DEFAULT_ITEMS)),
    xero_items=st.dictionaries(st.sampled_from(LINE_TYPE_ORDER), TEXT, max_size=8),
    quickbooks=st.booleans(),
    xero=st.booleans(),
    quickbooks_date_format=DATE_FORMAT,
    xero_date_format=DATE_FORMAT,
    terms_label=st.sampled_from(["Net {days}", "{days} days", "Due on receipt"]),
    quickbooks_tax_type=TEXT,
    # section 5, 8: small per-import limits so that files split into parts
    quickbooks_max_invoices=st.integers(1, 3) | st.just(100),
    quickbooks_max_rows=st.integers(1, 4) | st.just(999),
    xero_max_invoices=st.integers(1, 3) | st.just(500),
)


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def warehouse_with(invoices, lines, deductions) -> duckdb.DuckDBPyConnection:
    """main.invoices, main.invoice_lines, main.prepaid_deductions holding the rows, plus
    the same rows again under another period (which the export must ignore)."""
    con = duckdb.connect()
    exporters.load_rows(con, invoices, lines, deductions)
    for table, source in [("invoices", "export_invoices"),
                          ("invoice_lines", "export_invoice_lines"),
                          ("prepaid_deductions", "export_prepaid_deductions")]:
        con.execute(f"create table main.{table} as select * from {source}")
        con.execute(f"insert into main.{table} "
                    f"select * replace ('2026-04' as period) from {source}")
    return con


EMPTY = ([], [], [])
HALF_CENT = (
    [{"period": PERIOD, "invoice_number": "CN-202605-00001", "document_type": "credit_note",
      "customer_id": "A", "customer_name": None, "accounting_ref": 'A, "the" co\nline',
      "email": None, "invoice_date": date(2026, 5, 31), "due_date": date(2026, 6, 30),
      "currency": None, "total": Decimal("-0.01"), "line_count": 2}],
    [{"period": PERIOD, "invoice_number": "CN-202605-00001", "customer_id": "A",
      "line_number": n, "line_type": "training_hours", "description": None,
      "quantity": Decimal("0.25"), "unit_price": Decimal(p), "amount": Decimal("-0.01"),
      "source_ref": None, "rule": "R2", "adjusts_period": None, "adjusts_line_type": None}
     for n, p in [(1, "-0.02"), (2, "-0.06")]],  # full month -0.005 / -0.015: half up
    [],
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=month(), config=CONFIGS)
@example(data=EMPTY, config=ExportConfig())
@example(data=HALF_CENT, config=ExportConfig())
def test_sql_export_equals_the_oracle(data, config):
    invoices, lines, deductions = data
    expected = export_oracle.render_export(PERIOD, invoices, lines, GATE, config)
    expected_prepaid = export_oracle.render_prepaid(deductions)
    with tempfile.TemporaryDirectory() as tmp:
        rows_dir, wh_dir = Path(tmp) / "rows", Path(tmp) / "warehouse"
        rows_dir.mkdir()
        wh_dir.mkdir()
        exporters.write_export(rows_dir, PERIOD, invoices, lines, GATE, config)
        exporters.write_prepaid_report(Path(tmp) / "rows_prepaid.csv", deductions)
        with warehouse_with(invoices, lines, deductions) as con:
            exporters.write_export_from(con, wh_dir, PERIOD, GATE, config)
            exporters.write_prepaid_report_from(con, Path(tmp) / "wh_prepaid.csv", PERIOD)
        assert folder_bytes(rows_dir) == expected
        assert folder_bytes(wh_dir) == expected
        assert (Path(tmp) / "rows_prepaid.csv").read_bytes() == expected_prepaid
        assert (Path(tmp) / "wh_prepaid.csv").read_bytes() == expected_prepaid


def test_half_cent_full_month_is_rounded_half_up(tmp_path):
    """R2 on the prorated description: -0.005 -> -0.01 and -0.015 -> -0.02 (away from
    zero, as Python's ROUND_HALF_UP), credit note lines turned positive."""
    invoices, lines, _ = HALF_CENT
    exporters.write_export(tmp_path, PERIOD, invoices, lines, GATE, ExportConfig())
    assert (tmp_path / "quickbooks_credit_memos.csv").read_text() == (
        "CreditMemoNo,Customer,CreditMemoDate,Memo,Item(Product/Service),ItemDescription,"
        "ItemQuantity,ItemRate,ItemAmount,ItemTaxCode,ServiceDate\n"
        'CN-202605-00001,"A, ""the"" co\nline",05/31/2026,Support 2026-05,Training hours,'
        " (prorated: 0.25 x -0.02 = -0.01 for the full month; billed -0.01),1,0.01,0.01,,"
        "05/31/2026\n"
        'CN-202605-00001,"A, ""the"" co\nline",05/31/2026,Support 2026-05,Training hours,'
        " (prorated: 0.25 x -0.06 = -0.02 for the full month; billed -0.01),1,0.01,0.01,,"
        "05/31/2026\n"
    )


def test_fractional_incident_quantity_is_refused(tmp_path):
    """Incident quantities are whole numbers (section 5): both implementations refuse."""
    invoices, lines, _ = HALF_CENT
    bad = [{**lines[0], "line_type": "support_subscription", "quantity": Decimal("1.50")}]
    with pytest.raises(ValueError, match="support_subscription quantity 1.50 is not a whole"):
        export_oracle.render_export(PERIOD, invoices, bad, GATE, ExportConfig())
    with pytest.raises(ValueError, match="support_subscription quantity 1.50 is not a whole"):
        exporters.write_export(tmp_path, PERIOD, invoices, bad, GATE, ExportConfig())
