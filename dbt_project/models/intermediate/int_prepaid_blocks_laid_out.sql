{#
  R13: each customer's prepaid blocks laid end to end, oldest first (purchased_on,
  block_id): block k covers the hours [block_end - hours, block_end) of the customer's
  prepaid supply.
#}
with blocks as (
    select * from {{ ref('stg_exports__prepaid_hours') }}
),

final as (
    select
        block_id,
        customer_id,
        hours,
        purchased_on,
        sum(hours) over (
            partition by customer_id order by purchased_on, block_id
            rows between unbounded preceding and current row
        ) as block_end
    from blocks
)

select * from final
