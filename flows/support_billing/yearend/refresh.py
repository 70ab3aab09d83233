"""The January 1 refresh: close year Y-1, open year Y (SPEC R8, R11, section 6).

``support-billing refresh --year Y`` runs the Prefect flow ``year-refresh``:

1. builds the dbt models (the marts must reflect the latest raw data; nothing is
   ingested here),
2. closes Y-1: ``reports/year_end_<Y-1>.csv`` from the ``customer_year_usage`` mart
   (R11), cross-checked against ``allotment_steps`` and ``fct_incidents``,
3. opens Y: ``reports/allotments_<Y>.csv``, the allotment available on Jan 1 of Y with the
   plan extras (R8), from ``allotment_steps``, cross-checked against the subscriptions,
4. records the close in ``billing.closed_years`` (one row per revision).

Running it again changes nothing ("year 2026 already closed; reports unchanged"); if late
data changed the numbers, the reports are regenerated, a new revision is recorded and
the differences are printed (late incidents of a closed year are billed as prior-period
adjustments by the monthly billing, R15). A year whose Jan 1 (America/Denver) has not come
is refused unless ``--preview``, which writes to ``reports/_preview/`` and records nothing.

Files are byte-identical for the same inputs (no timestamps inside) and written
atomically (temporary file + rename); an identical file is not rewritten.
"""

from __future__ import annotations

import fcntl
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo

from prefect import flow
from prefect.states import Completed, Failed

from support_billing.storage.warehouse import CLOSED_YEARS_DDL
from support_billing.yearend.report_files import (
    describe_changes,
    render_csv,
    sha256,
    write_if_changed,
)

DENVER = ZoneInfo("America/Denver")
MIN_YEAR, MAX_YEAR = 1901, 9999

# SPEC section 6 columns in SPEC order; customer_name last, for people reading the file.
YEAR_END_COLUMNS = ["customer_id", "allotment", "covered", "overage", "expired", "customer_name"]
ALLOTMENT_COLUMNS = ["customer_id", "allotment", "customer_name"]

class RefreshError(RuntimeError):
    """The refresh cannot run or its inputs disagree; the message is for a person."""


def today_denver() -> date:
    """Today's date in the business time zone (R1). Tests monkeypatch this."""
    return datetime.now(DENVER).date()


def current_year_denver() -> int:
    return today_denver().year


def check_year(year: int, preview: bool) -> None:
    """Refuse a year out of range, or one whose Jan 1 (Denver) has not come, unless preview."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise RefreshError(f"--year {year} is out of range ({MIN_YEAR}-{MAX_YEAR})")
    today = today_denver()
    if not preview and today < date(year, 1, 1):
        raise RefreshError(
            f"year {year} has not started yet in America/Denver (today is {today.isoformat()}); "
            f"use --preview to see the reports early"
        )


# --------------------------------------------------------------------------------------
# Computation (reads the marts)


def _int(value) -> int:
    return int(value) if value is not None else 0


def year_end_rows(con, year: int) -> list[dict]:
    """R11 for ``year``: one row per customer with an allotment above 0 on Dec 31 or a
    billable incident in the year, sorted by customer_id (code-point order).

    Read on Dec 31 through the dbt table macro ``customer_usage_on`` (R8/R11 defined once);
    a dbt data test checks it against the ``customer_year_usage`` mart."""
    rows = con.execute(
        "select customer_id, customer_name, allotment, covered, overage, expired "
        "from main.customer_usage_on(?, ?) "
        "where allotment > 0 or covered + overage > 0 order by customer_id",
        [year, date(year + 1, 1, 1)],
    ).fetchall()
    return [
        {"customer_id": cid, "customer_name": name, "allotment": _int(a), "covered": _int(c),
         "overage": _int(o), "expired": _int(e)}
        for cid, name, a, c, o, e in rows
    ]


def opening_rows(con, year: int) -> list[dict]:
    """R8 on Jan 1 of ``year``: each customer's allotment available that day (modules plus
    the plan's extras), rows with an allotment above 0, sorted by customer_id.

    Read on Jan 1 through ``customer_usage_on``; a dbt data test checks the Jan 1 steps
    against the subscriptions active that day."""
    rows = con.execute(
        "select customer_id, customer_name, allotment from main.customer_usage_on(?, ?) "
        "where allotment > 0 order by customer_id",
        [year, date(year, 1, 1)],
    ).fetchall()
    return [{"customer_id": cid, "customer_name": name, "allotment": _int(a)}
            for cid, name, a in rows]


# --------------------------------------------------------------------------------------
# Files


@dataclass
class RefreshOutcome:
    year: int
    closed_year: int
    preview: bool
    status: str  # closed | unchanged | regenerated | restored | preview
    messages: list[str] = field(default_factory=list)
    files_written: list[str] = field(default_factory=list)
    year_end_rows: int = 0
    allotment_rows: int = 0


LOCK_FILE = ".bill.lock"  # the same lock file as the monthly billing flow (billing.py)


@contextmanager
def home_lock(home: Path):
    """Hold ``HOME/.bill.lock`` (fcntl.flock, exclusive, non-blocking), the lock the monthly
    billing flow holds: a refresh's dbt build rewrites the invoice marts a billing run
    reads, and must never run between that run's build and its export."""
    path = Path(home) / LOCK_FILE
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RefreshError(
                f"a billing run or another refresh is in progress (lock {path} is held); "
                f"try again later"
            ) from None
        try:
            yield path
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _build_models(home: Path) -> None:
    from support_billing.storage.dbt_runner import build
    from support_billing.storage.warehouse import open_warehouse, warehouse_path

    if not warehouse_path(home).exists():
        raise RefreshError(
            f"no warehouse at {warehouse_path(home)}: run 'support-billing ingest' or 'bill' first"
        )
    with open_warehouse(home):  # the raw and billing tables dbt reads as sources exist
        pass
    result = build(home)
    if not result.success:
        detail = "; ".join(result.failures[:3]) or "see HOME/.dbt/logs"
        raise RefreshError(f"dbt build failed: {detail}")


