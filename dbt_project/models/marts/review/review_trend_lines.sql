{#
  R18: every line amount each review page's charts stack, one row per line, by the
  source of its chart month (review_trend_months): the reviewed month's invoice lines,
  a finalized month's finalized lines, another month's lines as computed now.
#}
with trend_months as (
    select * from {{ ref('review_trend_months') }}
),

reviewed as (
    select
        trend_months.period,
        trend_months.trend_period,
        trend_months.source,
        lines.line_type,
        lines.amount
    from trend_months
    inner join {{ ref('invoice_lines') }} as lines on trend_months.trend_period = lines.period
    where trend_months.source = 'reviewed'
),

finalized as (
    select
        trend_months.period,
        trend_months.trend_period,
        trend_months.source,
        lines.line_type,
        lines.amount
    from trend_months
    inner join {{ source('billing', 'finalized_invoice_lines') }} as lines
        on trend_months.trend_period = lines.period
    where trend_months.source = 'finalized'
),

computed as (
    select
        trend_months.period,
        trend_months.trend_period,
        trend_months.source,
        lines.line_type,
        lines.amount
    from trend_months
    inner join {{ ref('fct_invoice_lines_computed') }} as lines
        on trend_months.trend_period = lines.period
    where trend_months.source = 'computed'
),

final as (
    select * from reviewed
    union all
    select * from finalized
    union all
    select * from computed
)

select * from final
