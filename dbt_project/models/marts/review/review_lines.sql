{#
  R18: every invoice line of every month with its line type's short name (line_types
  label) and customer sentence; an R15 adjustment with the month it corrects and the
  cause of correcting that line type (plain_reasons). An unknown code shows as itself.
  Quantities and money DECIMAL(18,2) (R2).
#}
with line_words as (
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
        lines.customer_id,
        lines.invoice_number,
        lines.line_number,
        lines.line_type,
        lines.description,
        lines.quantity,
        lines.unit_price,
        lines.amount,
        lines.source_ref,
        coalesce(line_types.label, lines.line_type) as line_type_label,
        coalesce(line_words.sentence, lines.line_type) as line_sentence,
        lines.adjusts_period,
        adjustment_words.sentence as adjustment_sentence
    from {{ ref('invoice_lines') }} as lines
    left join {{ ref('line_types') }} as line_types on lines.line_type = line_types.line_type
    left join line_words on lines.line_type = line_words.code
    left join adjustment_words on lines.adjusts_line_type = adjustment_words.code
)

select * from final
