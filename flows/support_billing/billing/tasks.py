"""The Prefect tasks of a billing run (SPEC section 6): ingest, build, gate, export,
finalize. Each returns plain values; an expected stop is ``{"error": ...}`` (``steps.check``)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from support_billing.billing import finalize
from support_billing.billing.month_data import month_fingerprint, month_stats, quality_findings
from support_billing.billing.steps import (
    clean_stale,
    export_dir,
    fsync_dir,
    reports_dir,
    say,
)
from support_billing.exports import writers as exporters
from support_billing.exports.formatting import money
from support_billing.storage import dbt_runner
from support_billing.storage.warehouse import connect


def run_ingest(home: str) -> int:
    """Ingest HOME/inbox through the ingest flow, as a subflow (R-IN1..R-IN5). A refused
    file (R-IN2) is reported and billing goes on with what is loaded."""
    from support_billing.ingest.flow import ingest_flow

    summary = ingest_flow(home=str(home), paths=[str(Path(home) / "inbox")])
    totals = summary.totals()
    files = [f for f in summary.files if f.status != "skipped"]
    say(f"    {len(files)} new file(s): {totals.get('rows_loaded', 0)} rows loaded, "
        f"{totals.get('rows_rejected', 0)} rejected, {totals.get('rows_held', 0)} held")
    for problem in summary.problems:
        print(f"warning: ingest: {problem}", file=sys.stderr, flush=True)
    for f in summary.refused:
        print(f"warning: ingest refused {f.path}: {f.message}", file=sys.stderr, flush=True)
    for entry in summary.reported:  # links, folders, FIFOs (R-IN7)
        print(f"warning: ingest: {entry}", file=sys.stderr, flush=True)
    return summary.exit_code


@task(name="dbt-build", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=3)
def build_task(home: str, period: str, reads: str | None = None) -> dict:
    """dbt build (seeds, models, tests) of every month; ``period`` only names the run.

    Retried on an exception (a lock, a crashed dbt process): a build only rewrites models
    from the raw tables, so running it again is safe. A build that ran and failed (a
    failing dbt test) returns its error and is not retried: the same data fails again.

    dbt-duckdb fails at once when another process holds the file (a notebook, an ingest);
    opening it first through ``warehouse.connect`` waits up to 30 s for that lock.
    ``reads``: the one model the run reads (``dbt_runner.build``)."""
    connect(Path(home)).close()
    result = dbt_runner.build(Path(home), reads=reads)
    if not result.success:
        detail = "; ".join(result.failures[:3]) or "see HOME/.dbt/logs"
        return {"error": f"dbt build failed for {period}: {detail}"}
    if result.skipped:
        say("    nothing changed since the last build: the models are current")
    elif result.narrowed_to:
        say(f"    rebuilt what {result.narrowed_to} reads of: " + " ".join(result.selected)
            + " (the rest at the next month's build)")
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

    from support_billing.billing.gate import run_gate_on, write_reports
    from support_billing.storage.freshness import data_time, data_time_text

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
            fsync_dir(tmp)
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
            fsync_dir(parent)
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
    if res.invoice_count != document_count or money(res.grand_total) != grand_total:
        return {"error": f"{period} was finalized with {res.invoice_count} documents "
                         f"totalling {res.grand_total}, not {document_count} / {grand_total}"}
    dbt_runner.note_finalized(Path(home), period)  # what the next build must rebuild (R15)
    return {"already": res.already, "invoice_count": res.invoice_count}
