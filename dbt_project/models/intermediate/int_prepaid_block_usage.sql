{#
  R13: which prepaid blocks each entry's prepaid hours came from. The consumed hours of
  entry i are the interval [consumed_before, consumed_after) of the customer's blocks laid
  end to end oldest first; an entry may be split across blocks. One row per entry and block.
#}
with entries as (
    select *
    from {{ ref('int_hourly_work_consumed') }}
    where prepaid_hours_used > 0
),

blocks as (
    select * from {{ ref('int_prepaid_blocks_laid_out') }}
),

final as (
    select
        entries.entry_id,
        entries.customer_id,
        entries.work_date,
        entries.work_period,
        entries.activity,
        blocks.block_id,
        blocks.purchased_on,
        blocks.hours as block_hours,
        cast(
            least(entries.consumed_after, blocks.block_end)
            - greatest(entries.consumed_before, blocks.block_end - blocks.hours)
            as decimal(18, 2)
        ) as hours_taken
    from entries
    inner join blocks
        on entries.customer_id = blocks.customer_id
            and blocks.block_end - blocks.hours < entries.consumed_after
            and entries.consumed_before < blocks.block_end
)

select * from final
