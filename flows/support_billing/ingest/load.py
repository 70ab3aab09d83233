"""Validate a parsed export and load it: R-IN1 (rejected rows), R-IN2 (refused files),
R-IN3 (skip same bytes), R-IN4 (upsert by key, last row of a file wins), R-IN5 (held rows),
R-IN7 (a file still being written, or changed while read, is refused whole).

Everything here is set-based SQL on the whole file; a file is loaded in one transaction,
so a refused file leaves the warehouse exactly as it was.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from support_billing.ingest.discovery import (
    CHANGED,
    INCOMPLETE,
    changed_since,
    ensure_scan_columns,
    file_state,
    known_sha256,
    remember_scan,
    scan_clock,
)
from support_billing.ingest.held import adjust_log
from support_billing.ingest.kinds import Kind, ident, kinds, q
from support_billing.ingest.parse import (
    FileRefused,
    drop_source,
    fast_source,
    python_source,
    read_header,
    scan_bytes,
)
from support_billing.ingest.text_rules import display_sql
from support_billing.ingest.validation import validation_sql

MAX_DROP_MESSAGES = 20


@dataclass
class FileResult:
    path: str
    file_name: str
    kind: str | None
    status: str  # loaded | skipped | refused
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_held: int = 0
    message: str | None = None
    sha256: str = ""
    parser: str | None = None  # duckdb | python
    dropped: list[str] = field(default_factory=list)  # held rows dropped by this file

    def to_dict(self) -> dict:
        return asdict(self)


def now_utc() -> datetime:
    return datetime.now(UTC)


def new_ingest_id(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute(
        "SELECT greatest(coalesce((SELECT max(ingest_id) FROM raw.ingest_log), 0), "
        "coalesce((SELECT max(ingest_id) FROM raw.held_rows), 0), "
        "coalesce((SELECT max(ingest_id) FROM raw.rejected_rows), 0)) + 1"
    ).fetchone()
    return int(row[0])


# ---------------------------------------------------------------------------------------
# One file
# ---------------------------------------------------------------------------------------


def ingest_file(
    con: duckdb.DuckDBPyConnection, path: Path, kind: str, ingest_id: int
) -> FileResult:
    """Ingest one export file; never raises for a bad file (it is refused instead)."""
    path = Path(path)
    res = FileResult(str(path), path.name, kind, "refused")
    ensure_scan_columns(con)
    try:
        stat = file_state(path)
        # A file scanned before, unchanged (path, size, mtime, ctime, inode) and not
        # racily clean, is not read again: the inbox keeps old exports, and re-hashing them
        # on every run would cost in proportion to history, not to the new file (R-IN3).
        known = known_sha256(con, path, stat)
        if known and _skip_if_loaded(con, ingest_id, res, known):
            return res
        scanned_ns = scan_clock()
        scan = scan_bytes(path)
    except OSError as exc:
        return _refused(con, ingest_id, res, f"cannot be read: {exc.strerror or exc}")
    res.sha256 = scan.sha256
    if changed_since(path, stat):  # R-IN7: still being written
        return _refused(con, ingest_id, res, CHANGED)
    remember_scan(con, path, stat, scan.sha256, scanned_ns)
    if _skip_if_loaded(con, ingest_id, res, scan.sha256):
        return res
    try:
        _parse_and_load(con, res, scan, stat, ingest_id)
    except FileRefused as exc:
        _refused(con, ingest_id, res, str(exc))
    except duckdb.Error as exc:
        _refused(con, ingest_id, res, "could not be loaded: " + _first_line(exc))
    finally:
        _cleanup(con)
    return res


def is_known(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    """Whether ``path`` is unchanged since a scan of bytes already loaded: ``ingest_file``
    would skip it without reading it (R-IN3). A guess for grouping such files; each is
    checked again when it is skipped."""
    try:
        known = known_sha256(con, Path(path), file_state(Path(path)))
    except (OSError, duckdb.Error):  # unreadable, or a warehouse without scan times
        return False
    return bool(known) and _first_load(con, known) is not None


def skip_known_files(con: duckdb.DuckDBPyConnection, files: list[tuple[str, str]],
                     ingest_id: int) -> list[FileResult]:
    """R-IN3 for a run of files loaded before: the longest prefix of ``files`` that
    ``ingest_file`` would skip unread (same path, size, times and inode as a scan of bytes
    already loaded), each logged as skipped, in one transaction, so a retry after a failure
    logs nothing twice. The first other file ends the run; ``ingest_file`` takes it.

    One warehouse connection for the whole run instead of one per file: an inbox that keeps
    a year of monthly exports is skipped in well under a second (docs/decisions.md,
    "Scale")."""
    ensure_scan_columns(con)
    done: list[FileResult] = []
    con.begin()
    try:
        for path, kind in files:
            res = FileResult(str(path), Path(path).name, kind, "refused")
            try:
                known = known_sha256(con, Path(path), file_state(Path(path)))
            except OSError:
                break
            if not known or not _skip_if_loaded(con, ingest_id, res, known):
                break
            done.append(res)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return done


def _parse_and_load(con, res: FileResult, scan, stat, ingest_id: int) -> None:
    """Check, parse, validate and load a scanned file in one transaction (R-IN1..R-IN7);
    FileRefused when the file as a whole cannot be loaded."""
    if scan.size and not scan.ends_with_line_break:  # R-IN7: a cut last line
        raise FileRefused(INCOMPLETE)
    if scan.utf8_error:
        raise FileRefused(scan.utf8_error)
    kind = kinds()[res.kind]
    header = read_header(scan, res.kind)
    res.parser = _build_validated(con, kind, header, scan)
    con.begin()
    try:
        _load(con, kind, res, ingest_id)
        if changed_since(scan.path, stat):  # R-IN7: written to while it was parsed
            raise FileRefused(CHANGED)
        res.status = "loaded"
        _log(con, ingest_id, res)
        con.commit()
    except BaseException:
        con.rollback()
        raise


def _refused(con, ingest_id: int, res: FileResult, message: str) -> FileResult:
    """Log the file as refused whole, nothing of it counted (R-IN2, R-IN7)."""
    res.status, res.message = "refused", message
    res.rows_read = res.rows_loaded = res.rows_rejected = res.rows_held = 0
    res.dropped = []
    _log(con, ingest_id, res)
    return res


def _skip_if_loaded(con: duckdb.DuckDBPyConnection, ingest_id: int, res: FileResult,
                    sha256: str) -> bool:
    """R-IN3: bytes already loaded are skipped (logged as such)."""
    earlier = _first_load(con, sha256)
    if not earlier:
        return False
    res.sha256 = sha256
    res.status = "skipped"
    res.message = f"same bytes as {earlier[0]}, loaded by ingest {earlier[1]} (R-IN3)"
    _log(con, ingest_id, res)
    return True


def _first_load(con: duckdb.DuckDBPyConnection, sha256: str) -> tuple | None:
    """(file name, ingest id) of the first load of these bytes (R-IN3), or None."""
    return con.execute(
        "SELECT file_name, ingest_id FROM raw.ingest_log WHERE sha256 = ? AND status = 'loaded' "
        "ORDER BY ingest_id LIMIT 1",
        [sha256],
    ).fetchone()


def _log(con: duckdb.DuckDBPyConnection, ingest_id: int, res: FileResult) -> None:
    con.execute(
        "INSERT INTO raw.ingest_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [ingest_id, res.file_name, res.sha256, res.kind, res.status, res.rows_read,
         res.rows_loaded, res.rows_rejected, res.rows_held, res.message, now_utc()],
    )


def _cleanup(con: duckdb.DuckDBPyConnection) -> None:
    drop_source(con)
    for t in ("_ing_v", "_ing_drop", "_ing_rel"):
        con.execute(f"DROP TABLE IF EXISTS {t}")


def _build_validated(con, kind: Kind, header, scan) -> str:
    """Create _ing_v for the file; return the parser used (duckdb | python)."""
    n = len(header.names)
    src = fast_source(con, scan, header)
    parser = "duckdb"
    if src is None:
        src = python_source(con, scan, n)
        parser = "python"
    sql = validation_sql(kind, header.names, header.positions, src)
    con.execute(f"CREATE TEMP TABLE _ing_v AS {sql}")
    _mark_duplicates(con, kind)
    return parser


def _mark_duplicates(con, kind: Kind) -> None:
    """R-IN4: within one file the last row of a key is the candidate; earlier rows with
    the key are rejected as duplicates (unless already rejected as header/ragged rows)."""
    dups = con.execute(
        "SELECT count(*) - count(DISTINCT key) FROM _ing_v WHERE key <> '' AND NOT is_header"
    ).fetchone()[0]
    if not dups:
        return
    con.execute(
        "UPDATE _ing_v SET status = 'rejected', rcol = ?, rval = _ing_v.key, "
        f"reason = {q('duplicate ' + kind.key + ' ')} || {display_sql('_ing_v.key')} || "
        "': a later row at line ' "
        "|| c.cand_line || ' replaces it' "
        "FROM (SELECT key, max(rid) AS cand_rid, arg_max(line, rid) AS cand_line FROM _ing_v "
        "WHERE key <> '' AND NOT is_header GROUP BY key HAVING count(*) > 1) c "
        "WHERE _ing_v.key = c.key AND _ing_v.rid < c.cand_rid AND NOT _ing_v.is_header "
        "AND NOT _ing_v.ragged",
        [kind.key],
    )


def _load(con, kind: Kind, res: FileResult, ingest_id: int) -> None:
    counts = dict(con.execute("SELECT status, count(*) FROM _ing_v GROUP BY status").fetchall())
    res.rows_loaded = counts.get("ok", 0)
    res.rows_rejected = counts.get("rejected", 0)
    res.rows_held = counts.get("held", 0)
    res.rows_read = res.rows_loaded + res.rows_rejected + res.rows_held
    fname = res.file_name

    if res.rows_rejected:
        con.execute(
            "INSERT INTO raw.rejected_rows SELECT ?, ?, line, ?, nullif(key, ''), rcol, rval, "
            "reason FROM _ing_v WHERE status = 'rejected' ORDER BY rid",
            [ingest_id, fname, kind.name],
        )

    # Held rows of earlier files with a key this file loads or holds again are dropped.
    if con.execute("SELECT count(*) FROM raw.held_rows WHERE kind = ?", [kind.name]).fetchone()[0]:
        _drop_held(con, kind, res)

    cols = kind.column_names
    if res.rows_held:
        struct = ", ".join(f"{ident(c)} := {ident('t_' + c)}" for c in cols)
        con.execute(
            "INSERT INTO raw.held_rows SELECT (SELECT coalesce(max(hold_seq), 0) FROM "
            "raw.held_rows) + row_number() OVER (ORDER BY rid), "
            f"?, key, customer, ?, line, ?, to_json(struct_pack({struct}))::VARCHAR, "
            "'customer_id ' || customer || ' is not a known customer; the row is held until "
            "the customer is loaded' FROM _ing_v WHERE status = 'held' ORDER BY rid",
            [kind.name, fname, ingest_id],
        )

    if res.rows_loaded:
        target = ", ".join(ident(c) for c in cols)
        if con.execute(f"SELECT EXISTS (SELECT 1 FROM {kind.table})").fetchone()[0]:
            con.execute(
                f"DELETE FROM {kind.table} WHERE {ident(kind.key)} IN "
                "(SELECT key FROM _ing_v WHERE status = 'ok')"
            )
        con.execute(
            f"INSERT INTO {kind.table} ({target}, source_file, source_line, ingest_id) "
            f"SELECT {', '.join(ident('t_' + c) for c in cols)}, ?, line, ? "
            "FROM _ing_v WHERE status = 'ok'",
            [fname, ingest_id],
        )


def _drop_held(con, kind: Kind, res: FileResult) -> None:
    con.execute(
        "CREATE TEMP TABLE _ing_drop AS SELECT h.hold_seq, h.ingest_id, h.file_name, "
        "h.line_number, h.row_key, h.customer_id, v.line AS new_line, v.status AS new_status "
        "FROM raw.held_rows h JOIN _ing_v v ON h.row_key = v.key "
        "WHERE h.kind = ? AND v.status IN ('ok', 'held') ORDER BY h.hold_seq",
        [kind.name],
    )
    rows = con.execute(
        "SELECT ingest_id, file_name, line_number, row_key, new_line, new_status FROM _ing_drop "
        "ORDER BY hold_seq"
    ).fetchall()
    if not rows:
        con.execute("DROP TABLE _ing_drop")
        return
    key = kind.key
    fname = res.file_name
    loaded_msg = (
        f"'held row dropped: {key} ' || row_key || ' was loaded from {_sq(fname)} line ' "
        "|| new_line"
    )
    held_msg = (
        f"'held row dropped: a later row for {key} ' || row_key || ' ({_sq(fname)} line ' || "
        "new_line || ') replaces it'"
    )
    con.execute(
        "INSERT INTO raw.rejected_rows SELECT ingest_id, file_name, line_number, ?, row_key, "
        f"'customer_id', customer_id, CASE WHEN new_status = 'ok' THEN {loaded_msg} ELSE "
        f"{held_msg} END FROM _ing_drop ORDER BY hold_seq",
        [kind.name],
    )
    groups = con.execute(
        "SELECT ingest_id, file_name, count(*) FROM _ing_drop GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    for ing, f, cnt in groups:
        adjust_log(con, ing, f, cnt, "rejected")
    con.execute("DELETE FROM raw.held_rows WHERE hold_seq IN (SELECT hold_seq FROM _ing_drop)")
    con.execute("DROP TABLE _ing_drop")
    for _ing, f, line, k, new_line, new_status in rows[:MAX_DROP_MESSAGES]:
        what = "loaded" if new_status == "ok" else "held again"
        res.dropped.append(
            f"{f}:{line}: held row dropped: {key} {k} was {what} from {fname} line {new_line}"
        )
    if len(rows) > MAX_DROP_MESSAGES:
        res.dropped.append(f"... and {len(rows) - MAX_DROP_MESSAGES} more held rows dropped")


def _first_line(exc: BaseException, limit: int = 160) -> str:
    """An error's first line, shortened: it may quote part of the file (R-IN7)."""
    line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return line if len(line) <= limit else line[:limit] + "..."


def _sq(text: str) -> str:
    return text.replace("'", "''")
