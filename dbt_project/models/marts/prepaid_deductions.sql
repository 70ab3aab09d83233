{# R14: every prepaid block deduction of the billed period, with its invoice number or null. #}
{% set period = var('period', env_var('SUPPORT_BILLING_PERIOD', '1900-01')) %}
{# Tagged: a billing run for another month rebuilds these (and what reads them). #}
{{ config(tags=['billing_period']) }}
with deductions as (
    select * from {{ ref('int_prepaid_block_months') }}
    where period = '{{ period }}'
),

invoices as (
    select distinct
        customer_id,
        invoice_number
    from {{ ref('invoice_lines') }}
),

final as (
    select
        deductions.period,
        deductions.customer_id,
        deductions.block_id,
        deductions.hours_taken,
        deductions.hours_left,
        invoices.invoice_number
    from deductions
    left join invoices on deductions.customer_id = invoices.customer_id
)

select * from final
