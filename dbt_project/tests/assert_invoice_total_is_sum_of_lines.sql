-- R2/R14: an invoice's total is the sum of its lines, and line_count is its number of lines.
with lines as (
    select
        invoice_number,
        sum(amount) as line_sum,
        count(*) as line_count
    from {{ ref('invoice_lines') }}
    group by invoice_number
)

select
    invoices.invoice_number,
    invoices.total,
    lines.line_sum
from {{ ref('invoices') }} as invoices
left join lines on invoices.invoice_number = lines.invoice_number
where lines.line_sum is null
    or invoices.total <> lines.line_sum
    or invoices.line_count <> lines.line_count
