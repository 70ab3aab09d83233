{# Rows where `<column> <expression>` is false fail the test (no hub packages here). #}
{% test expression_is_true(model, column_name, expression) %}
select *
from {{ model }}
where not ({{ column_name }} {{ expression }})
{% endtest %}
