{#
  Section 5 statement: hours per customer, month and activity (R13): hours worked, hours
  taken from prepaid blocks and hours billed. Support hours are listed, never billed.
#}
with billable as (
    select
        customer_id,
        work_period as period,
        activity,
        sum(hours) as hours,
        sum(prepaid_hours_used) as prepaid_hours,
        sum(billable_hours) as billed_hours
    from {{ ref('int_hourly_work_consumed') }}
    group by all
),

support as (
    select
        customer_id,
        work_period as period,
        activity,
        sum(hours) as hours,
        0 as prepaid_hours,
        0 as billed_hours
    from {{ ref('stg_exports__timesheets') }}
    where activity = 'support'
    group by all
),

final as (
    select
        customer_id,
        period,
        activity,
        case activity
            when 'implementation' then 1
            when 'training' then 2
            when 'custom_development' then 3
            else 4
        end as activity_order,
        cast(hours as decimal(18, 2)) as hours,
        cast(prepaid_hours as decimal(18, 2)) as prepaid_hours,
        cast(billed_hours as decimal(18, 2)) as billed_hours
    from (
        select * from billable
        union all
        select * from support
    ) as hours_by_kind
)

select * from final
