"""Export writers: the month's files (SPEC section 5) and the prepaid report (R14).

Every field is formatted, quoted (RFC 4180) and every file ordered in DuckDB SQL
(``export_sql.py``); this module only joins those records, cuts an accounting file over
its system's limit into parts (``export_profiles.py``), hashes and writes them and the
manifest. Every file is UTF-8, ``\\n`` line endings, sorted, with no run timestamps
inside, so the same inputs give byte-identical files.

``write_export_from(con, folder, period, gate)`` reads ``main.invoices`` and
``main.invoice_lines`` of the period in the warehouse (the billing flow), and
``write_prepaid_report_from`` ``main.prepaid_deductions``.

Files in ``exports/YYYY-MM/``:
- ``invoices.csv``, ``invoice_lines.csv``: the documents and lines as computed (R14).
- ``quickbooks_invoices.csv`` (QuickBooks Online import), ``quickbooks_credit_memos.csv``
  (entered by hand: QuickBooks Online imports no credit memos), when QuickBooks is enabled.
- ``xero_invoices.csv``, ``xero_credit_notes.csv``: Xero sales import, when enabled.
- ``<file>_part-NNN.csv``: a file over its system's per-import limit, in parts.
- ``manifest.json``: names, row counts and sha256 of the files above, counts, totals, gate,
  and notes for finance (what must be entered by hand).
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb

from support_billing.exports import render_sql as export_sql
from support_billing.exports.profiles import ExportConfig, part_name, split_parts

INVOICES_HEADER = [
    "invoice_number", "document_type", "customer_id", "customer_name", "accounting_ref",
    "period", "invoice_date", "due_date", "currency", "total", "line_count",
]
LINES_HEADER = [
    "invoice_number", "line_number", "customer_id", "line_type", "description",
    "quantity", "unit_price", "amount", "source_ref", "rule",
]
QBO_INVOICE_HEADER = [
    "InvoiceNo", "Customer", "InvoiceDate", "DueDate", "Terms", "Memo",
    "Item(Product/Service)", "ItemDescription", "ItemQuantity", "ItemRate", "ItemAmount",
    "ItemTaxCode", "ServiceDate",
]
QBO_CREDIT_MEMO_HEADER = [
    "CreditMemoNo", "Customer", "CreditMemoDate", "Memo", "Item(Product/Service)",
    "ItemDescription", "ItemQuantity", "ItemRate", "ItemAmount", "ItemTaxCode", "ServiceDate",
]
XERO_INVOICE_HEADER = [
    "ContactName", "EmailAddress", "InvoiceNumber", "Reference", "InvoiceDate", "DueDate",
    "InventoryItemCode", "Description", "Quantity", "UnitAmount", "AccountCode", "TaxType",
    "Currency",
]
# Xero imports credit notes through the sales invoice template (a negative total).
XERO_CREDIT_NOTE_HEADER = XERO_INVOICE_HEADER
PREPAID_HEADER = [
    "period", "customer_id", "block_id", "hours_taken", "hours_left", "invoice_number",
]

EXPORT_FILES = (
    "invoices.csv",
    "invoice_lines.csv",
    "quickbooks_invoices.csv",
    "quickbooks_credit_memos.csv",
    "xero_invoices.csv",
    "xero_credit_notes.csv",
)
MANIFEST = "manifest.json"


# ---------------------------------------------------------------- single values
# The files are formatted in SQL (export_sql.py); these format one value the same way for
# messages, the gate and the closing summary (gate.py, billing.py, billing_data.py).
# ---------------------------------------------------------------- writing
def render_csv(header: list[str], rows: list[tuple]) -> bytes:
    """CSV bytes: the header, then the records that ``export_sql.rendered_rows_sql``
    rendered with their RFC 4180 quoting (section 5); every field was decided there."""
    head = export_sql.csv_line(header)
    return (head + "".join(row[0] for row in rows)).encode("utf-8")


def _write_bytes(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _write_csv(folder: Path, name: str, header: list[str], rows: list[tuple]) -> dict:
    """Write one CSV into ``folder``; return its manifest entry."""
    data = render_csv(header, rows)
    _write_bytes(Path(folder) / name, data)
    return {"name": name, "rows": len(rows), "sha256": hashlib.sha256(data).hexdigest()}


def _write_file(folder: Path, name: str, header: list[str], rows: list[tuple],
                config: ExportConfig) -> list[dict]:
    """One file, or its numbered parts when over the system's per-import limits (each
    part an entry of its own with ``part``, ``parts`` and ``part_of``)."""
    max_docs, max_rows = config.limits(name)
    parts = split_parts(rows, max_docs, max_rows) if rows else [[]]
    if len(parts) == 1:
        return [_write_csv(folder, name, header, rows)]
    entries = []
    # The parts' fsyncs run side by side (a month of 100k invoices is ~1,000 QuickBooks
    # parts; one after another they cost seconds on a busy disk).
    with ThreadPoolExecutor(max_workers=8) as pool:
        written = pool.map(lambda item: _write_csv(folder, part_name(name, item[0]), header,
                                                   item[1]), enumerate(parts, start=1))
        for i, entry in enumerate(written, start=1):
            entries.append({**entry, "part": i, "parts": len(parts), "part_of": name})
    return entries


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def render_json(obj) -> bytes:
    return (json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


# ---------------------------------------------------------------- running the SQL
def _fetch(con, sql: str, params: dict) -> list[tuple]:
    params = {k: v for k, v in params.items() if f"${k}" in sql}  # DuckDB refuses extras
    try:
        return con.execute(sql, params).fetchall()
    except duckdb.InvalidInputException as exc:  # error() of a fractional incident count
        if "is not a whole number" in str(exc):
            raise ValueError(str(exc).removeprefix("Invalid Input Error: ")) from exc
        raise


def _config_params(config: ExportConfig) -> dict:
    from support_billing.settings import DATE_FORMATS

    return {
        "item_types": list(config.items),
        "item_names": list(config.items.values()),
        "xero_item_types": list(config.xero_items),
        "xero_item_names": list(config.xero_items.values()),
        "account_code": config.xero_account_code,
        "tax_type": config.xero_tax_type,
        "qbo_tax_type": config.quickbooks_tax_type,
        "terms_label": config.terms_label,
        "quickbooks_date": DATE_FORMATS[config.quickbooks_date_format],
        "xero_date": DATE_FORMATS[config.xero_date_format],
    }


FILE_HEADERS = {
    "invoices.csv": INVOICES_HEADER,
    "invoice_lines.csv": LINES_HEADER,
    "quickbooks_invoices.csv": QBO_INVOICE_HEADER,
    "quickbooks_credit_memos.csv": QBO_CREDIT_MEMO_HEADER,
    "xero_invoices.csv": XERO_INVOICE_HEADER,
    "xero_credit_notes.csv": XERO_CREDIT_NOTE_HEADER,
}
QBO_BY_HAND = ("QuickBooks Online imports no credit memos from a file: enter the {n} credit "
               "memo(s) of quickbooks_credit_memos.csv by hand (docs/accounting.md)")


def _specs(config: ExportConfig) -> list:
    """The files written: section 5's two, and those of each enabled system (section 8)."""
    enabled = {"quickbooks": config.quickbooks, "xero": config.xero}
    return [spec for spec in export_sql.EXPORT_FILES_SQL
            if spec.system is None or enabled[spec.system]]


