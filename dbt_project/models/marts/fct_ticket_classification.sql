{{ config(materialized='view') }}
{# R9: every ticket with the reason code of the step that decided it. #}
with classified as (
    select * from {{ ref('int_tickets_classified') }}
),

final as (
    select
        ticket_id,
        customer_id,
        opened_at,
        opened_date,
        opened_period as period,
        opened_year as year,
        category,
        status,
        severity,
        time_sensitive,
        billable_override,
        override_reason,
        is_customer_active,
        has_hourly_entry,
        reason_code,
        is_billable_incident
    from classified
)

select * from final
