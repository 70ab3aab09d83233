"""``reports/rejected_rows.csv`` (SPEC R18, R-IN1, R-IN5): every rejected or held row not
yet resolved, for the data owner to fix at the source.

A rejected row is resolved once a later file (or a later row of the same ingest) loads
its key: the same rule as the "rejected rows waiting" count of ``bill``
(``billing_data.REJECTED_WAITING_SQL``), so the file and the count agree. A held row is
listed while it is in ``raw.held_rows``. Rewritten after every ingest.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

REJECTED_ROWS_FILE = "rejected_rows.csv"
HEADER = ["file", "line", "kind", "key", "status", "reason", "values"]
FORMULA_START = ("=", "+", "-", "@")

WAITING_SQL = """
with loaded as (
    select 'customers' as kind, customer_id as row_key, ingest_id from raw.customers
    union all select 'subscriptions', subscription_id, ingest_id from raw.subscriptions
    union all select 'tickets', ticket_id, ingest_id from raw.tickets
    union all select 'timesheets', entry_id, ingest_id from raw.timesheets
    union all select 'prepaid_hours', block_id, ingest_id from raw.prepaid_hours
),

rejected as (
    select r.file_name, r.line_number, r.kind, r.row_key, 'rejected' as status, r.reason,
           case when r.column_name is not null
                then to_json(map([r.column_name], [r.value]))::varchar end as row_values
    from raw.rejected_rows as r
    where not exists (
        select 1 from loaded as l
        where l.kind = r.kind and l.row_key = r.row_key and l.ingest_id >= r.ingest_id
    )
),

held as (
    select file_name, line_number, kind, row_key, 'held' as status, reason,
           row_json as row_values
    from raw.held_rows
),

final as (
    select * from rejected
    union all
    select * from held
)

select * from final
order by file_name, line_number nulls first, status, kind, row_key
"""


def rejected_rows_path(home: Path) -> Path:
    return Path(home) / "reports" / REJECTED_ROWS_FILE


def _cell(value) -> str:
    """A report opened in a spreadsheet: a rejected value such as '=HYPERLINK(...' (the
    reason it was rejected, R-IN6) must not run, so such a cell gets a leading apostrophe,
    the usual spreadsheet escape (docs/decisions.md)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def render(rows: list[tuple]) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")  # RFC 4180
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return buf.getvalue().encode("utf-8")


def waiting_rows(con) -> list[tuple]:
    return con.execute(WAITING_SQL).fetchall()


def write_rejected_rows(home: Path, con=None) -> tuple[Path, int]:
    """Rewrite the file (atomically) from the warehouse; returns (path, rows listed)."""
    from .warehouse import connect

    if con is None:
        with connect(Path(home), read_only=True) as own:
            rows = waiting_rows(own)
    else:
        rows = waiting_rows(con)
    path = rejected_rows_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(render(rows))
    os.replace(tmp, path)
    return path, len(rows)
