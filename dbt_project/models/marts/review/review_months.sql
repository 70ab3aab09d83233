{#
  R18: every month a review page can be written for, with the month it is compared with:
  the last finalized month before it (NULL while none is finalized). The months run from
  the year before the first month of the data or of the finalized records to the year
  after the later of the data's last month and the current one, so a preview of a month
  without data yet still has its page. A view: a reader filtering one period computes
  that period only.
#}
with finalized_months as (
    select period from {{ source('billing', 'finalized_months') }}
),

years as (
    select year from {{ ref('int_calendar_months') }}
    union all
    select cast(left(period, 4) as integer) as year from finalized_months
    union all
    select year(current_date) as year
),

bounds as (
    select
        min(year) - 1 as first_year,
        max(year) + 1 as last_year
    from years
),

months as (
    select
        strftime(series.month_start, '%Y-%m') as period,
        cast(series.month_start as date) as month_start
    from bounds,
        generate_series(
            make_date(bounds.first_year, 1, 1),
            make_date(bounds.last_year, 12, 1),
            interval 1 month
        ) as series (month_start)
),

final as (
    select
        months.period,
        months.month_start,
        max(finalized_months.period) as previous_finalized
    from months
    left join finalized_months on months.period > finalized_months.period
    group by months.period, months.month_start
)

select * from final
