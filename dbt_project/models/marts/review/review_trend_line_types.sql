{#
  R18: the first chart of each review page, twelve months of totals by line type as
  stacked bars: positive amounts stack up from 0 and negative ones down, in line type
  order; base is where a bar starts. Named by the line_types seed (an unknown type by its
  code, drawn last). amount_f and base_f are for drawing only; amount is the exact DECIMAL.
#}
with amounts as (
    select
        period,
        trend_period,
        source,
        line_type,
        sum(amount) as amount
    from {{ ref('review_trend_lines') }}
    group by period, trend_period, source, line_type
),

stacked as (
    select
        period,
        trend_period,
        source,
        line_type,
        amount,
        coalesce(sum(amount) over (
            partition by period, trend_period, amount >= 0 order by line_type
            rows between unbounded preceding and 1 preceding
        ), 0) as base
    from amounts
    where amount <> 0
),

final as (
    select
        stacked.period,
        stacked.trend_period,
        stacked.line_type,
        stacked.source,
        coalesce(line_types.label, stacked.line_type) as label,
        coalesce(line_types.r14_order, 99) as r14_order,
        stacked.amount,
        cast(stacked.amount as double) as amount_f,
        cast(stacked.base as double) as base_f
    from stacked
    left join {{ ref('line_types') }} as line_types on stacked.line_type = line_types.line_type
)

select * from final
