{# Section 5: every R9 reason code and R14 line type has exactly one plain sentence. #}
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
    select
        'line_type' as kind,
        line_types.line_type as code
    from {{ ref('line_types') }} as line_types
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
