{#
  R18: the twelve months a review page's charts show for each month (the month and the
  eleven before it), and whether each is finalized. Where the amounts of a chart month
  come from: the month under review as built (source 'reviewed'), a finalized month as
  finalized, any other month as the rules compute it now ('computed').
#}
with months as (
    select * from {{ ref('review_months') }}
),

finalized_months as (
    select period from {{ source('billing', 'finalized_months') }}
),

window_months as (
    select
        months.period,
        strftime(months.month_start - to_months(offsets.months_back), '%Y-%m') as trend_period
    from months
    cross join range(0, 12) as offsets (months_back)
),

final as (
    select
        window_months.period,
        window_months.trend_period,
        finalized_months.period is not null as finalized,
        case
            when window_months.trend_period = window_months.period then 'reviewed'
            when finalized_months.period is not null then 'finalized'
            else 'computed'
        end as source
    from window_months
    left join finalized_months on window_months.trend_period = finalized_months.period
)

select * from final
