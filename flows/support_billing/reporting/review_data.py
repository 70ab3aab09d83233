"""The review page's numbers (SPEC R18), all computed in the warehouse.

Every amount, count, change and flag is a SQL result over the dbt marts
(``main.invoices``, ``main.invoice_lines``, ``main.fct_invoice_lines_computed``,
``main.fct_incidents``), the finalized records (``billing.*``) and the ingest tables
(``raw.*``); money stays DECIMAL and is rendered as text by DuckDB (R2). Python only
groups rows for the template and turns chart values into pixels.

"Previous month" is the last finalized month before the reviewed one (what finance
compares a draft with), NULL when none is finalized yet (docs/decisions.md).

Words about rule decisions come from the seeds, joined here, so the page explains a
decision in the same words as ``usage`` and the customer statements: a line
type's short name from ``main.line_types.label``, its customer sentence, the cause of a
prior-period adjustment (R15), an incident's R9 reason and its R10/R12 coverage from
``main.plain_reasons``. An unknown code shows as itself. The R18 cause categories and the
flags are the page's own labels.
"""

from __future__ import annotations

from support_billing.billing.gate_sql import HOUR_LINE_TYPES
from support_billing.reporting.rejected import WAITING_SQL
from support_billing.storage.freshness import DATA_TIME_SQL


def _money(expr: str) -> str:
    return f"cast(cast({expr} as decimal(18, 2)) as varchar)"


def _signed(expr: str) -> str:
    return f"(case when {expr} > 0 then '+' else '' end || {_money(expr)})"


def rows(con, sql: str, params: dict | None = None) -> list[dict]:
    cur = con.execute(sql, params or {})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def previous_finalized(con, period: str) -> str | None:
    return con.execute(
        "select max(period) from billing.finalized_months where period < ?", [period]
    ).fetchone()[0]


SUMMARY_SQL = f"""
with now_month as (
    select count(*) filter (where document_type = 'invoice') as invoices,
           count(*) filter (where document_type = 'credit_note') as credit_notes,
           coalesce(sum(total), 0) as total
    from main.invoices
    where period = $period
),

prev_month as (
    select count(*) filter (where document_type = 'invoice') as invoices,
           count(*) filter (where document_type = 'credit_note') as credit_notes,
           coalesce(sum(total), 0) as total
    from billing.finalized_invoices
    where period = cast($prev as varchar)
)

select
    {_money('n.total')} as grand_total,
    n.invoices, n.credit_notes,
    {_money('p.total')} as prev_total, p.invoices as prev_invoices,
    p.credit_notes as prev_credit_notes,
    {_signed('n.total - p.total')} as total_change,
    n.invoices - p.invoices as invoices_change,
    n.credit_notes - p.credit_notes as credit_notes_change
from now_month as n
cross join prev_month as p
"""

CUSTOMERS_SQL = f"""
with now_inv as (
    select customer_id, invoice_number, document_type, total
    from main.invoices
    where period = $period
),

prev_inv as (
    select customer_id, sum(total) as total
    from billing.finalized_invoices
    where period = cast($prev as varchar)
    group by customer_id
),

billed_before as (
    select distinct customer_id from billing.finalized_invoices where period < $period
),

held as (
    select customer_id, count(*) as held_rows from raw.held_rows group by customer_id
),

keys as (
    select customer_id from now_inv
    union select customer_id from prev_inv
    union select customer_id from held
),

joined as (
    select
        k.customer_id,
        c.customer_name,
        n.invoice_number, n.document_type,
        n.total as now_total, p.total as prev_total,
        coalesce(n.total, 0) - coalesce(p.total, 0) as change,
        coalesce(h.held_rows, 0) as held_rows,
        b.customer_id is not null as billed_before
    from keys as k
    left join main.stg_exports__customers as c on c.customer_id = k.customer_id
    left join now_inv as n on n.customer_id = k.customer_id
    left join prev_inv as p on p.customer_id = k.customer_id
    left join held as h on h.customer_id = k.customer_id
    left join billed_before as b on b.customer_id = k.customer_id
),

final as (
    select
        row_number() over (order by customer_id) as anchor,
        customer_id, customer_name, invoice_number, document_type,
        {_money('now_total')} as now_total,
        {_money('prev_total')} as prev_total,
        case when cast($prev as varchar) is not null then {_signed('change')} end as change,
        cast($prev as varchar) is not null
            and abs(change) > 100.00
            and (coalesce(prev_total, 0) = 0 or abs(change) > 0.5 * abs(prev_total))
            as flag_big_change,
        document_type = 'credit_note' as flag_credit_note,
        now_total is not null and not billed_before
            and cast($prev as varchar) is not null as flag_new_customer,
        now_total is null and prev_total is not null as flag_not_invoiced,
        held_rows > 0 as flag_held_rows,
        held_rows
    from joined
)

select * from final order by customer_id
"""

