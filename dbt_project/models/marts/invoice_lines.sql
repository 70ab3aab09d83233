{#
  R14: the invoice lines of the billed period (var 'period'): the month's computed lines
  plus prior-period adjustments (R15), numbered from 1 in R14's order, on the invoice of
  each customer that has at least one line with a non-zero amount. Invoices and credit
  notes (total below 0.00) are numbered separately, 1, 2, 3 ... in customer_id order.
#}
{% set period = var('period', env_var('SUPPORT_BILLING_PERIOD', '1900-01')) %}
{# Tagged: a billing run for another month rebuilds these (and what reads them). #}
{{ config(tags=['billing_period']) }}
with month_lines as (
    select
        *,
        cast(null as varchar) as adjusts_period,
        cast(null as varchar) as adjusts_line_type
    from {{ ref('fct_invoice_lines_computed') }}
    where period = '{{ period }}'
),

adjustments as (
    select * from {{ ref('int_prior_period_adjustments') }}
),

all_lines as (
    select
        period,
        customer_id,
        line_type,
        line_type_order,
        sort_key,
        description,
        quantity,
        unit_price,
        amount,
        source_ref,
        rule,
        adjusts_period,
        adjusts_line_type
    from month_lines
    union all
    select
        period,
        customer_id,
        line_type,
        line_type_order,
        sort_key,
        description,
        quantity,
        unit_price,
        amount,
        source_ref,
        rule,
        adjusts_period,
        adjusts_line_type
    from adjustments
),

invoiced_customers as (
    select
        customer_id,
        sum(amount) as total,
        case when sum(amount) < 0 then 'credit_note' else 'invoice' end as document_type
    from all_lines
    group by customer_id
    having bool_or(amount <> 0)
),

numbered_customers as (
    select
        *,
        case document_type when 'credit_note' then 'CN' else 'INV' end
        || '-' || replace('{{ period }}', '-', '') || '-'
        || lpad(cast(row_number() over (partition by document_type order by customer_id) as varchar), 5, '0')
            as invoice_number
    from invoiced_customers
),

final as (
    select
        all_lines.period,
        numbered_customers.invoice_number,
        numbered_customers.document_type,
        all_lines.customer_id,
        cast(row_number() over (
            partition by all_lines.customer_id
            order by all_lines.line_type_order, all_lines.sort_key
        ) as integer) as line_number,
        all_lines.line_type,
        all_lines.description,
        all_lines.quantity,
        all_lines.unit_price,
        all_lines.amount,
        all_lines.source_ref,
        all_lines.rule,
        all_lines.adjusts_period,
        all_lines.adjusts_line_type
    from all_lines
    inner join numbered_customers on all_lines.customer_id = numbered_customers.customer_id
)

select * from final
