"""The warehouse: one DuckDB file under the home folder, and the tables the Python side owns.

Schemas:
- ``raw``: what ingest loaded (typed, validated rows, SPEC section 3), plus the ingest
  log, rejected rows (R-IN1/R-IN2) and held rows (R-IN5). dbt reads these as sources.
- ``billing``: what the monthly billing flow finalized (R15): months, invoices, lines and
  the overage policy in force per customer when a month was finalized (R12).
- ``main``: everything dbt builds (staging views, intermediate models, marts).

Timestamps are stored as TIMESTAMPTZ (instants); every connection runs with
TimeZone=UTC so nothing depends on the machine's zone. Money and hours are DECIMAL(18,2).
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb

DEFAULT_HOME = "./data"
WAREHOUSE_FILE = "warehouse.duckdb"

RAW_DDL = """
create schema if not exists raw;

create table if not exists raw.customers (
    customer_id     varchar not null,
    customer_name   varchar not null,
    overage_policy  varchar not null,      -- 'subscription' | 'upfront' (R12)
    accounting_ref  varchar not null,      -- blank in the export = customer_name
    email           varchar,
    source_file     varchar not null,
    source_line     bigint not null,
    ingest_id       bigint not null
);

create table if not exists raw.subscriptions (
    subscription_id  varchar not null,
    customer_id      varchar not null,
    module           varchar not null,     -- module code (R3), normalized at ingest
    annual_incidents integer not null,     -- blank in the export = module minimum (R4)
    start_date       date not null,
    end_date         date,                 -- inclusive (R5)
    source_file      varchar not null,
    source_line      bigint not null,
    ingest_id        bigint not null
);

create table if not exists raw.tickets (
    ticket_id          varchar not null,
    customer_id        varchar not null,
    opened_at          timestamptz not null,  -- instant; naive values were Mountain time (R1)
    category           varchar not null,      -- lower case, one of the R9 categories
    time_sensitive     boolean not null,
    status             varchar not null,      -- 'open' | 'closed' | 'void'
    billable_override  varchar,               -- 'yes' | 'no' | null
    override_reason    varchar,
    severity           varchar not null,      -- 'low' | 'normal' | 'high' | 'urgent'
    first_response_at  timestamptz,
    closed_at          timestamptz,
    subject            varchar,
    source_file        varchar not null,
    source_line        bigint not null,
    ingest_id          bigint not null
);

create table if not exists raw.timesheets (
    entry_id     varchar not null,
    customer_id  varchar not null,
    work_date    date not null,
    hours        decimal(18, 2) not null,
    activity     varchar not null,   -- implementation | training | custom_development | support
    ticket_id    varchar,
    employee     varchar,
    source_file  varchar not null,
    source_line  bigint not null,
    ingest_id    bigint not null
);

create table if not exists raw.prepaid_hours (
    block_id      varchar not null,
    customer_id   varchar not null,
    hours         decimal(18, 2) not null,
    purchased_on  date not null,
    source_file   varchar not null,
    source_line   bigint not null,
    ingest_id     bigint not null
);

create table if not exists raw.ingest_log (
    ingest_id      bigint not null,        -- one per 'ingest' call
    file_name      varchar not null,
    sha256         varchar not null,
    kind           varchar,                -- customers, subscriptions, tickets, ... (section 3)
    status         varchar not null,       -- loaded | skipped (R-IN3) | refused (R-IN2)
    rows_read      bigint not null,
    rows_loaded    bigint not null,
    rows_rejected  bigint not null,
    rows_held      bigint not null,
    message        varchar,
    ingested_at    timestamptz not null
);

create table if not exists raw.file_scans (  -- R-IN3 shortcut: a scanned file's sha256
    path      varchar primary key,           -- absolute path
    size      bigint not null,
    mtime_ns  bigint not null,
    inode     bigint not null,
    sha256    varchar not null
);

create table if not exists raw.rejected_rows (
    ingest_id    bigint not null,
    file_name    varchar not null,
    line_number  bigint,                   -- physical line where the row starts (header = 1)
    kind         varchar,
    row_key      varchar,
    column_name  varchar,
    value        varchar,
    reason       varchar not null
);

create table if not exists raw.held_rows (   -- R-IN5: rows waiting for their customer
    hold_seq     bigint not null,         -- original order
    kind         varchar not null,
    row_key      varchar not null,
    customer_id  varchar not null,
    file_name    varchar not null,
    line_number  bigint not null,
    ingest_id    bigint not null,
    row_json     varchar not null,        -- the typed row, as JSON, ready to load
    reason       varchar not null
);
"""

BILLING_DDL = """
create schema if not exists billing;

create table if not exists billing.finalized_months (
    period          varchar not null,      -- YYYY-MM
    finalized_at    timestamptz not null,
    invoice_count   integer not null,
    grand_total     decimal(18, 2) not null,
    manifest_sha256 varchar
);

create table if not exists billing.finalized_invoices (
    period          varchar not null,
    invoice_number  varchar not null,
    document_type   varchar not null,      -- invoice | credit_note (R14)
    customer_id     varchar not null,
    customer_name   varchar not null,
    accounting_ref  varchar not null,
    invoice_date    date not null,
    due_date        date not null,
    currency        varchar not null,
    total           decimal(18, 2) not null,
    line_count      integer not null
);

