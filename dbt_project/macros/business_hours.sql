{#
  Business hours (analytics, mart_response_times): Monday-Friday 08:00-17:00 local time
  (America/Denver; the callers pass local, zone-less timestamps), US federal holidays
  (observed dates, model us_federal_holidays, from the holidays library) excluded.

  Set-based and linear in the number of tickets: instead of expanding every ticket into one
  row per day, a business calendar (one row per date of a date spine built with range())
  carries the number of business days before each date. The business time elapsed from the
  start of the calendar to a timestamp t is then
      F(t) = business_days_before(date(t)) * 9h + clip(time(t) - 08:00, 0, 9h) [if date(t) is a business day]
  and the business time between two timestamps a <= b is F(b) - F(a): exactly the sum, over
  the business days between them, of each day's 08:00-17:00 window clipped to [a, b].
  Every ticket needs two equi-joins to the calendar, whatever the gap between a and b.
#}

{% macro business_day_start_us() %}{{ return(8 * 3600 * 1000000) }}{% endmacro %}
{% macro business_day_length_us() %}{{ return(9 * 3600 * 1000000) }}{% endmacro %}

{#- One row per date between first_date and last_date (both date expressions over from_sql):
    day, is_business_day, business_days_before (business days strictly before day). -#}
{% macro business_calendar(first_date, last_date, from_sql, holidays_relation) %}
    with calendar_bounds as (
        select {{ first_date }} as first_day, {{ last_date }} as last_day
        from {{ from_sql }}
    ),
    calendar_spine as (
        select cast(unnest(range(
            cast(first_day as timestamp),
            cast(last_day as timestamp) + interval 1 day,
            interval 1 day
        )) as date) as day
        from calendar_bounds
        where first_day is not null
    ),
    calendar_flags as (
        select
            calendar_spine.day,
            isodow(calendar_spine.day) <= 5 and holidays.observed_date is null as is_business_day
        from calendar_spine
        left join (select distinct observed_date from {{ holidays_relation }}) as holidays
            on holidays.observed_date = calendar_spine.day
    )
    select
        day,
        is_business_day,
        coalesce(sum(case when is_business_day then 1 else 0 end) over (
            order by day rows between unbounded preceding and 1 preceding
        ), 0) as business_days_before
    from calendar_flags
{% endmacro %}

{#- F(ts) in microseconds, for a local timestamp ts and the calendar row cal of its date. -#}
{% macro business_us_until(ts, cal) %}
    (
        {{ cal }}.business_days_before * {{ business_day_length_us() }}
        + case
            when {{ cal }}.is_business_day then least(
                greatest(
                    date_diff('microsecond', date_trunc('day', {{ ts }}), {{ ts }}) - {{ business_day_start_us() }},
                    0
                ),
                {{ business_day_length_us() }}
            )
            else 0
        end
    )
{% endmacro %}
