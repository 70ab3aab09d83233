{#
  R15, the part of every adjustment that does not depend on the month carrying it: per
  finalized month, customer and line type, the recomputed amount of the month's lines
  minus the amount of its own finalized lines (adjustments it carried aside). Zero while
  the month's inputs are unchanged since it was finalized. int_prior_period_adjustments
  subtracts the adjustments already carried; the build planner reads this view for the
  month just finalized (storage/dbt_runner.py, note_finalized). A view: always current.
#}
{{ config(materialized='view') }}
with finalized_months as (
    select period from {{ source('billing', 'finalized_months') }}
),

recomputed as (
    select
        lines.customer_id,
        lines.period as adjusts_period,
        lines.line_type,
        sum(lines.amount) as amount
    from {{ ref('fct_invoice_lines_computed') }} as lines
    inner join finalized_months on lines.period = finalized_months.period
    group by all
),

finalized_own as (
    select
        customer_id,
        period as adjusts_period,
        line_type,
        sum(amount) as amount
    from {{ source('billing', 'finalized_invoice_lines') }}
    where line_type <> 'prior_period_adjustment'
    group by all
),

final as (
    select
        coalesce(recomputed.customer_id, finalized_own.customer_id) as customer_id,
        coalesce(recomputed.adjusts_period, finalized_own.adjusts_period) as adjusts_period,
        coalesce(recomputed.line_type, finalized_own.line_type) as line_type,
        coalesce(recomputed.amount, 0) - coalesce(finalized_own.amount, 0) as difference
    from recomputed
    full outer join finalized_own
        on recomputed.customer_id = finalized_own.customer_id
            and recomputed.adjusts_period = finalized_own.adjusts_period
            and recomputed.line_type = finalized_own.line_type
)

select * from final
