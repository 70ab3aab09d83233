{# R8: one row per customer, year and day from which a new allotment is available. #}
select
    customer_id,
    year,
    available_from,
    module_allotment,
    extra_incidents,
    allotment
from {{ ref('int_allotment_steps') }}
