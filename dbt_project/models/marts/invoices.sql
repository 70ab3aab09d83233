{# R14: one row per invoice or credit note of the billed period (var 'period'). #}
{% set period = var('period', env_var('SUPPORT_BILLING_PERIOD', '1900-01')) %}
{# Tagged: a billing run for another month rebuilds these (and what reads them). #}
{{ config(tags=['billing_period']) }}
with lines as (
    select * from {{ ref('invoice_lines') }}
),

customers as (
    select * from {{ ref('stg_exports__customers') }}
),

month as (
    select * from {{ ref('int_calendar_months') }}
    where period = '{{ period }}'
),

totals as (
    select
        invoice_number,
        max(document_type) as document_type,
        max(customer_id) as customer_id,
        cast(sum(amount) as decimal(18, 2)) as total,
        cast(count(*) as integer) as line_count
    from lines
    group by invoice_number
),

final as (
    select
        '{{ period }}' as period,
        totals.invoice_number,
        totals.document_type,
        totals.customer_id,
        customers.customer_name,
        customers.accounting_ref,
        customers.email,
        month.month_end as invoice_date,
        cast(month.month_end + month.payment_terms_days as date) as due_date,
        'USD' as currency,
        totals.total,
        totals.line_count
    from totals
    inner join customers on totals.customer_id = customers.customer_id
    cross join month
)

select * from final
