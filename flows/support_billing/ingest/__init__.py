"""Ingest: export files into the warehouse's raw tables (SPEC section 3, R-IN1..R-IN7).

``flow`` is the Prefect flow; ``discovery`` picks and trusts files, ``parse`` reads their bytes,
``kinds`` describes each export's columns, ``validation`` (over ``text_rules`` and
``mountain_time``) holds the per-column checks as SQL, ``load`` validates and upserts,
``held`` retries held rows.
"""
