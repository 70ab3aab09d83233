with source as (
    select * from {{ source('raw', 'subscriptions') }}
),

final as (
    select
        subscription_id,
        customer_id,
        module,
        annual_incidents,
        start_date,
        end_date
    from source
)

select * from final
