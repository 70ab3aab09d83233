{{ config(materialized='view') }}
{#
  R10: the incident ledger with the invoice that charged each overage incident. A view,
  so finalizing a month never makes the built tables stale.
#}
with incidents as (
    select * from {{ ref('fct_incidents') }}
),

finalized_invoices as (
    select
        period,
        customer_id,
        invoice_number
    from {{ source('billing', 'finalized_invoices') }}
),

final as (
    select
        incidents.*,
        finalized_invoices.invoice_number as charged_invoice_number
    from incidents
    left join finalized_invoices
        on incidents.charged_period = finalized_invoices.period
            and incidents.customer_id = finalized_invoices.customer_id
)

select * from final
