"""`support-billing demo`: sample data, one month billed end to end.

1. Generates the seeded sample exports for 2026 (``sample_data.generate``) into
   HOME/inbox, with a handful of deliberately bad rows and one ticket of an unknown
   customer, to show rejections (R-IN1) and held rows (R-IN5); files already there with
   the same bytes are left alone (and R-IN3 would skip them anyway).
2. Bills one month with ``billing.cli_bill(home, period, preview=False)``: the previous
   month in Mountain time, kept inside 2026 because the sample data is for 2026 (a month
   not yet ended is only previewed, R16).
3. Prints the rejected rows, and where the files are: the inbox, the export folder and
   its invoice count.

While the billing flow is not available (its placeholder), the demo only ingests the
inbox (``ingest.cli_ingest``) and says so. Both are imported lazily.
"""

from __future__ import annotations

import csv
import datetime as dt
import filecmp
import os
import sys
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

DEMO_YEAR = 2026
DENVER = ZoneInfo("America/Denver")


def today_mountain() -> dt.date:
    return dt.datetime.now(DENVER).date()


def demo_period(today: dt.date, year: int = DEMO_YEAR) -> tuple[str, bool]:
    """(period, preview): the month before `today`, kept within `year`.

    After the data's year the demo bills December; before its January has ended it can
    only preview January (SPEC section 6: a month that has not ended is refused).
    """
    prev = today.replace(day=1) - dt.timedelta(days=1)
    if prev.year > year:
        return f"{year}-12", False
    if prev.year < year:
        return f"{year}-01", True
    return f"{prev.year}-{prev.month:02d}", False


def _is_placeholder(module) -> bool:
    return (module.__doc__ or "").startswith("Placeholder")


def place_sample_data(home: Path, customers: int, seed: int) -> tuple[list[str], list[str]]:
    """Generate the sample exports into HOME/inbox; return (written, unchanged) names."""
    from sample_exports.generator import FILES, generate

    inbox = Path(home) / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    unchanged: list[str] = []
    with tempfile.TemporaryDirectory(dir=home, prefix=".demo-") as tmp:
        result = generate(tmp, customers=customers, year=DEMO_YEAR, seed=seed,
                          with_errors=True)
        for kind in FILES:
            src = Path(result[kind]["path"])
            dst = inbox / src.name
            if dst.exists() and filecmp.cmp(src, dst, shallow=False):
                unchanged.append(src.name)
                continue
            os.replace(src, dst)
            written.append(src.name)
    return written, unchanged


def _count_invoices(folder: Path) -> int | None:
    path = folder / "invoices.csv"
    if not path.exists():
        return None
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return max(0, sum(1 for _ in csv.reader(fh)) - 1)


def show_rejections(home: Path, limit: int = 20) -> None:
    """Print the rejected rows (R-IN1) and the held-row count (R-IN5) of the warehouse."""
    from support_billing.storage.warehouse import open_warehouse, warehouse_path

    if not warehouse_path(home).exists():
        return
    try:
        with open_warehouse(home, read_only=True) as con:
            rejected = con.execute(
                "select distinct file_name, line_number, reason from raw.rejected_rows "
                "order by file_name, line_number, reason").fetchall()
            held = con.execute("select count(*) from raw.held_rows").fetchone()[0]
    except Exception as exc:  # the demo goes on without this listing
        print(f"note: could not read the rejected rows: {str(exc).splitlines()[0]}")
        return
    print(f"rejected rows (R-IN1; the sample has a few on purpose): {len(rejected)}")
    for file_name, line, reason in rejected[:limit]:
        print(f"  {file_name}:{line if line is not None else '-'}: {reason}")
    if len(rejected) > limit:
        print(f"  ... and {len(rejected) - limit} more")
    print(f"held rows (R-IN5, waiting for their customer): {held}")


def cli_demo(home: Path, customers: int = 25, seed: int = 7) -> int:
    """Generate sample data into HOME/inbox and bill one month end to end."""
    from support_billing.storage.warehouse import ensure_home

    if customers < 1:
        print("error: --customers must be at least 1", file=sys.stderr)
        return 2
    home = ensure_home(Path(home))
    written, unchanged = place_sample_data(home, customers, seed)
    inbox = home / "inbox"
    print(f"sample data ({customers} customers, seed {seed}, year {DEMO_YEAR}) in {inbox}")
    if written:
        print(f"  written: {', '.join(written)}")
    if unchanged:
        print(f"  already there, unchanged: {', '.join(unchanged)}")

    from support_billing.billing import flow as billing
    period, preview = demo_period(today_mountain())
    if _is_placeholder(billing):
        from support_billing.ingest import flow as ingest
        print("note: the billing flow is not available yet; running only the ingest.")
        if _is_placeholder(ingest):
            print("error: the ingest is not available yet either; nothing loaded",
                  file=sys.stderr)
            return 1
        rc = ingest.cli_ingest(home, [])
        show_rejections(home)
        print(f"ingest exit status {rc}; warehouse: {home / 'warehouse.duckdb'}")
        return rc

    print(f"billing {period}{' (preview)' if preview else ''} ...")
    rc = billing.cli_bill(home, period, preview)
    folder = home / "exports" / period
    if preview:  # R16: a preview folder, nothing finalized
        folder = home / "exports" / "_preview" / period
        if not folder.exists():
            folder = folder.parent
    if rc != 0:
        print(f"billing {period} failed with exit status {rc}; see the messages above",
              file=sys.stderr)
        return rc
    count = _count_invoices(folder)
    show_rejections(home)
    print(f"exports:   {folder}")
    print(f"invoices:  {count if count is not None else 'n/a'}")
    print(f"reports:   {home / 'reports'}")
    print(f"warehouse: {home / 'warehouse.duckdb'}")
    return 0
