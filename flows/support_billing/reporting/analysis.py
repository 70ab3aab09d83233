"""Read-only DataFrames for the analysts' notebooks (SPEC section 1: "Analysts query
incident usage, overage and response times in notebooks").

Every function takes the home folder (the one holding ``warehouse.duckdb``) and returns a
pandas DataFrame built from the analytics marts (``dbt_project/models/marts/analytics``)
and the billing marts they rest on. Nothing here builds or writes anything: run
``support-billing demo`` (or ``ingest``) first so the marts exist. :func:`data_time` says
when the data was last ingested (SPEC R20); every notebook prints it. The base helpers
(connection, home, year, months) live in ``analysis_base`` and one customer's year in
``analysis_customer``; this module re-exports the base so a notebook needs one import.

DuckDB's one-writer rule
------------------------
A DuckDB file is opened either by one process that may write, or by any number of
processes that only read -- not both at once. The monthly billing run (ingest, dbt build,
finalization) needs the write lock. So a notebook must never keep a connection open
across cells: each function here opens a short-lived READ-ONLY connection, runs its
query, and closes it before returning. If a billing run holds the write lock at that
moment, the open is retried for a while (``wait`` seconds, default 120) instead of
failing; conversely a billing run waits for readers (``warehouse.connect``), which is why
connections here stay open for one query only. Do not call ``duckdb.connect`` on the
warehouse yourself in a notebook; call these functions, or :func:`query` for ad-hoc SQL.

Amounts come back as floats (pandas), fine for charts and tables; the exact DECIMAL
values stay in the warehouse and the invoice files.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from support_billing.reporting.analysis_base import (  # noqa: F401  (re-exported: the notebooks' one import)
    BUSINESS_TZ,
    DEFAULT_WAIT_SECONDS,
    PROMISE_BUSINESS_HOURS,
    SEVERITY_ORDER,
    AnalysisError,
    _connect_read_only,
    data_time,
    data_time_label,
    default_year,
    expiring_allotment,
    notebook_home,
    periods,
    query,
    resolve_months,
    resolve_year,
)

# --------------------------------------------------------------------------- usage


def usage_vs_allotment(home, year) -> pd.DataFrame:
    """Per customer for the year: allotment (Dec 31), billable, covered and overage
    incidents, remaining allotment and the share used. Most billable incidents first."""
    return expiring_allotment(home, year).drop(columns=["year", "expires_on"])


def monthly_usage(home, year, customer_id: str | None = None) -> pd.DataFrame:
    """Per customer and month: billable, covered, overage, year-to-date and allotment."""
    sql = "select * from mart_incident_usage_monthly where year = ?"
    params: list = [int(year)]
    if customer_id is not None:
        sql += " and customer_id = ?"
        params.append(customer_id)
    return query(home, sql + " order by customer_id, month", params)


def closest_to_running_out(
    home, year, n: int = 10, include_exhausted: bool = False
) -> pd.DataFrame:
    """The n customers with the least allotment left for the year, among those that still
    have some (``include_exhausted`` keeps those already at 0 too, first): fewest remaining
    first, then the largest share used, then the most overage, then customer_id."""
    df = usage_vs_allotment(home, year)
    df = df[df["allotment"] > 0].copy()
    if not include_exhausted:
        df = df[df["remaining"] > 0]
    df["used_share"] = df["covered"] / df["allotment"]
    df = df.sort_values(
        ["remaining", "used_share", "overage", "customer_id"],
        ascending=[True, False, False, True],
        kind="mergesort",
    )
    return df.head(int(n)).reset_index(drop=True)


def exhausted_customers(home, year) -> int:
    """How many customers have used up their allotment for the year (remaining 0)."""
    df = usage_vs_allotment(home, year)
    return int(((df["allotment"] > 0) & (df["remaining"] == 0)).sum())


def overage_revenue_by_month(home, year) -> pd.DataFrame:
    """Per month and overage treatment (upfront / subscription, R12): overage incidents that
    occurred, incidents billed and revenue. Every month of the year appears for both
    treatments (zeros where nothing happened)."""
    return query(
        home,
        """
        with months as (
            select strftime(make_date(?, m, 1), '%Y-%m') as period
            from range(1, 13) as t(m)
        ),
        treatments as (select unnest(['subscription', 'upfront']) as overage_treatment)
        select
            months.period,
            treatments.overage_treatment,
            coalesce(r.overage_incidents, 0) as overage_incidents,
            coalesce(r.billed_incidents, 0) as billed_incidents,
            cast(coalesce(r.revenue, 0) as double) as revenue
        from months
        cross join treatments
        left join mart_overage_revenue as r
            on r.period = months.period and r.overage_treatment = treatments.overage_treatment
        order by months.period, treatments.overage_treatment
        """,
        [int(year)],
    )


def overage_cost_by_policy(
    home, year, customer_id: str | None = None, by_month: bool = False
) -> pd.DataFrame:
    """What the overage incidents cost under each R12 policy (mart_overage_policy_cost):
    per customer for the year (customers with overage only), or with ``by_month`` per
    customer and every month of the year. Columns: overage_incidents, cost_if_upfront,
    cost_if_subscription, actual_cost, and the customer's current overage_policy."""
    where, params = "c.customer_id is not null", []
    if customer_id:
        where, params = "c.customer_id = ?", [customer_id]
    grain = "c.customer_id, months.period" if by_month else "c.customer_id"
    return query(
        home,
        f"""
        with months as (
            select strftime(make_date(?, m, 1), '%Y-%m') as period from range(1, 13) as t(m)
        ),
        c as (select customer_id, overage_policy from stg_exports__customers)
        select
            {grain},
            any_value(c.overage_policy) as overage_policy,
            cast(coalesce(sum(p.overage_incidents), 0) as integer) as overage_incidents,
            cast(coalesce(sum(p.cost_if_upfront), 0) as double) as cost_if_upfront,
            cast(coalesce(sum(p.cost_if_subscription), 0) as double) as cost_if_subscription,
            cast(coalesce(sum(p.actual_cost), 0) as double) as actual_cost
        from c
        cross join months
        left join mart_overage_policy_cost as p
            on p.customer_id = c.customer_id and p.period = months.period
        where {where}
        group by {grain}
        having {"true" if by_month else "sum(p.overage_incidents) > 0"}
        order by {grain}
        """,
        [int(year), *params],
    )


