"""The ingest flow behind `support-billing ingest [PATH ...]` (SPEC section 3, R-IN1..R-IN5).

- ``ingest_flow(home, paths)``: the Prefect flow "ingest" (also usable as a subflow, e.g.
  by the billing flow). Small tasks, each taking paths and plain values and opening the
  warehouse itself.
- ``ingest_paths(home, paths)``: the same work without Prefect.
- ``cli_ingest(home, paths)``: runs the flow, prints a summary, returns the exit status
  (1 if a file was refused, else 0; rejected and held rows are not a failure).

The files of one ingest are taken in binary order of their names (R-IN4); each file is
loaded in its own transaction (R-IN2); held rows are retried at the end (R-IN5).

Choices where SPEC section 3 is silent (to be listed in docs/decisions.md):
- Only the columns whose value is required must be in the header (customers:
  customer_id, customer_name; subscriptions: subscription_id, customer_id, module,
  start_date; tickets: ticket_id, customer_id, opened_at, category; timesheets: entry_id,
  customer_id, work_date, hours, activity; prepaid_hours: all four). An optional column
  that is absent reads as blank. A known column twice in a header refuses the file.
- A 0-byte file (no header) and a file with broken quoting are refused (R-IN2); a blank
  line is not a row (not counted, not rejected); a row with too few or too many fields
  is rejected (R-IN1), trailing empty fields included.
- "Trimmed" means surrounding spaces (not tabs or newlines).
- One reason per rejected row: the first broken rule in column order (repeated header,
  ragged row, duplicate key, then each column, then end_date before start_date).
- Decimals: `1.`, `.5` are accepted, a sign is not; annual_incidents: digits only.
- A held row is dropped (kept in raw.rejected_rows with its original file and line, and
  reported) when a later file loads its key, or when a later file holds a row with the
  same key (the later one replaces it). Dropping or releasing a held row updates the
  ingest_log row of the file it came from, so rows_read = rows_loaded + rows_rejected +
  rows_held holds for every file at any time; a released row keeps its original
  source_file, source_line and ingest_id.
- A refused or skipped file is logged with 0 rows; a path that does not exist is an error
  (exit 1), files that are not exports are ignored (listed in the summary).
"""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from support_billing.ingest.discovery import discover, ensure_scan_columns, printable
from support_billing.ingest.held import ReleaseResult, release_held
from support_billing.ingest.load import (
    FileResult,
    ingest_file,
    is_known,
    new_ingest_id,
    skip_known_files,
)
from support_billing.storage.warehouse import ensure_home, open_warehouse

MAX_REJECTED_SHOWN = 10


@dataclass
class IngestSummary:
    ingest_id: int
    files: list[FileResult] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # paths that do not exist
    reported: list[str] = field(default_factory=list)  # named like exports, not read (R-IN7)
    release: ReleaseResult = field(default_factory=ReleaseResult)
    rejected_samples: list[dict] = field(default_factory=list)
    rejected_total: int = 0

    @property
    def refused(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "refused"]

    @property
    def exit_code(self) -> int:
        return 1 if self.refused or self.problems else 0

    def totals(self) -> dict[str, int]:
        return {
            k: sum(getattr(f, k) for f in self.files)
            for k in ("rows_read", "rows_loaded", "rows_rejected", "rows_held")
        }

    def to_dict(self) -> dict:
        d = asdict(self)
        d["exit_code"] = self.exit_code
        return d


# ---------------------------------------------------------------------------------------
# Warehouse connection
# ---------------------------------------------------------------------------------------


@contextmanager
def warehouse(home: Path):
    """A writable warehouse connection (TimeZone=UTC, raw tables created)."""
    with open_warehouse(Path(home)) as con:
        yield con


# ---------------------------------------------------------------------------------------
# Steps (plain functions; the tasks below wrap them)
# ---------------------------------------------------------------------------------------


def resolve_paths(home: Path, paths: list[Path] | list[str] | None) -> list[Path]:
    return [Path(p) for p in paths] if paths else [Path(home) / "inbox"]


