{#
  R18: every incident of every month with its R9 reason and its R10/R12 coverage in plain
  words (plain_reasons; the coverage codes of the statements: covered, overage_upfront,
  overage_subscription). An unknown code shows as itself.
#}
with incidents as (
    select
        *,
        if(coverage = 'overage', 'overage_' || overage_treatment, coverage) as coverage_code
    from {{ ref('fct_incidents') }}
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

final as (
    select
        incidents.period,
        incidents.customer_id,
        incidents.ticket_id,
        cast(incidents.incident_date as varchar) as incident_date,
        incidents.seq_in_year,
        incidents.coverage,
        incidents.reason_code,
        incidents.category,
        incidents.overage_treatment,
        coalesce(reasons.sentence, incidents.reason_code) as reason_sentence,
        coalesce(coverages.sentence, incidents.coverage) as coverage_sentence
    from incidents
    left join reasons on incidents.reason_code = reasons.code
    left join coverages on incidents.coverage_code = coverages.code
)

select * from final
