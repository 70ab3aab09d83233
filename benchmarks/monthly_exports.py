"""Split a year of generated exports into the exports each month would deliver.

For the benchmark's monthly path (what a month of operation costs): month M's drop holds
- tickets opened in M (R1: the Mountain-time date of opened_at; tickets dated before the
  year go to January), timesheet entries with a work_date in M (events: each row once);
- subscriptions started on or before M's last day, prepaid blocks purchased on or before
  it, and the customers those rows and the months so far name (snapshots "as of M", as an
  export of the source system would list them; an unchanged snapshot has the same bytes
  as the month before, so ingest skips it, R-IN3).
Rows dated after the last month are left out. Values and headers are copied as read.
"""

from __future__ import annotations

import csv
import sys
from calendar import monthrange
from datetime import date
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))

from oracle.billing_oracle import local_date, to_instant  # noqa: E402

EVENTS = {"tickets": "opened_at", "timesheets": "work_date"}
SNAPSHOTS = {"subscriptions": "start_date", "prepaid_hours": "purchased_on"}


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        return header, list(reader)


def _col(header: list[str], name: str) -> int:
    return [h.strip().lower() for h in header].index(name)


def _month_of(kind: str, text: str, year: int) -> int:
    """The month (1-12) of an event row in `year`; 0 before the year, 13 after it."""
    text = text.strip()
    try:
        d = (local_date(to_instant(text)) if kind == "tickets" else date.fromisoformat(text))
    except ValueError:
        return 1  # a malformed value is the product's to reject: deliver it early
    if d.year != year:
        return 0 if d.year < year else 13
    return d.month


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _stream_events(path: Path, kind: str, column: str, folders: dict[int, Path],
                   year: int) -> dict[int, set[str]]:
    """Copy each event row to its month's file, row by row (5 million tickets do not fit
    comfortably in memory as lists); return the customers each month's rows name."""
    named: dict[int, set[str]] = {m: set() for m in folders}
    handles: dict[int, tuple] = {}
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            at, cust = _col(header, column), _col(header, "customer_id")
            for row in reader:
                m = max(1, _month_of(kind, row[at], year)) if len(row) > at else 1
                if m not in folders:
                    continue
                if m not in handles:
                    out = open(folders[m] / f"{kind}_{year}-{m:02d}.csv", "w", newline="",
                               encoding="utf-8")
                    handles[m] = (out, csv.writer(out, lineterminator="\n"))
                    handles[m][1].writerow(header)
                handles[m][1].writerow(row)
                named[m].add(row[cust].strip() if len(row) > cust else "")
    finally:
        for out, _ in handles.values():
            out.close()
    return named


def split_by_month(inbox: Path, out: Path, year: int, last_month: int) -> dict[int, Path]:
    """Write out/MM/<kind>_YYYY-MM.csv for months 1..last_month; return {month: folder}."""
    folders = {m: out / f"{m:02d}" for m in range(1, last_month + 1)}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    named: dict[int, set[str]] = {m: set() for m in folders}  # customers each month names
    for kind, column in EVENTS.items():
        named_kind = _stream_events(inbox / f"{kind}.csv", kind, column, folders, year)
        for m, ids in named_kind.items():
            named[m] |= ids
    snapshots = {kind: _read(inbox / f"{kind}.csv") for kind in SNAPSHOTS}
    c_header, customers = _read(inbox / "customers.csv")
    c_id = _col(c_header, "customer_id")
    known: set[str] = set()
    for m, folder in folders.items():
        last = date(year, m, monthrange(year, m)[1]).isoformat()
        for kind, column in SNAPSHOTS.items():
            header, rows = snapshots[kind]
            at, cust = _col(header, column), _col(header, "customer_id")
            mine = [r for r in rows if len(r) > at and r[at].strip() <= last]
            known.update(r[cust].strip() for r in mine if len(r) > cust)
            if mine:
                _write(folder / f"{kind}_{year}-{m:02d}.csv", header, mine)
        known |= named[m]
        _write(folder / f"customers_{year}-{m:02d}.csv", c_header,
               [r for r in customers if len(r) > c_id and r[c_id].strip() in known])
    return folders
