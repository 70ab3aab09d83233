"""Reading export files: byte checks and CSV parsing into DuckDB (SPEC section 3).

Fast path: DuckDB's CSV reader (strict RFC 4180, every column VARCHAR, no sniffing, in
parallel) reads the whole file, header included, into a temp table; the physical line
where each row starts is the row's ordinal plus the newlines inside quoted fields of the
rows before it (counted set-based). The fast path is trusted only when its result
accounts for every physical line of the file. Anything odd (ragged rows, blank lines,
bare CR line ends, broken quoting) makes DuckDB fail or the line count disagree, and the
file is parsed again with Python's csv module, which keeps ragged rows (with their field
count) and gives exact line numbers; broken quoting there refuses the file (R-IN2).

Both paths give the same relation: rid (1.. data rows in file order), line, nf (number
of fields), c0..c{N-1} (raw values, N = header fields).
"""

from __future__ import annotations

import codecs
import csv
import errno
import hashlib
import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import duckdb

from support_billing.ingest.kinds import kinds, q

CHUNK = 16 * 1024 * 1024
MAX_FIELD = 64 * 1024 * 1024  # as DuckDB's max_line_size below: a 1 MB name still parses
csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD))


class FileRefused(Exception):
    """The whole file is refused (R-IN2); the message names the problem."""


@dataclass
class FileScan:
    path: Path
    name: str
    sha256: str
    size: int
    newlines: int  # count of b"\n"
    ends_with_newline: bool
    ends_with_line_break: bool  # LF or CR: the last line is complete (R-IN7)
    has_quote: bool
    utf8_error: str | None  # problem description, or None when valid UTF-8


@dataclass
class Header:
    names: list[str]  # normalized (trimmed, lower case), one per field
    positions: dict[str, int]  # known column -> field index
    lines: int = 1  # physical lines of the header row


# ---------------------------------------------------------------------------------------
# Bytes: sha256, UTF-8 validity, line statistics (one pass, chunked)
# ---------------------------------------------------------------------------------------


def scan_bytes(path: Path) -> FileScan:
    h = hashlib.sha256()
    dec = codecs.getincrementaldecoder("utf-8")("strict")
    size = newlines = 0
    has_quote = False
    last = b""
    utf8_ok = True
    # O_NONBLOCK: a FIFO put in place of the file cannot block the ingest (R-IN7)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file")
    with open(fd, "rb") as fh:
        while True:
            chunk = fh.read(CHUNK)
            if not chunk:
                break
            h.update(chunk)
            size += len(chunk)
            newlines += chunk.count(b"\n")
            if not has_quote and b'"' in chunk:
                has_quote = True
            last = chunk[-1:]
            if utf8_ok and not chunk.isascii():
                try:
                    dec.decode(chunk)
                except UnicodeDecodeError:
                    utf8_ok = False
            elif utf8_ok:
                try:  # flush a multi-byte sequence split at the previous chunk end
                    dec.decode(b"")
                except UnicodeDecodeError:  # pragma: no cover
                    utf8_ok = False
    if utf8_ok:
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok = False
    problem = None if utf8_ok else _utf8_problem(path)
    return FileScan(path, path.name, h.hexdigest(), size, newlines, last == b"\n",
                    last in (b"\n", b"\r"), has_quote, problem)


def _utf8_problem(path: Path) -> str:
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start:exc.start + 1].hex()
        return f"not valid UTF-8 (byte 0x{bad} at line {line}); save the export as UTF-8"
    return "not valid UTF-8"  # pragma: no cover


def physical_lines(scan: FileScan) -> int:
    if scan.size == 0:
        return 0
    return scan.newlines + (0 if scan.ends_with_newline else 1)


# ---------------------------------------------------------------------------------------
# Header
# ---------------------------------------------------------------------------------------


def read_header(scan: FileScan, kind: str) -> Header:
    """Parse the header row and check the required columns (R-IN2)."""
    if scan.size == 0:
        raise FileRefused("the file is empty (no header row)")
    with open(scan.path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, strict=True)
        try:
            row = next(reader, None)
        except csv.Error as exc:
            raise FileRefused(f"not parseable as CSV: {exc} (line 1)") from None
        header_lines = reader.line_num
    if not row or all(not v.strip() for v in row):
        raise FileRefused("the first line is not a header row")
    names = [v.strip().lower() for v in row]
    spec = kinds()[kind]
    positions: dict[str, int] = {}
    for i, n in enumerate(names):
        if n in spec.column_names:
            if n in positions:
                raise FileRefused(f"column {n} appears twice in the header")
            positions[n] = i
    missing = [c for c in spec.required_columns if c not in positions]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise FileRefused(
            f"missing required column{plural} {', '.join(missing)} ({_header_seen(names, spec)})"
        )
    return Header(names, positions, header_lines)


def _header_seen(names: list[str], spec) -> str:
    """The header as a refusal describes it: the known columns by name, the others only
    counted, so a message never echoes what a file holds (R-IN7: a system file named like
    an export must not leak its first line)."""
    known = [n for n in names if n in spec.column_names]
    others = len(names) - len(known)
    parts = [", ".join(known)] if known else []
    if others:
        parts.append(f"{others} other column{'s' if others > 1 else ''}")
    return "header: " + (", and ".join(parts) if known else parts[0])


