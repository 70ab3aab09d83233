"""Which files an ingest reads, and when a file's bytes can be trusted (SPEC R-IN3, R-IN7).

- Discovery (R-IN4 order): the files of a folder, and the files named on the command
  line, in binary order of their names. An entry named like an export that is a
  directory, a FIFO, a socket or a device, a symbolic link that leads out of the folder
  being ingested (for a file named on the command line: out of its own folder), a
  dangling link or a link loop is reported (one line each) and never opened or followed
  (R-IN7). A link that stays inside the folder is read like the file it names.
- Still being written (R-IN7): a file whose last line has no line ending is refused
  whole (nothing of it loads) until the export is finished; a file whose size, times or
  inode change while it is read is refused the same way.
- Racily clean (R-IN3 shortcut, R-IN7): ``raw.file_scans`` remembers a scanned file's
  path, size, mtime, ctime, inode and sha256 with the time of the scan. A file is trusted
  to hold the remembered bytes only when it matches and its mtime and ctime are at least
  ``RACY_MARGIN_NS`` older than that scan (as git compares a file's times with its index's
  own): a file changed in the same clock tick as the scan, or rewritten in place with its
  old size and mtime (its ctime moves), is hashed again. The margin covers coarse file
  system clocks (ext4 ticks, FAT's 2 s) and a small skew between the kernel's clock and
  ``time.time_ns()``.
"""

from __future__ import annotations

import errno
import os
import stat as st
import time
from pathlib import Path

import duckdb

from support_billing.ingest.kinds import kind_of

RACY_MARGIN_NS = 3_000_000_000

_NOT_REGULAR = (
    (st.S_ISDIR, "is a folder, not an export file"),
    (st.S_ISFIFO, "is a FIFO (named pipe), not a regular file"),
    (st.S_ISSOCK, "is a socket, not a regular file"),
    (st.S_ISCHR, "is a character device, not a regular file"),
    (st.S_ISBLK, "is a block device, not a regular file"),
)


# ---------------------------------------------------------------------------------------
# Discovery
# ---------------------------------------------------------------------------------------


def discover(
    paths: list[Path],
) -> tuple[list[tuple[Path, str]], list[str], list[str], list[str]]:
    """Files to ingest as (path, kind), in binary order of file names (stable for equal
    names, in the order of the paths given); plus ignored file names, problems (a path
    that does not exist) and reported entries (named like an export, never read, R-IN7)."""
    found: list[Path] = []
    ignored: list[str] = []
    problems: list[str] = []
    reported: list[str] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():  # the folder itself may be a link (an inbox on a shared drive)
            root = Path(os.path.realpath(p))
            for entry in sorted(os.scandir(p), key=lambda e: _name_key(Path(e.name))):
                _sort_entry(Path(entry.path), root, found, ignored, reported, listed=True)
        elif os.path.lexists(p):
            _sort_entry(p, Path(os.path.realpath(p.parent)), found, ignored, reported,
                        listed=False)
        else:
            problems.append(f"{p}: no such file or folder")
    out: list[tuple[Path, str]] = []
    for f in sorted(found, key=_name_key):  # stable: equal names keep the paths' order
        out.append((f, kind_of(f.name)))
    return out, ignored, problems, reported


def _sort_entry(path: Path, root: Path, found: list[Path], ignored: list[str],
                reported: list[str], listed: bool) -> None:
    if kind_of(path.name) is None:
        if not listed or path.is_file():  # sub-folders of the inbox are not worth a line
            ignored.append(path.name)
        return
    why = unreadable_reason(path, root)
    if why:
        reported.append(f"{printable(str(path))}: {why}; not read")
    else:
        found.append(path)


