{#
  Every calendar month the data can touch, from the earliest date in the exports to the
  later of the latest date and next year (open-ended subscriptions run on), with the
  prices of that month (section 4 "Prices"): rates, up-front and hourly prices from the
  row in force on the first day, payment terms on the invoice date (last day), yearly
  benefits from Jan 1 of the year.
#}
with data_dates as (
    select
        min(start_date) as lo,
        max(coalesce(end_date, start_date)) as hi
    from {{ ref('stg_exports__subscriptions') }}
    union all
    select
        min(opened_date) as lo,
        max(opened_date) as hi
    from {{ ref('stg_exports__tickets') }}
    union all
    select
        min(work_date) as lo,
        max(work_date) as hi
    from {{ ref('stg_exports__timesheets') }}
    union all
    select
        min(purchased_on) as lo,
        max(purchased_on) as hi
    from {{ ref('stg_exports__prepaid_hours') }}
),

bounds as (
    select
        coalesce(year(min(lo)), year(current_date)) as first_year,
        greatest(coalesce(year(max(hi)), year(current_date)), year(current_date) + 1) as last_year
    from data_dates
),

months as (
    select cast(m.month_start as date) as month_start
    from bounds,
        generate_series(
            make_date(bounds.first_year, 1, 1),
            make_date(bounds.last_year, 12, 1),
            interval 1 month
        ) as m (month_start)
),

final as (
    select
        strftime(month_start, '%Y-%m') as period,
        cast(year(month_start) as integer) as year,
        cast(month(month_start) as integer) as month_number,
        month_start,
        cast(last_day(month_start) as date) as month_end,
        cast(day(last_day(month_start)) as integer) as days_in_month,
        {{ price_in_force('incident_rate_tier_1_2', 'month_start') }} as rate_tier_1_2,
        {{ price_in_force('incident_rate_tier_3_plus', 'month_start') }} as rate_tier_3_plus,
        {{ price_in_force('upfront_incident', 'month_start') }} as upfront_price,
        {{ price_in_force('hourly_rate', 'month_start') }} as hourly_price,
        cast({{ price_in_force('payment_terms_days', 'last_day(month_start)') }} as integer)
            as payment_terms_days,
        cast({{ price_in_force('extra_incidents_per_year', 'make_date(year(month_start), 1, 1)') }} as integer)
            as extra_incidents_per_year,
        cast({{ price_in_force('free_migrations_per_year', 'make_date(year(month_start), 1, 1)') }} as integer)
            as free_migrations_per_year
    from months
)

select * from final
