{#
  R18: per review page and chart month, the month's total, the sums of its positive and
  negative lines (the height of the stacked bars) and the overage incidents (R10/R12),
  for the twelve months of review_trend_months, months without lines included.
#}
with trend_months as (
    select * from {{ ref('review_trend_months') }}
),

totals as (
    select
        period,
        trend_period,
        sum(amount) as total,
        sum(greatest(amount, 0)) as up,
        sum(least(amount, 0)) as down
    from {{ ref('review_trend_lines') }}
    group by period, trend_period
),

overage as (
    select
        period,
        count(*) as overage_incidents
    from {{ ref('fct_incidents') }}
    where coverage = 'overage'
    group by period
),

final as (
    select
        trend_months.period,
        trend_months.trend_period,
        cast(coalesce(totals.total, 0) as decimal(18, 2)) as total,
        cast(coalesce(totals.up, 0) as decimal(18, 2)) as up,
        cast(coalesce(totals.up, 0) as double) as up_f,
        cast(coalesce(totals.down, 0) as double) as down_f,
        coalesce(overage.overage_incidents, 0) as overage_incidents,
        trend_months.finalized
    from trend_months
    left join totals
        on trend_months.period = totals.period and trend_months.trend_period = totals.trend_period
    left join overage on trend_months.trend_period = overage.period
)

select * from final
