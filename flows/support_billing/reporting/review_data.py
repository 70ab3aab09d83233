"""The review page's rows (SPEC R18), read from the dbt models that compute them.

Every amount, count, change, cause, flag and chart value is a column of a ``review_*``
view over every month (``dbt_project/models/marts/review``): the month compared with is
the last finalized month before the reviewed one (``review_months.previous_finalized``,
NULL while none is finalized; docs/decisions.md), money is DECIMAL (R2), rendered here
as DuckDB's text of it, and the words about rule decisions come from the seeds. This
module only selects the reviewed period (and, on a large page, the listed customers) and
groups rows for the template.
"""

from __future__ import annotations

from support_billing.reporting.rejected import WAITING_SQL
from support_billing.storage.freshness import DATA_TIME_SQL


def rows(con, sql: str, params: dict | None = None) -> list[dict]:
    cur = con.execute(sql, params or {})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


# The listed customers of a large page (None: every customer).
ONLY = ("(cast($only as varchar[]) is null "
        "or customer_id in (select unnest(cast($only as varchar[]))))")

SUMMARY_SQL = """
select previous_finalized, cast(grand_total as varchar) as grand_total, invoices,
       credit_notes, cast(prev_total as varchar) as prev_total, prev_invoices,
       prev_credit_notes, total_change, invoices_change, credit_notes_change
from main.review_summary
where period = $period
"""

CUSTOMERS_SQL = """
select anchor, customer_id, customer_name, invoice_number, document_type,
       cast(now_total as varchar) as now_total, cast(prev_total as varchar) as prev_total,
       change, flag_big_change, flag_credit_note, flag_new_customer, flag_not_invoiced,
       flag_held_rows, held_rows
from main.review_customers
where period = $period
order by customer_id
"""

CAUSES_SQL = f"""
select customer_id, ord, label, detail
from main.review_causes
where period = $period and {ONLY}
order by customer_id, ord, label
"""

LINES_SQL = f"""
select customer_id, invoice_number, line_number, line_type, description,
       cast(quantity as varchar) as quantity, cast(unit_price as varchar) as unit_price,
       cast(amount as varchar) as amount, source_ref, line_type_label, line_sentence,
       adjusts_period, adjustment_sentence
from main.review_lines
where period = $period and {ONLY}
order by invoice_number, line_number
"""

INCIDENTS_SQL = f"""
select customer_id, ticket_id, incident_date, seq_in_year, coverage, reason_code, category,
       overage_treatment, reason_sentence, coverage_sentence
from main.review_incidents
where period = $period and {ONLY}
order by customer_id, seq_in_year
"""

# The reviewed month's bars say whether the page is a draft (R17) or the billed month.
MONTHLY_SQL = """
select trend_period as period, line_type,
       if(source = 'reviewed', $status, source) as source,
       label, r14_order, cast(amount as varchar) as amount, amount_f, base_f
from main.review_trend_line_types
where period = $period
order by trend_period, line_type
"""

MONTH_TOTALS_SQL = """
select trend_period as period, cast(total as varchar) as total, cast(up as varchar) as up,
       up_f, down_f, overage_incidents, finalized
from main.review_trend_totals
where period = $period
order by trend_period
"""

WAITING_COUNTS_SQL = f"""
select count(*) filter (where status = 'rejected') as rejected,
       count(*) filter (where status = 'held') as held
from ({WAITING_SQL})
"""


FULL_LIST_LIMIT = 2000
FLAGS = ("big_change", "credit_note", "new_customer", "not_invoiced", "held_rows")


class ReviewPeriodError(ValueError):
    """A month outside the months the review models cover (review_months)."""


def listed_customers(customers: list[dict]) -> tuple[list[dict], list[str] | None]:
    """Every customer up to FULL_LIST_LIMIT; above it (a page nobody reads row by row, and
    seconds of rendering per 10,000 customers) only those with a flag. Returns the rows
    and the ids to restrict the detail queries to (None: no restriction)."""
    if len(customers) <= FULL_LIST_LIMIT:
        return customers, None
    shown = [c for c in customers if any(c[f"flag_{f}"] for f in FLAGS)]
    return shown, [c["customer_id"] for c in shown]


def by_customer(found: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for r in found:
        grouped.setdefault(r["customer_id"], []).append(r)
    return grouped


def summary(con, period: str) -> dict:
    """The month's header row, with ``previous_finalized`` (the month compared with)."""
    found = rows(con, SUMMARY_SQL, {"period": period})
    if not found:
        raise ReviewPeriodError(f"{period} is outside the months the review models cover")
    return found[0]


def page_data(con, period: str, preview: bool) -> dict:
    """Everything the template shows, as rows from the warehouse; ``prev`` is the month
    compared with."""
    head = summary(con, period)
    every_customer = rows(con, CUSTOMERS_SQL, {"period": period})
    customers, only = listed_customers(every_customer)
    detail = {"period": period, "only": only}
    last_ingest = con.execute(
        f"select cast(t as varchar) from ({DATA_TIME_SQL})").fetchone()[0]
    return {
        "prev": head.pop("previous_finalized"),
        "summary": head,
        "customers": customers,
        "customers_not_listed": len(every_customer) - len(customers),
        "full_list_limit": FULL_LIST_LIMIT,
        "causes": by_customer(rows(con, CAUSES_SQL, detail)),
        "lines": by_customer(rows(con, LINES_SQL, detail)),
        "incidents": by_customer(rows(con, INCIDENTS_SQL, detail)),
        "monthly": rows(con, MONTHLY_SQL, {"period": period,
                                           "status": "draft" if preview else "billed"}),
        "month_totals": rows(con, MONTH_TOTALS_SQL, {"period": period}),
        "waiting": rows(con, WAITING_COUNTS_SQL)[0],
        "last_ingest": last_ingest,
    }
