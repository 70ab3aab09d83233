{#
  R12 subscription policy: an overage incident added to the subscription is in effect in
  every month from its own month through December of its year in which the customer is
  active on at least one day. One row per added incident and month in effect.
#}
with added as (
    select
        ticket_id,
        customer_id,
        period,
        year
    from {{ ref('fct_incidents') }}
    where overage_treatment = 'subscription'
),

active_months as (
    select distinct
        customer_id,
        period,
        year
    from {{ ref('int_subscription_months') }}
),

final as (
    select
        added.ticket_id,
        added.customer_id,
        active_months.period,
        added.period as added_in_period
    from added
    inner join active_months
        on added.customer_id = active_months.customer_id
            and added.year = active_months.year
            and added.period <= active_months.period
)

select * from final
