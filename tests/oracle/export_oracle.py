"""Test oracle for the export files (SPEC section 5, R2, R14): the row-by-row Python
implementation the product used before the files were rendered in SQL
(``support_billing/export_sql.py``). Kept verbatim in its logic, so the property test
(tests/test_export_property.py) can compare the product's bytes against it.

Pure functions over plain rows (dicts of str / Decimal / date); returns bytes, writes
nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from support_billing.exports.writers import (
    INVOICES_HEADER,
    LINES_HEADER,
    PREPAID_HEADER,
    QBO_CREDIT_MEMO_HEADER,
    QBO_INVOICE_HEADER,
    WHOLE_QUANTITY_TYPES,
    XERO_CREDIT_NOTE_HEADER,
    XERO_INVOICE_HEADER,
    ExportConfig,
    part_name,
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


def formatted(d, date_format: str) -> str:
    """A date in an accounting system's format (section 8)."""
    d = _as_date(d)
    parts = {"MM": f"{d.month:02d}", "DD": f"{d.day:02d}", "YYYY": f"{d.year:04d}"}
    sep = "-" if "-" in date_format else "/"
    return sep.join(parts[p] for p in date_format.split(sep))


def last_day_of(period: str) -> date:
    y, m = int(period[:4]), int(period[5:7])
    nxt = date(y + (m == 12), m % 12 + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


def service_date(line: dict, inv: dict) -> date:
    """An R15 adjustment's own month end, else the invoice date (QuickBooks ServiceDate)."""
    adjusts = line.get("adjusts_period")
    try:
        return last_day_of(adjusts) if adjusts else _as_date(inv["invoice_date"])
    except ValueError:
        return _as_date(inv["invoice_date"])


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
    fmt = config.quickbooks_date_format
    for inv, inv_lines in _documents(invoices, lines, "invoice"):
        for ln in inv_lines:
            al = accounting_line(ln, config)
            rows.append([
                inv["invoice_number"], text(inv["accounting_ref"]),
                formatted(inv["invoice_date"], fmt), formatted(inv["due_date"], fmt),
                config.terms_label.replace("{days}", terms(inv).removeprefix("Net ")),
                _reference(inv), al.item, al.description, al.quantity, al.rate, al.amount,
                config.quickbooks_tax_type, formatted(service_date(ln, inv), fmt),
            ])
    return rows


def quickbooks_credit_memo_rows(invoices, lines, config: ExportConfig) -> list[list[str]]:
    rows = []
    fmt = config.quickbooks_date_format
    for inv, inv_lines in _documents(invoices, lines, "credit_note"):
        for ln in inv_lines:
            al = accounting_line(ln, config, sign=-1)
            rows.append([
                inv["invoice_number"], text(inv["accounting_ref"]),
                formatted(inv["invoice_date"], fmt), _reference(inv), al.item,
                al.description, al.quantity, al.rate, al.amount, config.quickbooks_tax_type,
                formatted(service_date(ln, inv), fmt),
            ])
    return rows


def _reference(inv: dict) -> str:
    return f"Support {inv['period']}"


def _xero_rows(invoices, lines, config: ExportConfig, document_type: str) -> list[list[str]]:
    """Xero's sales template; a credit note keeps its own (negative) total."""
    rows = []
    fmt = config.xero_date_format
    for inv, inv_lines in _documents(invoices, lines, document_type):
        for ln in inv_lines:
            al = accounting_line(ln, config)
            rows.append([
                text(inv["accounting_ref"]), text(inv.get("email")), inv["invoice_number"],
                _reference(inv), formatted(inv["invoice_date"], fmt),
                formatted(inv["due_date"], fmt), config.xero_items.get(ln["line_type"], ""),
                al.description, al.quantity, al.rate, config.xero_account_code,
                config.xero_tax_type, text(inv.get("currency") or "USD"),
            ])
    return rows


def xero_invoice_rows(invoices, lines, config: ExportConfig) -> list[list[str]]:
    return _xero_rows(invoices, lines, config, "invoice")


def xero_credit_note_rows(invoices, lines, config: ExportConfig) -> list[list[str]]:
    return _xero_rows(invoices, lines, config, "credit_note")


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


def rfc4180(value: str) -> str:
    """RFC 4180 (section 5): quoted when it holds a comma, a quote, CR or LF."""
    if value is None:  # as csv.writer writes None
        return ""
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def render_csv(header: list[str], rows: list[list[str]]) -> bytes:
    return "".join(",".join(rfc4180(f) for f in row) + "\n"
                   for row in [header, *rows]).encode("utf-8")


def split(name: str, rows: list[list[str]], config: ExportConfig) -> list[tuple]:
    """(file name, rows, part, parts): a file over its system's limits in parts of whole
    documents (column 0 of QuickBooks rows, 2 of Xero rows holds the number)."""
    if name.startswith("quickbooks_"):
        key, max_docs, max_rows = 0, config.quickbooks_max_invoices, config.quickbooks_max_rows
    elif name.startswith("xero_"):
        key, max_docs, max_rows = 2, config.xero_max_invoices, None
    else:
        return [(name, rows, None, None)]
    docs: list[list] = []
    for row in rows:
        if docs and docs[-1][0][key] == row[key]:
            docs[-1].append(row)
        else:
            docs.append([row])
    parts: list[list] = [[]]
    count = 0
    for doc in docs:
        if count >= max_docs or (max_rows and parts[-1] and len(parts[-1]) + len(doc) > max_rows):
            parts.append([])
            count = 0
        parts[-1].extend(doc)
        count += 1
    if len(parts) == 1:
        return [(name, rows, None, None)]
    return [(part_name(name, i), part, i, len(parts)) for i, part in enumerate(parts, 1)]


def render_json(obj) -> bytes:
    return (json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def file_rows(specs, config: ExportConfig):
    """(file name, header, rows, part, parts, whole file's name) of every file written."""
    for name, header, all_rows in specs:
        for file_name, rows, part, parts in split(name, all_rows, config):
            yield file_name, header, rows, part, parts, name


def exported_rows(period: str, invoices: list[dict], lines: list[dict],
                  config: ExportConfig) -> dict[str, tuple[list[str], list[list[str]]]]:
    """Every CSV of the folder: name -> (header, rows of fields as written)."""
    out = {}
    _, specs = _specs(invoices, lines, config)
    for file_name, header, rows, _, _, _ in file_rows(specs, config):
        out[file_name] = (header, [[text(f) for f in row] for row in rows])
    return out


def _specs(invoices, lines, config):
    invoices = sort_invoices(invoices)
    lines = sort_lines(lines, invoices)
    specs = [
        ("invoices.csv", INVOICES_HEADER, invoice_rows(invoices)),
        ("invoice_lines.csv", LINES_HEADER, line_rows(lines, invoices)),
    ]
    if config.quickbooks:
        specs += [
            ("quickbooks_invoices.csv", QBO_INVOICE_HEADER,
             quickbooks_invoice_rows(invoices, lines, config)),
            ("quickbooks_credit_memos.csv", QBO_CREDIT_MEMO_HEADER,
             quickbooks_credit_memo_rows(invoices, lines, config)),
        ]
    if config.xero:
        specs += [
            ("xero_invoices.csv", XERO_INVOICE_HEADER,
             xero_invoice_rows(invoices, lines, config)),
            ("xero_credit_notes.csv", XERO_CREDIT_NOTE_HEADER,
             xero_credit_note_rows(invoices, lines, config)),
        ]
    return invoices, specs


def render_export(period: str, invoices: list[dict], lines: list[dict], gate: dict,
                  config: ExportConfig) -> dict[str, bytes]:
    """Every file of the export folder, manifest included: name -> bytes."""
    invoices, specs = _specs(invoices, lines, config)
    out, files = {}, []
    for file_name, header, rows, part, parts, name in file_rows(specs, config):
        out[file_name] = render_csv(header, rows)
        entry = {"name": file_name, "rows": len(rows),
                 "sha256": hashlib.sha256(out[file_name]).hexdigest()}
        if part:
            entry.update(part=part, parts=parts, part_of=name)
        files.append(entry)
    manifest = manifest_summary(period, invoices)
    manifest["files"] = files
    manifest["quality_gate"] = gate
    manifest["notes"] = ([
        f"QuickBooks Online imports no credit memos from a file: enter the "
        f"{manifest['credit_note_count']} credit memo(s) of quickbooks_credit_memos.csv by "
        "hand (docs/accounting.md)"] if config.quickbooks and manifest["credit_note_count"]
        else [])
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
