{#
  Section 5 statement: one row per invoice or credit note of every month (R14) with
  everything the statement's header and allotment card show, so the page adds nothing up:
  the statement total is the sum of the statement's own lines (stmt_lines; the gate
  compares it with the invoice total), the allotment available at month end (R8), covered
  and overage incidents of the year so far (R10), what remains and expires on Dec 31
  (R11), the overage policy (R12) and what the next overage incident would cost.

  A view, read one month at a time (the exports and the gate filter on period): every
  part below is keyed by period so that the filter reaches the tables it reads, and a
  month's statements cost that month's rows, where a table would compute every month
  of every customer in each build.
#}
with invoices as (
    select * from {{ ref('invoices') }}
),

statement_lines as (
    select
        period,
        invoice_number,
        cast(sum(amount) as decimal(18, 2)) as statement_total,
        cast(count(*) as integer) as statement_line_count
    from {{ ref('stmt_lines') }}
    group by period, invoice_number
),

months as (
    select * from {{ ref('int_calendar_months') }}
),

customers as (
    select
        customer_id,
        overage_policy
    from {{ ref('stg_exports__customers') }}
),

policy_words as (
    select
        code,
        sentence
    from {{ ref('plain_reasons') }}
    where kind = 'policy'
),

documents as not materialized (
    select
        invoices.*,
        months.year,
        months.month_end,
        months.month_number,
        months.upfront_price,
        months.rate_tier_1_2,
        months.rate_tier_3_plus
    from invoices
    inner join months on invoices.period = months.period
),

allotment_now as (
    select
        documents.period,
        documents.invoice_number,
        max(steps.allotment) as allotment
    from documents
    inner join {{ ref('allotment_steps') }} as steps
        on documents.customer_id = steps.customer_id
            and documents.year = steps.year
            and documents.month_end >= steps.available_from
    group by documents.period, documents.invoice_number
),

{# R10 counts of the year so far: each month's incidents, summed over the months of the
   year up to the document's own #}
incident_months as (
    select
        customer_id,
        year,
        period,
        count(*) filter (where coverage = 'covered') as covered,
        count(*) filter (where coverage = 'overage') as overage,
        count(*) as billable
    from {{ ref('fct_incidents') }}
    group by customer_id, year, period
),

year_incidents as (
    select
        documents.period,
        documents.invoice_number,
        sum(incident_months.covered) as covered_to_date,
        sum(incident_months.overage) as overage_to_date,
        sum(incident_months.billable) filter (
            where incident_months.period = documents.period
        ) as billable_this_month,
        sum(incident_months.covered) filter (
            where incident_months.period = documents.period
        ) as covered_this_month,
        sum(incident_months.overage) filter (
            where incident_months.period = documents.period
        ) as overage_this_month
    from documents
    inner join incident_months
        on documents.customer_id = incident_months.customer_id
            and documents.year = incident_months.year
            and documents.period >= incident_months.period
    group by documents.period, documents.invoice_number
),

tiers as (
    select
        customer_id,
        period,
        tier_total,
        rate
    from {{ ref('int_customer_months') }}
),

final as (
    select
        documents.period,
        documents.invoice_number,
        documents.document_type,
        documents.customer_id,
        documents.customer_name,
        documents.accounting_ref,
        documents.invoice_date,
        documents.due_date,
        documents.currency,
        documents.total,
        documents.line_count,
        coalesce(statement_lines.statement_total, 0) as statement_total,
        coalesce(statement_lines.statement_line_count, 0) as statement_line_count,
        documents.year,
        make_date(documents.year, 12, 31) as expires_on,
        cast(coalesce(allotment_now.allotment, 0) as integer) as allotment,
        cast(coalesce(year_incidents.covered_to_date, 0) as integer) as covered_to_date,
        cast(coalesce(year_incidents.overage_to_date, 0) as integer) as overage_to_date,
        cast(coalesce(year_incidents.billable_this_month, 0) as integer) as billable_this_month,
        cast(coalesce(year_incidents.covered_this_month, 0) as integer) as covered_this_month,
        cast(coalesce(year_incidents.overage_this_month, 0) as integer) as overage_this_month,
        cast(greatest(
            0, coalesce(allotment_now.allotment, 0)
            - coalesce(year_incidents.covered_to_date, 0)
        ) as integer) as remaining,
        customers.overage_policy,
        policy_words.sentence as policy_sentence,
        {# R12: up front at the month's price; added to the subscription at the rate of the
           tier total one incident higher (R6), per month through December. #}
        case customers.overage_policy
            when 'upfront' then documents.upfront_price
            else case when coalesce(tiers.tier_total, 0) + 1 >= 3
                        then documents.rate_tier_3_plus
                    else documents.rate_tier_1_2
                end
        end as next_overage_price,
        case customers.overage_policy when 'upfront' then 'once' else 'per month' end
            as next_overage_basis
    from documents
    left join statement_lines
        on documents.period = statement_lines.period
            and documents.invoice_number = statement_lines.invoice_number
    left join allotment_now
        on documents.period = allotment_now.period
            and documents.invoice_number = allotment_now.invoice_number
    left join year_incidents
        on documents.period = year_incidents.period
            and documents.invoice_number = year_incidents.invoice_number
    left join customers on documents.customer_id = customers.customer_id
    left join policy_words on customers.overage_policy = policy_words.code
    left join tiers
        on documents.customer_id = tiers.customer_id
            and documents.period = tiers.period
)

select * from final