def _latest_close(con, year: int):
    return con.execute(
        "select revision, report_sha256, report_csv, allotments_sha256, allotments_csv "
        "from billing.closed_years where year = ? order by revision desc limit 1",
        [year],
    ).fetchone()


def run_refresh(
    home: Path, year: int, preview: bool = False, build_models: bool = True
) -> RefreshOutcome:
    """Close ``year - 1`` and open ``year``; see the module docstring."""
    from support_billing.storage.warehouse import ensure_home

    home = Path(home)
    check_year(year, preview)
    ensure_home(home)
    with home_lock(home):
        return _refresh_locked(home, year, preview, build_models)


def _refresh_locked(home: Path, year: int, preview: bool, build_models: bool) -> RefreshOutcome:
    from support_billing.storage.warehouse import connect

    if build_models:
        _build_models(home)
    con = connect(home, read_only=preview)
    try:
        reports = _reports(con, home, year, preview)
        outcome = RefreshOutcome(
            year=year, closed_year=year - 1, preview=preview, status="preview",
            year_end_rows=len(reports.year_end), allotment_rows=len(reports.allotments))
        if preview:
            reports.write(outcome)
            outcome.messages.append(
                f"preview of closing {year - 1} and opening {year} (nothing recorded): "
                f"{reports.summary}")
            return outcome
        con.execute(CLOSED_YEARS_DDL)
        previous = _latest_close(con, year - 1)
        reports.write(outcome)
        revision, changes = _revision(outcome, reports, previous)
        if revision is not None:
            _record_close(con, home, year - 1, reports, revision, changes)
        return outcome
    finally:
        con.close()


@dataclass
class _Reports:
    """The two files of a refresh: year_end_<Y-1>.csv and allotments_<Y>.csv."""

    home: Path
    year_end: list[dict]
    allotments: list[dict]
    ye_path: Path
    al_path: Path

    def rel(self, path: Path) -> str:
        return path.relative_to(self.home).as_posix()

    @cached_property
    def ye_bytes(self) -> bytes:
        return render_csv(YEAR_END_COLUMNS, self.year_end)

    @cached_property
    def al_bytes(self) -> bytes:
        return render_csv(ALLOTMENT_COLUMNS, self.allotments)

    @property
    def summary(self) -> str:
        return (f"{self.rel(self.ye_path)}: {len(self.year_end)} customer(s); "
                f"{self.rel(self.al_path)}: {len(self.allotments)} customer(s)")

    def write(self, outcome: RefreshOutcome) -> None:
        for path, data in ((self.ye_path, self.ye_bytes), (self.al_path, self.al_bytes)):
            if write_if_changed(path, data):
                outcome.files_written.append(self.rel(path))


def _reports(con, home: Path, year: int, preview: bool) -> _Reports:
    try:
        ye = year_end_rows(con, year - 1)
        al = opening_rows(con, year)
    except RefreshError:
        raise
    except Exception as exc:  # e.g. a mart missing: dbt never built
        if "does not exist" in str(exc) or "Catalog Error" in str(exc):
            first = str(exc).splitlines()[0]
            raise RefreshError(f"the warehouse has no built models: {first}") from exc
        raise
    folder = home / "reports" / ("_preview" if preview else "")
    return _Reports(home, ye, al, folder / f"year_end_{year - 1}.csv",
                    folder / f"allotments_{year}.csv")


