{#
  The quality gate's invoice checks (suite expectations/invoices.json; R2, R14, R-IN6):
  per document of every month, what the rules give beside what is stored, as plain
  columns the suite expects equal, 0 or true. The gate reads one period of it. Amounts
  are read as exact text too, so that a badly scaled value reaches the checks as stored.
#}
with invoices as (
    select
        period,
        invoice_number,
        document_type,
        customer_id,
        customer_name,
        accounting_ref,
        email,
        currency,
        cast(total as decimal(38, 10)) as total,
        cast(total as varchar) as total_text,
        cast(line_count as bigint) as line_count,
        cast(invoice_date as varchar) as invoice_date_text,
        cast(due_date as varchar) as due_date_text,
        {# a row's place as the gate reads it: it breaks customer_id ties in the numbering #}
        row_number() over (partition by period order by invoice_number) as seq
    from {{ ref('invoices') }}
),

line_totals as (
    select
        period,
        invoice_number,
        sum(coalesce(cast(amount as decimal(38, 10)), 0)) as sum_of_lines,
        count(*) as line_rows,
        bool_or(coalesce(cast(amount as decimal(38, 10)), 0) <> 0) as has_non_zero_line
    from {{ ref('invoice_lines') }}
    group by period, invoice_number
),

customers as (
    select distinct customer_id from {{ ref('stg_exports__customers') }}
),

{# section 4: the payment terms in force on the invoice date (int_calendar_months) #}
months as (
    select
        period,
        payment_terms_days
    from {{ ref('int_calendar_months') }}
),

typed as (
    select
        *,
        {# R14: a credit note exactly when the total is below 0.00 #}
        case when coalesce(total, 0) < 0 then 'credit_note' else 'invoice' end as expected_document_type,
        cast(last_day(try_strptime(period || '-01', '%Y-%m-%d')) as date) as month_end
    from invoices
),

numbered as (
    {# R14: each document type numbered 1, 2, 3 ... without gaps in customer_id order #}
    select
        *,
        row_number() over (
            partition by period, expected_document_type order by customer_id, seq
        ) as expected_n
    from typed
),

final as (
    select
        i.seq,
        i.invoice_number,
        case i.expected_document_type when 'invoice' then 'INV' else 'CN' end
        || '-' || replace(i.period, '-', '') || '-' || printf('%05d', i.expected_n) as expected_invoice_number,
        i.document_type,
        i.expected_document_type,
        i.customer_id,
        k.customer_id is not null as customer_known,
        i.period,
        i.total_text,
        {{ cents_nonzero('coalesce(i.total, 0) - coalesce(t.sum_of_lines, 0)') }} as total_minus_sum_of_lines_cents,
        cast(coalesce(i.line_count, 0) - coalesce(t.line_rows, 0) as bigint) as line_count_minus_lines,
        coalesce(t.has_non_zero_line, false) as has_non_zero_line,
        left(i.invoice_date_text, 10) as invoice_date_text,
        cast(i.month_end as varchar) as expected_invoice_date,
        left(i.due_date_text, 10) as due_date_text,
        {# R14: due date = invoice date + the payment terms in force on the invoice date #}
        cast(i.month_end + m.payment_terms_days as varchar) as expected_due_date,
        i.currency,
        {{ formula_safe(['i.invoice_number', 'i.document_type', 'i.customer_id', 'i.customer_name',
                         'i.accounting_ref', 'i.email', 'i.period', 'i.currency']) }} as text_cells_formula_safe
    from numbered as i
    left join months as m on i.period = m.period
    left join line_totals as t on i.period = t.period and i.invoice_number = t.invoice_number
    left join customers as k on i.customer_id = k.customer_id
)

select * from final