def unreadable_reason(path: Path, root: Path) -> str | None:
    """Why an entry named like an export must not be read (R-IN7), or None. Never opens
    the entry, so a FIFO cannot block the ingest."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        return f"cannot be examined ({exc.strerror or exc})"
    if st.S_ISLNK(info.st_mode):
        try:
            info = os.stat(path)
        except FileNotFoundError:
            return "is a symbolic link to nothing (dangling)"
        except OSError as exc:
            return f"is a symbolic link that cannot be followed ({exc.strerror or exc})"
        if not _inside(Path(os.path.realpath(path)), root):
            return "is a symbolic link that leads out of the inbox"
    for test, why in _NOT_REGULAR:
        if test(info.st_mode):
            return why
    if not st.S_ISREG(info.st_mode):  # pragma: no cover - no other kind on Linux
        return "is not a regular file"
    return None


def printable(text: str) -> str:
    """A file name as one line of a report: control characters as control pictures."""
    return "".join(
        chr(0x2400 + ord(c)) if ord(c) < 32 else "\u2421" if ord(c) == 127 else c
        for c in text
    )


def _inside(target: Path, root: Path) -> bool:
    return target == root or root in target.parents


def _name_key(p: Path) -> bytes:
    return p.name.encode("utf-8", "surrogateescape")


# ---------------------------------------------------------------------------------------
# File state
# ---------------------------------------------------------------------------------------


def file_state(path: Path) -> os.stat_result:
    """The state of a file about to be read; OSError when it is not a regular file."""
    info = os.stat(path)
    if not st.S_ISREG(info.st_mode):
        raise OSError(errno.EINVAL, "not a regular file")
    return info


def changed_since(path: Path, before: os.stat_result) -> bool:
    """True when the file's size, mtime, ctime or inode moved since ``before`` (it was
    written to while it was being read)."""
    try:
        now = os.stat(path)
    except OSError:
        return True
    return _signature(now) != _signature(before)


def _signature(info: os.stat_result) -> tuple[int, int, int, int]:
    return info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino


INCOMPLETE = (
    "the last line has no line ending, so the export may still be being written; nothing "
    "of the file was loaded. Ingest it again once the export is finished (a complete "
    "export ends with a line break) (R-IN7)"
)
CHANGED = (
    "the file changed while it was being read (still being written?); nothing of it was "
    "loaded. Ingest it again once the export is finished (R-IN7)"
)


# ---------------------------------------------------------------------------------------
# raw.file_scans: the R-IN3 shortcut, racily-clean aware
# ---------------------------------------------------------------------------------------


def ensure_scan_columns(con: duckdb.DuckDBPyConnection) -> None:
    """ctime_ns and scanned_ns of raw.file_scans (a warehouse made before R-IN7 gets them;
    its old rows, without a scan time, are hashed once more)."""
    have = {r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'raw' "
        "AND table_name = 'file_scans'"
    ).fetchall()}
    for column in ("ctime_ns", "scanned_ns"):
        if column not in have:  # no catalog write on the usual, up-to-date warehouse
            con.execute(f"ALTER TABLE raw.file_scans ADD COLUMN {column} BIGINT")


def scan_clock() -> int:
    """The time of a scan, taken before the file's bytes are read."""
    return time.time_ns()


def known_sha256(con: duckdb.DuckDBPyConnection, path: Path, info: os.stat_result) -> str | None:
    """The remembered sha256 of a file that cannot have changed since it was scanned."""
    row = con.execute(
        "SELECT sha256 FROM raw.file_scans WHERE path = ? AND size = ? AND mtime_ns = ? "
        "AND ctime_ns = ? AND inode = ? AND scanned_ns IS NOT NULL "
        "AND greatest(mtime_ns, ctime_ns) < scanned_ns - ?",
        [_key(path), info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino,
         RACY_MARGIN_NS],
    ).fetchone()
    return row[0] if row else None


def remember_scan(con: duckdb.DuckDBPyConnection, path: Path, info: os.stat_result,
                  sha256: str, scanned_ns: int) -> None:
    con.execute(
        "INSERT OR REPLACE INTO raw.file_scans (path, size, mtime_ns, inode, sha256, ctime_ns, "
        "scanned_ns) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [_key(path), info.st_size, info.st_mtime_ns, info.st_ino, sha256, info.st_ctime_ns,
         scanned_ns],
    )


def _key(path: Path) -> str:
    return str(Path(path).resolve())
