{#
  Money as the text the review page shows (R2, R18): DECIMAL(18,2) rendered by DuckDB,
  never through a float; signed_money_text puts '+' before a rise.
#}
{% macro money_text(expr) -%}
    cast(cast({{ expr }} as decimal(18, 2)) as varchar)
{%- endmacro %}

{% macro signed_money_text(expr) -%}
    (case when {{ expr }} > 0 then '+' else '' end || {{ money_text(expr) }})
{%- endmacro %}
