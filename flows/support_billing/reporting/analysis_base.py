"""The base of the analysis helpers (support_billing.reporting.analysis re-exports all of it): the
short-lived read-only connection, the home a notebook reads, the time of its data (R20),
and the year and months it looks at. See analysis.py for DuckDB's one-writer rule.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from support_billing.storage.warehouse import DEFAULT_HOME, resolve_home, warehouse_path

PROMISE_BUSINESS_HOURS = 24
"""The response-time promise, in business hours (Mon-Fri 08:00-17:00 America/Denver)."""

DEFAULT_WAIT_SECONDS = 120.0
SEVERITY_ORDER = ["urgent", "high", "normal", "low"]
BUSINESS_TZ = ZoneInfo("America/Denver")
NOTEBOOKS_DIR_NAME = "notebooks"


class AnalysisError(RuntimeError):
    """The warehouse or a mart is missing: one clear line for the analyst."""


def _connect_read_only(home, wait: float = DEFAULT_WAIT_SECONDS) -> duckdb.DuckDBPyConnection:
    """A read-only connection, retrying while another process holds the write lock (R19:
    a reader never breaks a run); the warehouse's own opening rules, one definition."""
    from support_billing.storage.warehouse import connect

    path = warehouse_path(resolve_home(home))
    if not path.exists():
        raise AnalysisError(
            f"no warehouse at {path}: run 'support-billing demo' or 'support-billing bill' first"
        )
    return connect(resolve_home(home), read_only=True, retries=wait)


def expiring_allotment(home, year, customer_id: str | None = None) -> pd.DataFrame:
    """The rows of ``mart_expiring_allotment`` for the year (and one customer): the one
    place the helpers read the model. Most billable incidents first, then customer_id; a
    customer without a name shows its id."""
    sql = "select * from mart_expiring_allotment where year = ?"
    params: list = [int(year)]
    if customer_id is not None:
        sql += " and customer_id = ?"
        params.append(customer_id)
    df = query(home, sql + " order by billable_incidents desc, customer_id", params)
    df["customer_name"] = df["customer_name"].fillna(df["customer_id"])
    return df


def query(home, sql: str, params: list | dict | None = None, wait: float = DEFAULT_WAIT_SECONDS):
    """Run one read-only query and return a DataFrame; the connection is closed at once."""
    con = _connect_read_only(home, wait)
    try:
        try:
            return con.execute(sql, params or []).df()
        except duckdb.CatalogException as exc:
            raise AnalysisError(
                f"{str(exc).splitlines()[0]} -- build the marts first ('support-billing bill')"
            ) from exc
    finally:
        con.close()


def default_year(home) -> int:
    """The year (Mountain time) with the most tickets, the latest on a tie; the current
    year when there are none. (Not simply the latest year: a few tickets opened just after
    New Year would otherwise make a nearly empty year the default.)"""
    df = query(
        home,
        """
        select opened_year as y
        from stg_exports__tickets
        group by opened_year
        order by count(*) desc, opened_year desc
        limit 1
        """,
    )
    if not len(df) or pd.isna(df["y"].iloc[0]):
        return datetime.now(BUSINESS_TZ).year
    return int(df["y"].iloc[0])


def resolve_year(home, year) -> int:
    """``year`` as an int; None or "" means :func:`default_year`."""
    if year is None or (isinstance(year, str) and not year.strip()):
        return default_year(home)
    return int(year)


def notebook_home(home=None) -> Path:
    """The home a notebook reads: ``home`` if given, else ``SUPPORT_BILLING_HOME``, else
    ``./data``. A relative path is taken from the working directory; when the notebook runs
    in ``notebooks/`` (JupyterLab, nbconvert) and the path is not there, from the project
    root above it, so ``./data`` means the demo home in both places."""
    value = str(home).strip() if home is not None else ""
    value = value or os.environ.get("SUPPORT_BILLING_HOME", "").strip() or DEFAULT_HOME
    path = Path(value).expanduser()
    if not path.is_absolute():
        cwd = Path.cwd()
        if not (cwd / path).exists() and cwd.name == NOTEBOOKS_DIR_NAME and (
            (cwd.parent / path).exists()
        ):
            path = cwd.parent / path
        else:
            path = cwd / path
    return path.resolve()


def data_time(home) -> datetime | None:
    """When the data was last ingested (R20): the latest ``ingested_at`` in
    ``raw.ingest_log``, in America/Denver; None when nothing was ever ingested."""
    from support_billing.storage.freshness import DATA_TIME_SQL

    df = query(home, DATA_TIME_SQL)
    value = df["t"].iloc[0] if len(df) else None
    if value is None or pd.isna(value):
        return None
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:  # DuckDB hands TIMESTAMPTZ back in the session zone, UTC
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert(BUSINESS_TZ).to_pydatetime()


def data_time_label(home) -> str:
    """One line for the top of a notebook or a chart: the time of the data (R20)."""
    stamp = data_time(home)
    if stamp is None:
        return "no ingest recorded yet"
    return f"data as of the last ingest, {stamp:%Y-%m-%d %H:%M %Z}"


def resolve_months(months) -> list[int]:
    """Month numbers 1-12 from None (all), an int, a 'YYYY-MM' or '3-6' / '1,2,3' string,
    or a list of those."""
    if months is None or (isinstance(months, str) and not months.strip()):
        return list(range(1, 13))
    items = months if isinstance(months, list | tuple | set) else [months]
    out: set[int] = set()
    for item in items:
        for part in str(item).split(","):
            part = part.strip()
            if len(part) == 7 and part[4] == "-":  # YYYY-MM
                out.add(int(part[5:]))
            elif "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                out.update(range(lo, hi + 1))
            elif part:
                out.add(int(part))
    if not out or min(out) < 1 or max(out) > 12:
        raise ValueError(f"months must be month numbers 1-12, not {months!r}")
    return sorted(out)


def periods(year, months=None) -> list[str]:
    """The YYYY-MM periods of ``year`` for ``months`` (None: all twelve)."""
    return [f"{int(year):04d}-{m:02d}" for m in resolve_months(months)]
