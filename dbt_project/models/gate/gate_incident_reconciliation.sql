{#
  The quality gate's incident reconciliation (suite expectations/incident_reconciliation
  .json; R10, R12): per month and customer, the overage incidents charged up front on the
  month's invoices against the incident ledger. The gate reads one period of it.
#}
with invoiced as (
    select
        period,
        customer_id,
        sum(coalesce(cast(quantity as decimal(38, 10)), 0)) as quantity
    from {{ ref('invoice_lines') }}
    where line_type = 'additional_incident_upfront'
    group by period, customer_id
),

ledger as (
    select
        coalesce(charged_period, period) as period,
        customer_id,
        count(*) as incidents
    from {{ ref('fct_incidents') }}
    where coverage = 'overage' and overage_treatment = 'upfront'
    group by coalesce(charged_period, period), customer_id
),

final as (
    select
        coalesce(i.period, g.period) as period,
        coalesce(i.customer_id, g.customer_id) as customer_id,
        {# DECIMAL: the quantity as invoiced #}
        coalesce(i.quantity, 0) as upfront_quantity_invoiced,
        cast(coalesce(g.incidents, 0) as bigint) as upfront_incidents_in_ledger,
        {{ away_from_zero('coalesce(i.quantity, 0) - coalesce(g.incidents, 0)') }} as invoiced_minus_ledger
    from invoiced as i
    full outer join ledger as g on i.period = g.period and i.customer_id = g.customer_id
)

select * from final
