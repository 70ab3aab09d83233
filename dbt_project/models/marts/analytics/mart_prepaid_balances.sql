{#
  Prepaid hour block balances (R13): one row per block and month, from the month it was
  purchased through the latest month with computed invoice lines or timesheet hours (or
  the purchase month, if later): hours taken from it in the month (its
  prepaid_hours_deduction line) and hours left at the end of the month.
#}
with blocks as (
    select * from {{ ref('stg_exports__prepaid_hours') }}
),

deductions as (
    select
        customer_id,
        source_ref as block_id,
        period,
        sum(quantity) as hours_taken
    from {{ ref('fct_invoice_lines_computed') }}
    where line_type = 'prepaid_hours_deduction'
    group by all
),

last_month as (
    select max(period) as period
    from (
        select period from {{ ref('fct_invoice_lines_computed') }}
        union all
        select work_period as period from {{ ref('stg_exports__timesheets') }}
    ) as periods
),

block_months as (
    select
        blocks.customer_id,
        blocks.block_id,
        blocks.purchased_on,
        blocks.hours as block_hours,
        strftime(cast(unnest(range(
            cast(date_trunc('month', blocks.purchased_on) as timestamp),
            cast(greatest(
                date_trunc('month', blocks.purchased_on),
                coalesce(strptime(last_month.period || '-01', '%Y-%m-%d'), blocks.purchased_on)
            ) as timestamp) + interval 1 day,
            interval 1 month
        )) as date), '%Y-%m') as period
    from blocks
    cross join last_month
),

final as (
    select
        block_months.customer_id,
        block_months.block_id,
        block_months.purchased_on,
        cast(block_months.block_hours as decimal(18, 2)) as block_hours,
        block_months.period,
        cast(left(block_months.period, 4) as integer) as year,
        cast(coalesce(deductions.hours_taken, 0) as decimal(18, 2)) as hours_taken,
        cast(sum(coalesce(deductions.hours_taken, 0)) over block_to_date as decimal(18, 2))
            as hours_taken_to_date,
        cast(
            block_months.block_hours - sum(coalesce(deductions.hours_taken, 0)) over block_to_date
            as decimal(18, 2)
        ) as hours_left
    from block_months
    left join deductions
        on block_months.customer_id = deductions.customer_id
            and block_months.block_id = deductions.block_id
            and block_months.period = deductions.period
    window block_to_date as (
        partition by block_months.customer_id, block_months.block_id order by block_months.period
        rows between unbounded preceding and current row
    )
)

select * from final
