"""Test oracle for the export files (SPEC section 5, R2, R14): the row-by-row Python
implementation the product used before the files were rendered in SQL
(``support_billing/export_sql.py``). Kept verbatim in its logic, so the property test
(tests/test_export_property.py) can compare the product's bytes against it.

Pure functions over plain rows (dicts of str / Decimal / date); returns bytes, writes
nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from support_billing.exporters import (
    INVOICES_HEADER,
    LINES_HEADER,
    PREPAID_HEADER,
    QBO_CREDIT_MEMO_HEADER,
    QBO_INVOICE_HEADER,
    WHOLE_QUANTITY_TYPES,
    XERO_CREDIT_NOTE_HEADER,
    XERO_INVOICE_HEADER,
    ExportConfig,
)

CENT = Decimal("0.01")


# ---------------------------------------------------------------- formatting
def dec(value) -> Decimal:
    if value is None:
        return Decimal("0")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):  # never expected: amounts are DECIMAL in the warehouse
        return Decimal(repr(value))
    return Decimal(str(value))


def money(value) -> str:
    """Exactly 2 decimals, half up (R2); ``-0.00`` is written ``0.00``."""
    if type(value) is Decimal:  # fast path: DECIMAL(18,2) from the warehouse
        s = str(value)
        if len(s) > 3 and s[-3] == "." and "E" not in s:
            return "0.00" if s == "-0.00" else s
    q = dec(value).quantize(CENT, rounding=ROUND_HALF_UP)
    if q == 0:
        q = Decimal("0.00")
    return f"{q:.2f}"


def quantity(line_type: str, value) -> str:
    """Incidents (and adjustments) whole, hours with 2 decimals (section 5)."""
    q = dec(value)
    if line_type in WHOLE_QUANTITY_TYPES:
        if q != q.to_integral_value():
            raise ValueError(f"{line_type} quantity {q} is not a whole number")
        return str(int(q))
    return money(q)


def iso(d) -> str:
    if isinstance(d, str):
        return d[:10]
    return d.isoformat()


def _as_date(d) -> date:
    return date.fromisoformat(d[:10]) if isinstance(d, str) else d


def us_date(d) -> str:
    d = _as_date(d)
    return f"{d.month:02d}/{d.day:02d}/{d.year:04d}"


def uk_date(d) -> str:
    d = _as_date(d)
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"


def text(value) -> str:
    return "" if value is None else str(value)


# ---------------------------------------------------------------- ordering
def _doc_key(inv: dict) -> tuple:
    return (0 if inv["document_type"] == "invoice" else 1, inv["invoice_number"])


class _InExportOrder(list):
    """A list already sorted for export: sorting it again is a no-op (write_export sorts
    once for all six files)."""


def sort_invoices(invoices: list[dict]) -> list[dict]:
    if isinstance(invoices, _InExportOrder):
        return invoices
    return _InExportOrder(sorted(invoices, key=_doc_key))


def sort_lines(lines: list[dict], invoices: list[dict]) -> list[dict]:
    if isinstance(lines, _InExportOrder):
        return lines
    order = {inv["invoice_number"]: i for i, inv in enumerate(sort_invoices(invoices))}
    return _InExportOrder(sorted(
        lines,
        key=lambda ln: (order.get(ln["invoice_number"], len(order)), ln["invoice_number"],
                        int(ln["line_number"])),
    ))


# ---------------------------------------------------------------- section 5 files
def invoice_rows(invoices: list[dict]) -> list[list[str]]:
    return [
        [
            inv["invoice_number"], inv["document_type"], inv["customer_id"],
            text(inv["customer_name"]), text(inv["accounting_ref"]), inv["period"],
            iso(inv["invoice_date"]), iso(inv["due_date"]), text(inv.get("currency") or "USD"),
            money(inv["total"]), str(int(inv["line_count"])),
        ]
        for inv in sort_invoices(invoices)
    ]


def line_rows(lines: list[dict], invoices: list[dict]) -> list[list[str]]:
    return [
        [
            ln["invoice_number"], str(int(ln["line_number"])), ln["customer_id"], ln["line_type"],
            text(ln["description"]), quantity(ln["line_type"], ln["quantity"]),
            money(ln["unit_price"]), money(ln["amount"]), text(ln.get("source_ref")),
            text(ln["rule"]),
        ]
        for ln in sort_lines(lines, invoices)
    ]


# ---------------------------------------------------------------- accounting files
@dataclass(frozen=True)
class AccountingLine:
    item: str
    description: str
    quantity: str
    rate: str
    amount: str


def accounting_line(line: dict, config: ExportConfig, sign: int = 1) -> AccountingLine:
    """One accounting-system line. A line whose amount is not quantity x unit price
    (a prorated month, R7) becomes quantity 1 at unit price = amount, the proration in
    the description (section 5). ``sign=-1`` turns a credit note's line positive."""
    q, p, a = dec(line["quantity"]), dec(line["unit_price"]), dec(line["amount"])
    desc = text(line["description"])
    if q * p == a:
        qty, rate = quantity(line["line_type"], q), p
    else:
        full = (q * p).quantize(CENT, rounding=ROUND_HALF_UP)
        qty, rate = "1", a
        desc = (f"{desc} (prorated: {quantity(line['line_type'], q)} x {money(p)} = "
                f"{money(full)} for the full month; billed {money(a)})")
    return AccountingLine(
        item=config.items.get(line["line_type"], line["line_type"]),
        description=desc,
        quantity=qty,
        rate=money(sign * rate),
        amount=money(sign * a),
    )


