{#
  R14: the invoice lines of every month, on the invoice of each customer that has at least
  one line with a non-zero amount; the billed month is a filter of the reader
  (`where period = ?`), not a build-time setting. Each month holds what billing it issues:
  its computed lines plus the prior-period adjustments (R15) billing it adds, numbered from
  1 in R14's order; invoices and credit notes (total below 0.00) numbered separately,
  1, 2, 3 ... in customer_id order within the month. That is what finalization records
  (billing.finalized_*); a finalized month shows here as it would be billed again today
  (its preview, R16), the same as recorded unless its inputs changed since.
#}
with month_lines as (
    select
        *,
        cast(null as varchar) as adjusts_period,
        cast(null as varchar) as adjusts_line_type
    from {{ ref('fct_invoice_lines_computed') }}
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
        period,
        customer_id,
        case when sum(amount) < 0 then 'credit_note' else 'invoice' end as document_type
    from all_lines
    group by period, customer_id
    having bool_or(amount <> 0)
),

numbered_customers as (
    select
        *,
        case document_type when 'credit_note' then 'CN' else 'INV' end
        || '-' || replace(period, '-', '') || '-'
        || lpad(cast(row_number() over (
            partition by period, document_type order by customer_id
        ) as varchar), 5, '0') as invoice_number
    from invoiced_customers
),

final as (
    select
        all_lines.period,
        numbered_customers.invoice_number,
        numbered_customers.document_type,
        all_lines.customer_id,
        cast(row_number() over (
            partition by all_lines.period, all_lines.customer_id
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
    inner join numbered_customers
        on all_lines.period = numbered_customers.period
            and all_lines.customer_id = numbered_customers.customer_id
)

select * from final
