{#
  R13: hours taken from each block in each month, and the hours left in it at the end of
  that month (block hours minus everything taken from it up to then).
#}
with usage as (
    select * from {{ ref('int_prepaid_block_usage') }}
),

monthly as (
    select
        customer_id,
        block_id,
        work_period as period,
        max(block_hours) as block_hours,
        cast(sum(hours_taken) as decimal(18, 2)) as hours_taken
    from usage
    group by all
),

final as (
    select
        *,
        cast(
            block_hours - sum(hours_taken) over (
                partition by customer_id, block_id order by period
                rows between unbounded preceding and current row
            ) as decimal(18, 2)
        ) as hours_left
    from monthly
)

select * from final
