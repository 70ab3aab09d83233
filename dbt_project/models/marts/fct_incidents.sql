{#
  R10 ledger: one row per billable incident. R12: an overage incident on a day the
  customer is not active is billed up front whatever the policy; otherwise by the
  customer's overage_policy, as it was when the incident's month was finalized (a policy
  change applies only to months not yet finalized).
#}
with deducted as (
    select * from {{ ref('int_incidents_deducted') }}
),

customers as (
    select * from {{ ref('stg_exports__customers') }}
),

finalized_policies as (
    select
        policies.period,
        policies.customer_id,
        policies.overage_policy
    from {{ source('billing', 'finalized_policies') }} as policies
    inner join {{ source('billing', 'finalized_months') }} as months
        on policies.period = months.period
),

treated as (
    select
        deducted.*,
        case
            when deducted.coverage = 'covered' then null
            when not deducted.is_customer_active then 'upfront'
            else coalesce(finalized_policies.overage_policy, customers.overage_policy)
        end as overage_treatment
    from deducted
    left join customers on deducted.customer_id = customers.customer_id
    left join finalized_policies
        on deducted.customer_id = finalized_policies.customer_id
            and deducted.opened_period = finalized_policies.period
),

final as (
    select
        treated.ticket_id,
        treated.customer_id,
        treated.opened_at,
        treated.opened_at_local,
        treated.opened_date as incident_date,
        treated.opened_period as period,
        treated.opened_year as year,
        cast(treated.seq_in_year as integer) as seq_in_year,
        treated.coverage,
        cast(treated.allotment_available as integer) as allotment_available,
        treated.allotment_remaining,
        treated.reason_code,
        treated.category,
        treated.override_reason,
        treated.is_customer_active,
        treated.overage_treatment,
        case when treated.overage_treatment is not null then treated.opened_period end
            as charged_period
    from treated
)

select * from final
