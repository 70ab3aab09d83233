{# The price-book value in force on a date: the latest effective_from on or before it. #}
{% macro price_in_force(price_key, on_date) -%}
    (
        select pb.value
        from {{ ref('price_book') }} as pb
        where pb.price_key = '{{ price_key }}'
          and pb.effective_from <= {{ on_date }}
        order by pb.effective_from desc
        limit 1
    )
{%- endmacro %}
