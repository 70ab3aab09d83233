"""Reading export files: discovery, byte checks and CSV parsing into DuckDB (SPEC section 3).

Fast path: DuckDB's CSV reader (strict RFC 4180, every column VARCHAR, no sniffing) reads
the whole file, header included; the physical line where each row starts is the row's
ordinal plus the embedded newlines of the rows before it (counted set-based). The fast
path is trusted only when its result accounts for every physical line of the file.
Anything odd (ragged rows, blank lines, bare CR line ends, a stray quote) makes DuckDB
fail or the line count disagree, and the file is parsed again with Python's csv module,
which reports ragged rows and exact line numbers.

Both paths produce the same relation ``_ing_src``: rid (1.. data rows in file order),
line, nf (number of fields), c0..c{N-1} (raw values, N = header fields).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import duckdb

from .ingest_kinds import kind_of, kinds, q

CHUNK = 16 * 1024 * 1024


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
    has_quote: bool
    utf8_error: str | None  # problem description, or None when valid UTF-8


@dataclass
class Header:
    names: list[str]  # normalized (trimmed, lower case), one per field
    positions: dict[str, int]  # known column -> field index
    lines: int = 1  # physical lines of the header row


# ---------------------------------------------------------------------------------------
# Discovery (R-IN4 order)
# ---------------------------------------------------------------------------------------


def discover(paths: list[Path]) -> tuple[list[tuple[Path, str]], list[str], list[str]]:
    """Files to ingest as (path, kind), in binary order of file names (stable for equal
    names, in the order of the paths given); plus ignored file names and problems."""
    found: list[Path] = []
    ignored: list[str] = []
    problems: list[str] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            entries = sorted((e for e in p.iterdir() if e.is_file()), key=_name_key)
            found.extend(entries)
        elif p.is_file():
            found.append(p)
        else:
            problems.append(f"{p}: no such file or folder")
    out: list[tuple[Path, str]] = []
    for f in sorted(found, key=_name_key):  # stable: equal names keep the paths' order
        kind = kind_of(f.name)
        if kind is None:
            ignored.append(f.name)
        else:
            out.append((f, kind))
    return out, ignored, problems


def _name_key(p: Path) -> bytes:
    return p.name.encode("utf-8", "surrogateescape")


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
    with open(path, "rb") as fh:
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
                    has_quote, problem)


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
            f"missing required column{plural} {', '.join(missing)} "
            f"(header: {', '.join(v.strip() for v in row)})"
        )
    return Header(names, positions, header_lines)


# ---------------------------------------------------------------------------------------
# Parsing: the source relation (rid, line, line_end, nf, c0..c{N-1})
# ---------------------------------------------------------------------------------------


def fast_source_sql(scan: FileScan, n: int) -> str:
    """DuckDB's reader as a relation, streamed (not materialized). rid 1.. = data rows,
    line = physical line where the row starts, line_end = where it ends. Fails at run time
    (duckdb.Error) on ragged rows or broken quoting; its line numbers are then checked by
    ``fast_lines_ok`` (blank lines are skipped silently by DuckDB)."""
    cols = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n))
    fields = ", ".join(f"c{i}" for i in range(n))
    reader = (
        f"read_csv({q(str(scan.path))}, columns = {{{cols}}}, header = false, "
        f"auto_detect = false, delim = ',', quote = '\"', escape = '\"', strict_mode = true, "
        f"null_padding = false, encoding = 'utf-8', max_line_size = 67108864)"
    )
    if not scan.has_quote:  # no quoted fields, so no newline inside a field
        return (
            f"SELECT rid - 1 AS rid, rid AS line, rid AS line_end, {n} AS nf, {fields} FROM "
            f"(SELECT row_number() OVER () AS rid, * FROM {reader}) WHERE rid > 1"
        )
    count = " + ".join(
        f"coalesce(length(c{i}) - length(replace(c{i}, chr(10), '')), 0)" for i in range(n)
    )
    any_nl = " OR ".join(f"contains(c{i}, chr(10))" for i in range(n))
    return (
        f"SELECT rid - 1 AS rid, line, line + nl AS line_end, {n} AS nf, {fields} FROM ("
        f"SELECT rid, nl, rid + sum(nl) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) "
        f"- nl AS line, {fields} FROM (SELECT row_number() OVER () AS rid, "
        f"CASE WHEN {any_nl} THEN {count} ELSE 0 END AS nl, * FROM {reader})) WHERE rid > 1"
    )


def fast_lines_ok(scan: FileScan, header: Header, rows: int, last_line_end: int | None) -> bool:
    """The fast path accounted for every physical line (no blank line skipped, no bare CR
    line ends): the last row ends on the file's last line."""
    end = last_line_end if rows else header.lines
    return end == physical_lines(scan)


def python_source(con: duckdb.DuckDBPyConnection, scan: FileScan, n: int) -> str:
    """Parse with Python's csv module (exact line numbers, ragged rows kept with their
    field count) into the temp table _ing_src; return the relation SQL."""
    import pyarrow as pa

    text = scan.path.read_bytes().decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rids: list[int] = []
    lines: list[int] = []
    ends: list[int] = []
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
            ends.append(prev)
            nfs.append(len(row))
            for i in range(n):
                cols[i].append(row[i] if i < len(row) else None)
    except csv.Error as exc:
        raise FileRefused(f"not parseable as CSV: {exc} (line {reader.line_num})") from None
    table = pa.table(
        {"rid": pa.array(rids, pa.int64()), "line": pa.array(lines, pa.int64()),
         "line_end": pa.array(ends, pa.int64()), "nf": pa.array(nfs, pa.int64()),
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
    con.execute("DROP TABLE IF EXISTS _ing_src")
