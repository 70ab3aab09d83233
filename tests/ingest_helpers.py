"""Helpers for the ingest tests: write export files, run an ingest, query the warehouse."""

from __future__ import annotations

from pathlib import Path

CUSTOMERS = "customer_id,customer_name,overage_policy,accounting_ref,email\n"
SUBSCRIPTIONS = "subscription_id,customer_id,module,annual_incidents,start_date,end_date\n"
TICKETS = (
    "ticket_id,customer_id,opened_at,category,time_sensitive,status,billable_override,"
    "override_reason,severity,first_response_at,closed_at,subject\n"
)
TIMESHEETS = "entry_id,customer_id,work_date,hours,activity,ticket_id,employee\n"
PREPAID = "block_id,customer_id,hours,purchased_on\n"


def write(folder: Path, name: str, content: str | bytes) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(content, str):
        path.write_bytes(content.encode("utf-8"))
    else:
        path.write_bytes(content)
    return path


def ticket(tid: str, cust: str = "C1", opened: str = "2026-03-02 10:00", category: str = "how_to",
           subject: str = "", **kw: str) -> str:
    """One tickets CSV line (no quoting: pass pre-quoted subject when needed)."""
    return ",".join([
        tid, cust, opened, category, kw.get("time_sensitive", ""), kw.get("status", ""),
        kw.get("billable_override", ""), kw.get("override_reason", ""), kw.get("severity", ""),
        kw.get("first_response_at", ""), kw.get("closed_at", ""), subject,
    ]) + "\n"


def ingest(home: Path, *paths: Path):
    from support_billing.ingest.flow import ingest_paths

    return ingest_paths(home, list(paths) if paths else None)


def rows(home: Path, sql: str, params: list | None = None) -> list[tuple]:
    from support_billing.ingest.flow import warehouse

    with warehouse(home) as con:
        return con.execute(sql, params or []).fetchall()


def rejected(home: Path, file_name: str | None = None) -> list[tuple]:
    """(file_name, line_number, column_name, value, reason) in insertion order."""
    where = "WHERE file_name = ?" if file_name else ""
    return rows(
        home,
        f"SELECT file_name, line_number, column_name, value, reason FROM raw.rejected_rows "
        f"{where} ORDER BY rowid",
        [file_name] if file_name else None,
    )


def log(home: Path) -> list[tuple]:
    """(ingest_id, file_name, status, read, loaded, rejected, held) in insertion order."""
    return rows(
        home,
        "SELECT ingest_id, file_name, status, rows_read, rows_loaded, rows_rejected, rows_held "
        "FROM raw.ingest_log ORDER BY rowid",
    )


def customers_file(folder: Path, *ids: str, name: str = "customers.csv") -> Path:
    return write(folder, name, CUSTOMERS + "".join(f"{i},Customer {i},,,\n" for i in ids))


def scan_later(monkeypatch, seconds: int = 60) -> None:
    """Make every scan look ``seconds`` later than now, so files written by the test are
    safely older than their scan (not racily clean, R-IN7)."""
    import time

    from support_billing.ingest import load as ingest_load
    monkeypatch.setattr(ingest_load, "scan_clock", lambda: time.time_ns() + seconds * 10**9)
