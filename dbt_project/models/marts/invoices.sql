{#
  R14: one row per invoice or credit note of every month (the reader filters the month):
  the totals of its lines in invoice_lines, dated the last day of the month and due after
  the payment terms in force on that day.
#}
with lines as (
    select * from {{ ref('invoice_lines') }}
),

customers as (
    select * from {{ ref('stg_exports__customers') }}
),

months as (
    select * from {{ ref('int_calendar_months') }}
),

totals as (
    select
        period,
        invoice_number,
        max(document_type) as document_type,
        max(customer_id) as customer_id,
        cast(sum(amount) as decimal(18, 2)) as total,
        cast(count(*) as integer) as line_count
    from lines
    group by period, invoice_number
),

final as (
    select
        totals.period,
        totals.invoice_number,
        totals.document_type,
        totals.customer_id,
        customers.customer_name,
        customers.accounting_ref,
        customers.email,
        months.month_end as invoice_date,
        cast(months.month_end + months.payment_terms_days as date) as due_date,
        'USD' as currency,
        totals.total,
        totals.line_count
    from totals
    inner join customers on totals.customer_id = customers.customer_id
    inner join months on totals.period = months.period
)

select * from final
