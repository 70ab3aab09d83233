"""The month's data as the billing flow reads it from the warehouse: invoices and lines of
the billed month, the gate's inputs, the quality findings (not the gate: held rows and
``hourly_work`` tickets without hours) and the closing summary's figures."""

from __future__ import annotations

import hashlib

from . import export_sql

HOUR_LINE_TYPES = ("implementation_hours", "training_hours", "custom_development_hours")


def _rows(con, sql: str, params: list | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


# ---------------------------------------------------------------- the month's data
INVOICE_SQL = """
select period, invoice_number, document_type, customer_id, customer_name, accounting_ref,
       email, invoice_date, due_date, currency, total, line_count
from main.invoices
where period = ?
order by invoice_number
"""
LINES_SQL = """
select period, invoice_number, customer_id, line_number, line_type, description, quantity,
       unit_price, amount, source_ref, rule, adjusts_period, adjusts_line_type
from main.invoice_lines
where period = ?
order by invoice_number, line_number
"""


def load_month(con, period: str) -> tuple[list[dict], list[dict]]:
    """The month's documents and lines as Python rows (``gate_inputs``). The export does
    not load them: ``exporters.write_export_from`` renders the files in the warehouse."""
    return _rows(con, INVOICE_SQL, [period]), _rows(con, LINES_SQL, [period])


def month_fingerprint(con, period: str) -> str:
    """sha256 of the month's documents and lines as built (every column, in number order),
    computed in the warehouse: the gate and the export must see the same data."""
    invoices, lines = con.execute(
        """
        select
            (select coalesce(string_agg(cast(i as varchar), chr(10) order by invoice_number), '')
             from main.invoices as i where period = $period),
            (select coalesce(string_agg(cast(l as varchar), chr(10)
                                        order by invoice_number, line_number), '')
             from main.invoice_lines as l where period = $period)
        """,
        {"period": period},
    ).fetchone()
    digest = hashlib.sha256(period.encode())
    digest.update(invoices.encode())
    digest.update(b"\x1e")
    digest.update(lines.encode())
    return digest.hexdigest()


def gate_inputs(con, period: str):
    """The warehouse's month as ``gate.GateInputs`` rows (for ``gate.run_gate``). The
    billing flow does not need them: ``gate.run_gate_on`` reads the same tables in SQL."""
    from .gate import GateInputs
    from .gate_sql import UPFRONT_LEDGER_SQL

    invoices, lines = load_month(con, period)
    known = {r[0] for r in con.execute(
        "select customer_id from main.stg_exports__customers").fetchall()}
    price_book = _rows(con, "select price_key, effective_from, value from main.price_book")
    ledger = dict(con.execute(UPFRONT_LEDGER_SQL, {"period": period}).fetchall())
    return GateInputs(period, invoices, lines, known, price_book, ledger)


def quality_findings(con, period: str) -> dict:
    """Not the gate: hourly_work tickets of the month without billable hours, held rows."""
    findings: dict = {}
    try:
        findings["hourly_work_without_hours"] = _rows(
            con,
            """
            select t.ticket_id, t.customer_id, cast(t.opened_date as varchar) as opened_date,
                   t.category
            from main.fct_ticket_classification as c
            inner join main.stg_exports__tickets as t on t.ticket_id = c.ticket_id
            where c.reason_code = 'hourly_work'
              and t.opened_period = ?
              and not exists (
                  select 1 from main.stg_exports__timesheets as s
                  where s.ticket_id = t.ticket_id and s.customer_id = t.customer_id
                    and s.activity in ('implementation', 'training', 'custom_development'))
            order by t.customer_id, t.ticket_id
            """,
            [period],
        )
    except Exception as exc:  # the classification mart is the lead's; report, do not fail
        findings["hourly_work_without_hours"] = []
        findings["hourly_work_error"] = str(exc).splitlines()[0]
    findings["held_rows"] = _rows(
        con,
        """
        select kind, row_key, customer_id, file_name, line_number, reason
        from raw.held_rows
        order by hold_seq
        """,
    )
    return findings


REJECTED_WAITING_SQL = """
with loaded as (
    select 'customers' as kind, customer_id as row_key, ingest_id from raw.customers
    union all select 'subscriptions', subscription_id, ingest_id from raw.subscriptions
    union all select 'tickets', ticket_id, ingest_id from raw.tickets
    union all select 'timesheets', entry_id, ingest_id from raw.timesheets
    union all select 'prepaid_hours', block_id, ingest_id from raw.prepaid_hours
)
select count(*)
from raw.rejected_rows as r
where not exists (
    select 1 from loaded as l
    where l.kind = r.kind and l.row_key = r.row_key and l.ingest_id >= r.ingest_id
)
"""


# The closing summary's month figures, on DECIMAL in the warehouse (R2 formatting).
MONTH_FIGURES_SQL = f"""
select
    (select count(*) from main.invoices
     where period = $period and document_type = 'invoice') as invoices,
    (select count(*) from main.invoices
     where period = $period and document_type is distinct from 'invoice') as credit_notes,
    (select {export_sql.money('sum(total)')} from main.invoices
     where period = $period) as total_billed,
    (select {export_sql.money('sum(quantity)')} from main.invoice_lines
     where period = $period and list_contains($hour_types, line_type)) as hours_billed
"""


def month_stats(con, period: str) -> dict:
    """The closing summary's numbers."""
    def one(sql, params=None, default=0):
        try:
            return con.execute(sql, params or []).fetchone()[0]
        except Exception:
            return default

    invoices, credit_notes, total, hours = con.execute(
        MONTH_FIGURES_SQL, {"period": period, "hour_types": list(HOUR_LINE_TYPES)}).fetchone()
    return {
        "invoices": int(invoices),
        "credit_notes": int(credit_notes),
        "total_billed": total,
        "overage_incidents": int(one(
            "select count(*) from main.fct_incidents where period = ? and coverage = 'overage'",
            [period])),
        "hours_billed": hours,
        "rejected_rows_waiting": int(one(REJECTED_WAITING_SQL)),
        "rows_held": int(one("select count(*) from raw.held_rows")),
    }
