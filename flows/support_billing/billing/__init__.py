"""Billing: one month billed (SPEC section 6, R14-R18).

``flow`` runs ingest -> build -> gate -> export -> publish -> finalize; ``gate*`` is the
quality gate (Great Expectations), ``finalize`` records a published month (R15, R15a),
``drafts`` keeps previews and approvals (R17), ``month_data`` reads what the flow prints.
"""
