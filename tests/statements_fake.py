"""Stand-ins for the customer-statement models (SPEC section 5, docs/contracts.md) over the
marts a fake build wrote (tests/test_billing_flow.py): views with the columns of the real
``stmt_*`` models and ``allotment_steps``, so the billing flow's gate and export can run on
them. The wording is placeholder text; the numbers come from the faked marts."""

from __future__ import annotations

STATEMENT_MARTS = """
create or replace view main.stmt_lines as
select l.*,
       'About ' || l.line_type as line_sentence,
       case when l.adjusts_period is not null
           then strftime(cast(l.adjusts_period || '-01' as date), '%B %Y') end
           as adjusts_month_name,
       case when l.adjusts_line_type is not null
           then 'Correction of ' || l.adjusts_line_type end as adjustment_sentence
from main.invoice_lines as l;

create or replace table main.allotment_steps (
    customer_id varchar, year integer, available_from date, module_allotment integer,
    extra_incidents integer, allotment integer);

create or replace view main.stmt_documents as
select i.period, i.invoice_number, i.document_type, i.customer_id, i.customer_name,
       i.accounting_ref, i.invoice_date, i.due_date, i.currency, i.total, i.line_count,
       cast(coalesce(s.statement_total, 0) as decimal(18, 2)) as statement_total,
       cast(coalesce(s.statement_line_count, 0) as integer) as statement_line_count,
       cast(year(i.invoice_date) as integer) as year,
       make_date(year(i.invoice_date), 12, 31) as expires_on,
       4 as allotment, 0 as covered_to_date, 0 as overage_to_date, 0 as billable_this_month,
       0 as covered_this_month, 0 as overage_this_month, 4 as remaining,
       'subscription' as overage_policy, 'Policy words' as policy_sentence,
       cast(10.00 as decimal(18, 2)) as next_overage_price, 'per month' as next_overage_basis
from main.invoices as i
left join (select invoice_number, sum(amount) as statement_total,
                  count(*) as statement_line_count
           from main.stmt_lines group by invoice_number) as s
    on s.invoice_number = i.invoice_number;

create or replace view main.stmt_tickets as
select c.customer_id, t.opened_period as period, cast(year(t.opened_date) as integer) as year,
       t.opened_date as incident_date, cast(t.opened_date as timestamptz) as opened_at,
       c.ticket_id, cast(null as varchar) as subject, t.category,
       t.category as category_description, 'closed' as status, false as time_sensitive,
       c.is_billable_incident, c.reason_code, 'Reason words' as reason_sentence,
       cast(null as varchar) as override_reason, cast(null as integer) as seq_in_year,
       cast(null as varchar) as coverage, cast(null as varchar) as coverage_code,
       cast(null as varchar) as coverage_sentence,
       cast(null as integer) as allotment_remaining,
       cast(null as varchar) as charged_line_type
from main.fct_ticket_classification as c
inner join main.stg_exports__tickets as t on t.ticket_id = c.ticket_id
union all
select customer_id, period, year, incident_date, opened_at, ticket_id, null, category,
       category, 'closed', false, true, reason_code, 'Reason words', null, seq_in_year,
       coverage, coverage || '_' || coalesce(overage_treatment, ''), 'Coverage words',
       allotment_remaining,
       case overage_treatment when 'upfront' then 'additional_incident_upfront'
           when 'subscription' then 'additional_incident_subscription' end
from main.fct_incidents;

create or replace view main.stmt_hours as
select customer_id, work_period as period, activity, 1 as activity_order,
       cast(sum(hours) as decimal(18, 2)) as hours,
       cast(0 as decimal(18, 2)) as prepaid_hours,
       cast(sum(hours) as decimal(18, 2)) as billed_hours
from main.stg_exports__timesheets group by all;

create or replace view main.stmt_prepaid_blocks as
select customer_id, period, block_id, cast(null as date) as purchased_on,
       cast(hours_taken + hours_left as decimal(18, 2)) as block_hours, hours_taken,
       hours_left
from main.prepaid_deductions;
"""


def write_statement_marts(con) -> None:
    from support_billing.storage.dbt_runner import SEEDS_DIR

    con.execute(STATEMENT_MARTS)
    # The wording seeds as dbt loads them: the review page and statements read their words here.
    for seed in ("line_types", "plain_reasons"):
        con.execute(f"create or replace table main.{seed} as select * from "
                    f"read_csv(?, header = true, all_varchar = true)",
                    [str(SEEDS_DIR / f"{seed}.csv")])
    con.execute("alter table main.line_types alter r14_order type integer")
    con.execute("alter table main.line_types alter billed_hours type boolean")
