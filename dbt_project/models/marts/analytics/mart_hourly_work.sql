{#
  Hourly work (R13) per customer, month and activity: all timesheet hours, and for the
  billable activities (implementation, training, custom_development) the hours billed on
  the month's computed invoice lines and the hours taken from prepaid blocks instead.
  `support` hours are never billed. Block balances: mart_prepaid_balances.
#}
with entries as (
    select
        customer_id,
        work_period as period,
        activity,
        count(*) as entries,
        sum(hours) as hours
    from {{ ref('stg_exports__timesheets') }}
    group by all
),

billed as (
    select
        customer_id,
        period,
        replace(line_type, '_hours', '') as activity,
        sum(quantity) as billed_hours,
        sum(amount) as billed_amount
    from {{ ref('fct_invoice_lines_computed') }}
    where line_type in ('implementation_hours', 'training_hours', 'custom_development_hours')
    group by all
),

customers as (
    select
        customer_id,
        customer_name
    from {{ ref('stg_exports__customers') }}
),

final as (
    select
        entries.customer_id,
        customers.customer_name,
        entries.period,
        cast(left(entries.period, 4) as integer) as year,
        entries.activity,
        entries.activity <> 'support' as is_billable_activity,
        cast(entries.entries as integer) as entries,
        cast(entries.hours as decimal(18, 2)) as hours,
        cast(coalesce(billed.billed_hours, 0) as decimal(18, 2)) as billed_hours,
        cast(
            case
                when entries.activity <> 'support'
                    then entries.hours - coalesce(billed.billed_hours, 0)
                else 0
            end as decimal(18, 2)
        ) as prepaid_hours,
        cast(coalesce(billed.billed_amount, 0) as decimal(18, 2)) as billed_amount
    from entries
    left join customers on entries.customer_id = customers.customer_id
    left join billed
        on entries.customer_id = billed.customer_id
            and entries.period = billed.period
            and entries.activity = billed.activity
)

select * from final
