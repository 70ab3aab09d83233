{#
  R18: the causes of each customer's change in a month, in the page's order (ord):
  1 the line types whose amount moved since the last finalized month (R15 adjustments
  apart), 2 the R15 adjustments, 3 new overage incidents (R10/R12), 4 hours billed (R13),
  5 prorated subscription lines (R7: amount other than quantity x unit price). Line types
  are found by their rule and billed_hours in the line_types seed and named by its label.
#}
with months as (
    select * from {{ ref('review_months') }}
),

line_types as (
    select * from {{ ref('line_types') }}
),

lines as (
    select * from {{ ref('invoice_lines') }}
),

finalized_lines as (
    select * from {{ source('billing', 'finalized_invoice_lines') }}
),

now_lines as (
    select
        lines.period,
        lines.customer_id,
        lines.line_type,
        sum(lines.amount) as amount
    from lines
    left join line_types on lines.line_type = line_types.line_type
    where line_types.rule is distinct from 'R15'
    group by lines.period, lines.customer_id, lines.line_type
),

prev_lines as (
    select
        months.period,
        finalized_lines.customer_id,
        finalized_lines.line_type,
        sum(finalized_lines.amount) as amount
    from months
    inner join finalized_lines on months.previous_finalized = finalized_lines.period
    left join line_types on finalized_lines.line_type = line_types.line_type
    where line_types.rule is distinct from 'R15'
    group by months.period, finalized_lines.customer_id, finalized_lines.line_type
),

moved as (
    select
        coalesce(now_lines.period, prev_lines.period) as period,
        coalesce(now_lines.customer_id, prev_lines.customer_id) as customer_id,
        1 as ord,
        coalesce(line_types.label, now_lines.line_type, prev_lines.line_type) as label,
        {{ money_text('coalesce(prev_lines.amount, 0)') }} || ' -> '
        || {{ money_text('coalesce(now_lines.amount, 0)') }} || ' ('
        || {{ signed_money_text('coalesce(now_lines.amount, 0) - coalesce(prev_lines.amount, 0)') }}
        || ')' as detail
    from now_lines
    full outer join prev_lines
        on now_lines.period = prev_lines.period
            and now_lines.customer_id = prev_lines.customer_id
            and now_lines.line_type = prev_lines.line_type
    left join line_types
        on coalesce(now_lines.line_type, prev_lines.line_type) = line_types.line_type
    inner join months on coalesce(now_lines.period, prev_lines.period) = months.period
    where
        coalesce(now_lines.amount, 0) <> coalesce(prev_lines.amount, 0)
        and months.previous_finalized is not null
),

adjustments as (
    select
        lines.period,
        lines.customer_id,
        2 as ord,
        coalesce(any_value(line_types.label), lines.line_type) as label,
        count(*) || ' line(s), ' || {{ signed_money_text('sum(lines.amount)') }} as detail
    from lines
    inner join line_types on lines.line_type = line_types.line_type
    where line_types.rule = 'R15'
    group by lines.period, lines.customer_id, lines.line_type
),

overage as (
    select
        period,
        customer_id,
        3 as ord,
        'new overage incidents' as label,
        cast(count(*) as varchar) as detail
    from {{ ref('fct_incidents') }}
    where coverage = 'overage'
    group by period, customer_id
),

hours as (
    select
        lines.period,
        lines.customer_id,
        4 as ord,
        'hours billed' as label,
        {{ money_text('sum(lines.quantity)') }} || ' h' as detail
    from lines
    inner join line_types on lines.line_type = line_types.line_type
    where line_types.billed_hours
    group by lines.period, lines.customer_id
),

prorations as (
    select
        lines.period,
        lines.customer_id,
        5 as ord,
        'prorated subscriptions' as label,
        string_agg(lines.source_ref, ', ' order by lines.source_ref) as detail
    from lines
    inner join line_types on lines.line_type = line_types.line_type
    where
        line_types.rule = 'R7'
        and lines.amount <> cast(round(lines.quantity * lines.unit_price, 2) as decimal(18, 2))
    group by lines.period, lines.customer_id
),

final as (
    select * from moved
    union all
    select * from adjustments
    union all
    select * from overage
    union all
    select * from hours
    union all
    select * from prorations
)

select * from final
