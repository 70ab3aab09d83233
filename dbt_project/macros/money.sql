{#
  Exact money helpers (R2). DuckDB turns decimal / integer into DOUBLE, so every
  division in an amount is done on integer cents and rounded half up here.
#}

{# cents (integer, >= 0) of numerator / denominator, rounded half up #}
{% macro div_round_half_up(numerator, denominator) -%}
    ((2 * cast({{ numerator }} as hugeint) + cast({{ denominator }} as hugeint)) // (2 * cast({{ denominator }} as hugeint)))
{%- endmacro %}

{# integer cents -> DECIMAL(18,2), exactly #}
{% macro cents_to_money(cents) -%}
    cast(cast({{ cents }} as decimal(38, 0)) * cast(0.01 as decimal(3, 2)) as decimal(18, 2))
{%- endmacro %}

{# DECIMAL(18,2) money -> integer cents, exactly #}
{% macro money_to_cents(amount) -%}
    cast(cast({{ amount }} as decimal(18, 2)) * 100 as hugeint)
{%- endmacro %}

{# a non-negative decimal product rounded once, half up, to cents #}
{% macro round_money(expr) -%}
    cast(round(cast({{ expr }} as decimal(38, 6)), 2) as decimal(18, 2))
{%- endmacro %}
