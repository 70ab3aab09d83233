"""Test-only entry points over hand-made rows: the product reads only the warehouse.

- ``GateInputs`` / ``run_gate``: a month of plain dicts loaded into an in-memory DuckDB
  shaped like the warehouse (``main.invoices``, ``main.invoice_lines``, ...), amounts and
  dates stored as their exact text so that a badly scaled value (``397.505``) reaches the
  gate as given; then the product's ``gate.run_gate_on``.
- ``write_export`` / ``write_prepaid_report``: the same for the export writers
  (``exporters.write_export_from`` / ``write_prepaid_report_from``).
- ``line_types``, ``LINE_TYPE_ORDER``, ``WHOLE_QUANTITY_TYPES``: read from the
  ``line_types`` seed, where the line types are defined (R14).
- ``price_in_force``: section 2's rule over a hand-made price book, to lay out the
  ``int_calendar_months`` row the gate reads.
- ``add_gate_models``: the gate's check models (``dbt_project/models/gate``) as views,
  rendered with Jinja2 the way dbt renders them (``ref('x')`` is ``main.x``).
- ``add_models`` / ``add_review_models``: any model (the review page's,
  ``models/marts/review``, R18) the same way, over hand-made tables.
- ``empty_warehouse`` / ``run_customers_model``: a home whose warehouse holds the empty
  raw tables, and one real dbt command on it (the dbt runner's tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
from support_billing import periods
from support_billing.billing import gate
from support_billing.exports import writers as exporters
from support_billing.exports.formatting import dec
from support_billing.storage.dbt_runner import DBT_PROJECT_DIR, SEEDS_DIR, read_seed

LINE_TYPES = read_seed("line_types")
LINE_TYPE_ORDER = tuple(r["line_type"] for r in sorted(LINE_TYPES,
                                                        key=lambda r: int(r["r14_order"])))
WHOLE_QUANTITY_TYPES = frozenset(r["line_type"] for r in LINE_TYPES
                                 if r["quantity_unit"] == "incidents")
ACCOUNTING_ITEMS = {r["line_type"]: r["accounting_item"] for r in LINE_TYPES}


def add_line_types(con) -> None:
    """``main.line_types`` as dbt seeds it (the seed file itself)."""
    con.execute(f"""create or replace table main.line_types as
        select * replace (cast(r14_order as integer) as r14_order,
                          cast(billed_hours as boolean) as billed_hours)
        from read_csv('{SEEDS_DIR / "line_types.csv"}', all_varchar = true, header = true)""")


def price_in_force(price_book: list[dict], key: str, on: date) -> Decimal | None:
    """The latest row of ``key`` with effective_from on or before ``on`` (section 2)."""
    best = None
    for row in price_book:
        eff = row["effective_from"]
        eff = date.fromisoformat(str(eff)[:10]) if not isinstance(eff, date) else eff
        if row["price_key"] == key and eff <= on and (best is None or eff > best[0]):
            best = (eff, dec(row["value"]))
    return None if best is None else best[1]


def add_calendar_month(con, period: str, price_book: list[dict]) -> None:
    """``main.int_calendar_months``' row of ``period`` from a hand-made price book (rates,
    up-front and hourly prices in force on the first day, terms on the last, section 4)."""
    first, last = periods.first_day(period), periods.last_day(period)
    terms = price_in_force(price_book, "payment_terms_days", last)
    con.execute("""create or replace table main.int_calendar_months (
        period varchar, rate_tier_1_2 decimal(18, 2), rate_tier_3_plus decimal(18, 2),
        upfront_price decimal(18, 2), hourly_price decimal(18, 2),
        payment_terms_days integer)""")
    con.execute("insert into main.int_calendar_months values (?, ?, ?, ?, ?, ?)", [
        period, *(price_in_force(price_book, k, first) for k in (
            "incident_rate_tier_1_2", "incident_rate_tier_3_plus", "upfront_incident",
            "hourly_rate")),
        None if terms is None else int(terms)])


# ---------------------------------------------------------------- the gate
GATE_MODELS = ("gate_invoice_checks", "gate_line_checks", "gate_incident_reconciliation")


def add_gate_models(con) -> None:
    """The gate's check models as views over the tables already in ``con``."""
    import jinja2

    macros = (DBT_PROJECT_DIR / "macros" / "gate_checks.sql").read_text(encoding="utf-8")
    env = jinja2.Environment()
    for name in GATE_MODELS:
        model = (DBT_PROJECT_DIR / "models" / "gate" / f"{name}.sql").read_text(encoding="utf-8")
        sql = env.from_string(macros + model).render(ref=lambda n: f"main.{n}")
        con.execute(f"create or replace view main.{name} as {sql}")


