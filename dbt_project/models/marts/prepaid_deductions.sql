{# R14: every prepaid block deduction of every month, with its invoice number or null. #}
with deductions as (
    select * from {{ ref('int_prepaid_block_months') }}
),

invoices as (
    select distinct
        period,
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
    left join invoices
        on deductions.period = invoices.period
            and deductions.customer_id = invoices.customer_id
)

select * from final