def step_start(home: Path, files: list[tuple[str, str]]) -> tuple[int, list[bool]]:
    """A new ingest id, and for each file whether it was loaded before and is unchanged."""
    with warehouse(home) as con:
        ensure_scan_columns(con)
        return new_ingest_id(con), [is_known(con, Path(p)) for p, _ in files]


def step_file(home: Path, path: Path, kind: str, ingest_id: int) -> FileResult:
    with warehouse(home) as con:
        return ingest_file(con, Path(path), kind, ingest_id)


def step_skip(home: Path, files: list[tuple[str, str]], ingest_id: int) -> list[FileResult]:
    with warehouse(home) as con:
        return skip_known_files(con, files, ingest_id)


def each_file(files: list[tuple[str, str]], known: list[bool], skip, load) -> list[FileResult]:
    """Every file in order (R-IN4): each run of files that ``step_start`` found loaded
    before goes to ``skip(run)`` at once (it skips the longest prefix it can confirm);
    every other file goes to ``load(path, kind)`` on its own."""
    results: list[FileResult] = []
    i = 0
    while i < len(files):
        end = i
        while end < len(files) and known[end]:
            end += 1
        if end > i:
            skipped = skip(files[i:end])
            results += skipped
            i += len(skipped)
            if i == end:
                continue
        path, kind = files[i]
        results.append(load(path, kind))
        i += 1
    return results


def step_release(home: Path, ingest_id: int) -> ReleaseResult:
    with warehouse(home) as con:
        return release_held(con, ingest_id)


def step_summary(home: Path, summary: IngestSummary) -> IngestSummary:
    """Refresh file counts after the held rows were retried; collect rejected samples."""
    with warehouse(home) as con:
        rows = con.execute(
            "SELECT rows_read, rows_loaded, rows_rejected, rows_held FROM raw.ingest_log "
            "WHERE ingest_id = ? ORDER BY rowid",
            [summary.ingest_id],
        ).fetchall()
        if len(rows) == len(summary.files):
            for f, (r, lo, rj, h) in zip(summary.files, rows, strict=True):
                f.rows_read, f.rows_loaded, f.rows_rejected, f.rows_held = r, lo, rj, h
        summary.rejected_total = int(con.execute(
            "SELECT count(*) FROM raw.rejected_rows WHERE ingest_id = ?", [summary.ingest_id]
        ).fetchone()[0])
        summary.rejected_samples = [
            {"file_name": f, "line_number": ln, "reason": r}
            for f, ln, r in con.execute(
                "SELECT file_name, line_number, reason FROM raw.rejected_rows WHERE ingest_id = ? "
                "ORDER BY rowid LIMIT ?",
                [summary.ingest_id, MAX_REJECTED_SHOWN],
            ).fetchall()
        ]
    return summary


def ingest_paths(home: Path | str, paths: list[Path] | list[str] | None = None) -> IngestSummary:
    """Ingest files and folders (default HOME/inbox) without Prefect; returns the summary."""
    home = Path(home)
    ensure_home(home)
    found, ignored, problems, reported = discover(resolve_paths(home, paths))
    files = [(str(p), k) for p, k in found]
    ingest_id, known = step_start(home, files)
    summary = IngestSummary(ingest_id, ignored=ignored, problems=problems, reported=reported)
    summary.files = each_file(
        files, known, lambda run: step_skip(home, run, ingest_id),
        lambda path, kind: step_file(home, Path(path), kind, ingest_id))
    summary.release = step_release(home, summary.ingest_id)
    summary = step_summary(home, summary)
    _refresh_rejected_rows(home)
    return summary


def _refresh_rejected_rows(home: Path) -> None:
    """reports/rejected_rows.csv after every ingest (R18, rejected.py)."""
    from support_billing.reporting.rejected import write_rejected_rows

    write_rejected_rows(Path(home))


# ---------------------------------------------------------------------------------------
# Prefect
# ---------------------------------------------------------------------------------------