def _documents(invoices: list[dict], lines: list[dict], document_type: str):
    """(invoice, its non-zero lines) for one document type, in number order (section 5:
    zero-amount lines are left out of accounting files)."""
    by_number: dict[str, list[dict]] = {}
    for ln in sort_lines(lines, invoices):
        if dec(ln["amount"]) != 0:
            by_number.setdefault(ln["invoice_number"], []).append(ln)
    for inv in sort_invoices(invoices):
        if inv["document_type"] == document_type:
            yield inv, by_number.get(inv["invoice_number"], [])


def terms(inv: dict) -> str:
    days = (_as_date(inv["due_date"]) - _as_date(inv["invoice_date"])).days
    return f"Net {days}"


def quickbooks_invoice_rows(invoices, lines, config: ExportConfig) -> list[list[str]]:
    rows = []
    for inv, inv_lines in _documents(invoices, lines, "invoice"):
        for ln in inv_lines:
            al = accounting_line(ln, config)
            rows.append([
                inv["invoice_number"], text(inv["accounting_ref"]), us_date(inv["invoice_date"]),
                us_date(inv["due_date"]), terms(inv), al.item, al.description, al.quantity,
                al.rate, al.amount,
            ])
    return rows


def quickbooks_credit_memo_rows(invoices, lines, config: ExportConfig) -> list[list[str]]:
    rows = []
    for inv, inv_lines in _documents(invoices, lines, "credit_note"):
        for ln in inv_lines:
            al = accounting_line(ln, config, sign=-1)
            rows.append([
                inv["invoice_number"], text(inv["accounting_ref"]), us_date(inv["invoice_date"]),
                al.item, al.description, al.quantity, al.rate, al.amount,
            ])
    return rows


def _reference(inv: dict) -> str:
    return f"Support {inv['period']}"


def xero_invoice_rows(invoices, lines, config: ExportConfig) -> list[list[str]]:
    rows = []
    for inv, inv_lines in _documents(invoices, lines, "invoice"):
        for ln in inv_lines:
            al = accounting_line(ln, config)
            rows.append([
                text(inv["accounting_ref"]), text(inv.get("email")), inv["invoice_number"],
                _reference(inv), uk_date(inv["invoice_date"]), uk_date(inv["due_date"]),
                al.description, al.quantity, al.rate, config.xero_account_code,
                config.xero_tax_type, text(inv.get("currency") or "USD"),
            ])
    return rows


