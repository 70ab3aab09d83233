{#
  Response time of every ticket with a first response, in business hours (Monday-Friday
  08:00-17:00 America/Denver, US federal holidays excluded), against the 24-business-hour
  promise. Local timestamps come from staging (R1). See macros/business_hours.sql.
#}
{%- set promise_hours = 24 -%}

with tickets as (
    select
        ticket_id,
        customer_id,
        severity,
        category,
        status,
        opened_at,
        opened_at_local,
        opened_date,
        opened_period,
        opened_year,
        first_response_at,
        first_response_at_local
    from {{ ref('stg_exports__tickets') }}
    where first_response_at_local is not null
),

calendar as (
    {{ business_calendar(
        "least(min(cast(opened_at_local as date)), min(cast(first_response_at_local as date)))",
        "greatest(max(cast(opened_at_local as date)), max(cast(first_response_at_local as date)))",
        "tickets",
        ref('us_federal_holidays')
    ) }}
),

measured as (
    select
        tickets.*,
        greatest(
            {{ business_us_until('tickets.first_response_at_local', 'responded_day') }}
            - {{ business_us_until('tickets.opened_at_local', 'opened_day') }},
            0
        ) as business_us,
        date_diff('second', tickets.opened_at, tickets.first_response_at) as calendar_seconds
    from tickets
    inner join calendar as opened_day
        on opened_day.day = cast(tickets.opened_at_local as date)
    inner join calendar as responded_day
        on responded_day.day = cast(tickets.first_response_at_local as date)
),

final as (
    select
        ticket_id,
        customer_id,
        severity,
        category,
        status,
        opened_at_local,
        first_response_at_local,
        opened_date,
        opened_period,
        opened_year,
        cast(business_us // 1000000 as bigint) as business_seconds,
        -- hours to 2 decimals, half up, in integer arithmetic (units of 36 seconds)
        cast(cast((business_us + 18000000) // 36000000 as decimal(18, 0)) * 0.01 as decimal(18, 2))
            as business_hours,
        cast(cast((calendar_seconds + 18) // 36 as decimal(18, 0)) * 0.01 as decimal(18, 2))
            as calendar_hours,
        business_us <= {{ promise_hours }} * cast(3600000000 as bigint) as within_promise,
        first_response_at < opened_at as responded_before_opened
    from measured
)

select * from final
