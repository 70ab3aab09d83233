{#
  R10: each billable incident deducts one incident when it occurs. Per customer and
  year, in (opened_at, ticket_id) order, an incident is covered when the customer is
  active on its date and covered-so-far < the allotment available that day (R8).

  Set-based capped running count: with a_i = 1 when active and A_i the allotment on the
  incident's date (never decreasing), covered-so-far c_i = min(c_{i-1} + a_i, A_i), whose
  closed form is c_i = S_i + min(0, min_{j<=i}(A_j - S_j)) with S_i = running sum of a.
#}
with tickets as (
    select * from {{ ref('int_tickets_classified') }}
),

incidents as (
    {# Only the columns the running count needs: the window sorts stay narrow, which keeps a
       year of 100,000 customers' tickets within the 3 GiB peak (benchmarks/README.md). #}
    select
        ticket_id,
        customer_id,
        opened_at,
        opened_date,
        opened_year,
        is_customer_active
    from tickets
    where is_billable_incident
),

steps as (
    select * from {{ ref('int_allotment_steps') }}
),

with_allotment as (
    select
        incidents.ticket_id,
        incidents.customer_id,
        incidents.opened_year,
        incidents.opened_at,
        coalesce(steps.allotment, 0) as allotment_available,
        cast(incidents.is_customer_active as integer) as active_flag
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
        cast(sum(active_flag) over year_order as bigint) as active_so_far
    from with_allotment
    window year_order as (
        partition by customer_id, opened_year
        order by opened_at, ticket_id
        rows between unbounded preceding and current row
    )
),

capped as (
    {#
      c_i as above; c_{i-1} (covered before this incident) from the same window:
      S_{i-1} = S_i - a_i, and the minimum over the rows before this one (none: c_0 = 0).
    #}
    select
        ticket_id,
        allotment_available,
        active_flag,
        seq_in_year,
        active_so_far,
        active_so_far + least(
            0,
            min(allotment_available - active_so_far) over (
                year_order rows between unbounded preceding and current row
            )
        ) as covered_so_far,
        active_so_far - active_flag + least(
            0,
            coalesce(
                min(allotment_available - active_so_far) over (
                    year_order rows between unbounded preceding and 1 preceding
                ),
                0
            )
        ) as covered_before
    from ordered
    window year_order as (partition by customer_id, opened_year order by opened_at, ticket_id)
)

select
    tickets.*,
    capped.* exclude (ticket_id),
    case when capped.covered_so_far > capped.covered_before then 'covered' else 'overage' end
        as coverage,
    {{ remaining_allotment('capped.allotment_available', 'capped.covered_so_far') }}
        as allotment_remaining
from tickets
inner join capped on tickets.ticket_id = capped.ticket_id