def xero_credit_note_rows(invoices, lines, config: ExportConfig) -> list[list[str]]:
    rows = []
    for inv, inv_lines in _documents(invoices, lines, "credit_note"):
        for ln in inv_lines:
            al = accounting_line(ln, config, sign=-1)
            rows.append([
                text(inv["accounting_ref"]), text(inv.get("email")), inv["invoice_number"],
                _reference(inv), uk_date(inv["invoice_date"]), al.description, al.quantity,
                al.rate, config.xero_account_code, config.xero_tax_type,
                text(inv.get("currency") or "USD"),
            ])
    return rows


# ---------------------------------------------------------------- the export folder
def manifest_summary(period: str, invoices: list[dict]) -> dict:
    inv_numbers = sorted(i["invoice_number"] for i in invoices if i["document_type"] == "invoice")
    cn_numbers = sorted(i["invoice_number"] for i in invoices if i["document_type"] != "invoice")
    return {
        "month": period,
        "period": period,
        "invoice_count": len(inv_numbers),
        "credit_note_count": len(cn_numbers),
        "document_count": len(invoices),
        "first_invoice_number": inv_numbers[0] if inv_numbers else None,
        "last_invoice_number": inv_numbers[-1] if inv_numbers else None,
        "first_credit_note_number": cn_numbers[0] if cn_numbers else None,
        "last_credit_note_number": cn_numbers[-1] if cn_numbers else None,
        "grand_total": money(sum((dec(i["total"]) for i in invoices), Decimal("0"))),
        "invoiced_total": money(sum((dec(i["total"]) for i in invoices
                                     if i["document_type"] == "invoice"), Decimal("0"))),
        "credited_total": money(-sum((dec(i["total"]) for i in invoices
                                      if i["document_type"] != "invoice"), Decimal("0"))),
        "currency": "USD",
    }


def render_csv(header: list[str], rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def render_json(obj) -> bytes:
    return (json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def render_export(period: str, invoices: list[dict], lines: list[dict], gate: dict,
                  config: ExportConfig) -> dict[str, bytes]:
    """Every file of the export folder, manifest included: name -> bytes."""
    invoices = sort_invoices(invoices)
    lines = sort_lines(lines, invoices)
    specs = [
        ("invoices.csv", INVOICES_HEADER, invoice_rows(invoices)),
        ("invoice_lines.csv", LINES_HEADER, line_rows(lines, invoices)),
        ("quickbooks_invoices.csv", QBO_INVOICE_HEADER,
         quickbooks_invoice_rows(invoices, lines, config)),
        ("quickbooks_credit_memos.csv", QBO_CREDIT_MEMO_HEADER,
         quickbooks_credit_memo_rows(invoices, lines, config)),
        ("xero_invoices.csv", XERO_INVOICE_HEADER, xero_invoice_rows(invoices, lines, config)),
        ("xero_credit_notes.csv", XERO_CREDIT_NOTE_HEADER,
         xero_credit_note_rows(invoices, lines, config)),
    ]
    out, files = {}, []
    for name, header, rows in specs:
        out[name] = render_csv(header, rows)
        files.append({"name": name, "rows": len(rows),
                      "sha256": hashlib.sha256(out[name]).hexdigest()})
    manifest = manifest_summary(period, invoices)
    manifest["files"] = files
    manifest["quality_gate"] = gate
    out["manifest.json"] = render_json(manifest)
    return out


def prepaid_rows(deductions: list[dict]) -> list[list[str]]:
    ordered = sorted(deductions, key=lambda d: (d["customer_id"], d["block_id"]))
    return [
        [d["period"], d["customer_id"], d["block_id"], money(d["hours_taken"]),
         money(d["hours_left"]), text(d.get("invoice_number"))]
        for d in ordered
    ]


def render_prepaid(deductions: list[dict]) -> bytes:
    return render_csv(PREPAID_HEADER, prepaid_rows(deductions))
