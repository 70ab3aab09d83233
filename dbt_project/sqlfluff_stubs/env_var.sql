{# For sqlfluff's jinja templater only (dbt provides env_var itself): its default. #}
{% macro env_var(name, default='') %}{{ default }}{% endmacro %}
