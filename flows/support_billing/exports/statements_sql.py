"""The customer statement's rows (SPEC section 5), in DuckDB SQL over the stmt_* models.

One set of queries serves both the quality gate and the renderer, so that the gate
validates exactly the rows the pages are rendered from:

- ``DOCUMENT_QUERIES``: every statement of a billed period (``$period``), each row tagged
  with its ``invoice_number``;
- ``YEAR_QUERIES``: the year so far of one customer (``$customer``, ``$year``, up to
  ``$through``), for ``support-billing statement``;
- ``GATE_FRAMES``: the two gate checks (statement total = invoice total; every billable
  incident of the month on its customer's statement exactly once).

Nothing here adds money up: totals and counts come from the models (stmt_documents).
"""

from __future__ import annotations

from support_billing.storage.freshness import DATA_TIME_SQL

# Every ticket of the month on its customer's statement, with the invoice line that
# charged it (R12: the month's one additional_incident_* line of that type), if any.
# The parts that only need a document's number, customer and period join the invoices
# (one statement per invoice, stmt_documents) instead of evaluating that view again.
DOCUMENT_TICKETS = """
select
    d.invoice_number,
    t.*,
    l.line_number as charged_line_number
from main.invoices as d
inner join main.stmt_tickets as t
    on t.customer_id = d.customer_id and t.period = d.period
left join main.stmt_lines as l
    on l.period = d.period and l.invoice_number = d.invoice_number
    and l.line_type = t.charged_line_type
where d.period = $period
order by d.invoice_number, t.opened_at, t.ticket_id
"""

DOCUMENT_QUERIES = {
    "documents": """
        select * from main.stmt_documents where period = $period order by invoice_number
    """,
    "steps": """
        select d.invoice_number, s.available_from, s.module_allotment, s.extra_incidents,
               s.allotment
        from main.stmt_documents as d
        inner join main.allotment_steps as s
            on s.customer_id = d.customer_id and s.year = d.year
            and s.available_from <= d.invoice_date
        where d.period = $period
        order by d.invoice_number, s.available_from
    """,
    "tickets": DOCUMENT_TICKETS,
    "hours": """
        select d.invoice_number, h.*
        from main.invoices as d
        inner join main.stmt_hours as h on h.customer_id = d.customer_id and h.period = d.period
        where d.period = $period
        order by d.invoice_number, h.activity_order, h.activity
    """,
    "blocks": """
        select d.invoice_number, b.*
        from main.invoices as d
        inner join main.stmt_prepaid_blocks as b
            on b.customer_id = d.customer_id and b.period = d.period
        where d.period = $period
        order by d.invoice_number, b.block_id
    """,
    "lines": """
        select * from main.stmt_lines where period = $period
        order by invoice_number, line_number
    """,
}

# ---------------------------------------------------------------- the gate (section 5)
GATE_FRAMES = {
    # suite name -> (query, label column)
    "statement_totals": ("""
        with inv as (select * from main.invoices where period = $period),
        st as (select * from main.stmt_documents where period = $period)
        select
            coalesce(inv.invoice_number, st.invoice_number) as invoice_number,
            inv.invoice_number is not null and st.invoice_number is not null
                as has_statement,
            cast(coalesce(st.statement_total, 0) * 100 as bigint)
                - cast(coalesce(inv.total, 0) * 100 as bigint)
                as statement_minus_invoice_cents,
            coalesce(st.statement_line_count, 0) - coalesce(inv.line_count, 0)
                as statement_minus_invoice_lines
        from inv
        full outer join st on inv.invoice_number = st.invoice_number
        order by 1
    """, "invoice_number"),
    "statement_incidents": (f"""
        with shown as (
            select ticket_id, customer_id, count(*) as appearances
            from ({DOCUMENT_TICKETS}) as t
            where is_billable_incident
            group by all
        ),
        ledger as (
            select ticket_id, customer_id from main.fct_incidents where period = $period
        )
        select
            coalesce(ledger.ticket_id, shown.ticket_id) as ticket_id,
            ledger.ticket_id is not null as in_ledger,
            cast(coalesce(shown.appearances, 0) as bigint) as appearances
        from ledger
        full outer join shown
            on ledger.ticket_id = shown.ticket_id and ledger.customer_id = shown.customer_id
        order by 1
    """, "ticket_id"),
}

# ---------------------------------------------------------------- the year so far (CLI)
YEAR_QUERIES = {
    # R8 allotment on the day and R11 remaining, incidents up to $through: the dbt table
    # macro customer_usage_on (dbt_project/macros/usage_on.sql), their one definition
    "documents": """
        select
            u.customer_id, u.customer_name, u.overage_policy,
            w.sentence as policy_sentence,
            cast($year as integer) as year,
            make_date(cast($year as integer), 12, 31) as expires_on,
            u.allotment,
            u.covered as covered_to_date,
            u.overage as overage_to_date,
            (select cast(coalesce(sum(total), 0) as decimal(18, 2))
                 from billing.finalized_invoices as f
                 where f.customer_id = u.customer_id
                   and f.period like cast($year as varchar) || '-%') as invoiced_to_date,
            (select strftime(timezone('America/Denver', t), '%Y-%m-%d %H:%M')
                 from (""" + DATA_TIME_SQL + """)) as data_as_of,
            u.remaining
        from main.customer_usage_on(cast($year as integer), $through, through := $through) as u
        left join main.plain_reasons as w on w.kind = 'policy' and w.code = u.overage_policy
        where u.customer_id = $customer
    """,
    "steps": """
        select available_from, module_allotment, extra_incidents, allotment
        from main.allotment_steps
        where customer_id = $customer and year = $year and available_from <= $through
        order by available_from
    """,
    "tickets": """
        select t.*, cast(null as integer) as charged_line_number
        from main.stmt_tickets as t
        where t.customer_id = $customer and t.year = $year and t.incident_date <= $through
        order by t.opened_at, t.ticket_id
    """,
    "hours": """
        select * from main.stmt_hours
        where customer_id = $customer and period like cast($year as varchar) || '-%'
          and period <= strftime($through, '%Y-%m')
        order by period, activity_order, activity
    """,
    "blocks": """
        select * from main.stmt_prepaid_blocks
        where customer_id = $customer and period like cast($year as varchar) || '-%'
          and period <= strftime($through, '%Y-%m')
        order by period, block_id
    """,
    "lines": """
        select
            l.*,
            p.sentence as line_sentence,
            case when l.adjusts_period is not null
                then strftime(cast(l.adjusts_period || '-01' as date), '%B %Y')
            end as adjusts_month_name,
            a.sentence as adjustment_sentence
        from billing.finalized_invoice_lines as l
        left join main.plain_reasons as p on p.kind = 'line_type' and p.code = l.line_type
        left join main.plain_reasons as a
            on a.kind = 'adjustment' and a.code = l.adjusts_line_type
        where l.customer_id = $customer and l.period like cast($year as varchar) || '-%'
        order by l.period, l.line_number
    """,
}
