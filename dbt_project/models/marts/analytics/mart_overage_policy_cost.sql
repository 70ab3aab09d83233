{#
  What a customer's overage incidents cost under each R12 policy, per month: a what-if for
  analysts (notebooks/customer.ipynb), not billing. The overage incidents are the same
  under both policies (R10: an added incident covers only its own incident).
  - upfront: every overage incident of the month at the month's up-front price.
  - subscription: an overage incident on a day the customer is active is added from its
    month through December, in every month the customer is active, at that month's rate,
    where the tier total counts the incidents added so far (R6); one on a day the customer
    is not active is billed up front whatever the policy (R12).
  actual_cost: the month's computed additional_incident_* lines (before R15 adjustments).
  Only the overage lines are compared; a what-if rate change would also reprice the R7
  support lines, which this mart leaves out (docs/decisions.md, Analysts).
#}
with overage as (
    select
        customer_id,
        year,
        period,
        is_customer_active
    from {{ ref('fct_incidents') }}
    where coverage = 'overage'
),

months as (
    select
        period,
        year,
        upfront_price,
        rate_tier_1_2,
        rate_tier_3_plus
    from {{ ref('int_calendar_months') }}
),

active_months as (
    select
        customer_id,
        period,
        year,
        subscribed_incidents
    from {{ ref('int_customer_months') }}
),

incidents_of_month as (
    select
        customer_id,
        period,
        count(*) as overage_incidents,
        count(*) filter (where not is_customer_active) as inactive_overage_incidents
    from overage
    group by all
),

added_if_subscription as (
    select
        active_months.customer_id,
        active_months.period,
        any_value(active_months.subscribed_incidents) as subscribed_incidents,
        count(*) as added_incidents
    from active_months
    inner join overage
        on active_months.customer_id = overage.customer_id
            and active_months.year = overage.year
            and active_months.period >= overage.period
            and overage.is_customer_active
    group by all
),

actual as (
    select
        customer_id,
        period,
        sum(amount) as actual_cost
    from {{ ref('fct_invoice_lines_computed') }}
    where line_type in ('additional_incident_upfront', 'additional_incident_subscription')
    group by all
),

customer_periods as (
    select
        customer_id,
        period
    from incidents_of_month
    union
    select
        customer_id,
        period
    from added_if_subscription
    union
    select
        customer_id,
        period
    from actual
),

final as (
    select
        customer_periods.customer_id,
        months.year,
        customer_periods.period,
        cast(coalesce(incidents_of_month.overage_incidents, 0) as integer) as overage_incidents,
        cast(coalesce(added_if_subscription.added_incidents, 0) as integer)
            as added_incidents_if_subscription,
        cast(
            coalesce(incidents_of_month.overage_incidents, 0) * months.upfront_price
            as decimal(18, 2)
        ) as cost_if_upfront,
        cast(
            coalesce(incidents_of_month.inactive_overage_incidents, 0) * months.upfront_price
            + coalesce(added_if_subscription.added_incidents, 0) * case
                when added_if_subscription.subscribed_incidents
                    + added_if_subscription.added_incidents >= 3
                    then months.rate_tier_3_plus
                else months.rate_tier_1_2
            end
            as decimal(18, 2)
        ) as cost_if_subscription,
        cast(coalesce(actual.actual_cost, 0) as decimal(18, 2)) as actual_cost
    from customer_periods
    inner join months on customer_periods.period = months.period
    left join incidents_of_month
        on customer_periods.customer_id = incidents_of_month.customer_id
            and customer_periods.period = incidents_of_month.period
    left join added_if_subscription
        on customer_periods.customer_id = added_if_subscription.customer_id
            and customer_periods.period = added_if_subscription.period
    left join actual
        on customer_periods.customer_id = actual.customer_id
            and customer_periods.period = actual.period
)

select * from final
