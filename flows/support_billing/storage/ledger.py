"""The ledger: finalized history kept outside the warehouse, append-only (SPEC R19).

``HOME/ledger/`` holds one JSON-lines file per record set, each beside a ``.sha256`` file
in ``sha256sum`` format:

- ``months/YYYY-MM.jsonl``: a finalized month (R15, R15a): one ``month`` record, then its
  ``invoice``, ``line`` and ``policy`` (R12 snapshot) records;
- ``closed_years/YYYY-rN.jsonl``: revision N of the close of year YYYY (``refresh``);
- ``ingests/NNNNNNNN.jsonl``: the files of one ingest, in their order (``rebuild`` replays
  the ingests in this order, R-IN4).

A file is written once (temporary file, fsync, rename) and never rewritten: writing the
same records again is a no-op, different records for an existing file are an error. The
files are plain text a person (or ``sha256sum -c``) can check without the warehouse.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

LEDGER_DIR = "ledger"
MONTHS, CLOSED_YEARS, INGESTS = "months", "closed_years", "ingests"

TABLES = {  # record kind -> (table, columns in table order, period-filter column)
    "month": ("billing.finalized_months",
              ["period", "finalized_at", "invoice_count", "grand_total", "manifest_sha256"]),
    "invoice": ("billing.finalized_invoices",
                ["period", "invoice_number", "document_type", "customer_id", "customer_name",
                 "accounting_ref", "invoice_date", "due_date", "currency", "total",
                 "line_count"]),
    "line": ("billing.finalized_invoice_lines",
             ["period", "invoice_number", "customer_id", "line_number", "line_type",
              "description", "quantity", "unit_price", "amount", "source_ref", "rule",
              "adjusts_period", "adjusts_line_type"]),
    "policy": ("billing.finalized_policies", ["period", "customer_id", "overage_policy"]),
}
ORDER_BY = {"month": "period", "invoice": "invoice_number",
            "line": "invoice_number, line_number", "policy": "customer_id"}
CLOSED_YEAR_COLUMNS = [
    "year", "revision", "closed_at", "report_file", "report_sha256", "report_rows",
    "report_csv", "allotments_file", "allotments_sha256", "allotments_rows",
    "allotments_csv", "changes",
]
INGEST_COLUMNS = ["ingest_id", "file_name", "sha256", "kind", "status", "ingested_at"]


class LedgerError(RuntimeError):
    """The ledger disagrees with itself or with the warehouse; the message says what."""


def ledger_dir(home: Path) -> Path:
    return Path(home) / LEDGER_DIR


def _plain(value):
    """A value JSON has no type for, as text: decimals exactly, dates in ISO 8601."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"a ledger record holds a {type(value).__name__}")


# One encoder for every record: json.dumps with options builds a new one per call, and the
# C encoder hands only the values JSON cannot write to ``_plain`` (a month of 100,000 lines:
# a third less time than converting every value first).
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_plain)


def _encode(records: list[dict]) -> bytes:
    return "".join(_ENCODER.encode(r) + "\n" for r in records).encode("utf-8")


def write_once(path: Path, data: bytes) -> bool:
    """Write ``path`` and its ``.sha256`` once; True when newly written. An existing file
    with the same bytes is left alone; with other bytes it is an error (append-only)."""
    path = Path(path)
    if path.exists():
        if path.read_bytes() != data:
            raise LedgerError(f"ledger file {path} already exists with other content; the "
                              "ledger is append-only, so it was left unchanged")
        if not _sha_path(path).exists():
            _atomic_write(_sha_path(path), _sha_line(path, data))
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, data)
    _atomic_write(_sha_path(path), _sha_line(path, data))
    return True


def _sha_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _sha_line(path: Path, data: bytes) -> bytes:
    return f"{hashlib.sha256(data).hexdigest()}  {path.name}\n".encode()


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_verified(path: Path) -> list[dict]:
    """The records of one ledger file, after checking its sha256 file."""
    path = Path(path)
    data = path.read_bytes()
    try:
        expected = _sha_path(path).read_text(encoding="ascii").split()[0]
    except (OSError, IndexError, UnicodeDecodeError) as exc:
        raise LedgerError(f"ledger checksum {_sha_path(path)} is missing or unreadable") from exc
    if hashlib.sha256(data).hexdigest() != expected:
        raise LedgerError(f"ledger file {path} does not match its checksum; restore it from "
                          "a backup before rebuilding")
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line]


# ---------------------------------------------------------------- writing
def month_records(con, period: str) -> list[dict]:
    records = []
    for kind, (table, columns) in TABLES.items():
        rows = con.execute(
            f"select {', '.join(columns)} from {table} where period = ? "
            f"order by {ORDER_BY[kind]}", [period]).fetchall()
        records += [{"record": kind, **dict(zip(columns, row, strict=True))} for row in rows]
    return records


def write_month(con, home: Path, period: str) -> Path:
    """Write the finalized month ``period`` from billing.* to the ledger (R19)."""
    path = ledger_dir(home) / MONTHS / f"{period}.jsonl"
    write_once(path, _encode(month_records(con, period)))
    return path