_TASK_OPTS = dict(cache_policy=NO_CACHE, persist_result=False, retries=0)


@task(name="discover-files", **_TASK_OPTS)
def discover_task(home: str, paths: list[str]) -> dict:
    files, ignored, problems, reported = discover(resolve_paths(Path(home), paths))
    return {"files": [(str(p), k) for p, k in files], "ignored": ignored, "problems": problems,
            "reported": reported}


@task(name="start-ingest", **_TASK_OPTS)
def start_task(home: str, files: list[tuple[str, str]]) -> tuple[int, list[bool]]:
    return step_start(Path(home), files)


# A file is loaded in one transaction that rolls back on any error (ingest_load), and a
# retry after a commit finds the same bytes loaded and skips them (R-IN3): a retry never
# loads a file twice. Retries cover a passing failure, e.g. the warehouse lock held by a
# reader for longer than warehouse.connect waits (R19; docs/decisions.md, "Retries (Prefect)").
FILE_RETRIES = dict(retries=2, retry_delay_seconds=3)


@task(name="ingest-file", task_run_name="ingest-{kind}", **{**_TASK_OPTS, **FILE_RETRIES})
def file_task(home: str, path: str, kind: str, ingest_id: int) -> FileResult:
    return step_file(Path(home), Path(path), kind, ingest_id)


# One transaction for the whole run: a retry finds nothing of a failed attempt logged.
@task(name="skip-loaded-files", task_run_name="skip-{count}-loaded-files",
      **{**_TASK_OPTS, **FILE_RETRIES})
def skip_task(home: str, files: list[tuple[str, str]], ingest_id: int,
              count: int) -> list[FileResult]:
    return step_skip(Path(home), files, ingest_id)


@task(name="release-held-rows", **_TASK_OPTS)
def release_task(home: str, ingest_id: int) -> ReleaseResult:
    return step_release(Path(home), ingest_id)


@task(name="summarize-ingest", **_TASK_OPTS)
def summary_task(home: str, summary: IngestSummary) -> IngestSummary:
    return step_summary(Path(home), summary)


@flow(name="ingest", persist_result=False, validate_parameters=False)
def ingest_flow(home: str, paths: list[str] | None = None) -> IngestSummary:
    """Load CSV exports into the warehouse (SPEC section 3, R-IN1..R-IN5)."""
    ensure_home(Path(home))
    found = discover_task(str(home), [str(p) for p in (paths or [])])
    files = [tuple(f) for f in found["files"]]
    ingest_id, known = start_task(str(home), files)
    summary = IngestSummary(ingest_id, ignored=found["ignored"],
                            problems=found["problems"], reported=found["reported"])
    summary.files = each_file(
        files, known, lambda run: skip_task(str(home), run, ingest_id, len(run)),
        lambda path, kind: file_task(str(home), path, kind, ingest_id))
    summary.release = release_task(str(home), summary.ingest_id)
    summary = summary_task(str(home), summary)
    _refresh_rejected_rows(Path(home))
    return summary


# ---------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------


