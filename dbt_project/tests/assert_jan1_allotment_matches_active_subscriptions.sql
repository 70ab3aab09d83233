{#
  R8 on Jan 1, checked a second way: only subscriptions active that day count, each for all
  12 months, so a module's allotment is its largest annual_incidents, plus the plan's extras
  in force on Jan 1. Returns the customers and years where allotment_steps disagrees.
#}
with years as (
    select distinct year from {{ ref('allotment_steps') }}
),

per_module as (
    select
        subscriptions.customer_id,
        years.year,
        subscriptions.module,
        max(subscriptions.annual_incidents) as incidents
    from {{ ref('stg_exports__subscriptions') }} as subscriptions
    inner join years
        on subscriptions.start_date <= make_date(years.year, 1, 1)
            and (subscriptions.end_date is null or subscriptions.end_date >= make_date(years.year, 1, 1))
    group by all
),

module_totals as (
    select
        customer_id,
        year,
        sum(incidents) as incidents
    from per_module
    group by all
),

direct as (
    select
        module_totals.customer_id,
        module_totals.year,
        module_totals.incidents
        + {{ price_in_force('extra_incidents_per_year', 'make_date(module_totals.year, 1, 1)') }}
            as allotment
    from module_totals
),

steps as (
    select
        customer_id,
        year,
        max(allotment) as allotment
    from {{ ref('allotment_steps') }}
    where available_from = make_date(year, 1, 1)
    group by all
)

select
    coalesce(direct.customer_id, steps.customer_id) as customer_id,
    coalesce(direct.year, steps.year) as year,
    direct.allotment as from_subscriptions,
    steps.allotment as from_allotment_steps
from direct
full outer join steps
    on direct.customer_id = steps.customer_id
        and direct.year = steps.year
where coalesce(direct.allotment, 0) != coalesce(steps.allotment, 0)
