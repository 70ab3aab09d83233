"""An independent reference implementation ("oracle") of the billing rules (SPEC section 4).

It is written only from SPEC.md and shares no code with the dbt models: it is the
second opinion the property and scenario tests compare the marts against.
"""
