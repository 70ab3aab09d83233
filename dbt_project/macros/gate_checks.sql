{#
  Helpers of the quality gate's check models (models/gate). Cents are BIGINT computed
  from DECIMAL, rounded so that no sub-cent value can pass a check it would fail exactly
  (R2): floor for "at least" bounds, away from zero for "= 0".
#}

{# cents for an "at least" check: floor(x * 100) >= k exactly when x * 100 >= k #}
{% macro cents_floor(x) -%}
    cast(floor(({{ x }}) * 100) as bigint)
{%- endmacro %}

{# a whole number for a "= 0" check, rounded away from zero: 0 exactly when x = 0 #}
{% macro away_from_zero(x) -%}
    cast(sign({{ x }}) * ceil(abs({{ x }})) as bigint)
{%- endmacro %}

{# cents for a "= 0" check (see away_from_zero) #}
{% macro cents_nonzero(x) -%}
    {{ away_from_zero('(' ~ x ~ ') * 100') }}
{%- endmacro %}

{#
  R-IN6, section 5: no text cell begins with a character a spreadsheet runs as a formula
  (=, +, -, @). Only text columns: a negative amount such as -10.00 is a number, not text.
#}
{% macro formula_safe(columns) -%}
    ({% for c in columns %}left(coalesce({{ c }}, ''), 1) not in ('=', '+', '-', '@'){% if not loop.last %} and {% endif %}{% endfor %})
{%- endmacro %}
