"""Reporting: what people read (R18, R20, SPEC section 1).

``usage`` (the command), ``analysis*`` and ``analyst_tools`` (notebooks), ``review*`` (the
review page finance reads before approving), ``rejected`` (rows for the data owner).
"""
