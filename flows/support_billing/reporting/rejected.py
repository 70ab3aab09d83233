"""``reports/rejected_rows.csv`` (SPEC R18, R-IN1, R-IN5): every rejected or held row not
yet resolved, for the data owner to fix at the source.

A rejected row is resolved once a later file (or a later row of the same ingest) loads
its key: the same rule as the "rejected rows waiting" count of ``bill``
(``billing_data.REJECTED_WAITING_SQL`` counts this query), so the file and the count
agree. A held row is listed while it is in ``raw.held_rows``. Rewritten after every ingest.
"""

from __future__ import annotations

import csv
import io
import json
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
                then to_json(map([r.column_name], [r.value]))::varchar end as row_values,
           (select min(s.path)
            from raw.ingest_log as l
            inner join raw.file_scans as s on s.sha256 = l.sha256
            where l.ingest_id = r.ingest_id and l.file_name = r.file_name) as source_path
    from raw.rejected_rows as r
    where not exists (
        select 1 from loaded as l
        where l.kind = r.kind and l.row_key = r.row_key and l.ingest_id >= r.ingest_id
    )
),

held as (
    select file_name, line_number, kind, row_key, 'held' as status, reason,
           row_json as row_values, null as source_path
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


def source_values(path: str, lines: set[int]) -> dict[int, str]:
    """The rows starting at ``lines`` of an export as it was read (header name -> value,
    JSON), so a rejected row shows all its values, not only the one that broke a rule.
    Only used while the inbox file still holds the bytes that were ingested (its scan
    sha256 equals the logged one); anything unreadable falls back to the stored value."""
    found: dict[int, str] = {}
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = [h.strip() for h in next(reader)]
            start = reader.line_num + 1
            for row in reader:
                if start in lines and row:
                    values = dict(zip(header, row, strict=False))
                    if len(row) > len(header):
                        values["(extra fields)"] = row[len(header):]
                    found[start] = json.dumps(values, ensure_ascii=False,
                                              separators=(",", ":"))
                    if len(found) == len(lines):
                        break
                start = reader.line_num + 1
    except (OSError, UnicodeDecodeError, csv.Error, StopIteration):
        pass
    return found


def waiting_rows(con) -> list[tuple]:
    """The rows of the file, with each rejected row's values read back from its export."""
    rows = con.execute(WAITING_SQL).fetchall()
    wanted: dict[str, set[int]] = {}
    for _f, line, _k, _key, status, _r, _v, path in rows:
        if status == "rejected" and path and line is not None:
            wanted.setdefault(path, set()).add(int(line))
    values = {path: source_values(path, lines) for path, lines in sorted(wanted.items())}
    return [(f, line, k, key, st, reason, values.get(path, {}).get(line, v))
            for f, line, k, key, st, reason, v, path in rows]


def write_rejected_rows(home: Path, con=None) -> tuple[Path, int]:
    """Rewrite the file (atomically) from the warehouse; returns (path, rows listed)."""
    from support_billing.storage.warehouse import connect

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