# ---------------------------------------------------------------- the review page
REVIEW_MODELS = ("review_months", "review_summary", "review_customers", "review_causes",
                 "review_lines", "review_incidents", "review_trend_months",
                 "review_trend_lines", "review_trend_line_types", "review_trend_totals")


def add_models(con, folder: str, names: tuple[str, ...], macros: tuple[str, ...] = ()) -> None:
    """dbt models of ``models/<folder>`` as views over the tables already in ``con``, in
    the order given, rendered with Jinja2 as dbt renders them: ``ref('x')`` is ``main.x``,
    ``source('s', 't')`` is ``s.t``, the macros from the named files of ``macros/``."""
    import jinja2

    text = "".join((DBT_PROJECT_DIR / "macros" / f"{m}.sql").read_text(encoding="utf-8")
                   for m in macros)
    env = jinja2.Environment()
    for name in names:
        model = (DBT_PROJECT_DIR / "models" / folder / f"{name}.sql").read_text(encoding="utf-8")
        sql = env.from_string(text + model).render(
            ref=lambda n: f"main.{n}", source=lambda schema, table: f"{schema}.{table}",
            config=lambda **_: "")
        con.execute(f"create or replace view main.{name} as {sql}")


def add_review_models(con) -> None:
    """The review page's models (R18) over the tables already in ``con``, with the
    statements' line words they read (stmt_lines)."""
    add_models(con, "marts/statements", ("stmt_lines",))
    add_models(con, "marts/review", REVIEW_MODELS, macros=("money_text",))


@dataclass
class GateInputs:
    """Hand-made rows for ``run_gate``: plain dicts shaped like the warehouse's rows."""

    period: str
    invoices: list[dict]                        # main.invoices columns
    lines: list[dict]                           # main.invoice_lines columns
    known_customers: set[str]
    price_book: list[dict]                      # price_key, effective_from, value
    upfront_ledger: dict[str, int] = field(default_factory=dict)  # customer -> incidents


INVOICE_COLUMNS = ("period", "invoice_number", "document_type", "customer_id",
                   "customer_name", "accounting_ref", "email", "invoice_date", "due_date",
                   "currency", "total", "line_count")
LINE_COLUMNS = ("period", "invoice_number", "document_type", "customer_id", "line_number",
                "line_type", "description", "quantity", "unit_price", "amount", "source_ref",
                "rule", "adjusts_period", "adjusts_line_type")
DEDUCTION_COLUMNS = ("period", "customer_id", "block_id", "hours_taken", "hours_left",
                     "invoice_number")


