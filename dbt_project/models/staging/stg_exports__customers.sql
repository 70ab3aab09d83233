with source as (
    select * from {{ source('raw', 'customers') }}
),

final as (
    select
        customer_id,
        customer_name,
        overage_policy,
        accounting_ref,
        email
    from source
)

select * from final
