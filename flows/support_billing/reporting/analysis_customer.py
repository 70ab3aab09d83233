"""One customer's year, for notebooks/customer.ipynb: their incidents, the allotment
burn-down against the Dec 31 expiry (R8, R10, R11), and the promised response times.
Read-only, one short query per call, like support_billing.reporting.analysis.
"""

from __future__ import annotations

import pandas as pd

from support_billing.reporting.analysis_base import AnalysisError, expiring_allotment, query


def default_customer(home, year) -> str:
    """The customer with the most billable incidents in the year (customer_id on a tie)."""
    df = expiring_allotment(home, year)
    if not len(df):
        raise AnalysisError(f"no customer has an allotment or an incident in {int(year)}")
    return str(df["customer_id"].iloc[0])


def resolve_customer(home, year, customer) -> str:
    """``customer`` as given, or :func:`default_customer` when it is None or blank."""
    if customer is None or not str(customer).strip():
        return default_customer(home, year)
    return str(customer).strip()


def customer_year(home, year, customer_id: str) -> dict:
    """The customer's year in one row (mart_expiring_allotment): name, policy, allotment
    available on Dec 31, covered, overage, remaining (what expires, R11), expires_on. A
    customer with neither allotment nor incidents in the year has zeros."""
    found = expiring_allotment(home, year, customer_id)
    if len(found):
        return found.iloc[0].to_dict()
    df = query(
        home,
        """
        select customer_id, coalesce(customer_name, customer_id) as customer_name,
               overage_policy
        from stg_exports__customers
        where customer_id = ?
        """,
        [customer_id],
    )
    if not len(df):
        raise AnalysisError(f"no customer {customer_id!r} in the warehouse")
    return {**df.iloc[0].to_dict(), "year": int(year), "allotment": 0,
            "billable_incidents": 0, "covered": 0, "overage": 0, "remaining": 0,
            "expires_on": pd.Timestamp(int(year), 12, 31), "used_pct": None}


def customer_incidents(home, year, customer_id: str) -> pd.DataFrame:
    """The customer's billable incidents of the year in deduction order (R10): when, the
    R9 reason, covered or overage, the allotment left after it, how an overage was billed."""
    return query(
        home,
        """
        select
            seq_in_year, ticket_id, opened_at_local, incident_date, period, category,
            reason_code, coverage, allotment_available, allotment_remaining,
            overage_treatment, charged_period
        from fct_incidents
        where year = ? and customer_id = ?
        order by seq_in_year
        """,
        [int(year), customer_id],
    )


def allotment_burndown(home, year, customer_id: str) -> pd.DataFrame:
    """Month by month (mart_incident_usage_monthly): billable, covered and overage
    incidents, covered so far, the allotment available at month end and what is left of it.
    What is left in December expires at the end of Dec 31 (R11)."""
    return query(
        home,
        """
        select
            period, month, billable_incidents, covered_incidents, overage_incidents,
            covered_ytd, overage_ytd, allotment, allotment_remaining
        from mart_incident_usage_monthly
        where year = ? and customer_id = ?
        order by month
        """,
        [int(year), customer_id],
    )
