{#
  R8: the allotment of one module for a customer and year, as a step function of the day.
  The subscriptions counted are those active on at least one day of the year; each runs
  from its start month (January if it started before the year) through December,
  whatever its end_date. A step happens on each day a counted subscription starts (Jan 1
  for those started before the year): on that day q(k) becomes, per month k, the largest
  annual_incidents among the subscriptions started so far that run in k, and the
  allotment is ceil(sum of q(k) / 12). Steps never go down: the set only grows.
#}
with subscriptions as (
    select * from {{ ref('stg_exports__subscriptions') }}
),

years as (
    select distinct year from {{ ref('int_calendar_months') }}
),

subscription_years as (
    {# each subscription in each year it is active on at least one day #}
    select
        subscriptions.customer_id,
        subscriptions.module,
        subscriptions.subscription_id,
        subscriptions.annual_incidents,
        years.year,
        greatest(subscriptions.start_date, make_date(years.year, 1, 1)) as counted_from,
        cast(month(greatest(subscriptions.start_date, make_date(years.year, 1, 1))) as integer)
            as first_month
    from subscriptions
    inner join years
        on subscriptions.start_date <= make_date(years.year, 12, 31)
            and (subscriptions.end_date is null or subscriptions.end_date >= make_date(years.year, 1, 1))
),

steps as (
    select distinct
        customer_id,
        module,
        year,
        counted_from as available_from
    from subscription_years
),

month_numbers as (
    select cast(r.k as integer) as month_number from range(1, 13) as r (k)
),

monthly_largest as (
    {# q(k) on each step day #}
    select
        steps.customer_id,
        steps.module,
        steps.year,
        steps.available_from,
        month_numbers.month_number,
        max(subscription_years.annual_incidents) as largest_incidents
    from steps
    inner join subscription_years
        on steps.customer_id = subscription_years.customer_id
            and steps.module = subscription_years.module
            and steps.year = subscription_years.year
            and steps.available_from >= subscription_years.counted_from
    inner join month_numbers
        on subscription_years.first_month <= month_numbers.month_number
    group by all
),

final as (
    select
        customer_id,
        module,
        year,
        available_from,
        cast((sum(largest_incidents) + 11) // 12 as integer) as module_allotment
    from monthly_largest
    group by all
)

select * from final