# The causes of each customer's change: line types that moved (adjustments apart), the
# adjustments, new overage incidents, hours and prorated subscription lines.
CAUSES_SQL = f"""
with now_lines as (
    select customer_id, line_type, sum(amount) as amount
    from main.invoice_lines
    where period = $period and line_type <> 'prior_period_adjustment'
    group by all
),

prev_lines as (
    select customer_id, line_type, sum(amount) as amount
    from billing.finalized_invoice_lines
    where period = cast($prev as varchar) and line_type <> 'prior_period_adjustment'
    group by all
),

moved as (
    select customer_id, 1 as ord, coalesce(lt.label, line_type) as label,
           {_money('coalesce(p.amount, 0)')} || ' -> ' || {_money('coalesce(n.amount, 0)')}
               || ' (' || {_signed('coalesce(n.amount, 0) - coalesce(p.amount, 0)')} || ')'
               as detail
    from now_lines as n
    full join prev_lines as p using (customer_id, line_type)
    left join main.line_types as lt using (line_type)
    where coalesce(n.amount, 0) <> coalesce(p.amount, 0)
      and cast($prev as varchar) is not null
),

adjustments as (
    select l.customer_id, 2 as ord, coalesce(any_value(lt.label), l.line_type) as label,
           count(*) || ' line(s), ' || {_signed('sum(l.amount)')} as detail
    from main.invoice_lines as l
    left join main.line_types as lt using (line_type)
    where l.period = $period and l.line_type = 'prior_period_adjustment'
    group by l.customer_id, l.line_type
),

overage as (
    select customer_id, 3 as ord, 'new overage incidents' as label,
           cast(count(*) as varchar) as detail
    from main.fct_incidents
    where period = $period and coverage = 'overage'
    group by customer_id
),

hours as (
    select customer_id, 4 as ord, 'hours billed' as label,
           {_money('sum(quantity)')} || ' h' as detail
    from main.invoice_lines
    where period = $period and list_contains($hour_types, line_type)
    group by customer_id
),

prorations as (
    select customer_id, 5 as ord, 'prorated subscriptions' as label,
           string_agg(source_ref, ', ' order by source_ref) as detail
    from main.invoice_lines
    where period = $period and line_type = 'support_subscription'
      and amount <> cast(round(quantity * unit_price, 2) as decimal(18, 2))
    group by customer_id
),

final as (
    select * from moved
    union all select * from adjustments
    union all select * from overage
    union all select * from hours
    union all select * from prorations
)

select * from final
where cast($only as varchar[]) is null
   or customer_id in (select unnest(cast($only as varchar[])))
order by customer_id, ord, label
"""

# Each line with its type's short name and sentence; an adjustment (R15) with the month it
# corrects and the cause of correcting that line type.
LINES_SQL = """
select l.customer_id, l.invoice_number, l.line_number, l.line_type, l.description,
       cast(l.quantity as varchar) as quantity, cast(l.unit_price as varchar) as unit_price,
       cast(l.amount as varchar) as amount, l.source_ref,
       coalesce(lt.label, l.line_type) as line_type_label,
       coalesce(w.sentence, l.line_type) as line_sentence,
       l.adjusts_period, a.sentence as adjustment_sentence
from main.invoice_lines as l
left join main.line_types as lt on lt.line_type = l.line_type
left join main.plain_reasons as w on w.kind = 'line_type' and w.code = l.line_type
left join main.plain_reasons as a on a.kind = 'adjustment' and a.code = l.adjusts_line_type
where l.period = $period
  and (cast($only as varchar[]) is null
       or l.customer_id in (select unnest(cast($only as varchar[]))))
order by l.invoice_number, l.line_number
"""

# Each incident's R9 reason and R10/R12 coverage in plain words (the statements' coverage
# codes: covered, overage_upfront, overage_subscription).
INCIDENTS_SQL = """
select i.customer_id, i.ticket_id, cast(i.incident_date as varchar) as incident_date,
       i.seq_in_year, i.coverage, i.reason_code, i.category, i.overage_treatment,
       coalesce(r.sentence, i.reason_code) as reason_sentence,
       coalesce(c.sentence, i.coverage) as coverage_sentence
from main.fct_incidents as i
left join main.plain_reasons as r on r.kind = 'reason' and r.code = i.reason_code
left join main.plain_reasons as c on c.kind = 'coverage'
    and c.code = if(i.coverage = 'overage', 'overage_' || i.overage_treatment, i.coverage)
where i.period = $period
  and (cast($only as varchar[]) is null
       or i.customer_id in (select unnest(cast($only as varchar[]))))
order by i.customer_id, i.seq_in_year
"""

