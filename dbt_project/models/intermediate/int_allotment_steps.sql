{#
  R8: a customer's allotment available from each step day of the year: the sum over
  modules of each module's latest step, plus the plan's extra incidents (price book on
  Jan 1) once the customer has been active on some day of the year. The first step day
  is the first day the customer is active in the year, so the extras start there.
#}
with module_steps as (
    select * from {{ ref('int_allotment_module_steps') }}
),

extras as (
    select
        year,
        max(extra_incidents_per_year) as extra_incidents
    from {{ ref('int_calendar_months') }}
    group by year
),

step_days as (
    select distinct
        customer_id,
        year,
        available_from
    from module_steps
),

module_levels as (
    {# each module's allotment in force on each of the customer's step days #}
    select
        step_days.customer_id,
        step_days.year,
        step_days.available_from,
        module_steps.module,
        max(module_steps.module_allotment) as module_allotment
    from step_days
    inner join module_steps
        on step_days.customer_id = module_steps.customer_id
            and step_days.year = module_steps.year
            and step_days.available_from >= module_steps.available_from
    group by all
),

final as (
    select
        module_levels.customer_id,
        module_levels.year,
        module_levels.available_from,
        cast(sum(module_levels.module_allotment) as integer) as module_allotment,
        cast(max(extras.extra_incidents) as integer) as extra_incidents,
        cast(sum(module_levels.module_allotment) + max(extras.extra_incidents) as integer) as allotment
    from module_levels
    inner join extras on module_levels.year = extras.year
    group by module_levels.customer_id, module_levels.year, module_levels.available_from
)

select * from final
