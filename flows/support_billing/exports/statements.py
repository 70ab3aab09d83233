"""Customer statements (SPEC section 5): one page per invoice and credit note, and the
year so far of one customer (``support-billing statement``).

The rows come from the stmt_* dbt models through ``statements_sql.py``, the same queries
the quality gate checks (``statement_totals``, ``statement_incidents``); this module only
groups them per document and renders the Jinja2 template ``templates/statement.html.j2``.
It adds nothing up: every total and count on a page is a column of a model. Pages are
self-contained (inline CSS, no network) and carry no run time, so a re-run writes the same
bytes (R20).
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import date
from pathlib import Path

from support_billing.exports import statements_sql
from support_billing.exports.formatting import dec, money

STATEMENTS_DIR = "statements"


def _environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(loader=PackageLoader("support_billing", "templates"),
                      autoescape=select_autoescape(["html", "j2"]),
                      undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters["money"] = money  # formatting only: 2 decimals (section 5)
    env.filters["quantity"] = quantity
    return env


def quantity(value, unit: str | None) -> str:
    """A line's quantity as section 5 writes it: whole incidents (a fraction is an error,
    not a rounding), hours with 2 decimals; ``unit`` is the line type's ``quantity_unit``
    (the line_types seed, ``quantity_units``)."""
    q = dec(value)
    if unit == "incidents":
        if q != q.to_integral_value():
            raise ValueError(f"incident quantity {q} is not a whole number")
        return str(int(q))
    return money(q)


def quantity_units(con) -> dict[str, str]:
    """Each line type's quantity unit, from the ``line_types`` seed (section 5)."""
    return dict(con.execute("select line_type, quantity_unit from main.line_types").fetchall())


def _rows(con, sql: str, params: dict) -> list[dict]:
    used = {k: v for k, v in params.items() if f"${k}" in sql}
    cur = con.execute(sql, used)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _context(mode: str, title: str, doc: dict, parts: dict, units: dict,
             through=None) -> dict:
    tickets = parts.get("tickets", [])
    return {
        "quantity_units": units,
        "mode": mode,
        "title": title,
        "doc": doc,
        "through": through,
        "steps": parts.get("steps", []),
        "incidents": [t for t in tickets if t["is_billable_incident"]],
        "free_tickets": [t for t in tickets if not t["is_billable_incident"]],
        "hours": parts.get("hours", []),
        "blocks": parts.get("blocks", []),
        "lines": parts.get("lines", []),
    }


FETCH_ROWS = 5000


def _stream(cur):
    """A query's rows as dicts, fetched a batch at a time."""
    names = [d[0] for d in cur.description]
    while batch := cur.fetchmany(FETCH_ROWS):
        for row in batch:
            yield dict(zip(names, row, strict=True))


def document_contexts(con, period: str):
    """One template context per invoice and credit note of ``period``, in number order.

    A generator: each part's query is ordered by invoice number and read a batch at a time
    on its own cursor, merged with the documents as they come (a small month, rendered in
    this process). A large month is read as Arrow tables and merged a chunk at a time in
    worker processes (``_render_all``); no month's contexts sit in memory at once
    (docs/decisions.md, "Scale")."""
    cursors = []
    try:
        streams = {}
        for name, sql in statements_sql.DOCUMENT_QUERIES.items():
            cur = con.cursor()
            cursors.append(cur)
            cur.execute(sql, _period_param(sql, period))
            streams[name] = _stream(cur)
        yield from _merged(streams, quantity_units(con))
    finally:
        for cur in cursors:
            cur.close()


def _period_param(sql: str, period: str) -> dict:
    return {"period": period} if "$period" in sql else {}


