"""``support-billing statement --customer ID --year YYYY [--format html|pdf|json]``: the year
so far of one customer (SPEC section 5), from the same template and models as the monthly
statements. Reads the built models as they are (no dbt build), like ``usage``.

Output: ``HOME/reports/statements/statement_<customer>_<year>.<format>`` (written
atomically, its path printed), or stdout with ``--output -`` (html and json only).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from datetime import date
from pathlib import Path

FORMATS = ("html", "pdf", "json")


def _safe(text: str) -> str:
    """A customer id as a file-name part (ids may hold any printable character)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def output_path(home: Path, customer: str, year: int, fmt: str) -> Path:
    return Path(home) / "reports" / "statements" / f"statement_{_safe(customer)}_{year}.{fmt}"


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _render(context: dict, fmt: str) -> bytes:
    from support_billing.exports import statements
    if fmt == "json":
        return statements.year_json(context).encode("utf-8")
    html = statements.render_html(context).encode("utf-8")
    if fmt == "html":
        return html
    from support_billing.exports.statements_pdf import html_file_to_pdf

    with tempfile.TemporaryDirectory(prefix="sb-statement-") as tmp:
        page, pdf = Path(tmp) / "statement.html", Path(tmp) / "statement.pdf"
        page.write_bytes(html)
        html_file_to_pdf(page, pdf)
        return pdf.read_bytes()


def cli_statement(home: Path, customer: str, year: int, fmt: str,
                  output: str | None = None, today: date | None = None) -> int:
    """0 written, 1 failure (unknown customer, no models, no chromium), 2 usage error."""
    import duckdb

    from support_billing.exports.statements import year_context
    from support_billing.exports.statements_pdf import PdfError
    from support_billing.reporting.usage import as_of_day, today_denver
    from support_billing.storage.warehouse import connect

    if not 1 <= year <= 9999:
        print(f"error: --year {year} is out of range (1-9999)", file=sys.stderr)
        return 2
    if fmt not in FORMATS:
        print(f"error: --format must be one of {', '.join(FORMATS)}, not {fmt!r}",
              file=sys.stderr)
        return 2
    if output == "-" and fmt == "pdf":
        print("error: --output - (stdout) takes html or json, not pdf", file=sys.stderr)
        return 2
    through = as_of_day(year, today or today_denver())
    try:
        with connect(Path(home), read_only=True) as con:
            context = year_context(con, customer, year, through)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except duckdb.CatalogException as exc:
        first = str(exc).strip().splitlines()[0]
        print(f"error: the warehouse has no statement models yet ({first}); run "
              "'support-billing bill' to build them", file=sys.stderr)
        return 1
    if context is None:
        print(f"error: unknown customer {customer!r}", file=sys.stderr)
        return 1
    try:
        data = _render(context, fmt)
    except PdfError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if output == "-":
        sys.stdout.write(data.decode("utf-8"))
        return 0
    path = Path(output) if output else output_path(home, customer, year, fmt)
    _write_atomic(path, data)
    print(path)
    return 0
