"""What the billing flow reads from the warehouse besides the gate and the export: the
month's fingerprint, the quality findings (not the gate: held rows and ``hourly_work``
tickets without hours) and the closing summary's figures."""

from __future__ import annotations

import hashlib

from support_billing.billing.gate_sql import HOUR_LINE_TYPES
from support_billing.exports import render_sql as export_sql
from support_billing.reporting.rejected import WAITING_SQL


def _rows(con, sql: str, params: list | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


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


# R18: the rejected rows not yet resolved are defined once, by the report that lists them.
REJECTED_WAITING_SQL = f"select count(*) from ({WAITING_SQL}) where status = 'rejected'"


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