# ---------------------------------------------------------------------------------------
# Parsing: the source relation (rid, line, nf, c0..c{N-1})
# ---------------------------------------------------------------------------------------


def fast_source(con: duckdb.DuckDBPyConnection, scan: FileScan, header: Header) -> str | None:
    """Read the file with DuckDB's CSV reader (parallel) into the temp table _ing_csv;
    return the source relation SQL, or None when the fast path cannot be trusted.

    rowid is the record's ordinal (0 = the header; insertion order is preserved). The
    line where a record starts is rowid + 1 plus the newlines inside quoted fields of the
    records before it: those few records are collected and an ASOF join adds their running
    total. The result is trusted only when records + embedded newlines = physical lines
    (DuckDB skips blank lines silently, and fails on ragged rows or broken quoting)."""
    n = len(header.names)
    cols = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n))
    fields = ", ".join(f"c{i}" for i in range(n))
    drop_source(con)
    try:
        con.execute(
            f"CREATE TEMP TABLE _ing_csv AS SELECT * FROM read_csv({q(str(scan.path))}, "
            f"columns = {{{cols}}}, header = false, auto_detect = false, delim = ',', "
            f"quote = '\"', escape = '\"', strict_mode = true, null_padding = false, "
            f"encoding = 'utf-8', max_line_size = 67108864)"
        )
    except duckdb.Error:
        drop_source(con)
        return None
    records = con.execute("SELECT count(*) FROM _ing_csv").fetchone()[0]
    embedded = 0
    if scan.has_quote:  # only a quoted field can hold a newline
        count = " + ".join(
            f"coalesce(length(c{i}) - length(replace(c{i}, chr(10), '')), 0)" for i in range(n)
        )
        any_nl = " OR ".join(f"contains(c{i}, chr(10))" for i in range(n))
        con.execute(
            f"CREATE TEMP TABLE _ing_nl AS SELECT rid, sum(nl) OVER (ORDER BY rid) AS before_next "
            f"FROM (SELECT rowid AS rid, {count} AS nl FROM _ing_csv WHERE {any_nl})"
        )
        embedded = con.execute("SELECT coalesce(max(before_next), 0) FROM _ing_nl").fetchone()[0]
    if records + embedded != physical_lines(scan):
        drop_source(con)
        return None
    if embedded == 0:
        return (
            f"SELECT rowid AS rid, rowid + 1 AS line, {n} AS nf, {fields} FROM _ing_csv "
            f"WHERE rowid > 0"
        )
    # line numbers from an ASOF join on integers only, joined back by a (parallel) hash join
    con.execute(
        "CREATE TEMP TABLE _ing_lines AS SELECT r.rid, r.rid + 1 + coalesce(e.before_next, 0) "
        "AS line FROM (SELECT rowid AS rid FROM _ing_csv) r ASOF LEFT JOIN _ing_nl e "
        "ON r.rid > e.rid"
    )
    return (
        f"SELECT r.rowid AS rid, l.line, {n} AS nf, {', '.join(f'r.c{i}' for i in range(n))} "
        f"FROM _ing_csv r JOIN _ing_lines l ON l.rid = r.rowid WHERE r.rowid > 0"
    )


def python_source(con: duckdb.DuckDBPyConnection, scan: FileScan, n: int) -> str:
    """Parse with Python's csv module (exact line numbers, ragged rows kept with their
    field count) into the temp table _ing_src; return the relation SQL."""
    import pyarrow as pa

    text = scan.path.read_bytes().decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rids: list[int] = []
    lines: list[int] = []
    nfs: list[int] = []
    cols: list[list[str | None]] = [[] for _ in range(n)]
    prev = 0
    rid = 0
    first = True
    try:
        for row in reader:
            start = prev + 1
            prev = reader.line_num
            if first:
                first = False
                continue
            if not row:  # a blank line is not a row
                continue
            rid += 1
            rids.append(rid)
            lines.append(start)
            nfs.append(len(row))
            for i in range(n):
                cols[i].append(row[i] if i < len(row) else None)
    except csv.Error as exc:
        raise FileRefused(f"not parseable as CSV: {exc} (line {reader.line_num})") from None
    table = pa.table(
        {"rid": pa.array(rids, pa.int64()), "line": pa.array(lines, pa.int64()),
         "nf": pa.array(nfs, pa.int64()),
         **{f"c{i}": pa.array(cols[i], pa.string()) for i in range(n)}}
    )
    con.execute("DROP TABLE IF EXISTS _ing_src")
    con.register("_ing_arrow", table)
    try:
        con.execute("CREATE TEMP TABLE _ing_src AS SELECT * FROM _ing_arrow")
    finally:
        con.unregister("_ing_arrow")
    return "SELECT * FROM _ing_src"


def drop_source(con: duckdb.DuckDBPyConnection) -> None:
    for table in ("_ing_src", "_ing_csv", "_ing_nl", "_ing_lines"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