def print_summary(summary: IngestSummary, out=None, err=None) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    out = out or Console()
    err_stream = err or sys.stderr
    for p in summary.problems:
        print(f"error: {printable(p)}", file=err_stream)
    for f in summary.refused:
        print(f"error: {printable(f.path)}: {f.message}", file=err_stream)
    for r in summary.reported:  # R-IN7: never read, not an error
        print(f"warning: {r}", file=err_stream)

    if not summary.files:
        out.print("Nothing to ingest" + (f" ({len(summary.ignored)} other files ignored)"
                                          if summary.ignored else "") + ".")
    else:
        table = Table(title=f"Ingest {summary.ingest_id}")
        table.add_column("file")
        table.add_column("kind")
        table.add_column("status")
        for name in ("read", "loaded", "rejected", "held"):
            table.add_column(name, justify="right")
        for f in summary.files:  # Text: a file name like "tickets[1].csv" is not markup
            table.add_row(Text(printable(f.file_name)), f.kind or "", f.status, str(f.rows_read),
                          str(f.rows_loaded), str(f.rows_rejected), str(f.rows_held))
        out.print(table)
        if summary.ignored:
            more = " ..." if len(summary.ignored) > 5 else ""
            _plain(out, f"Ignored {len(summary.ignored)} file(s) that are not exports: "
                   + ", ".join(printable(n) for n in summary.ignored[:5]) + more)
    if summary.rejected_total:
        out.print(f"Rejected rows: {summary.rejected_total} (see raw.rejected_rows); first ones:")
        for r in summary.rejected_samples:
            _plain(out, f"  {r['file_name']}:{r['line_number']}: {r['reason']}")
    dropped = [d for f in summary.files for d in f.dropped]
    if dropped:
        out.print("Held rows dropped (a later file loaded or held their key):")
        for d in dropped[:MAX_REJECTED_SHOWN]:
            _plain(out, f"  {d}")
    rel = summary.release
    if rel.released:
        out.print(f"Held rows loaded now that their customer is known: {rel.released}"
                  + (f" ({rel.released_earlier} from earlier ingests)" if rel.released_earlier
                     else ""))
    if rel.still_held:
        out.print(f"Rows still held (customer not known yet): {rel.still_held}")
        for h in rel.held_samples:
            _plain(out, f"  {h['file_name']}:{h['line_number']}: {h['reason']}")
    else:
        out.print("Rows still held: 0")


def _plain(out, text: str) -> None:
    """One line as is (no rich markup, no wrapping): file names and reasons."""
    out.print(text, markup=False, highlight=False, soft_wrap=True)


def cli_ingest(home: Path, paths: list[Path]) -> int:
    """`support-billing ingest [PATH ...]`: run the flow, print the summary, exit status.

    A failure of the run itself (a warehouse that cannot be opened or written) propagates
    to the command line, which reports it in one line; Prefect's own error records, with
    their tracebacks, stay off the terminal (they still reach the Prefect API)."""
    from support_billing.console import quiet_prefect_console
    from support_billing.fast_start import foreground_flow_runs

    quiet_prefect_console()
    with _prefect_errors_off_console(), foreground_flow_runs():
        summary = ingest_flow(str(home), [str(p) for p in paths or []])
    print_summary(summary)
    models_rc = _models_current(home)
    from support_billing.reporting.rejected import write_rejected_rows

    path, waiting = write_rejected_rows(Path(home))
    print(f"Rejected or held rows not yet resolved: {waiting} (listed in {path})")
    return max(summary.exit_code, models_rc)


def _models_current(home: Path) -> int:
    """Bring the models up to date with what was loaded (R20): usage, the analysis helpers
    and the notebooks read them right after an ingest."""
    from support_billing.storage.freshness import bring_models_current

    result = bring_models_current(home)
    if not result.success:
        detail = "; ".join(result.failures[:3]) or "see HOME/.dbt/logs"
        print(f"error: the models could not be brought up to date: {detail}", file=sys.stderr)
        return 1
    if not result.skipped:
        print("models brought up to date with the ingested rows (R20)")
    return 0


class _DropErrors(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.ERROR


@contextmanager
def _prefect_errors_off_console():
    """Keep ERROR records (a failed task's traceback) off Prefect's console handlers while
    the flow runs: the command line prints one line instead (SPEC section 6)."""
    handlers = {
        h for name in ("", "prefect")
        for h in logging.getLogger(name).handlers
        if type(h).__name__ == "PrefectConsoleHandler"
    }
    handlers |= {
        h for lg in list(logging.Logger.manager.loggerDict.values())
        if isinstance(lg, logging.Logger) and lg.name.startswith("prefect")
        for h in lg.handlers if type(h).__name__ == "PrefectConsoleHandler"
    }
    drop = _DropErrors()
    for h in handlers:
        h.addFilter(drop)
    try:
        yield
    finally:
        for h in handlers:
            h.removeFilter(drop)
