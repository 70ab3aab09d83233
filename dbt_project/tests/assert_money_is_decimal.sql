-- R2: every money, price and hours column is DECIMAL, never DOUBLE or FLOAT.
select
    table_name,
    column_name,
    data_type
from information_schema.columns
where table_schema in ('main', 'raw', 'billing')
    and (
        column_name in (
            'amount', 'unit_price', 'total', 'rate', 'value', 'hours', 'quantity',
            'hours_taken', 'hours_left', 'billable_hours', 'prepaid_hours_used',
            'upfront_price', 'hourly_price', 'rate_tier_1_2', 'rate_tier_3_plus',
            'grand_total', 'difference'
        )
    )
    and data_type not like 'DECIMAL%'
    and not (table_schema = 'raw' and table_name in ('rejected_rows', 'held_rows'))