def write_closed_year(con, home: Path, year: int, revision: int) -> Path:
    rows = con.execute(
        f"select {', '.join(CLOSED_YEAR_COLUMNS)} from billing.closed_years "
        "where year = ? and revision = ?", [year, revision]).fetchall()
    path = ledger_dir(home) / CLOSED_YEARS / f"{year:04d}-r{revision}.jsonl"
    write_once(path, _encode([{"record": "closed_year",
                               **dict(zip(CLOSED_YEAR_COLUMNS, r, strict=True))}
                              for r in rows]))
    return path


LEDGERED_INGESTS_DDL = """
create schema if not exists billing;
create table if not exists billing.ledgered_ingests (ingest_id bigint not null);
"""


def record_ingests(con, home: Path) -> list[Path]:
    """Write every ingest of raw.ingest_log not yet in the ledger, each as the next
    ``ingests/NNNNNNNN.jsonl`` (the order ``rebuild`` replays, R-IN4). Which of the
    warehouse's ingests are in the ledger is kept in ``billing.ledgered_ingests`` (a rebuilt
    warehouse numbers its replayed ingests afresh)."""
    con.execute(LEDGERED_INGESTS_DDL)
    rows = con.execute(
        f"select {', '.join('l.' + c for c in INGEST_COLUMNS)} from raw.ingest_log as l "
        "where l.ingest_id not in (select ingest_id from billing.ledgered_ingests) "
        "order by l.ingest_id, l.rowid").fetchall()
    batches: dict[int, list[dict]] = {}
    for row in rows:
        batches.setdefault(int(row[0]), []).append(
            {"record": "ingest_file", **dict(zip(INGEST_COLUMNS, row, strict=True))})
    folder = ledger_dir(home) / INGESTS
    seqs = [int(p.stem) for p in folder.glob("*.jsonl")] if folder.is_dir() else []
    written = []
    for seq, ingest_id in enumerate(sorted(batches), start=max(seqs, default=0) + 1):
        path = folder / f"{seq:08d}.jsonl"
        write_once(path, _encode(batches[ingest_id]))
        con.execute("insert into billing.ledgered_ingests values (?)", [ingest_id])
        written.append(path)
    return written


def mark_ingests_ledgered(con) -> None:
    """After ``rebuild`` replayed the ledger's ingests: they are in the ledger already."""
    con.execute(LEDGERED_INGESTS_DDL)
    con.execute("insert into billing.ledgered_ingests select distinct ingest_id "
                "from raw.ingest_log where ingest_id not in "
                "(select ingest_id from billing.ledgered_ingests)")


def sync(con, home: Path) -> list[Path]:
    """Bring the ledger up to date with the warehouse (a run killed after a commit and
    before its ledger write) and refuse a warehouse that lost ledgered history (R19)."""
    months = {r[0] for r in con.execute("select period from billing.finalized_months").fetchall()}
    in_ledger = ledgered_months(home)
    lost = sorted(in_ledger - months)
    if lost:
        raise LedgerError(
            f"the warehouse lacks finalized month(s) {', '.join(lost[:6])} that the ledger "
            f"records; run 'support-billing rebuild' to restore them")
    written = [write_month(con, home, p) for p in sorted(months - in_ledger)]
    written += record_ingests(con, home)
    try:
        closes = con.execute("select year, revision from billing.closed_years").fetchall()
    except Exception:  # noqa: BLE001 - no refresh has run yet: the table does not exist
        closes = []
    have = {p.stem for p in (ledger_dir(home) / CLOSED_YEARS).glob("*.jsonl")}
    for year, revision in closes:
        if f"{year:04d}-r{revision}" not in have:
            written.append(write_closed_year(con, home, int(year), int(revision)))
    return written


def ledgered_months(home: Path) -> set[str]:
    folder = ledger_dir(home) / MONTHS
    return {p.stem for p in folder.glob("*.jsonl")} if folder.is_dir() else set()


# ---------------------------------------------------------------- reading back
def read_all(home: Path) -> dict[str, list]:
    """Every ledger record, checksums verified: months, closed years, ingests."""
    base = ledger_dir(home)
    out: dict[str, list] = {MONTHS: [], CLOSED_YEARS: [], INGESTS: []}
    for part in out:
        folder = base / part
        if folder.is_dir():
            for path in sorted(folder.glob("*.jsonl")):
                out[part].append((path, read_verified(path)))
    return out


def restore(con, home: Path) -> dict[str, int]:
    """Insert every ledgered month and closed year into a fresh warehouse's billing.*."""
    from support_billing.storage.warehouse import CLOSED_YEARS_DDL

    con.execute(CLOSED_YEARS_DDL)
    data = read_all(home)
    counts = {"months": 0, "closed_years": 0}
    for _path, records in data[MONTHS]:
        for kind, (table, columns) in TABLES.items():
            rows = [[r.get(c) for c in columns] for r in records if r["record"] == kind]
            if rows:
                marks = ", ".join("?" for _ in columns)
                con.executemany(f"insert into {table} ({', '.join(columns)}) values ({marks})",
                                rows)
        counts["months"] += 1
    for _path, records in data[CLOSED_YEARS]:
        rows = [[r.get(c) for c in CLOSED_YEAR_COLUMNS] for r in records]
        marks = ", ".join("?" for _ in CLOSED_YEAR_COLUMNS)
        con.executemany(f"insert into billing.closed_years values ({marks})", rows)
        counts["closed_years"] += len(rows)
    return counts
