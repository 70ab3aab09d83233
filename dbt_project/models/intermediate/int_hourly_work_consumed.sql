{#
  R13: billable timesheet hours (implementation, training, custom_development) consume
  prepaid blocks first: per customer, entries in (work_date, entry_id) order, blocks
  oldest first (purchased_on, block_id), only blocks purchased on or before the work
  date. Because blocks become available in their own order, the blocks are used up in
  that order; consumption is a capped running sum (as in R10): consumed-so-far
  C_i = H_i + min(0, min_{j<=i}(B_j - H_j)) with H the running hours and B the hours of
  the blocks purchased by entry j's date. One row per entry.
#}
with entries as (
    select *
    from {{ ref('stg_exports__timesheets') }}
    where activity in ('implementation', 'training', 'custom_development')
),

blocks as (
    select * from {{ ref('int_prepaid_blocks_laid_out') }}
),

supply_by_day as (
    select
        customer_id,
        purchased_on,
        max(block_end) as block_hours_available
    from blocks
    group by all
),

with_supply as (
    select
        entries.*,
        coalesce(supply_by_day.block_hours_available, 0) as block_hours_available
    from entries
    asof left join supply_by_day
        on entries.customer_id = supply_by_day.customer_id
            and entries.work_date >= supply_by_day.purchased_on
),

running as (
    select
        *,
        sum(hours) over entry_order as hours_so_far
    from with_supply
    window entry_order as (
        partition by customer_id order by work_date, entry_id
        rows between unbounded preceding and current row
    )
),

capped as (
    select
        *,
        hours_so_far + least(
            0,
            min(block_hours_available - hours_so_far) over (
                partition by customer_id order by work_date, entry_id
                rows between unbounded preceding and current row
            )
        ) as consumed_so_far
    from running
),

final as (
    select
        *,
        coalesce(
            lag(consumed_so_far) over (partition by customer_id order by work_date, entry_id),
            0
        ) as consumed_before
    from capped
)

select
    entry_id,
    customer_id,
    work_date,
    work_period,
    activity,
    ticket_id,
    hours,
    cast(consumed_before as decimal(18, 2)) as consumed_before,
    cast(consumed_so_far as decimal(18, 2)) as consumed_after,
    cast(consumed_so_far - consumed_before as decimal(18, 2)) as prepaid_hours_used,
    cast(hours - (consumed_so_far - consumed_before) as decimal(18, 2)) as billable_hours
from final
