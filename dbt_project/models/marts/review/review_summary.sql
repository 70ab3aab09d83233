{#
  R18: the page's header for every month: grand total, invoice and credit-note counts of
  the month as built, the same of the last finalized month before it (zero while none is
  finalized) and the changes (signed text). Money DECIMAL(18,2) (R2).
#}
with months as (
    select * from {{ ref('review_months') }}
),

now_month as (
    select
        months.period,
        count(*) filter (where invoices.document_type = 'invoice') as invoices,
        count(*) filter (where invoices.document_type = 'credit_note') as credit_notes,
        coalesce(sum(invoices.total), 0) as total
    from months
    left join {{ ref('invoices') }} as invoices on months.period = invoices.period
    group by months.period
),

prev_month as (
    select
        months.period,
        count(*) filter (where finalized.document_type = 'invoice') as invoices,
        count(*) filter (where finalized.document_type = 'credit_note') as credit_notes,
        coalesce(sum(finalized.total), 0) as total
    from months
    left join {{ source('billing', 'finalized_invoices') }} as finalized
        on months.previous_finalized = finalized.period
    group by months.period
),

final as (
    select
        months.period,
        months.previous_finalized,
        cast(now_month.total as decimal(18, 2)) as grand_total,
        now_month.invoices,
        now_month.credit_notes,
        cast(prev_month.total as decimal(18, 2)) as prev_total,
        prev_month.invoices as prev_invoices,
        prev_month.credit_notes as prev_credit_notes,
        {{ signed_money_text('now_month.total - prev_month.total') }} as total_change,
        now_month.invoices - prev_month.invoices as invoices_change,
        now_month.credit_notes - prev_month.credit_notes as credit_notes_change
    from months
    inner join now_month on months.period = now_month.period
    inner join prev_month on months.period = prev_month.period
)

select * from final
