{#
  Incident usage per customer and month (tickets carry no module, so usage is per
  customer): billable incidents, covered and overage (R10, R12), running totals for the
  year, and the allotment available at the end of the month (R8). One row for every month
  of every year in which the customer has an allotment or a billable incident, so charts
  show flat months too.
#}
with incidents as (
    select * from {{ ref('fct_incidents') }}
),

steps as (
    select * from {{ ref('allotment_steps') }}
),

customers as (
    select
        customer_id,
        customer_name
    from {{ ref('stg_exports__customers') }}
),

customer_years as (
    select
        customer_id,
        year
    from steps
    union
    select
        customer_id,
        year
    from incidents
),

month_numbers as (
    select unnest(range(1, 13)) as month
),

customer_months as (
    select
        customer_years.customer_id,
        customer_years.year,
        cast(months.month as integer) as month,
        make_date(customer_years.year, cast(months.month as integer), 1) as month_start
    from customer_years
    cross join month_numbers as months
),

monthly_incidents as (
    select
        customer_id,
        year,
        period,
        count(*) as billable_incidents,
        count(*) filter (where coverage = 'covered') as covered_incidents,
        count(*) filter (where coverage = 'overage') as overage_incidents,
        count(*) filter (where overage_treatment = 'upfront') as overage_upfront,
        count(*) filter (where overage_treatment = 'subscription') as overage_subscription
    from incidents
    group by all
),

allotment_at_month_end as (
    {# allotments never shrink during a year (R8): the largest step available by month end #}
    select
        customer_months.customer_id,
        customer_months.year,
        customer_months.month,
        max(steps.allotment) as allotment
    from customer_months
    inner join steps
        on customer_months.customer_id = steps.customer_id
            and customer_months.year = steps.year
            and steps.available_from <= last_day(customer_months.month_start)
    group by all
),

joined as (
    select
        customer_months.customer_id,
        customers.customer_name,
        customer_months.year,
        customer_months.month,
        strftime(customer_months.month_start, '%Y-%m') as period,
        coalesce(monthly_incidents.billable_incidents, 0) as billable_incidents,
        coalesce(monthly_incidents.covered_incidents, 0) as covered_incidents,
        coalesce(monthly_incidents.overage_incidents, 0) as overage_incidents,
        coalesce(monthly_incidents.overage_upfront, 0) as overage_upfront,
        coalesce(monthly_incidents.overage_subscription, 0) as overage_subscription,
        coalesce(allotment_at_month_end.allotment, 0) as allotment
    from customer_months
    left join customers on customer_months.customer_id = customers.customer_id
    left join monthly_incidents
        on customer_months.customer_id = monthly_incidents.customer_id
            and strftime(customer_months.month_start, '%Y-%m') = monthly_incidents.period
    left join allotment_at_month_end
        on customer_months.customer_id = allotment_at_month_end.customer_id
            and customer_months.year = allotment_at_month_end.year
            and customer_months.month = allotment_at_month_end.month
),

final as (
    select
        customer_id,
        customer_name,
        year,
        month,
        period,
        cast(billable_incidents as integer) as billable_incidents,
        cast(covered_incidents as integer) as covered_incidents,
        cast(overage_incidents as integer) as overage_incidents,
        cast(overage_upfront as integer) as overage_upfront,
        cast(overage_subscription as integer) as overage_subscription,
        cast(sum(covered_incidents) over year_to_date as integer) as covered_ytd,
        cast(sum(overage_incidents) over year_to_date as integer) as overage_ytd,
        cast(allotment as integer) as allotment,
        cast(greatest(0, allotment - sum(covered_incidents) over year_to_date) as integer)
            as allotment_remaining
    from joined
    window year_to_date as (
        partition by customer_id, year order by month
        rows between unbounded preceding and current row
    )
)

select * from final
