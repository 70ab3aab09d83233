{#
  Allotment that will expire (R11): per customer and year, the allotment available on
  Dec 31 (R8), billable (R10: covered + overage), covered and overage incidents so far,
  and what is left. Unused allotment
  expires at the end of Dec 31 and does not roll over: for a year still running,
  `remaining` is what will expire unless it is used; for a closed year it is what expired.
#}
with usage as (
    select * from {{ ref('customer_year_usage') }}
),

customers as (
    select
        customer_id,
        customer_name,
        overage_policy
    from {{ ref('stg_exports__customers') }}
),

final as (
    select
        usage.customer_id,
        customers.customer_name,
        customers.overage_policy,
        usage.year,
        usage.allotment,
        usage.covered + usage.overage as billable_incidents,
        usage.covered,
        usage.overage,
        {# for a year still running, what will expire unless used; for a closed year, what did #}
        usage.expired as remaining,
        make_date(usage.year, 12, 31) as expires_on,
        case
            when usage.allotment > 0
                then cast(round(100.0 * usage.covered / usage.allotment, 1) as decimal(5, 1))
        end as used_pct
    from usage
    left join customers on usage.customer_id = customers.customer_id
)

select * from final
