{#
  R8 + R10 + R11 read on one day: `customer_usage_on(year, today[, through := day])`, a
  DuckDB table macro that readers (usage, the year-end refresh, the year statement, the
  analysis helpers) call with the day they stand on. dbt creates it after every build
  (on-run-end), so it is defined here once, beside the models it reads.

  - as_of: Dec 31 for a past year, `today` for the current year, Jan 1 for a future year.
  - allotment: the R8 allotment available on as_of (the latest step on or before it).
  - covered / overage: the year's billable incidents in the R10 ledger, those opened up to
    `through` when given (the year so far of a statement, a forecast made on a day), else
    all of them.
  - remaining: allotment - covered, never below 0 (`remaining_allotment`, R11).
  - expired: the remaining allotment of a year that has ended (R11), else null.
  - listed: the customer has a subscription active in the year, an allotment or an incident.
#}

{# R11: what is left of an allotment, never below 0 (also what expires on Dec 31). #}
{% macro remaining_allotment(allotment, covered) -%}
    cast(greatest(0, {{ allotment }} - {{ covered }}) as integer)
{%- endmacro %}

{% macro create_customer_usage_on() %}
    {% set sql %}
create or replace macro {{ target.schema }}.customer_usage_on(usage_year, today, through := null) as table
with bounds as (
    select
        make_date(usage_year, 1, 1) as jan1,
        make_date(usage_year, 12, 31) as dec31,
        least(greatest(today, make_date(usage_year, 1, 1)), make_date(usage_year, 12, 31))
            as as_of,
        usage_year < year(today) as year_ended
),

customers as (
    select customer_id, customer_name, overage_policy
    from {{ target.schema }}.stg_exports__customers
),

modules as (
    select
        subscriptions.customer_id,
        string_agg(distinct subscriptions.module, ',' order by subscriptions.module) as modules
    from {{ target.schema }}.stg_exports__subscriptions as subscriptions, bounds
    where subscriptions.start_date <= bounds.dec31
        and (subscriptions.end_date is null or subscriptions.end_date >= bounds.jan1)
    group by subscriptions.customer_id
),

allotments as (
    select steps.customer_id, max(steps.allotment) as allotment
    from {{ target.schema }}.allotment_steps as steps, bounds
    where steps.year = usage_year and steps.available_from <= bounds.as_of
    group by steps.customer_id
),

incidents as (
    select
        customer_id,
        count(*) filter (where coverage = 'covered') as covered,
        count(*) filter (where coverage = 'overage') as overage,
        max(period) filter (where coverage = 'covered') as last_covered_period
    from {{ target.schema }}.fct_incidents
    where year = usage_year and (through is null or incident_date <= through)
    group by customer_id
)

select
    customers.customer_id,
    customers.customer_name,
    customers.overage_policy,
    coalesce(modules.modules, '') as modules,
    cast(coalesce(allotments.allotment, 0) as integer) as allotment,
    cast(coalesce(incidents.covered, 0) as integer) as covered,
    cast(coalesce(incidents.overage, 0) as integer) as overage,
    {{ remaining_allotment('coalesce(allotments.allotment, 0)', 'coalesce(incidents.covered, 0)') }}
        as remaining,
    case
        when bounds.year_ended
            then {{ remaining_allotment('coalesce(allotments.allotment, 0)',
                                        'coalesce(incidents.covered, 0)') }}
    end as expired,
    incidents.last_covered_period,
    bounds.as_of,
    (
        modules.customer_id is not null
        or incidents.customer_id is not null
        or coalesce(allotments.allotment, 0) > 0
    ) as listed
from customers
cross join bounds
left join modules on customers.customer_id = modules.customer_id
left join allotments on customers.customer_id = allotments.customer_id
left join incidents on customers.customer_id = incidents.customer_id
{% endset %}
    {% do run_query(sql) %}
{% endmacro %}