def _export(con, source: export_sql.Source, folder: Path, period: str, gate: dict,
            config: ExportConfig | None, statements: bool = False) -> dict:
    """Write the files (section 5, in EXPORT_FILES order), the customer statements when
    asked (warehouse only) and the manifest."""
    config = config or ExportConfig.from_env()
    folder = Path(folder)
    params = {**source.params, **_config_params(config)}
    prelude = export_sql.export_prelude(source)
    specs = _specs(config)
    files = []
    # A pipeline: one worker thread runs the files' queries in turn on its own cursor
    # (DuckDB releases the GIL while it computes) while this thread writes, hashes and
    # fsyncs the file before. The files and their order are the same as without it.
    with con.cursor() as cursor, ThreadPoolExecutor(max_workers=1) as pool:
        pending = [pool.submit(_fetch, cursor, export_sql.rendered_rows_sql(
            prelude, spec, FILE_HEADERS[spec.name]), params) for spec in specs]
        try:
            for spec, rows in zip(specs, pending, strict=True):
                files += _write_file(folder, spec.name, FILE_HEADERS[spec.name],
                                     rows.result(), config)
        finally:
            for rows in pending:  # after a failure, the queries not started are dropped
                rows.cancel()
    if statements:  # section 5: one statement per document, listed in the manifest
        from support_billing.exports.statements import write_statements

        files += write_statements(con, folder, period, pdf=config.statement_pdf)
    sql = prelude + export_sql.MANIFEST_SELECT
    cur = con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql})
    summary = dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))
    notes = []
    if config.quickbooks and summary["credit_note_count"]:
        notes.append(QBO_BY_HAND.format(n=summary["credit_note_count"]))
    manifest = {"month": period, "period": period, **summary, "currency": "USD",
                "files": files, "quality_gate": gate, "notes": notes}
    _write_bytes(folder / MANIFEST, render_json(manifest))
    return manifest


# ---------------------------------------------------------------- the export folder
def write_export_from(con, folder: Path, period: str, gate: dict,
                      config: ExportConfig | None = None, statements: bool = False) -> dict:
    """Write every export file of ``period`` from the warehouse (``main.invoices``,
    ``main.invoice_lines``) and the manifest into ``folder`` (an empty temporary folder the
    caller renames into place); return the manifest. ``statements``: also write
    ``statements/<invoice_number>.html`` from the stmt_* models (``statements.py``)."""
    return _export(con, export_sql.warehouse_source(period), folder, period, gate, config,
                   statements)


def _write_prepaid(con, source: export_sql.Source, path: Path) -> Path:
    """``reports/prepaid_YYYY-MM.csv``: every block deduction of the month with its invoice
    number, blank where no invoice was issued (R14). Written atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sql = export_sql.rendered_rows_sql(export_sql.prepaid_prelude(source),
                                       export_sql.PREPAID_CSV, PREPAID_HEADER)
    data = render_csv(PREPAID_HEADER, _fetch(con, sql, source.params))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    _write_bytes(tmp, data)
    os.replace(tmp, path)
    return path


def write_prepaid_report_from(con, path: Path, period: str) -> Path:
    """The prepaid report of ``period`` from ``main.prepaid_deductions``."""
    return _write_prepaid(con, export_sql.warehouse_source(period), path)


def folders_match(a: Path, b: Path) -> list[str]:
    """Names of files that differ between two export folders (empty when identical),
    sub-folders (``statements/``) included, as paths relative to the folder."""
    def files(root: Path) -> set[str]:
        return {p.relative_to(root).as_posix() for p in Path(root).rglob("*") if p.is_file()}

    names = sorted(files(Path(a)) | files(Path(b)))
    diff = []
    for name in names:
        pa, pb = Path(a) / name, Path(b) / name
        if not (pa.is_file() and pb.is_file()) or pa.read_bytes() != pb.read_bytes():
            diff.append(name)
    return diff
