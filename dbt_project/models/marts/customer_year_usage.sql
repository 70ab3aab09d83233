{#
  R11: per customer and year: allotment available on Dec 31, covered and overage
  incidents, and what expired unused (never below 0). One row per customer and year with
  an allotment above 0 or a billable incident.
#}
with steps as (
    select
        customer_id,
        year,
        max(allotment) as allotment
    from {{ ref('int_allotment_steps') }}
    group by all
),

incidents as (
    select
        customer_id,
        year,
        count(*) filter (where coverage = 'covered') as covered,
        count(*) filter (where coverage = 'overage') as overage
    from {{ ref('fct_incidents') }}
    group by all
),

final as (
    select
        coalesce(steps.customer_id, incidents.customer_id) as customer_id,
        coalesce(steps.year, incidents.year) as year,
        cast(coalesce(steps.allotment, 0) as integer) as allotment,
        cast(coalesce(incidents.covered, 0) as integer) as covered,
        cast(coalesce(incidents.overage, 0) as integer) as overage,
        {{ remaining_allotment('coalesce(steps.allotment, 0)', 'coalesce(incidents.covered, 0)') }}
            as expired
    from steps
    full outer join incidents
        on steps.customer_id = incidents.customer_id
            and steps.year = incidents.year
)

select * from final
