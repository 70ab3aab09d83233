-- R14: no line has quantity 0 and a non-zero amount.
select *
from {{ ref('fct_invoice_lines_computed') }}
where quantity = 0 and amount <> 0
