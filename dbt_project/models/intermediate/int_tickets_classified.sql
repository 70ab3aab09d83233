{#
  R9: which tickets are billable incidents, decided in SPEC's order; every ticket gets
  the reason code of the step that decided. R5: is_customer_active says whether one of
  the customer's subscriptions is active on the ticket's Mountain-time date (R1).
#}
with tickets as (
    select * from {{ ref('stg_exports__tickets') }}
),

subscriptions as (
    select * from {{ ref('stg_exports__subscriptions') }}
),

categories as (
    select * from {{ ref('ticket_categories') }}
),

hourly_tickets as (
    {# step 3: a ticket named on a billable timesheet entry of the same customer #}
    select distinct
        customer_id,
        ticket_id
    from {{ ref('stg_exports__timesheets') }}
    where ticket_id is not null
        and activity in ('implementation', 'training', 'custom_development')
),

active_tickets as (
    select distinct tickets.ticket_id
    from tickets
    inner join subscriptions
        on tickets.customer_id = subscriptions.customer_id
            and tickets.opened_date >= subscriptions.start_date
            and (subscriptions.end_date is null or tickets.opened_date <= subscriptions.end_date)
),

flagged as (
    select
        tickets.*,
        categories.treatment,
        active_tickets.ticket_id is not null as is_customer_active,
        hourly_tickets.ticket_id is not null as has_hourly_entry,
        case
            when tickets.status = 'void' then 'void'
            when tickets.billable_override = 'yes' then 'override_billable'
            when tickets.billable_override = 'no' then 'override_free'
            when categories.treatment = 'hourly' or hourly_tickets.ticket_id is not null
                then 'hourly_work'
        end as decided_reason
    from tickets
    inner join categories on tickets.category = categories.category
    left join hourly_tickets
        on tickets.customer_id = hourly_tickets.customer_id
            and tickets.ticket_id = hourly_tickets.ticket_id
    left join active_tickets on tickets.ticket_id = active_tickets.ticket_id
),

migration_benefit as (
    {#
      step 4: among the year's migrations and key code changes not decided at steps 1-3,
      in (opened_at, ticket_id) order, the first ones opened on an active day are free,
      as many as the price book on Jan 1 allows.
    #}
    select
        flagged.ticket_id,
        row_number() over (
            partition by flagged.customer_id, flagged.opened_year
            order by flagged.opened_at, flagged.ticket_id
        ) as active_migration_rank,
        months.free_migrations_per_year
    from flagged
    inner join {{ ref('int_calendar_months') }} as months
        on flagged.opened_period = months.period
    where flagged.treatment = 'migration'
        and flagged.decided_reason is null
        and flagged.is_customer_active
),

final as (
    select
        flagged.ticket_id,
        flagged.customer_id,
        flagged.opened_at,
        flagged.opened_at_local,
        flagged.opened_date,
        flagged.opened_period,
        flagged.opened_year,
        flagged.category,
        flagged.status,
        flagged.time_sensitive,
        flagged.billable_override,
        flagged.override_reason,
        flagged.severity,
        flagged.is_customer_active,
        flagged.has_hourly_entry,
        case
            when flagged.decided_reason is not null then flagged.decided_reason
            when flagged.treatment = 'migration'
                and migration_benefit.active_migration_rank <= migration_benefit.free_migrations_per_year
                then 'free_migration_benefit'
            when flagged.treatment in ('migration', 'billable') then 'billable_category'
            when flagged.treatment = 'free_unless_time_sensitive' and flagged.time_sensitive
                then 'time_sensitive'
            else 'free_category'
        end as reason_code
    from flagged
    left join migration_benefit on flagged.ticket_id = migration_benefit.ticket_id
)

select
    *,
    reason_code in ('override_billable', 'billable_category', 'time_sensitive') as is_billable_incident
from final
