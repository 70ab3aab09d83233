{#
  R18: one row per customer and month with this month's document, the last finalized
  month's total, the change and the flags for what needs a look: a change of more than
  50% and more than 100.00, a credit note, a new customer (never billed in a finalized
  month before), a customer invoiced in the month compared with and not now, held rows
  (R-IN5). The compared month is review_months.previous_finalized; without one there is
  no change and no new-customer flag. anchor numbers the month's rows by customer.
#}
with months as (
    select * from {{ ref('review_months') }}
),

now_inv as (
    select
        invoices.period,
        invoices.customer_id,
        invoices.invoice_number,
        invoices.document_type,
        invoices.total
    from {{ ref('invoices') }} as invoices
    inner join months on invoices.period = months.period
),

finalized as (
    select * from {{ source('billing', 'finalized_invoices') }}
),

prev_inv as (
    select
        months.period,
        finalized.customer_id,
        sum(finalized.total) as total
    from months
    inner join finalized on months.previous_finalized = finalized.period
    group by months.period, finalized.customer_id
),

billed_before as (
    select distinct
        months.period,
        finalized.customer_id
    from months
    inner join finalized on months.period > finalized.period
),

held as (
    select
        customer_id,
        count(*) as held_rows
    from {{ source('raw', 'held_rows') }}
    group by customer_id
),

keys as (
    select
        period,
        customer_id
    from now_inv
    union
    select
        period,
        customer_id
    from prev_inv
    union
    select
        months.period,
        held.customer_id
    from months
    cross join held
),

joined as (
    select
        keys.period,
        months.previous_finalized,
        keys.customer_id,
        customers.customer_name,
        now_inv.invoice_number,
        now_inv.document_type,
        now_inv.total as now_total,
        prev_inv.total as prev_total,
        coalesce(now_inv.total, 0) - coalesce(prev_inv.total, 0) as change,
        coalesce(held.held_rows, 0) as held_rows,
        billed_before.customer_id is not null as billed_before
    from keys
    inner join months on keys.period = months.period
    left join {{ ref('stg_exports__customers') }} as customers
        on keys.customer_id = customers.customer_id
    left join now_inv on keys.period = now_inv.period and keys.customer_id = now_inv.customer_id
    left join prev_inv
        on keys.period = prev_inv.period and keys.customer_id = prev_inv.customer_id
    left join held on keys.customer_id = held.customer_id
    left join billed_before
        on keys.period = billed_before.period and keys.customer_id = billed_before.customer_id
),

final as (
    select
        period,
        row_number() over (partition by period order by customer_id) as anchor,
        customer_id,
        customer_name,
        invoice_number,
        document_type,
        cast(now_total as decimal(18, 2)) as now_total,
        cast(prev_total as decimal(18, 2)) as prev_total,
        case when previous_finalized is not null then {{ signed_money_text('change') }} end as change,
        previous_finalized is not null
        and abs(change) > 100.00
        and (coalesce(prev_total, 0) = 0 or abs(change) > 0.5 * abs(prev_total)) as flag_big_change,
        document_type = 'credit_note' as flag_credit_note,
        now_total is not null and not billed_before
        and previous_finalized is not null as flag_new_customer,
        now_total is null and prev_total is not null as flag_not_invoiced,
        held_rows > 0 as flag_held_rows,
        held_rows
    from joined
)

select * from final
