-- R14: invoices and credit notes are numbered 1, 2, 3 ... with no gaps, in customer_id
-- order within each month.
with numbered as (
    select
        period,
        document_type,
        customer_id,
        cast(right(invoice_number, 5) as integer) as n,
        row_number() over (partition by period, document_type order by customer_id) as expected_n
    from {{ ref('invoices') }}
)

select * from numbered
where n <> expected_n
