{#
  R15: for every month P after the first finalized month, the adjustment lines billing P
  adds: for every finalized month M before P, customer C and line type T, d = recomputed
  amount of C's T lines for M - (amount as finalized for M + prior_period_adjustment lines
  for (M, T) finalized before P). Each d other than 0.00 is one adjustment line on C's
  invoice for P. (For a finalized P that is what billing or previewing it again computes.)

  d splits into a part that does not depend on P (recomputed minus M's own finalized
  lines: int_finalized_differences) and the adjustments already carried, by the month
  that carried them. Only keys where either is non-zero can give a line, so the
  comparison over every (C, M, T) is made once, not once per month P.
#}
with finalized_months as (
    select period from {{ source('billing', 'finalized_months') }}
),

billable_months as (
    select months.period
    from {{ ref('int_calendar_months') }} as months
    where months.period > (select min(period) from finalized_months)
),

finalized_lines as (
    select * from {{ source('billing', 'finalized_invoice_lines') }}
),

carried as (
    select
        customer_id,
        adjusts_period,
        adjusts_line_type as line_type,
        period as carried_in,
        sum(amount) as amount
    from finalized_lines
    where line_type = 'prior_period_adjustment'
    group by all
),

base as (
    select * from {{ ref('int_finalized_differences') }}
),

candidate_keys as (
    select
        customer_id,
        adjusts_period,
        line_type
    from base
    where difference <> 0
    union
    select
        customer_id,
        adjusts_period,
        line_type
    from carried
),

keys as (
    select candidate_keys.*
    from candidate_keys
    inner join finalized_months on candidate_keys.adjusts_period = finalized_months.period
),

compared as (
    select
        billable_months.period,
        keys.customer_id,
        keys.adjusts_period,
        keys.line_type as adjusts_line_type,
        cast(
            coalesce(max(base.difference), 0) - coalesce(sum(carried.amount), 0)
            as decimal(18, 2)
        ) as difference
    from keys
    inner join billable_months on keys.adjusts_period < billable_months.period
    left join base
        on keys.customer_id = base.customer_id
            and keys.adjusts_period = base.adjusts_period
            and keys.line_type = base.line_type
    left join carried
        on keys.customer_id = carried.customer_id
            and keys.adjusts_period = carried.adjusts_period
            and keys.line_type = carried.line_type
            and billable_months.period > carried.carried_in
    group by billable_months.period, keys.customer_id, keys.adjusts_period, keys.line_type
),

line_types as (
    select * from {{ ref('line_types') }}
),

original_invoices as (
    select
        period,
        customer_id,
        invoice_number
    from {{ source('billing', 'finalized_invoices') }}
),

final as (
    select
        compared.period,
        compared.customer_id,
        'prior_period_adjustment' as line_type,
        adjustment_type.r14_order as line_type_order,
        compared.adjusts_period || ':' || coalesce(adjusted_type.r14_order, 9) as sort_key,
        'Adjustment for ' || compared.adjusts_period || ' ' || compared.adjusts_line_type
        || ' (recomputed after late or corrected data)' as description,
        cast(1 as decimal(18, 2)) as quantity,
        compared.difference as unit_price,
        compared.difference as amount,
        compared.adjusts_period || ':' || coalesce(original_invoices.invoice_number, '') || ':'
        || compared.adjusts_line_type as source_ref,
        adjustment_type.rule,
        compared.adjusts_period,
        compared.adjusts_line_type
    from compared
    left join original_invoices
        on compared.customer_id = original_invoices.customer_id
            and compared.adjusts_period = original_invoices.period
    left join line_types as adjusted_type on compared.adjusts_line_type = adjusted_type.line_type
    inner join line_types as adjustment_type
        on adjustment_type.line_type = 'prior_period_adjustment'
    where compared.difference <> 0
)

select * from final
