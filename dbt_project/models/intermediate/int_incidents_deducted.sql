{#
  R10: each billable incident deducts one incident when it occurs. Per customer and
  year, in (opened_at, ticket_id) order, an incident is covered when the customer is
  active on its date and covered-so-far < the allotment available that day (R8).

  Set-based capped running count: with a_i = 1 when active and A_i the allotment on the
  incident's date (never decreasing), covered-so-far c_i = min(c_{i-1} + a_i, A_i), whose
  closed form is c_i = S_i + min(0, min_{j<=i}(A_j - S_j)) with S_i = running sum of a.
#}
with incidents as (
    select *
    from {{ ref('int_tickets_classified') }}
    where is_billable_incident
),

steps as (
    select * from {{ ref('int_allotment_steps') }}
),

with_allotment as (
    select
        incidents.*,
        coalesce(steps.allotment, 0) as allotment_available,
        case when incidents.is_customer_active then 1 else 0 end as active_flag
    from incidents
    asof left join steps
        on incidents.customer_id = steps.customer_id
        and incidents.opened_year = steps.year
        and incidents.opened_date >= steps.available_from
),

ordered as (
    select
        *,
        row_number() over year_order as seq_in_year,
        sum(active_flag) over year_order as active_so_far
    from with_allotment
    window year_order as (
        partition by customer_id, opened_year
        order by opened_at, ticket_id
        rows between unbounded preceding and current row
    )
),

capped as (
    select
        *,
        active_so_far + least(
            0,
            min(allotment_available - active_so_far) over (
                partition by customer_id, opened_year
                order by opened_at, ticket_id
                rows between unbounded preceding and current row
            )
        ) as covered_so_far
    from ordered
),

final as (
    select
        *,
        coalesce(
            lag(covered_so_far) over (
                partition by customer_id, opened_year order by opened_at, ticket_id
            ),
            0
        ) as covered_before
    from capped
)

select
    *,
    case when covered_so_far > covered_before then 'covered' else 'overage' end as coverage,
    cast(greatest(0, allotment_available - covered_so_far) as integer) as allotment_remaining
from final
