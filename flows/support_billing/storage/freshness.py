"""Models that are always current, and the time of the data they show (SPEC R20).

``ingest`` brings the models up to date with what it loaded (``bring_models_current``), so
``usage``, the analysis helpers, the notebooks and every report reflect every row ingested
so far, not only what the last ``bill`` built. The build is dbt's own, limited by
``dbt_runner.build`` to what the changed source tables reach; with nothing new it runs no
dbt at all.

The time of the data is the time of the last ingest that loaded a file
(``raw.ingest_log``): every reader prints it next to what it shows.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("America/Denver")


def bring_models_current(home: Path):
    """Rebuild what the rows ingested since the last build reach (R20).

    The period models (the invoices of one month) keep the month they were last built for;
    ``bill`` sets its own month."""
    from support_billing.storage import dbt_runner
    return dbt_runner.build(Path(home), dbt_runner.last_built_period(Path(home)))


# The one definition of the data's time (R20): the last ingest that loaded a file. An ingest
# that found nothing new leaves it alone, so re-running `bill` on the same data writes the
# same review page and statements.
DATA_TIME_SQL = "select max(ingested_at) as t from raw.ingest_log where status = 'loaded'"


def data_time(con) -> datetime | None:
    """When the data was last ingested, or None."""
    try:
        row = con.execute(DATA_TIME_SQL).fetchone()
    except Exception:  # noqa: BLE001 - a warehouse without an ingest log has no data time
        return None
    return row[0] if row else None


def data_time_text(con) -> str:
    """The data's time for people: Mountain time, to the second ("no data ingested yet")."""
    when = data_time(con)
    if when is None:
        return "no data ingested yet"
    return when.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M:%S %Z")
