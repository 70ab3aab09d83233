-- R10: covered incidents so far never exceed the allotment available on the incident's date,
-- and an incident is never covered on a day the customer is not active.
select *
from {{ ref('int_incidents_deducted') }}
where covered_so_far > allotment_available
    or (coverage = 'covered' and not is_customer_active)
