{# Section 5: every R9 reason code and R14 line type, and every R12 policy, R10/R12 coverage
   and R11 usage column the statements, the review page and `usage` explain, has exactly
   one plain sentence. #}
with codes as (
    select
        'reason' as kind,
        t.code
    from (
        values ('void'), ('override_billable'),
        ('override_free'), ('hourly_work'), ('free_migration_benefit'),
        ('billable_category'), ('time_sensitive'), ('free_category')
    ) as t (code)
    union all
    {# listed here, not read from the line_types seed, so that a build selecting only
       plain_reasons can run this test #}
    select
        'line_type' as kind,
        t.code
    from (
        values ('support_subscription'),
        ('additional_incident_subscription'), ('additional_incident_upfront'),
        ('implementation_hours'), ('training_hours'), ('custom_development_hours'),
        ('prepaid_hours_deduction'), ('prior_period_adjustment')
    ) as t (code)
    union all
    select
        'policy' as kind,
        t.code
    from (values ('upfront'), ('subscription')) as t (code)
    union all
    select
        'coverage' as kind,
        t.code
    from (values ('covered'), ('overage_upfront'), ('overage_subscription')) as t (code)
    union all
    select
        'usage' as kind,
        t.code
    from (values ('remaining'), ('expired')) as t (code)
),

counted as (
    select
        codes.kind,
        codes.code,
        count(words.sentence) as sentences
    from codes
    left join {{ ref('plain_reasons') }} as words
        on codes.kind = words.kind and codes.code = words.code
    group by all
)

select * from counted
where sentences <> 1
