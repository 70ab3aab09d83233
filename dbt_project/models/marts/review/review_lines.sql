{#
  R18: every invoice line of every month with its line type's short name (line_types
  label) and customer sentence; an R15 adjustment with the month it corrects and the
  cause of correcting that line type. The plain words are the statements' own
  (stmt_lines, from plain_reasons); an unknown code shows as itself.
  Quantities and money DECIMAL(18,2) (R2).
#}
with final as (
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
        coalesce(lines.line_sentence, lines.line_type) as line_sentence,
        lines.adjusts_period,
        lines.adjustment_sentence
    from {{ ref('stmt_lines') }} as lines
    left join {{ ref('line_types') }} as line_types on lines.line_type = line_types.line_type
)

select * from final