# Twelve months of totals by line type: a finalized month as finalized, the reviewed
# month as built, other months as the rules compute them now (marked "computed").
# Stacked bars: positive amounts stack up from 0, negative ones down; bases in SQL.
MONTHLY_SQL = """
with months as (
    select unnest($months) as period
),

finalized as (
    select period, line_type, sum(amount) as amount, 'finalized' as source
    from billing.finalized_invoice_lines
    where list_contains($months, period) and period <> $period
    group by all
),

reviewed as (
    select period, line_type, sum(amount) as amount, $status as source
    from main.invoice_lines
    where period = $period
    group by all
),

computed as (
    select period, line_type, sum(amount) as amount, 'computed' as source
    from main.fct_invoice_lines_computed
    where list_contains($months, period) and period <> $period
      and period not in (select period from billing.finalized_months)
    group by all
),

amounts as (
    select * from finalized
    union all select * from reviewed
    union all select * from computed
),

stacked as (
    select
        period, line_type, source, amount,
        coalesce(sum(amount) over (
            partition by period, amount >= 0 order by line_type
            rows between unbounded preceding and 1 preceding), 0) as base
    from amounts
    where amount <> 0
)

select
    s.period, s.line_type, s.source,
    coalesce(lt.label, s.line_type) as label,
    coalesce(lt.r14_order, 99) as r14_order,
    cast(s.amount as varchar) as amount,
    cast(s.amount as double) as amount_f,
    cast(s.base as double) as base_f
from stacked as s
left join main.line_types as lt on lt.line_type = s.line_type
order by s.period, s.line_type
"""

MONTH_TOTALS_SQL = """
with months as (
    select unnest($months) as period
),

totals as (
    select period, sum(amount) as total, sum(greatest(amount, 0)) as up,
           sum(least(amount, 0)) as down
    from (
        select period, amount from billing.finalized_invoice_lines
        where list_contains($months, period) and period <> $period
        union all
        select period, amount from main.invoice_lines where period = $period
        union all
        select period, amount from main.fct_invoice_lines_computed
        where list_contains($months, period) and period <> $period
          and period not in (select period from billing.finalized_months)
    )
    group by period
),

overage as (
    select period, count(*) as overage_incidents
    from main.fct_incidents
    where list_contains($months, period) and coverage = 'overage'
    group by period
)

select
    m.period,
    cast(cast(coalesce(t.total, 0) as decimal(18, 2)) as varchar) as total,
    cast(cast(coalesce(t.up, 0) as decimal(18, 2)) as varchar) as up,
    cast(coalesce(t.up, 0) as double) as up_f,
    cast(coalesce(t.down, 0) as double) as down_f,
    coalesce(o.overage_incidents, 0) as overage_incidents,
    m.period in (select period from billing.finalized_months) as finalized
from months as m
left join totals as t using (period)
left join overage as o using (period)
order by m.period
"""

WAITING_COUNTS_SQL = f"""
select count(*) filter (where status = 'rejected') as rejected,
       count(*) filter (where status = 'held') as held
from ({WAITING_SQL})
"""


FULL_LIST_LIMIT = 2000
FLAGS = ("big_change", "credit_note", "new_customer", "not_invoiced", "held_rows")


def params(period: str, prev: str | None) -> dict:
    return {"period": period, "prev": prev}


def listed_customers(customers: list[dict]) -> tuple[list[dict], list[str] | None]:
    """Every customer up to FULL_LIST_LIMIT; above it (a page nobody reads row by row, and
    seconds of rendering per 10,000 customers) only those with a flag. Returns the rows
    and the ids to restrict the detail queries to (None: no restriction)."""
    if len(customers) <= FULL_LIST_LIMIT:
        return customers, None
    shown = [c for c in customers if any(c[f"flag_{f}"] for f in FLAGS)]
    return shown, [c["customer_id"] for c in shown]


def page_data(con, period: str, prev: str | None, months: list[str], preview: bool) -> dict:
    """Everything the template shows, as rows from the warehouse."""
    p = params(period, prev)
    every_customer = rows(con, CUSTOMERS_SQL, p)
    customers, only = listed_customers(every_customer)
    causes: dict[str, list[dict]] = {}
    for r in rows(con, CAUSES_SQL, {**p, "hour_types": list(HOUR_LINE_TYPES), "only": only}):
        causes.setdefault(r["customer_id"], []).append(r)
    lines: dict[str, list[dict]] = {}
    for r in rows(con, LINES_SQL, {"period": period, "only": only}):
        lines.setdefault(r["customer_id"], []).append(r)
    incidents: dict[str, list[dict]] = {}
    for r in rows(con, INCIDENTS_SQL, {"period": period, "only": only}):
        incidents.setdefault(r["customer_id"], []).append(r)
    waiting = rows(con, WAITING_COUNTS_SQL)[0]
    last_ingest = con.execute(
        f"select cast(t as varchar) from ({DATA_TIME_SQL})").fetchone()[0]
    return {
        "summary": rows(con, SUMMARY_SQL, p)[0],
        "customers": customers,
        "customers_not_listed": len(every_customer) - len(customers),
        "full_list_limit": FULL_LIST_LIMIT,
        "causes": causes,
        "lines": lines,
        "incidents": incidents,
        "monthly": rows(con, MONTHLY_SQL, {"period": period, "months": months,
                                           "status": "draft" if preview else "billed"}),
        "month_totals": rows(con, MONTH_TOTALS_SQL, {"period": period, "months": months}),
        "waiting": waiting,
        "last_ingest": last_ingest,
    }
