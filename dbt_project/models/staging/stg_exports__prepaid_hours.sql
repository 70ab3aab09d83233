with source as (
    select * from {{ source('raw', 'prepaid_hours') }}
),

final as (
    select
        block_id,
        customer_id,
        cast(hours as decimal(18, 2)) as hours,
        purchased_on
    from source
)

select * from final
