"""The monthly billing flow, ``support-billing bill`` (SPEC section 6, R14-R16).

Write, audit, publish:
1. ingest the inbox (the ingest flow, as a subflow),
2. build the dbt models for the period (``dbt_runner.build``),
3. gate the month's invoices and lines with Great Expectations (``gate.py``),
4. write ``exports/YYYY-MM/`` into ``exports/.tmp-YYYY-MM-<pid>`` and rename it into
   place (a reader never sees a partial folder),
5. finalize the month in ``billing.*`` in one transaction (R15, ``finalize.py``).

``--preview`` (R16) runs the same computation and checks into ``exports/_preview/YYYY-MM``
and ``reports/_preview/``, finalizes nothing and may run for a month still running.
One run at a time: ``HOME/.bill.lock`` (fcntl.flock, non-blocking).
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import sys
import time
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed

from . import console, dbt_runner, drafts, exporters, finalize, ledger, orchestration, periods
from .billing_data import (
    month_fingerprint,
    month_stats,
    quality_findings,
)
from .console import quiet_prefect_console
from .gate import preload as preload_great_expectations
from .warehouse import WarehouseError, connect, ensure_home, init_warehouse, open_warehouse

LOCK_FILE = ".bill.lock"
PREVIEW_DIR = "_preview"


class BillingStop(RuntimeError):
    """An expected stop (refusal, failed gate, ...): one line for stderr, exit 1."""


# ---------------------------------------------------------------- small helpers
def _log():
    try:
        return get_run_logger()
    except Exception:  # outside a flow run (unit tests calling .fn())
        return logging.getLogger("support_billing.billing")


def say(message: str) -> None:
    """Progress for the person running ``bill`` (stdout) and the Prefect run log."""
    print(message, flush=True)
    try:
        _log().info(message)
    except Exception:
        pass


@contextmanager
def billing_lock(home: Path):
    """Exclusive, non-blocking lock on ``HOME/.bill.lock``: two runs never both publish."""
    path = Path(home) / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BillingStop(
                f"another billing run is in progress (lock {path} is held); try again later"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        yield path
    finally:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        finally:
            fh.close()


def export_dir(home: Path, period: str, preview: bool) -> Path:
    base = Path(home) / "exports"
    return base / PREVIEW_DIR / period if preview else base / period


def reports_dir(home: Path, preview: bool) -> Path:
    base = Path(home) / "reports"
    return base / PREVIEW_DIR if preview else base


def clean_stale(parent: Path, period: str | None = None) -> list[Path]:
    """Remove temporary folders left by a crashed run (we hold the lock: none is live)."""
    removed = []
    if not parent.is_dir():
        return removed
    for child in sorted(parent.iterdir()):
        if child.name.startswith((".tmp-", ".old-")) and (
            period is None or child.name.startswith((f".tmp-{period}-", f".old-{period}-"))
        ):
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child)
    return removed


# ---------------------------------------------------------------- tasks
def run_ingest(home: str) -> dict:
    """Ingest HOME/inbox through the ingest flow, as a subflow (R-IN1..R-IN5). A refused
    file (R-IN2) is reported and billing goes on with what is loaded."""
    from .ingest import ingest_flow

    summary = ingest_flow(home=str(home), paths=[str(Path(home) / "inbox")])
    out: dict = {"skipped": False, "via": "ingest_flow"}
    if hasattr(summary, "files"):
        totals = summary.totals() if hasattr(summary, "totals") else {}
        files = [f for f in summary.files if getattr(f, "status", "") != "skipped"]
        say(f"    {len(files)} new file(s): {totals.get('rows_loaded', 0)} rows loaded, "
            f"{totals.get('rows_rejected', 0)} rejected, {totals.get('rows_held', 0)} held")
        for problem in getattr(summary, "problems", []):
            print(f"warning: ingest: {problem}", file=sys.stderr, flush=True)
        for f in getattr(summary, "refused", []):
            print(f"warning: ingest refused {f.path}: {f.message}", file=sys.stderr, flush=True)
        for entry in getattr(summary, "reported", []):  # links, folders, FIFOs (R-IN7)
            print(f"warning: ingest: {entry}", file=sys.stderr, flush=True)
        out["exit_code"] = getattr(summary, "exit_code", 0)
    return out


@task(name="dbt-build", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=3)
def build_task(home: str, period: str) -> dict:
    """dbt build (seeds, models, tests) with the period var.

    Retried on an exception (a lock, a crashed dbt process): a build only rewrites models
    from the raw tables, so running it again is safe. A build that ran and failed (a
    failing dbt test) returns its error and is not retried: the same data fails again.

    dbt-duckdb fails at once when another process holds the file (a notebook, an ingest);
    opening it first through ``warehouse.connect`` waits up to 30 s for that lock."""
    connect(Path(home)).close()
    result = dbt_runner.build(Path(home), period)
    if not result.success:
        detail = "; ".join(result.failures[:3]) or "see HOME/.dbt/logs"
        return {"error": f"dbt build failed for {period}: {detail}"}
    if result.skipped:
        say("    nothing changed since the last build: the models are current")
    elif result.selected:
        say("    rebuilt only what changed: " + " ".join(result.selected))
    return {}


@task(name="quality-gate", cache_policy=NO_CACHE)
def gate_task(home: str, period: str, preview: bool) -> dict:
    """Run the GX suites; save reports/quality_YYYY-MM.{json,md} (with the non-gate
    findings); return the result and the fingerprint of the data it validated.

    One read-only connection (no writer can change the month meanwhile) serves the frames
    (``gate_sql.py``) and, on a cursor in a second thread while GX validates (DuckDB
    releases the GIL), the fingerprint and the findings."""
    from concurrent.futures import ThreadPoolExecutor

    from .freshness import data_time, data_time_text
    from .gate import run_gate_on, write_reports

    def fingerprint_and_findings(cur):
        with cur:
            return month_fingerprint(cur, period), quality_findings(cur, period)

    with connect(Path(home), read_only=True) as con, ThreadPoolExecutor(1) as pool:
        side = pool.submit(fingerprint_and_findings, con.cursor())
        store = {"home": home, "preview": preview, "data_time": data_time(con)}  # GX docs
        result = run_gate_on(con, period, statements=True, store=store)
        fingerprint, findings = side.result()
        data_as_of = data_time_text(con)
    report = dict(result.report)
    report["findings"] = findings
    report["data_time"] = data_as_of  # R20: the time of the data the report shows
    json_path, md_path = write_reports(report, reports_dir(Path(home), preview), period)
    return {
        "success": result.success,
        "failed_checks": result.failed_checks,
        "summary": result.summary(),
        "report_json": str(json_path),
        "report_md": str(md_path),
        "fingerprint": fingerprint,
        "hourly_work_without_hours": len(findings.get("hourly_work_without_hours", [])),
        "held_rows": len(findings.get("held_rows", [])),
    }


@task(name="export", cache_policy=NO_CACHE)
def export_task(home: str, period: str, preview: bool, gate: dict) -> dict:
    """Write the export into a temporary folder beside the target and rename it into place.

    The files are rendered in the warehouse (``exporters.write_export_from``, SQL in
    ``export_sql.py``) through the read-only connection that compared the month's
    fingerprint with the gate's: what is exported is what the gate validated, and no
    writer can change it while the connection is open (R14).

    Returns the manifest and whether the target was newly published. A month folder that is
    already published is never replaced (R15a): the run start records such a folder as it
    stands (``finalize.adopt_published``), so here it can only be a folder published meanwhile."""
    home_p = Path(home)
    target = export_dir(home_p, period, preview)
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    clean_stale(parent)
    with connect(home_p, read_only=True) as con:
        if month_fingerprint(con, period) != gate["fingerprint"]:
            return {"error": f"the warehouse changed between the quality gate and the export "
                             f"of {period}; nothing exported, run bill again"}
        tmp = parent / f".tmp-{period}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            manifest = exporters.write_export_from(
                con, tmp, period, gate["summary"], exporters.ExportConfig.from_home(home_p),
                statements=True)
            _fsync_dir(tmp)
            status = "published"
            if preview and target.exists():  # a preview is replaced: old aside, new in
                old = parent / f".old-{period}-{os.getpid()}"
                os.rename(target, old)
                os.rename(tmp, target)
                shutil.rmtree(old, ignore_errors=True)
                status = "replaced"
            elif target.exists():
                # R15a: a published month is final as it stands; it is never replaced
                shutil.rmtree(tmp, ignore_errors=True)
                status = "already published"
            else:
                os.rename(tmp, target)
            _fsync_dir(parent)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        prepaid = exporters.write_prepaid_report_from(
            con, reports_dir(home_p, preview) / f"prepaid_{period}.csv", period)
        stats = month_stats(con, period)
    return {
        "status": status,
        "folder": str(target),
        "manifest_sha256": exporters.sha256_file(target / exporters.MANIFEST),
        "document_count": manifest["document_count"],
        "grand_total": manifest["grand_total"],
        "prepaid_report": str(prepaid),
        "stats": stats,
        "notes": manifest.get("notes", []),
    }


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@task(name="finalize", cache_policy=NO_CACHE)
def finalize_task(home: str, period: str, manifest_sha256: str, document_count: int,
                  grand_total: str) -> dict:
    """Record the published folder as the month's final state in billing.* in one
    transaction (R15, R15a), then in the ledger (R19). ``manifest_sha256``,
    ``document_count`` and ``grand_total`` are what this run published: a folder with
    other content is refused."""
    folder = export_dir(Path(home), period, False)
    if exporters.sha256_file(folder / exporters.MANIFEST) != manifest_sha256:
        return {"error": f"{folder} is not the folder this run published; nothing finalized"}
    res = finalize.record_published(Path(home), period, folder)
    if res.invoice_count != document_count or exporters.money(res.grand_total) != grand_total:
        return {"error": f"{period} was finalized with {res.invoice_count} documents "
                         f"totalling {res.grand_total}, not {document_count} / {grand_total}"}
    dbt_runner.note_finalized(Path(home), period)  # the build of this month stays current
    return {"already": res.already, "invoice_count": res.invoice_count}


# ---------------------------------------------------------------- the flow
@contextmanager
def _stage(name: str, timings: dict):
    start = time.perf_counter()
    say(f"  {name} ...")
    try:
        yield
    finally:
        timings[name] = round(time.perf_counter() - start, 1)
        say(f"  {name} done in {timings[name]:.1f} s")


def _refuse_unfinished(period: str, preview: bool) -> None:
    if not preview and not periods.has_ended(period):
        raise BillingStop(
            f"{period} has not ended yet (America/Denver); bill it from the 1st of the next "
            "month, or use --preview")


def _report_differences(con, period: str) -> list[dict]:
    diffs = finalize.carried_differences(con, period)
    if not diffs:
        say(f"  {period} is finalized; the recomputation matches it, nothing to carry forward")
    else:
        total = sum((d.amount for d in diffs), Decimal("0"))
        say(f"  {period} is finalized; {len(diffs)} difference(s) totalling "
            f"{exporters.money(total)} would be carried forward as prior_period_adjustment "
            "lines (R15):")
        for d in diffs:
            say(f"    {d.customer_id} {d.line_type}: finalized {exporters.money(d.finalized)}, "
                f"recomputed {exporters.money(d.recomputed)}, difference "
                f"{exporters.money(d.amount)}")
    return [{"customer_id": d.customer_id, "line_type": d.line_type,
             "difference": exporters.money(d.amount)} for d in diffs]


@flow(name="monthly-billing", log_prints=False)
def monthly_billing(home: str | None = None, period: str | None = None,
                    preview: bool = False, yes: bool = False, approve: bool = False):
    """Bill one month: ingest, build, gate, export, finalize (R14-R16, section 6).

    ``approve`` (R17): finalize only if the month equals its latest draft (drafts.py);
    ``yes``: bill a month before the last finalized one."""
    from .warehouse import resolve_home

    home_p = ensure_home(resolve_home(home))
    try:
        period = periods.parse_period(period) if period else periods.previous_period()
        return _bill(str(home_p), period, preview, yes, approve)
    except (BillingStop, finalize.OrderError, finalize.PublishedFolderError,
            periods.PeriodError, ledger.LedgerError, WarehouseError, drafts.DraftError) as exc:
        return Failed(message=console.first_line(exc))
    except Exception as exc:  # one clear line; the traceback goes to HOME/logs (section 6)
        # and, at ERROR, to the Prefect run log (the console handler shows CRITICAL only
        # unless --debug, so the terminal keeps its one line; issue 14 item 5)
        try:
            _log().error("billing %s failed: %s: %s", period, type(exc).__name__, exc,
                         exc_info=exc)
        except Exception:  # noqa: BLE001 - logging must not replace the failure itself
            pass
        return Failed(message=console.failure_line(
            home_p, "bill", exc, prefix=f"billing {period} failed: {type(exc).__name__}: "))


def _bill(home: str, period: str, preview: bool, yes: bool = False,
          approve: bool = False) -> dict:
    _refuse_unfinished(period, preview)
    timings: dict[str, float] = {}
    mode = "preview of " if preview else ("approval of " if approve else "")
    with billing_lock(Path(home)):
        with open_warehouse(Path(home)) as con:
            init_warehouse(con)
            ledger.sync(con, Path(home))
        if not preview:
            for adopted in finalize.adopt_published(Path(home)):
                say(f"  {adopted} was published by an earlier run that stopped before recording "
                    "it; recorded as published (R15a: published is final)")
        with open_warehouse(Path(home)) as con:
            already = finalize.is_finalized(con, period)
            if not preview and not already:
                finalize.check_order(con, period)
                later = drafts.later_finalized(con, period)
                if later and not yes:
                    raise BillingStop(drafts.late_month_message(period, later))
        say(f"support-billing bill: {mode}{period} (home {home})")
        with _stage("ingest", timings):
            run_ingest(home)
        preload_great_expectations()  # its ~2 s import overlaps the build, not the gate
        with _stage("build", timings):
            _check(build_task(home, period))

        if already and not preview:
            with connect(Path(home), read_only=True) as con:
                diffs = _report_differences(con, period)
            folder = export_dir(Path(home), period, False)
            if not folder.is_dir():
                say(f"  warning: {folder} is missing; the finalized documents are in "
                    "billing.finalized_invoices / billing.finalized_invoice_lines")
            say(f"{period} was already finalized: nothing changed. Files: {folder}")
            return {"period": period, "status": "already finalized", "differences": diffs,
                    "timings": timings}

        with _stage("gate", timings):
            gate = gate_task(home, period, preview or approve)
        if not gate["success"]:
            raise BillingStop(
                f"quality gate failed for {period}: {'; '.join(gate['failed_checks'])} "
                f"(report: {gate['report_md']}); nothing exported")
        if approve:  # R17: publish only what the latest draft showed
            gate = drafts.approve_or_redraft(home, period, gate)
        with _stage("export", timings):
            exported = _check(export_task(home, period, preview, gate))
        finalized = None
        if preview:
            say("  finalize skipped (preview: nothing finalized, no invoice numbers consumed)")
        else:
            with _stage("finalize", timings):
                finalized = _check(finalize_task(
                    home, period, exported["manifest_sha256"], exported["document_count"],
                    exported["grand_total"]))
        with _stage("review page", timings):
            exported.update(drafts.after_export(Path(home), period, preview, gate))
        _summary(period, preview, exported, gate, finalized)
        return {"period": period, "preview": preview, "status": exported["status"],
                "folder": exported["folder"], "stats": exported["stats"],
                "timings": timings, "gate": gate["summary"],
                "review_page": exported["review_page"], "draft": exported.get("draft")}


def _check(result: dict) -> dict:
    if result.get("error"):
        raise BillingStop(result["error"])
    return result


def _summary(period: str, preview: bool, exported: dict, gate: dict, finalized) -> None:
    s = exported["stats"]
    if preview:
        head = f"preview of {period} written (nothing finalized, no numbers consumed)"
    elif exported["status"] == "already published":
        head = f"{period} was published meanwhile; recorded as published (R15a)"
    else:
        head = f"{period} published and finalized"
    say(head)
    say(f"  invoices: {s['invoices']}   credit notes: {s['credit_notes']}   "
        f"total billed: {s['total_billed']} USD")
    say(f"  overage incidents this month: {s['overage_incidents']}   "
        f"hours billed: {s['hours_billed']}")
    say(f"  rejected rows waiting: {s['rejected_rows_waiting']}   rows held: {s['rows_held']}   "
        f"(listed in {exported['rejected_rows']})   "
        f"hourly_work tickets without hours: {gate['hourly_work_without_hours']}")
    say(f"  files: {exported['folder']}")
    for note in exported.get("notes", []):  # what the accounting import cannot do (sec. 8)
        say(f"  note: {note}")
    say(f"  reports: {gate['report_md']}, {exported['prepaid_report']}")
    say(f"  review page: {exported['review_page']}"
        + (f"   draft: {exported['draft']}" if exported.get("draft") else ""))


# ---------------------------------------------------------------- command line
def cli_bill(home: Path, period: str | None, preview: bool, yes: bool = False,
             approve: bool = False) -> int:
    """``support-billing bill``: 0 success, 1 failure/refusal, 2 malformed --period."""
    try:
        period = periods.parse_period(period) if period is not None else periods.previous_period()
    except periods.PeriodError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from .settings import SettingsError, load_settings

    try:  # a bad settings.toml is a usage error before anything runs (section 8)
        load_settings(home)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not preview and not periods.has_ended(period):
        print(f"error: {period} has not ended yet (America/Denver); bill it from the 1st of the "
              "next month, or use --preview", file=sys.stderr)
        return 1
    quiet_prefect_console()
    server = orchestration.start_temporary_server()  # boots while dbt and GX are imported
    if server.starting:
        orchestration.warm_billing_imports()
        server.wait()
    state = monthly_billing(home=str(home), period=period, preview=preview, yes=yes,
                            approve=approve, return_state=True)
    if state.is_failed() or state.is_crashed() or state.is_cancelled():
        message = (state.message or "billing failed").strip().splitlines()[0]
        print(f"error: {message}", file=sys.stderr)
        return 1
    return 0