def _text(value) -> str | None:
    """A value as exact text (Decimal without exponent, dates ISO), None stays None."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _text_table(con, table: str, columns: tuple[str, ...], rows: list[dict]) -> None:
    con.execute(f"create or replace table main.{table} ("
                + ", ".join(f"{c} varchar" for c in columns) + ")")
    if rows:
        con.executemany(f"insert into main.{table} values ({', '.join('?' * len(columns))})",
                        [[_text(r.get(c)) for c in columns] for r in rows])


def gate_warehouse(inp: GateInputs):
    """An in-memory DuckDB holding ``inp`` where ``gate.run_gate_on`` reads it, every value
    as its exact text; the ledger as up-front overage incidents of the month."""
    con = duckdb.connect(":memory:")
    _text_table(con, "invoices", INVOICE_COLUMNS, inp.invoices)
    _text_table(con, "invoice_lines", LINE_COLUMNS, inp.lines)
    _text_table(con, "stg_exports__customers", ("customer_id",),
                [{"customer_id": c} for c in inp.known_customers])
    con.execute("""create table main.fct_incidents (customer_id varchar, period varchar,
        coverage varchar, overage_treatment varchar, charged_period varchar)""")
    ledger = [[c, inp.period, inp.period] for c, n in inp.upfront_ledger.items()
              for _ in range(int(n))]
    if ledger:
        con.executemany("insert into main.fct_incidents values (?, ?, 'overage', 'upfront', ?)",
                        ledger)
    add_line_types(con)
    add_calendar_month(con, inp.period, inp.price_book)
    add_gate_models(con)
    return con


def run_gate(inp: GateInputs, directory: Path | None = None) -> gate.GateResult:
    """The gate over hand-made rows; never raises on failed checks."""
    with gate_warehouse(inp) as con:
        return gate.run_gate_on(con, inp.period, directory)


def gate_frames(inp: GateInputs) -> dict:
    """The gate's frames of hand-made rows: {suite: (frame, label)}."""
    from support_billing.billing import gate_sql

    with gate_warehouse(inp) as con:
        return gate_sql.warehouse_frames(con, inp.period)


# ---------------------------------------------------------------- the exports
def load_rows(con, invoices=(), lines=(), deductions=(), period: str | None = None) -> None:
    """Plain rows into ``main.invoices``, ``main.invoice_lines``, ``main.prepaid_deductions``
    with the warehouse's column types (money as exact decimal text, never DOUBLE), plus
    ``main.line_types``; ``period``: every row is put into that month."""
    def typed(rows, columns, types):
        out = []
        for r in rows:
            row = {c: r.get(c) for c in columns}
            if period is not None:
                row["period"] = period
            out.append([_text(row[c]) if types.get(c, "").startswith("decimal")
                        else (str(row[c])[:10] if types.get(c) == "date" and row[c] else row[c])
                        for c in columns])
        return out

    money = "decimal(18, 2)"
    shapes = {
        "invoices": (INVOICE_COLUMNS, {"invoice_date": "date", "due_date": "date",
                                       "total": money, "line_count": "integer"}, invoices),
        "invoice_lines": (LINE_COLUMNS, {"line_number": "integer", "quantity": money,
                                         "unit_price": money, "amount": money}, lines),
        "prepaid_deductions": (DEDUCTION_COLUMNS, {"hours_taken": money,
                                                   "hours_left": money}, deductions),
    }
    for table, (columns, types, rows) in shapes.items():
        con.execute(f"create or replace table main.{table} ("
                    + ", ".join(f"{c} {types.get(c, 'varchar')}" for c in columns) + ")")
        values = typed(rows, columns, types)
        if values:
            con.executemany(f"insert into main.{table} values ({', '.join('?' * len(columns))})",
                            values)
    add_line_types(con)


def write_export(folder: Path, period: str, invoices: list[dict], lines: list[dict],
                 gate_summary: dict, config=None) -> dict:
    """``exporters.write_export_from`` over plain rows: every row given is exported."""
    with duckdb.connect(":memory:") as con:
        load_rows(con, invoices, lines, period=period)
        return exporters.write_export_from(con, folder, period, gate_summary, config)


def write_prepaid_report(path: Path, deductions: list[dict]) -> Path:
    """The prepaid report of plain rows shaped like main.prepaid_deductions (every row in
    the month of the first)."""
    period = next((d["period"] for d in deductions if d.get("period")), "2026-05")
    with duckdb.connect(":memory:") as con:
        load_rows(con, deductions=deductions, period=period)
        return exporters.write_prepaid_report_from(con, path, period)


def empty_warehouse(home: Path) -> Path:
    """``home`` with a warehouse holding the raw tables, empty."""
    from support_billing.storage.warehouse import open_warehouse

    with open_warehouse(home):
        pass
    return home


def run_customers_model(home: Path, reuse_parse: bool = False):
    """One real dbt command: the customers' staging model (and the project's on-run-end
    macro, which reads it)."""
    from support_billing.storage import dbt_runner

    return dbt_runner.run_dbt(home, ["run", "--select", "stg_exports__customers"],
                              reuse_parse=reuse_parse)
