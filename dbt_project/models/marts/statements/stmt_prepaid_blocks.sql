{# Section 5 statement: each prepaid block used in a month, hours taken and left (R13). #}
with block_months as (
    select * from {{ ref('int_prepaid_block_months') }}
),

blocks as (
    select
        block_id,
        purchased_on
    from {{ ref('stg_exports__prepaid_hours') }}
),

final as (
    select
        block_months.customer_id,
        block_months.period,
        block_months.block_id,
        blocks.purchased_on,
        cast(block_months.block_hours as decimal(18, 2)) as block_hours,
        block_months.hours_taken,
        block_months.hours_left
    from block_months
    left join blocks on block_months.block_id = blocks.block_id
)

select * from final
