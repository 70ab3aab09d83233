{#
  R6: per customer and month in which the customer is active on at least one day (R5):
  the subscribed part of the tier total (sum over modules of the largest annual_incidents
  among the subscriptions to that module active in the month), the incidents added to the
  subscription in effect (R12), the tier total and the one rate that prices all of the
  customer's support lines that month.
#}
with subscription_months as (
    select * from {{ ref('int_subscription_months') }}
),

months as (
    select * from {{ ref('int_calendar_months') }}
),

module_months as (
    select
        customer_id,
        period,
        module,
        max(annual_incidents) as largest_incidents
    from subscription_months
    group by all
),

customer_months as (
    select
        customer_id,
        period,
        cast(sum(largest_incidents) as integer) as subscribed_incidents
    from module_months
    group by all
),

added as (
    select
        customer_id,
        period,
        count(*) as added_incidents,
        string_agg(ticket_id, ' ' order by ticket_id) as ticket_ids
    from {{ ref('int_added_incidents_in_effect') }}
    group by all
),

final as (
    select
        customer_months.customer_id,
        customer_months.period,
        months.year,
        customer_months.subscribed_incidents,
        cast(coalesce(added.added_incidents, 0) as integer) as added_incidents,
        added.ticket_ids as added_ticket_ids,
        cast(customer_months.subscribed_incidents + coalesce(added.added_incidents, 0) as integer)
            as tier_total,
        case
            when customer_months.subscribed_incidents + coalesce(added.added_incidents, 0) >= 3
                then months.rate_tier_3_plus
            else months.rate_tier_1_2
        end as rate
    from customer_months
    inner join months on customer_months.period = months.period
    left join added
        on customer_months.customer_id = added.customer_id
            and customer_months.period = added.period
)

select * from final
