{# R1: an incident's date, month and year are those of opened_at in America/Denver. #}
with source as (
    select * from {{ source('raw', 'tickets') }}
),

localized as (
    select
        *,
        timezone('America/Denver', opened_at) as opened_at_local,
        timezone('America/Denver', first_response_at) as first_response_at_local,
        timezone('America/Denver', closed_at) as closed_at_local
    from source
),

final as (
    select
        ticket_id,
        customer_id,
        opened_at,
        opened_at_local,
        cast(opened_at_local as date) as opened_date,
        strftime(opened_at_local, '%Y-%m') as opened_period,
        cast(year(opened_at_local) as integer) as opened_year,
        category,
        time_sensitive,
        status,
        billable_override,
        override_reason,
        severity,
        first_response_at,
        first_response_at_local,
        closed_at,
        closed_at_local,
        subject
    from localized
)

select * from final
