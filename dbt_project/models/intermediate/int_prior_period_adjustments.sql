{#
  R15: when billing period P, for every finalized month M before P, customer C and line
  type T: d = recomputed amount of C's T lines for M - (amount as finalized for M +
  prior_period_adjustment lines for (M, T) finalized before P). Each d other than 0.00 is
  one adjustment line on C's invoice for P.
#}
{% set period = var('period', env_var('SUPPORT_BILLING_PERIOD', '1900-01')) %}
{# Tagged: a billing run for another month rebuilds these (and what reads them). #}
{{ config(tags=['billing_period']) }}
with finalized_months as (
    select period from {{ source('billing', 'finalized_months') }}
    where period < '{{ period }}'
),

recomputed as (
    select
        lines.customer_id,
        lines.period as adjusts_period,
        lines.line_type,
        max(lines.line_type_order) as line_type_order,
        sum(lines.amount) as amount
    from {{ ref('fct_invoice_lines_computed') }} as lines
    inner join finalized_months on lines.period = finalized_months.period
    group by all
),

finalized_lines as (
    select * from {{ source('billing', 'finalized_invoice_lines') }}
),

as_finalized as (
    select
        customer_id,
        case when line_type = 'prior_period_adjustment' then adjusts_period else period end
            as adjusts_period,
        case when line_type = 'prior_period_adjustment' then adjusts_line_type else line_type end
            as line_type,
        sum(amount) as amount
    from finalized_lines
    where period < '{{ period }}'
    group by all
),

compared as (
    select
        coalesce(recomputed.customer_id, as_finalized.customer_id) as customer_id,
        coalesce(recomputed.adjusts_period, as_finalized.adjusts_period) as adjusts_period,
        coalesce(recomputed.line_type, as_finalized.line_type) as adjusts_line_type,
        cast(coalesce(recomputed.amount, 0) - coalesce(as_finalized.amount, 0) as decimal(18, 2))
            as difference
    from recomputed
    full outer join as_finalized
        on recomputed.customer_id = as_finalized.customer_id
            and recomputed.adjusts_period = as_finalized.adjusts_period
            and recomputed.line_type = as_finalized.line_type
    where coalesce(recomputed.adjusts_period, as_finalized.adjusts_period) in (select period from finalized_months)
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
        '{{ period }}' as period,
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