def _revision(outcome: RefreshOutcome, reports: _Reports,
              previous) -> tuple[int | None, str | None]:
    """The revision to record (None: the recorded close still holds) and, for a revision
    after late data, what changed; the outcome's status and messages say the same."""
    closed_year, year = outcome.closed_year, outcome.year
    if previous is None:
        outcome.status = "closed"
        outcome.messages.append(f"closed {closed_year} and opened {year}: {reports.summary}")
        return 1, None
    if (previous[1], previous[3]) == (sha256(reports.ye_bytes), sha256(reports.al_bytes)):
        if outcome.files_written:
            outcome.status = "restored"
            outcome.messages.append(
                f"year {closed_year} already closed; numbers unchanged; rewrote "
                f"{', '.join(outcome.files_written)} (missing or edited)")
        else:
            outcome.status = "unchanged"
            outcome.messages.append(f"year {closed_year} already closed; reports unchanged")
        return None, None
    revision = previous[0] + 1
    diffs = describe_changes(previous[2], reports.ye_bytes.decode("utf-8"),
                             reports.rel(reports.ye_path))
    diffs += describe_changes(previous[4], reports.al_bytes.decode("utf-8"),
                              reports.rel(reports.al_path))
    outcome.status = "regenerated"
    outcome.messages.append(
        f"year {closed_year} already closed; late data changed the numbers, "
        f"regenerated the reports (revision {revision}):")
    outcome.messages += [f"  {d}" for d in diffs]
    outcome.messages.append(
        f"  late incidents of {closed_year} are billed as prior-period adjustments "
        f"by the monthly billing (R15)")
    return revision, "; ".join(diffs)


def _record_close(con, home: Path, closed_year: int, reports: _Reports, revision: int,
                  changes) -> None:
    """billing.closed_years gets the revision, then the ledger (R19)."""
    from support_billing.storage.ledger import write_closed_year

    ye_bytes, al_bytes = reports.ye_bytes, reports.al_bytes
    con.execute(
        "insert into billing.closed_years values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [closed_year, revision, datetime.now(UTC),
         reports.rel(home / "reports" / reports.ye_path.name), sha256(ye_bytes),
         len(reports.year_end), ye_bytes.decode("utf-8"),
         reports.rel(home / "reports" / reports.al_path.name), sha256(al_bytes),
         len(reports.allotments), al_bytes.decode("utf-8"), changes])
    write_closed_year(con, home, closed_year, revision)


@flow(name="year-refresh", description="January 1: close year Y-1, open year Y (R8, R11).")
def year_refresh_flow(home: str, year: int | None = None, preview: bool = False):
    """Close ``year - 1`` and open ``year`` (default: the current year in America/Denver,
    which is the new year when the schedule fires at 00:05 on Jan 1)."""
    from prefect.logging import get_run_logger

    logger = get_run_logger()
    if year is None:
        year = current_year_denver()
    try:
        outcome = run_refresh(Path(home), year, preview)
    except RefreshError as exc:  # Prefect logs the failed state with this message
        return Failed(message=str(exc))
    except Exception as exc:  # one line; the traceback in HOME/logs and the run log (sec. 6)
        from support_billing.console import failure_line

        logger.error("refresh %s failed", year, exc_info=True)
        return Failed(message=failure_line(Path(home), "refresh", exc,
                                           prefix=f"refresh {year} failed: "))
    for line in outcome.messages:
        logger.info(line)
    return Completed(message=outcome.messages[0] if outcome.messages else "done", data=outcome)


def cli_refresh(home: Path, year: int, preview: bool) -> int:
    """`support-billing refresh --year Y [--preview]`: exit 0 on success, 1 on failure."""
    from support_billing.storage.warehouse import warehouse_path

    try:
        check_year(year, preview)  # plain user errors: refuse before starting a flow run
        if not warehouse_path(home).exists():
            raise RefreshError(
                f"no warehouse at {warehouse_path(home)}: "
                f"run 'support-billing ingest' or 'bill' first"
            )
    except RefreshError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if "out of range" in str(exc) else 1
    from support_billing.console import quiet_prefect_console
    from support_billing.fast_start import foreground_flow_runs

    quiet_prefect_console()
    with foreground_flow_runs():
        state = year_refresh_flow(
            home=str(Path(home).resolve()), year=year, preview=preview, return_state=True
        )
    if not state.is_completed():
        message = (state.message or "the refresh failed").strip().splitlines()[0]
        print(f"error: {message}", file=sys.stderr)
        return 1
    outcome: RefreshOutcome = state.result()
    for line in outcome.messages:
        print(line)
    return 0
