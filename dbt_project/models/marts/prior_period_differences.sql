{#
  R15 for people: per finalized month, customer and line type, the difference billing the
  next month would carry forward now, with the amounts it compares (what billing a
  finalized month again reports). The difference is int_prior_period_adjustments' line
  for the month after the last finalized one (every adjustment finalized so far is taken
  into account there): the rule's one definition. recomputed is the month's lines as the
  rules compute them now; finalized = recomputed - difference (its finalized lines plus
  the adjustments already finalized for them). A view: nothing to build in a billing run.
#}
with next_month as (
    select strftime(cast(max(period) || '-01' as date) + interval 1 month, '%Y-%m') as period
    from {{ source('billing', 'finalized_months') }}
),

carried as (
    select
        adjustments.customer_id,
        adjustments.adjusts_period,
        adjustments.adjusts_line_type,
        adjustments.amount as difference
    from {{ ref('int_prior_period_adjustments') }} as adjustments
    inner join next_month on adjustments.period = next_month.period
),

recomputed as (
    select
        customer_id,
        period,
        line_type,
        sum(amount) as amount
    from {{ ref('fct_invoice_lines_computed') }}
    group by customer_id, period, line_type
),

final as (
    select
        carried.adjusts_period,
        carried.customer_id,
        carried.adjusts_line_type as line_type,
        cast(coalesce(recomputed.amount, 0) as decimal(18, 2)) as recomputed,
        cast(coalesce(recomputed.amount, 0) - carried.difference as decimal(18, 2)) as finalized,
        carried.difference
    from carried
    left join recomputed
        on carried.customer_id = recomputed.customer_id
            and carried.adjusts_period = recomputed.period
            and carried.adjusts_line_type = recomputed.line_type
)

select * from final
