{#
  The quality gate's line checks (suite expectations/invoice_lines.json; R2, R6, R7,
  R12-R15, R-IN6): per invoice line of every month, what the rules give beside what is
  stored. Rules and quantity units come from the line_types seed, prices in force from
  int_calendar_months. The gate reads one period of it.
#}
{% set source_ref_re = '^([0-9]{4}-[0-9]{2}):([^:]*):([a-z_]+)\\n?$' %}
with invoices as (
    select
        period,
        invoice_number,
        customer_id,
        row_number() over (partition by period order by invoice_number) as seq
    from {{ ref('invoices') }}
),

invoice_of_number as (
    {# a duplicated number (itself a failure) is matched to its last document #}
    select
        period,
        invoice_number,
        customer_id
    from invoices
    qualify row_number() over (partition by period, invoice_number order by seq desc) = 1
),

src_lines as (
    select
        period,
        invoice_number,
        customer_id,
        cast(line_number as bigint) as line_number,
        line_type,
        rule,
        source_ref,
        adjusts_period,
        adjusts_line_type,
        description,
        cast(amount as varchar) as amount_text,
        cast(unit_price as varchar) as unit_price_text,
        coalesce(cast(quantity as decimal(38, 10)), 0) as q,
        coalesce(cast(unit_price as decimal(38, 10)), 0) as p,
        coalesce(cast(amount as decimal(38, 10)), 0) as a
    from {{ ref('invoice_lines') }}
),

{# R14: each line type's rule and quantity unit #}
line_kinds as (
    select
        line_type,
        rule,
        quantity_unit,
        billed_hours
    from {{ ref('line_types') }}
),

{# section 4: the prices in force for the month #}
months as (
    select
        period,
        rate_tier_1_2,
        rate_tier_3_plus,
        upfront_price,
        hourly_price
    from {{ ref('int_calendar_months') }}
),

rates_of_customer as (
    {# R6: one rate per customer and month on all of its support lines #}
    select
        period,
        customer_id,
        count(distinct p) as rates
    from src_lines
    where line_type in ('support_subscription', 'additional_incident_subscription')
    group by period, customer_id
),

lines as (
    select
        *,
        {# R14: the n-th smallest line number of its invoice should be n (ties share the
           last rank, so a duplicated number fails too) #}
        count(*) over (partition by period, invoice_number order by line_number) as expected_line_number,
        regexp_matches(coalesce(source_ref, ''), '{{ source_ref_re }}') as source_ref_ok,
        regexp_extract(coalesce(source_ref, ''), '{{ source_ref_re }}', 1) as source_period,
        regexp_extract(coalesce(source_ref, ''), '{{ source_ref_re }}', 3) as source_type
    from src_lines
),

final as (
    select
        l.period,
        concat(l.invoice_number, '#', l.line_number) as line_id,
        l.invoice_number,
        i.invoice_number is not null as invoice_known,
        l.line_number,
        cast(l.expected_line_number as bigint) as expected_line_number,
        i.invoice_number is not null
        and (i.customer_id = l.customer_id or (i.customer_id is null and l.customer_id is null))
            as customer_matches_invoice,
        l.line_type,
        l.rule,
        k.rule as expected_rule,
        l.amount_text,
        l.unit_price_text,
        {{ cents_floor('l.q') }} as quantity_cents,
        case when k.quantity_unit = 'incidents' then l.q = trunc(l.q) end as incident_quantity_whole,
        case when coalesce(l.line_type <> 'prior_period_adjustment', true) then {{ cents_floor('l.a') }} end
            as non_adjustment_amount_cents,
        {# R6, R12, R13: unit prices are the price book's, in force on the month's first day #}
        case
            when l.line_type in ('support_subscription', 'additional_incident_subscription')
                then coalesce(l.p in (m.rate_tier_1_2, m.rate_tier_3_plus), false)
            when l.line_type = 'additional_incident_upfront' then coalesce(l.p = m.upfront_price, false)
            when k.billed_hours then coalesce(l.p = m.hourly_price, false)
            when l.line_type = 'prepaid_hours_deduction' then l.p = 0
        end as unit_price_in_force,
        case when l.line_type in ('support_subscription', 'additional_incident_subscription') then r.rates = 1 end
            as one_rate_per_customer,
        {# R2 rounded once, half up (DuckDB rounds DECIMAL half away from zero); R7 prorated
           support fee at most the full month; R13 deductions carry no amount #}
        case
            when l.line_type = 'support_subscription' then l.a >= 0 and l.a <= round(l.q * l.p, 2)
            when l.line_type = 'prepaid_hours_deduction' then l.a = 0
            when
                k.billed_hours or l.line_type in ('additional_incident_subscription', 'additional_incident_upfront')
                then l.a = round(l.q * l.p, 2)
        end as amount_consistent,
        {# R15: quantity 1, unit price = amount <> 0, source_ref M:<invoice>:T agreeing with
           adjusts_period / adjusts_line_type when given, M an earlier month, T a normal type #}
        case when l.line_type = 'prior_period_adjustment' then
                l.source_ref_ok and l.q = 1 and l.p = l.a and l.a <> 0
                and coalesce(nullif(l.adjusts_period, ''), l.source_period) = l.source_period
                and coalesce(nullif(l.adjusts_line_type, ''), l.source_type) = l.source_type
                and regexp_matches(l.source_period, '^[0-9]{4}-(0[1-9]|1[0-2])$') and l.source_period < l.period
                and l.source_type in (
                    select line_kinds.line_type from line_kinds
                    where line_kinds.rule <> 'R15'
                )
        end as adjustment_well_formed,
        {{ formula_safe(['l.invoice_number', 'l.customer_id', 'l.line_type', 'l.description',
                         'l.source_ref', 'l.rule']) }} as text_cells_formula_safe
    from lines as l
    left join months as m on l.period = m.period
    left join line_kinds as k on l.line_type = k.line_type
    left join invoice_of_number as i on l.period = i.period and l.invoice_number = i.invoice_number
    left join rates_of_customer as r
        on
            l.period = r.period
            {# null-safe equality as a hash-join key (an OR of two conditions is not one) #}
            and l.customer_id is not distinct from r.customer_id
)

select * from final
