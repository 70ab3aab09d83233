{#
  Section 5 statement: one row per ticket (every period) with the R9 decision in plain
  words (seed plain_reasons), and for a billable incident its R10 coverage and the line
  type that charged it (R12). A view: always as current as the ledger it reads.
#}
with classification as (
    select * from {{ ref('fct_ticket_classification') }}
),

tickets as (
    select
        ticket_id,
        subject
    from {{ ref('stg_exports__tickets') }}
),

incidents as (
    select * from {{ ref('fct_incidents') }}
),

categories as (
    select
        category,
        description as category_description
    from {{ ref('ticket_categories') }}
),

reasons as (
    select
        code,
        sentence
    from {{ ref('plain_reasons') }}
    where kind = 'reason'
),

coverages as (
    select
        code,
        sentence
    from {{ ref('plain_reasons') }}
    where kind = 'coverage'
),

with_coverage as (
    select
        classification.*,
        tickets.subject,
        incidents.seq_in_year,
        incidents.coverage,
        incidents.allotment_available,
        incidents.allotment_remaining,
        incidents.overage_treatment,
        case
            when incidents.coverage = 'covered' then 'covered'
            when incidents.coverage = 'overage' then 'overage_' || incidents.overage_treatment
        end as coverage_code,
        case incidents.overage_treatment
            when 'upfront' then 'additional_incident_upfront'
            when 'subscription' then 'additional_incident_subscription'
        end as charged_line_type
    from classification
    left join tickets on classification.ticket_id = tickets.ticket_id
    left join incidents on classification.ticket_id = incidents.ticket_id
),

final as (
    select
        with_coverage.customer_id,
        with_coverage.period,
        with_coverage.year,
        with_coverage.opened_date as incident_date,
        with_coverage.opened_at,
        with_coverage.ticket_id,
        with_coverage.subject,
        with_coverage.category,
        categories.category_description,
        with_coverage.status,
        with_coverage.time_sensitive,
        with_coverage.is_billable_incident,
        with_coverage.reason_code,
        reasons.sentence as reason_sentence,
        with_coverage.override_reason,
        with_coverage.seq_in_year,
        with_coverage.coverage,
        with_coverage.coverage_code,
        coverages.sentence as coverage_sentence,
        with_coverage.allotment_remaining,
        with_coverage.charged_line_type
    from with_coverage
    left join categories on with_coverage.category = categories.category
    left join reasons on with_coverage.reason_code = reasons.code
    left join coverages on with_coverage.coverage_code = coverages.code
)

select * from final
