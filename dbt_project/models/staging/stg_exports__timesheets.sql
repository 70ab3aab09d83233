with source as (
    select * from {{ source('raw', 'timesheets') }}
),

final as (
    select
        entry_id,
        customer_id,
        work_date,
        strftime(work_date, '%Y-%m') as work_period,
        cast(hours as decimal(18, 2)) as hours,
        activity,
        ticket_id,
        employee
    from source
)

select * from final
