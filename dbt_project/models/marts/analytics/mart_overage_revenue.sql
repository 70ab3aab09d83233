{#
  Overage per month and treatment (R12): overage incidents that occurred in the month
  (fct_incidents) and the overage revenue on the month's computed invoice lines
  (fct_invoice_lines_computed). 'upfront' lines charge the month's own incidents;
  'subscription' lines charge every incident added so far in the year and still in
  effect, so their quantity grows through the year. Computed lines, before prior-period
  adjustments (R15).
#}
with overage_incidents as (
    select
        period,
        overage_treatment,
        count(*) as overage_incidents,
        count(distinct customer_id) as customers_with_overage
    from {{ ref('fct_incidents') }}
    where coverage = 'overage'
    group by all
),

overage_lines as (
    select
        period,
        case line_type
            when 'additional_incident_upfront' then 'upfront'
            when 'additional_incident_subscription' then 'subscription'
        end as overage_treatment,
        sum(quantity) as billed_incidents,
        sum(amount) as revenue,
        count(distinct customer_id) as customers_billed
    from {{ ref('fct_invoice_lines_computed') }}
    where line_type in ('additional_incident_upfront', 'additional_incident_subscription')
    group by all
),

final as (
    select
        coalesce(overage_incidents.period, overage_lines.period) as period,
        cast(left(coalesce(overage_incidents.period, overage_lines.period), 4) as integer) as year,
        coalesce(overage_incidents.overage_treatment, overage_lines.overage_treatment)
            as overage_treatment,
        cast(coalesce(overage_incidents.overage_incidents, 0) as integer) as overage_incidents,
        cast(coalesce(overage_incidents.customers_with_overage, 0) as integer)
            as customers_with_overage,
        cast(coalesce(overage_lines.billed_incidents, 0) as integer) as billed_incidents,
        cast(coalesce(overage_lines.customers_billed, 0) as integer) as customers_billed,
        cast(coalesce(overage_lines.revenue, 0) as decimal(18, 2)) as revenue
    from overage_incidents
    full outer join overage_lines
        on overage_incidents.period = overage_lines.period
            and overage_incidents.overage_treatment = overage_lines.overage_treatment
)

select * from final