create table if not exists billing.finalized_invoice_lines (
    period             varchar not null,
    invoice_number     varchar not null,
    customer_id        varchar not null,
    line_number        integer not null,
    line_type          varchar not null,
    description        varchar not null,
    quantity           decimal(18, 2) not null,
    unit_price         decimal(18, 2) not null,
    amount             decimal(18, 2) not null,
    source_ref         varchar,
    rule               varchar not null,
    adjusts_period     varchar,            -- prior_period_adjustment only (R15)
    adjusts_line_type  varchar             -- prior_period_adjustment only (R15)
);

create table if not exists billing.finalized_policies (
    period          varchar not null,      -- the overage policy each customer had when
    customer_id     varchar not null,      -- this month was finalized (R12: a policy change
    overage_policy  varchar not null       -- applies only to months not yet finalized)
);
"""


def resolve_home(home: str | os.PathLike | None = None) -> Path:
    """The home folder: --home, else SUPPORT_BILLING_HOME, else ./data."""
    value = home or os.environ.get("SUPPORT_BILLING_HOME") or DEFAULT_HOME
    return Path(value).expanduser().resolve()


def warehouse_path(home: Path) -> Path:
    return Path(home) / WAREHOUSE_FILE


def ensure_home(home: Path) -> Path:
    """Create the home folder layout (inbox, exports, reports)."""
    home = Path(home)
    for sub in ("inbox", "exports", "reports"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    return home


LOCK_WAIT_SECONDS = 120.0
# What DuckDB says when the file is not a database any more (truncated, overwritten).
DAMAGED_MARKERS = ("not a valid duckdb database", "could not read enough bytes", "corrupt",
                   "checksum", "invalid database", "unsupported version")


class WarehouseError(RuntimeError):
    """The warehouse file cannot be used; the message is one line for a person."""


def is_lock_error(exc: BaseException) -> bool:
    """DuckDB's "Could not set lock on file": another process has the file (R19)."""
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def _open_error(path: Path, exc: duckdb.Error) -> WarehouseError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if any(marker in first.lower() for marker in DAMAGED_MARKERS):
        return WarehouseError(
            f"the warehouse {path} cannot be opened ({first}); run 'support-billing rebuild' "
            "to make a new one from the inbox and the ledger (R19)")
    return WarehouseError(f"the warehouse {path} cannot be opened: {first}")


def connect(home: Path, read_only: bool = False,
            retries: float = LOCK_WAIT_SECONDS) -> duckdb.DuckDBPyConnection:
    """Open the warehouse with TimeZone=UTC.

    DuckDB allows one writing process or many readers. Runs and readers wait up to
    ``retries`` seconds for a lock held by another process (a notebook, ``usage``, a second
    run) instead of failing at once (R19). A file that is not a database any more is one
    line naming ``rebuild``.
    """
    path = warehouse_path(home)
    if read_only and not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run 'support-billing ingest' first")
    deadline = time.monotonic() + retries
    delay = 0.05
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if not is_lock_error(exc):
                raise _open_error(path, exc) from exc
            if time.monotonic() >= deadline:
                raise WarehouseError(
                    f"the warehouse {path} stayed locked by another process for "
                    f"{retries:.0f} s; try again when it has finished") from exc
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        except duckdb.Error as exc:
            raise _open_error(path, exc) from exc
    # ICU is built in but not loaded at connect time, so the zone is set afterwards.
    con.execute("set TimeZone = 'UTC'")
    # Set, not passed as connect config: dbt (profiles.yml) sets the same limit on the same
    # database in this process, and DuckDB refuses a second connect with a different config.
    con.execute("set memory_limit = ?", [memory_limit()])
    return con


# DuckDB's default limit is 80% of the machine's memory; a run shares the machine with
# readers (R19) and the operating system's file cache, so it keeps to a budget and larger
# joins and sorts spill to the database's temporary folder (HOME/warehouse.duckdb.tmp).
# The same variable sets dbt's limit (dbt_project/profiles.yml).
MEMORY_LIMIT_VARIABLE = "SUPPORT_BILLING_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "2GB"


def memory_limit() -> str:
    """DuckDB's memory limit for the warehouse (e.g. ``2GB``; docs/decisions.md "Scale")."""
    return os.environ.get(MEMORY_LIMIT_VARIABLE) or DEFAULT_MEMORY_LIMIT


# The year refresh's record of closed years (R8, R11), owned by the Python side like
# billing.*; the ledger (R19) restores it on rebuild.
CLOSED_YEARS_DDL = """
create schema if not exists billing;

create table if not exists billing.closed_years (
    year               integer not null,      -- the year closed (Y-1 of 'refresh --year Y')
    revision           integer not null,      -- 1 = the close; 2, 3 ... = after late data
    closed_at          timestamptz not null,  -- when this revision was recorded
    report_file        varchar not null,      -- reports/year_end_<year>.csv
    report_sha256      varchar not null,
    report_rows        integer not null,
    report_csv         varchar not null,      -- the report's content, to say what late data changed
    allotments_file    varchar not null,      -- reports/allotments_<year + 1>.csv
    allotments_sha256  varchar not null,
    allotments_rows    integer not null,
    allotments_csv     varchar not null,
    changes            varchar               -- what changed against the previous revision
);
"""


def init_warehouse(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw and billing tables if they do not exist (idempotent)."""
    con.execute(RAW_DDL)
    con.execute(BILLING_DDL)


@contextmanager
def open_warehouse(home: Path, read_only: bool = False):
    """Context manager: a connection to the warehouse, initialized when writable."""
    if not read_only:
        ensure_home(home)
    con = connect(home, read_only=read_only)
    try:
        if not read_only:
            init_warehouse(con)
        yield con
    finally:
        con.close()