def _merged(streams: dict, units: dict):
    """The documents' contexts from each query's rows (dicts ordered by invoice number):
    every part row goes to the document with its number."""
    documents = streams.pop("documents")
    heads = {name: next(rows, None) for name, rows in streams.items()}
    for doc in documents:
        number = doc["invoice_number"]
        parts: dict[str, list] = {}
        for name, rows in streams.items():
            taken = parts[name] = []
            row = heads[name]
            while row is not None and row["invoice_number"] <= number:
                if row["invoice_number"] == number:
                    taken.append(row)
                row = next(rows, None)
            heads[name] = row
        kind = "credit note" if doc["document_type"] == "credit_note" else "invoice"
        title = f"Statement for {kind} {number}"
        yield _context("document", title, doc, parts, units)


def year_context(con, customer: str, year: int, through: date) -> dict | None:
    """The year so far of one customer up to ``through`` (None: unknown customer)."""
    params = {"customer": customer, "year": year, "through": through}
    data = {name: _rows(con, sql, params) for name, sql in statements_sql.YEAR_QUERIES.items()}
    if not data["documents"]:
        return None
    return _context("year", f"Statement for {year} so far", data["documents"][0], data,
                    quantity_units(con), through)


def render_html(context: dict) -> str:
    return _environment().get_template("statement.html.j2").render(**context)


def _write(path: Path, data: bytes) -> str:
    with open(path, "wb") as fh:
        fh.write(data)
    return hashlib.sha256(data).hexdigest()


def _syncfs(folder: Path) -> bool:
    """Flush the whole filesystem holding ``folder`` with one syncfs(2) call (Linux): one
    writeback and one journal commit instead of one per file (19,000 pages: 0.2 s against
    1.6 s for parallel fsyncs). False where the call is missing or fails."""
    import ctypes

    try:
        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return False
    fd = os.open(folder, os.O_RDONLY)
    try:
        return syncfs(fd) == 0
    finally:
        os.close(fd)


def _fsync_all(paths: list[Path]) -> None:
    """Flush every page to disk before the caller renames the folder into place: syncfs
    where the system has it, else every file in parallel (concurrent fsyncs share journal
    commits: 500 pages 0.3 s, one by one 2.5 s)."""
    from concurrent.futures import ThreadPoolExecutor

    if not paths or _syncfs(paths[0].parent):
        return

    def fsync(path: Path) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(fsync, paths))
    fsync(paths[0].parent)


# Rendering is pure Python (Jinja2, ~0.2 ms a page, as much again to turn rows into
# contexts): a month of many statements is merged and rendered in worker processes, one per
# core, a chunk of documents at a time; a small month renders here, where starting the
# workers would cost more than it saves.
PARALLEL_FROM = 2000
CHUNK = 500


def _render_pages(target: str, contexts: list[dict]) -> list[tuple[str, int, str]]:
    """Render and write a chunk of pages: (invoice number, lines shown, sha256) each."""
    template = _environment().get_template("statement.html.j2")
    out = []
    for context in contexts:
        number = context["doc"]["invoice_number"]
        data = template.render(**context).encode("utf-8")
        out.append((number, len(context["lines"]), _write(Path(target) / f"{number}.html", data)))
    return out


def _month_tables(con, period: str) -> dict:
    """Each query's rows of the month as an Arrow table, ordered by invoice number: columnar
    and compact (no Python object per value) until a worker turns its slice into rows."""
    with con.cursor() as cur:
        return {name: cur.sql(sql, params=_period_param(sql, period)).to_arrow_table()
                for name, sql in statements_sql.DOCUMENT_QUERIES.items()}


def _chunk_bounds(tables: dict, size: int) -> list[dict[str, tuple[int, int]]]:
    """Per chunk of ``size`` documents, each table's (offset, length) holding their rows."""
    from bisect import bisect_left, bisect_right

    numbers = {name: t.column("invoice_number").to_pylist() for name, t in tables.items()}
    docs = numbers["documents"]
    bounds = []
    for start in range(0, len(docs), size):
        first, last = docs[start], docs[min(start + size, len(docs)) - 1]
        chunk = {}
        for name, column in numbers.items():
            lo, hi = bisect_left(column, first), bisect_right(column, last)
            chunk[name] = (lo, hi - lo)
        bounds.append(chunk)
    return bounds