def expiring_forecast(home, year, as_of: date | str | None = None) -> pd.DataFrame:
    """Per customer: the allotment that will expire on Dec 31 (R11).

    ``as_of`` (default: today in America/Denver, kept within the year) is the day the
    forecast is made. ``remaining_now`` = allotment available on Dec 31 minus incidents
    covered up to ``as_of``, never below 0 (R8/R11 read through the dbt table macro
    ``customer_usage_on``, their one definition). The customer's pace (billable incidents
    per day since Jan 1) projects the incidents still to come; ``projected_expiring`` =
    remaining_now minus that projection, never below 0, rounded to whole incidents. On
    Dec 31 (or for a past year) it is exactly what expires.
    """
    year = int(year)
    if as_of is None:
        as_of = datetime.now(BUSINESS_TZ).date()
    elif isinstance(as_of, str):
        as_of = date.fromisoformat(as_of)
    as_of = min(max(as_of, date(year, 1, 1)), date(year, 12, 31))
    mart = expiring_allotment(home, year)
    on_day = query(
        home,
        """
        select customer_id, cast(covered as bigint) as covered_to_date,
               cast(covered + overage as bigint) as billable_to_date, remaining as remaining_now
        from customer_usage_on(?, make_date(?, 12, 31), through := ?)
        """,
        [year, year, as_of],
    )
    ends = mart.loc[mart["allotment"] > 0,
                    ["customer_id", "customer_name", "allotment", "expires_on"]]
    df = ends.merge(on_day, on="customer_id").sort_values("customer_id", kind="mergesort")
    df = df.reset_index(drop=True)
    df.insert(5, "expires_on", df.pop("expires_on"))  # the notebooks' column order
    elapsed = (as_of - date(year, 1, 1)).days + 1
    days_left = (date(year, 12, 31) - as_of).days
    df["as_of"] = as_of
    df["remaining_now"] = df.pop("remaining_now").astype(int)
    df["projected_use"] = (df["billable_to_date"] / elapsed * days_left).round(1)
    df["projected_expiring"] = [
        max(0, math.floor(r - p + 0.5))
        for r, p in zip(df["remaining_now"], df["projected_use"], strict=True)
    ]
    df = df.sort_values(["projected_expiring", "customer_id"], ascending=[False, True])
    return df.reset_index(drop=True)


# ---------------------------------------------------------------------- hourly work


