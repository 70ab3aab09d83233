{#
  Section 5 statement: every month's invoice lines (R14) with the line type in plain
  words and, for a prior-period adjustment (R15), the month it corrects and the cause.
  A view: invoice_lines plus two seed lookups, read one month at a time; a table would
  copy every line of every month in each build.
#}
with lines as (
    select * from {{ ref('invoice_lines') }}
),

line_words as (
    select
        code,
        sentence
    from {{ ref('plain_reasons') }}
    where kind = 'line_type'
),

adjustment_words as (
    select
        code,
        sentence
    from {{ ref('plain_reasons') }}
    where kind = 'adjustment'
),

final as (
    select
        lines.period,
        lines.invoice_number,
        lines.customer_id,
        lines.line_number,
        lines.line_type,
        lines.description,
        lines.quantity,
        lines.unit_price,
        lines.amount,
        lines.source_ref,
        lines.rule,
        lines.adjusts_period,
        lines.adjusts_line_type,
        line_words.sentence as line_sentence,
        case when lines.adjusts_period is not null
                then strftime(cast(lines.adjusts_period || '-01' as date), '%B %Y')
        end as adjusts_month_name,
        adjustment_words.sentence as adjustment_sentence
    from lines
    left join line_words on lines.line_type = line_words.code
    left join adjustment_words on lines.adjusts_line_type = adjustment_words.code
)

select * from final