# The month's tables and quantity units, set before the worker processes are forked: they
# inherit them (copy-on-write) rather than receiving pickled rows. Pickling a month's rows
# cost the parent more than rendering them (19,195 statements: 70 MB, 1.7 s).
_FOR_WORKERS: dict = {}


def _render_chunk(target: str, bounds: dict[str, tuple[int, int]]) -> list[tuple[str, int, str]]:
    """In a worker: the rows of one chunk of documents, their contexts and their pages."""
    tables, units = _FOR_WORKERS["tables"], _FOR_WORKERS["units"]
    streams = {name: iter(tables[name].slice(offset, length).to_pylist())
               for name, (offset, length) in bounds.items()}
    return _render_pages(target, _merged(streams, units))


def _render_all(con, target: Path, period: str) -> list[tuple[str, int, str]]:
    # one statement per invoice (stmt_documents): the invoices count them
    count = con.execute("select count(*) from main.invoices where period = ?",
                        [period]).fetchone()[0]
    workers = min(os.cpu_count() or 1, 4)
    if count < PARALLEL_FROM or workers < 2:
        return _render_pages(str(target), document_contexts(con, period))
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    tables = _month_tables(con, period)
    _FOR_WORKERS.update(tables=tables, units=quantity_units(con))
    # fork (Linux's default): a worker starts at once with the template compiled, the
    # month's tables and no importable main module needed (spawn re-runs the caller's
    # script). A worker only reads those tables, renders and writes files, and leaves with
    # os._exit: it touches no lock of the parent's other threads (DuckDB, Prefect) and never
    # closes the parent's database.
    try:
        with ProcessPoolExecutor(workers,
                                 mp_context=multiprocessing.get_context("fork")) as pool:
            futures = [pool.submit(_render_chunk, str(target), bounds)
                       for bounds in _chunk_bounds(tables, CHUNK)]
            return [page for future in futures for page in future.result()]
    finally:
        _FOR_WORKERS.clear()


def write_statements(con, folder: Path, period: str, pdf: bool = False) -> list[dict]:
    """Write ``statements/<invoice_number>.html`` (and ``.pdf`` when enabled) for every
    document of ``period`` into the export folder; return their manifest entries. ``rows``
    of a statement is the number of invoice lines it shows (its invoice's line_count)."""
    target = Path(folder) / STATEMENTS_DIR
    target.mkdir(parents=True, exist_ok=True)
    entries, pages = [], []
    for number, rows, sha in _render_all(con, target, period):
        entries.append({"name": f"{STATEMENTS_DIR}/{number}.html", "rows": rows, "sha256": sha})
        pages.append((number, rows))
    if pdf:  # settings: statements.pdf (section 8)
        from support_billing.exports.statements_pdf import html_files_to_pdf

        html_files_to_pdf([(target / f"{n}.html", target / f"{n}.pdf") for n, _ in pages])
        for number, rows in pages:
            entries.append({"name": f"{STATEMENTS_DIR}/{number}.pdf", "rows": rows,
                            "sha256": hashlib.sha256(
                                (target / f"{number}.pdf").read_bytes()).hexdigest()})
    _fsync_all([Path(folder) / e["name"] for e in entries])
    return sorted(entries, key=lambda e: e["name"])


def year_json(context: dict) -> str:
    """The year statement's rows as JSON (dates ISO, amounts exact text)."""
    def plain(value):
        return str(value) if not isinstance(value, (int, bool, type(None))) else value

    out = {k: context[k] for k in ("steps", "incidents", "free_tickets", "hours", "blocks",
                                   "lines")}
    out["statement"] = context["doc"]
    out["as_of"] = context["through"]
    return json.dumps(out, sort_keys=True, indent=2, ensure_ascii=False, default=plain) + "\n"