def hourly_work(home, year) -> pd.DataFrame:
    """Hours per customer, month and activity: logged, billed, taken from prepaid blocks."""
    return query(
        home,
        "select * from mart_hourly_work where year = ? order by customer_id, period, activity",
        [int(year)],
    )


def prepaid_balances(home, year) -> pd.DataFrame:
    """Prepaid blocks per month of the year: hours taken and left at month end."""
    return query(
        home,
        "select * from mart_prepaid_balances where year = ? order by customer_id, block_id, period",
        [int(year)],
    )


# ------------------------------------------------------------------- response times


def _tickets_of(year, customer_id: str | None, months=None) -> tuple[str, list]:
    """The WHERE clause (and its parameters) for the year's tickets: one customer's or all,
    opened in ``months`` (None: the whole year)."""
    sql, params = "opened_year = ?", [int(year)]
    if customer_id:
        sql, params = sql + " and customer_id = ?", [*params, customer_id]
    if months is not None:
        sql += " and list_contains(?, month(opened_date))"
        params = [*params, resolve_months(months)]
    return sql, params


def response_times(
    home, year, include_void: bool = False, customer_id: str | None = None, months=None
) -> pd.DataFrame:
    """Every ticket opened in the year with a first response: business hours to the first
    response (Mon-Fri 08:00-17:00 America/Denver, US federal holidays excluded) and whether
    it met the 24-business-hour promise. Void tickets (duplicates, spam) are left out
    unless ``include_void``."""
    sql = """
        select
            ticket_id, customer_id, severity, category, status,
            opened_at_local, first_response_at_local, opened_period,
            business_seconds,
            cast(business_hours as double) as business_hours,
            cast(calendar_hours as double) as calendar_hours,
            within_promise,
            responded_before_opened
        from mart_response_times
        where {where}
    """
    where, params = _tickets_of(year, customer_id, months)
    sql = sql.format(where=where)
    if not include_void:
        sql += " and status <> 'void'"
    df = query(home, sql + " order by opened_at_local, ticket_id", params)
    df["severity"] = pd.Categorical(df["severity"], categories=SEVERITY_ORDER, ordered=True)
    return df


def response_share_within_promise_by_month(
    home, year, customer_id: str | None = None, months=None
) -> pd.DataFrame:
    """Per opening month: tickets answered, answered within 24 business hours, the share
    (0-1) and the median business hours."""
    where, params = _tickets_of(year, customer_id, months)
    return query(
        home,
        f"""
        select
            opened_period as period,
            count(*) as tickets,
            count(*) filter (where within_promise) as within_promise,
            count(*) filter (where within_promise) / count(*) as share_within_promise,
            median(business_seconds) / 3600.0 as median_business_hours
        from mart_response_times
        where {where} and status <> 'void'
        group by opened_period
        order by opened_period
        """,
        params,
    )


def response_summary_by_severity(
    home, year, customer_id: str | None = None, months=None
) -> pd.DataFrame:
    """Per severity: tickets, median / 90th percentile business hours, share within promise."""
    where, params = _tickets_of(year, customer_id, months)
    df = query(
        home,
        f"""
        select
            severity,
            count(*) as tickets,
            median(business_seconds) / 3600.0 as median_business_hours,
            quantile_cont(business_seconds, 0.9) / 3600.0 as p90_business_hours,
            count(*) filter (where within_promise) / count(*) as share_within_promise
        from mart_response_times
        where {where} and status <> 'void'
        group by severity
        """,
        params,
    )
    df["severity"] = pd.Categorical(df["severity"], categories=SEVERITY_ORDER, ordered=True)
    return df.sort_values("severity").reset_index(drop=True)


def slowest_tickets(
    home, year, n: int = 10, customer_id: str | None = None, months=None
) -> pd.DataFrame:
    """The n tickets of the year with the longest business-hour response time."""
    where, params = _tickets_of(year, customer_id, months)
    return query(
        home,
        f"""
        select
            ticket_id, customer_id, severity, category, opened_at_local, first_response_at_local,
            cast(business_hours as double) as business_hours, within_promise
        from mart_response_times
        where {where} and status <> 'void'
        order by business_seconds desc, ticket_id
        limit ?
        """,
        [*params, int(n)],
    )


def save_figure(fig, output_dir, name: str) -> Path:
    """Save a matplotlib figure as OUTPUT_DIR/NAME (PNG, 150 dpi); return the path."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    fig.savefig(path, dpi=150, bbox_inches="tight")
    return path
