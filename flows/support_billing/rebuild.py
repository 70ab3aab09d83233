"""``support-billing rebuild``: a new warehouse from the inbox and the ledger (SPEC R19).

1. Every ledger file is checked against its sha256 before anything is touched.
2. The old warehouse (damaged, truncated or merely suspect) is kept beside the new one as
   ``warehouse.duckdb.replaced-<UTC time>``, never deleted.
3. ``billing.*`` (finalized months, invoices, lines, R12 policy snapshots, closed years) is
   restored from the ledger.
4. The ingests recorded in the ledger are replayed in their original order (R-IN4: later
   files replace earlier rows), each with the inbox files it loaded, matched by name and
   sha256. A file the ledger lists but the inbox no longer holds (or holds with other
   bytes) is named; then the rest of the inbox is ingested as one more ingest.
5. The models are built, so ``usage`` and a re-bill see the same numbers as before.

One run at a time, under the billing lock (``HOME/.bill.lock``).
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from support_billing.storage import ledger
from support_billing.storage.warehouse import ensure_home, open_warehouse, warehouse_path


@dataclass
class RebuildOutcome:
    months: int = 0
    closed_years: int = 0
    ingests: int = 0
    files: int = 0
    missing: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    replaced: Path | None = None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _move_aside(home: Path) -> Path | None:
    path = warehouse_path(home)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    moved = None
    for suffix in ("", ".wal"):
        src = Path(str(path) + suffix)
        if src.exists():
            dst = Path(f"{path}.replaced-{stamp}{suffix}")
            src.rename(dst)
            moved = moved or dst
    (Path(home) / ".dbt" / "last_build.json").unlink(missing_ok=True)
    return moved


def _inbox_files(inbox: Path) -> dict[str, list[Path]]:
    by_name: dict[str, list[Path]] = {}
    if inbox.is_dir():
        for path in sorted(inbox.rglob("*")):
            if path.is_file() and not path.is_symlink():
                by_name.setdefault(path.name, []).append(path)
    return by_name


def _batch_paths(records: list[dict], inbox: dict[str, list[Path]],
                 outcome: RebuildOutcome) -> list[Path]:
    """The inbox files that hold exactly the bytes a ledgered ingest loaded."""
    paths = []
    for rec in records:
        if rec.get("status") != "loaded":
            continue  # skipped (same bytes, R-IN3) and refused (R-IN2) files loaded nothing
        candidates = inbox.get(rec["file_name"], [])
        match = next((p for p in candidates if _sha256(p) == rec["sha256"]), None)
        if match is not None:
            paths.append(match)
        elif candidates:
            outcome.changed.append(rec["file_name"])
        else:
            outcome.missing.append(rec["file_name"])
    return paths


def rebuild(home: Path) -> RebuildOutcome:
    from support_billing.billing import finalize
    from support_billing.billing.flow import billing_lock
    from support_billing.ingest.flow import ingest_paths
    from support_billing.storage import dbt_runner

    home = ensure_home(Path(home))
    outcome = RebuildOutcome()
    with billing_lock(home):
        data = ledger.read_all(home)  # checksums first: a bad ledger changes nothing
        outcome.replaced = _move_aside(home)
        with open_warehouse(home) as con:
            counts = ledger.restore(con, home)
        outcome.months, outcome.closed_years = counts["months"], counts["closed_years"]
        inbox = _inbox_files(home / "inbox")
        for _path, records in data[ledger.INGESTS]:
            paths = _batch_paths(records, inbox, outcome)
            if paths:
                ingest_paths(home, paths)
                outcome.ingests += 1
                outcome.files += len(paths)
        with open_warehouse(home) as con:
            ledger.mark_ingests_ledgered(con)
        ingest_paths(home, [home / "inbox"])  # what was never ledgered: a plain ingest
        with open_warehouse(home) as con:
            ledger.record_ingests(con, home)
            done = finalize.finalized_periods(con)
        result = dbt_runner.build(home, done[-1] if done else None)
        if not result.success:
            raise RuntimeError("rebuild: dbt build failed: "
                               + ("; ".join(result.failures[:3]) or "see HOME/.dbt/logs"))
    return outcome


def cli_rebuild(home: Path) -> int:
    """``support-billing rebuild``: 0 when complete, 1 when inbox files are missing."""
    outcome = rebuild(Path(home))
    if outcome.replaced:
        print(f"the previous warehouse was kept as {outcome.replaced}")
    print(f"rebuilt {warehouse_path(Path(home))}: {outcome.months} finalized month(s) and "
          f"{outcome.closed_years} closed year(s) restored from the ledger; "
          f"{outcome.ingests} ingest(s) of {outcome.files} file(s) replayed in their order")
    if outcome.changed:  # rewritten in place: its later bytes were replayed where ingested
        print(f"warning: the inbox holds other bytes than an earlier ingest of: "
              f"{', '.join(sorted(set(outcome.changed)))}; rows only that version had are "
              "not restored", file=sys.stderr)
    if outcome.missing:
        print(f"error: rebuild incomplete: the ingest log lists {len(outcome.missing)} file(s) "
              f"missing from the inbox: {', '.join(outcome.missing)}; put them back in the "
              "inbox and run rebuild again", file=sys.stderr)
        return 1
    return 0
