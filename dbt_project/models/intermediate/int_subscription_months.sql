{# R5/R7: one row per subscription and month in which it is active on at least one day. #}
with subscriptions as (
    select * from {{ ref('stg_exports__subscriptions') }}
),

months as (
    select * from {{ ref('int_calendar_months') }}
),

final as (
    select
        subscriptions.subscription_id,
        subscriptions.customer_id,
        subscriptions.module,
        subscriptions.annual_incidents,
        months.period,
        months.year,
        months.month_start,
        months.month_end,
        months.days_in_month,
        cast(
            least(coalesce(subscriptions.end_date, months.month_end), months.month_end)
            - greatest(subscriptions.start_date, months.month_start) + 1
            as integer
        ) as active_days
    from subscriptions
    inner join months
        on subscriptions.start_date <= months.month_end
            and (subscriptions.end_date is null or subscriptions.end_date >= months.month_start)
)

select * from final
