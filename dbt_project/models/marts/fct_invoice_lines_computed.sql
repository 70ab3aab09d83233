{#
  Every month's invoice lines as the rules compute them today, before numbering and
  before prior-period adjustments (R15). line_type_order and sort_key give the R14 order.
  Amounts are rounded once per line, half up (R2); prorations are done on integer cents.
#}
with subscription_months as (
    select * from {{ ref('int_subscription_months') }}
),

customer_months as (
    select * from {{ ref('int_customer_months') }}
),

months as (
    select * from {{ ref('int_calendar_months') }}
),

modules as (
    select * from {{ ref('modules') }}
),

line_types as (
    select * from {{ ref('line_types') }}
),

support_subscription as (
    {# R7: one line per subscription active in the month, prorated by active days #}
    select
        subscription_months.period,
        subscription_months.customer_id,
        'support_subscription' as line_type,
        subscription_months.subscription_id as sort_key,
        modules.display_name || ' support: ' || subscription_months.annual_incidents
        || ' incidents x ' || customer_months.rate || ' per month (tier total '
        || customer_months.tier_total || ')'
        || case
            when subscription_months.active_days < subscription_months.days_in_month
                then ', ' || subscription_months.active_days || '/'
                    || subscription_months.days_in_month || ' days'
            else ''
        end as description,
        cast(subscription_months.annual_incidents as decimal(18, 2)) as quantity,
        customer_months.rate as unit_price,
        {{ cents_to_money(div_round_half_up(
            'subscription_months.annual_incidents * ' ~ money_to_cents('customer_months.rate')
            ~ ' * subscription_months.active_days',
            'subscription_months.days_in_month')) }} as amount,
        subscription_months.subscription_id as source_ref
    from subscription_months
    inner join customer_months
        on subscription_months.customer_id = customer_months.customer_id
            and subscription_months.period = customer_months.period
    inner join modules on subscription_months.module = modules.module_code
),

added_subscription as (
    {# R12 subscription policy: added incidents in effect, whole months at the month's rate #}
    select
        period,
        customer_id,
        'additional_incident_subscription' as line_type,
        '' as sort_key,
        'Additional incidents added to the subscription: ' || added_incidents
        || ' x ' || rate || ' per month' as description,
        cast(added_incidents as decimal(18, 2)) as quantity,
        rate as unit_price,
        cast(added_incidents * rate as decimal(18, 2)) as amount,
        added_ticket_ids as source_ref
    from customer_months
    where added_incidents > 0
),

upfront as (
    {# R12: overage incidents billed up front on the invoice of their month #}
    select
        incidents.period,
        incidents.customer_id,
        'additional_incident_upfront' as line_type,
        '' as sort_key,
        'Additional incidents billed up front: ' || count(*) || ' x '
        || max(months.upfront_price) as description,
        cast(count(*) as decimal(18, 2)) as quantity,
        max(months.upfront_price) as unit_price,
        cast(count(*) * max(months.upfront_price) as decimal(18, 2)) as amount,
        string_agg(incidents.ticket_id, ' ' order by incidents.ticket_id) as source_ref
    from {{ ref('fct_incidents') }} as incidents
    inner join months on incidents.period = months.period
    where incidents.overage_treatment = 'upfront'
    group by incidents.period, incidents.customer_id
),

hours as (
    {# R13: hours left after prepaid blocks, one line per activity and month #}
    select
        consumed.work_period as period,
        consumed.customer_id,
        consumed.activity || '_hours' as line_type,
        '' as sort_key,
        max(line_types.label) || ': ' || sum(consumed.billable_hours) || ' h x ' || max(months.hourly_price)
            as description,
        cast(sum(consumed.billable_hours) as decimal(18, 2)) as quantity,
        max(months.hourly_price) as unit_price,
        {{ round_money('sum(consumed.billable_hours) * max(months.hourly_price)') }} as amount,
        string_agg(consumed.entry_id, ' ' order by consumed.entry_id) as source_ref
    from {{ ref('int_hourly_work_consumed') }} as consumed
    inner join months on consumed.work_period = months.period
    inner join line_types on consumed.activity || '_hours' = line_types.line_type
    where consumed.billable_hours > 0
    group by consumed.work_period, consumed.customer_id, consumed.activity
),

prepaid as (
    {# R13: one zero-amount line per block used in the month #}
    select
        period,
        customer_id,
        'prepaid_hours_deduction' as line_type,
        block_id as sort_key,
        'Prepaid hours from block ' || block_id || ': ' || hours_taken || ' h used, '
        || hours_left || ' h left' as description,
        hours_taken as quantity,
        cast(0 as decimal(18, 2)) as unit_price,
        cast(0 as decimal(18, 2)) as amount,
        block_id as source_ref
    from {{ ref('int_prepaid_block_months') }}
),

all_lines as (
    select * from support_subscription
    union all
    select * from added_subscription
    union all
    select * from upfront
    union all
    select * from hours
    union all
    select * from prepaid
),

final as (
    {# the line type's R14 position and rule come from the line_types seed #}
    select
        all_lines.period,
        all_lines.customer_id,
        all_lines.line_type,
        line_types.r14_order as line_type_order,
        all_lines.sort_key,
        all_lines.description,
        all_lines.quantity,
        all_lines.unit_price,
        all_lines.amount,
        all_lines.source_ref,
        line_types.rule
    from all_lines
    inner join line_types on all_lines.line_type = line_types.line_type
)

select * from final
