"""The year refresh's report files (R8, R11, section 6): rendered, written only when their
bytes change (temporary file + rename), and compared with an earlier revision in words."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import tempfile
from pathlib import Path


def render_csv(columns: list[str], rows: list[dict]) -> bytes:
    """UTF-8, no BOM, header row, '\\n' line ends, minimal RFC 4180 quoting."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row[c] for c in columns])
    return buf.getvalue().encode("utf-8")


def parse_csv(data: str) -> dict[str, dict[str, str]]:
    return {row["customer_id"]: row for row in csv.DictReader(io.StringIO(data))}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` atomically (temp file in the same folder + rename) unless the file
    already holds exactly these bytes. Returns True when the file was written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_bytes() == data:
        return False
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True


def describe_changes(old_csv: str, new_csv: str, what: str) -> list[str]:
    """Per customer, what changed between two versions of a report."""
    old, new = parse_csv(old_csv), parse_csv(new_csv)
    out = []
    for cid in sorted(set(old) | set(new)):
        before, after = old.get(cid), new.get(cid)
        if before == after:
            continue
        if before is None:
            fields = ", ".join(
                f"{k} {v}" for k, v in after.items() if k not in ("customer_id", "customer_name")
            )
            out.append(f"{what}: {cid} added ({fields})")
        elif after is None:
            out.append(f"{what}: {cid} removed")
        else:
            fields = ", ".join(
                f"{k} {before.get(k)} -> {after.get(k)}"
                for k in after
                if before.get(k) != after.get(k)
            )
            out.append(f"{what}: {cid} {fields}")
    return out


# --------------------------------------------------------------------------------------
# The flow
