"""The review page's twelve-month trend (SPEC R18): what was billed or drafted per month
and customer status, beside the month under review, in the warehouse's SQL."""

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
