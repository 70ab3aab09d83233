"""The monthly billing flow, ``support-billing bill`` and ``approve`` (SPEC section 6,
R14-R17).

Write, audit, publish:
1. ingest the inbox (the ingest flow, as a subflow),
2. build the dbt models, every month (``dbt_runner.build``; the month is a filter of
   the gate and the exports, R14),
3. gate the month's invoices and lines with Great Expectations (``gate.py``),
4. write ``exports/YYYY-MM/`` into ``exports/.tmp-YYYY-MM-<pid>`` and rename it into
   place (a reader never sees a partial folder),
5. finalize the month in ``billing.*`` in one transaction (R15, ``finalize.py``).

``--preview`` (R16) runs the same computation and checks into ``exports/_preview/YYYY-MM``
and ``reports/_preview/``, finalizes nothing and may run for a month still running.
One run at a time: ``HOME/.bill.lock`` (fcntl.flock, non-blocking).
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

from prefect import flow
from prefect.states import Failed

from support_billing import console, fast_start, periods
from support_billing.billing import drafts, finalize
from support_billing.billing.gate import preload as preload_great_expectations
from support_billing.billing.gate import quiet_gx
from support_billing.billing.steps import (
    BillingStop,
    billing_lock,
    check,
    export_dir,
    log,
    say,
    stage,
)
from support_billing.billing.tasks import (
    build_task,
    export_task,
    finalize_task,
    gate_task,
    run_ingest,
)
from support_billing.console import quiet_prefect_console
from support_billing.exports.formatting import money
from support_billing.periods import Period
from support_billing.storage import ledger
from support_billing.storage.warehouse import (
    WarehouseError,
    connect,
    ensure_home,
    init_warehouse,
    open_warehouse,
)

__all__ = ["BillingStop", "billing_lock", "build_task", "cli_approve", "cli_bill",
           "export_task", "finalize_task", "gate_task", "monthly_billing", "say"]


def _refuse_unfinished(period: Period, preview: bool) -> None:
    if not preview and not periods.has_ended(period):
        raise BillingStop(
            f"{period} has not ended yet (America/Denver); bill it from the 1st of the next "
            "month, or use --preview")


def _report_differences(con, period: Period) -> list[dict]:
    diffs = finalize.carried_differences(con, period)
    if not diffs:
        say(f"  {period} is finalized; the recomputation matches it, nothing to carry forward")
    else:
        total = sum((d.amount for d in diffs), Decimal("0"))
        kind = " / ".join(sorted(finalize.adjustment_line_types()))
        say(f"  {period} is finalized; {len(diffs)} difference(s) totalling "
            f"{money(total)} would be carried forward as {kind} lines (R15):")
        for d in diffs:
            say(f"    {d.customer_id} {d.line_type}: finalized {money(d.finalized)}, "
                f"recomputed {money(d.recomputed)}, difference "
                f"{money(d.amount)}")
    return [{"customer_id": d.customer_id, "line_type": d.line_type,
             "difference": money(d.amount)} for d in diffs]


@flow(name="monthly-billing", log_prints=False)
def monthly_billing(home: str | None = None, period: str | None = None,
                    preview: bool = False, yes: bool = False, approve: bool = False):
    """Bill one month: ingest, build, gate, export, finalize (R14-R16, section 6).

    ``approve`` (R17): finalize only if the month equals its latest draft (drafts.py);
    ``yes``: bill a month before the last finalized one."""
    from support_billing.storage.warehouse import resolve_home

    home_p = ensure_home(resolve_home(home))
    try:
        period = periods.as_period(period) if period else periods.previous_period()
        return _bill(str(home_p), period, preview, yes, approve)
    except (BillingStop, finalize.OrderError, finalize.PublishedFolderError,
            periods.PeriodError, ledger.LedgerError, WarehouseError, drafts.DraftError) as exc:
        return Failed(message=console.first_line(exc))
    except Exception as exc:  # one clear line; the traceback goes to HOME/logs (section 6)
        # and, at ERROR, to the Prefect run log (the console handler shows CRITICAL only
        # unless --debug, so the terminal keeps its one line; SPEC section 6)
        try:
            log().error("billing %s failed: %s: %s", period, type(exc).__name__, exc,
                         exc_info=exc)
        except Exception:  # noqa: BLE001 - logging must not replace the failure itself
            pass
        return Failed(message=console.failure_line(
            home_p, "bill", exc, prefix=f"billing {period} failed: {type(exc).__name__}: "))


def _start(home: str, period: Period, preview: bool, yes: bool) -> bool:
    """The run start, under the lock: the warehouse and the ledger agree (R19), folders
    published by a run that died are recorded (R15a), the month may be billed now (R15).
    Returns whether ``period`` is finalized already."""
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
    return already


def _already_finalized(home: str, period: Period) -> list[dict]:
    """R15a: a finalized month is never billed again; what changed since is reported."""
    with connect(Path(home), read_only=True) as con:
        diffs = _report_differences(con, period)
    folder = export_dir(Path(home), period, False)
    if not folder.is_dir():
        say(f"  warning: {folder} is missing; the finalized documents are in "
            "billing.finalized_invoices / billing.finalized_invoice_lines")
    say(f"{period} was already finalized: nothing changed. Files: {folder}")
    return diffs


def _bill(home: str, period: Period, preview: bool, yes: bool = False,
          approve: bool = False) -> dict:
    _refuse_unfinished(period, preview)
    timings: dict[str, float] = {}
    mode = "preview of " if preview else ("approval of " if approve else "")
    with billing_lock(Path(home)):
        already = _start(home, period, preview, yes)
        say(f"support-billing bill: {mode}{period} (home {home})")
        with stage("ingest", timings):
            run_ingest(home)
        reads_only = already and not preview  # R15: only the differences are reported
        if not reads_only:
            preload_great_expectations()  # its ~2 s import overlaps the build, not the gate
        with stage("build", timings):
            check(build_task(home, period,
                             finalize.DIFFERENCES_MODEL if reads_only else None))

        if already and not preview:
            return {"period": period, "status": "already finalized",
                    "differences": _already_finalized(home, period), "timings": timings}

        with stage("gate", timings):
            gate = gate_task(home, period, preview or approve)
        if not gate["success"]:
            raise BillingStop(
                f"quality gate failed for {period}: {'; '.join(gate['failed_checks'])} "
                f"(report: {gate['report_md']}); nothing exported")
        if approve:  # R17: publish only what the latest draft showed
            gate = drafts.approve_or_redraft(home, period, gate)
        with stage("export", timings):
            exported = check(export_task(home, period, preview, gate))
        finalized = None
        if preview:
            say("  finalize skipped (preview: nothing finalized, no invoice numbers consumed)")
        else:
            with stage("finalize", timings):
                finalized = check(finalize_task(
                    home, period, exported["manifest_sha256"], exported["document_count"],
                    exported["grand_total"]))
        with stage("review page", timings):
            exported.update(drafts.after_export(Path(home), period, preview, gate))
        _summary(period, preview, exported, gate, finalized)
        return {"period": period, "preview": preview, "status": exported["status"],
                "folder": exported["folder"], "stats": exported["stats"],
                "timings": timings, "gate": gate["summary"],
                "review_page": exported["review_page"], "draft": exported.get("draft")}


def _summary(period: Period, preview: bool, exported: dict, gate: dict, finalized) -> None:
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
    from support_billing.settings import SettingsError, load_settings

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
    server = fast_start.start_temporary_server()  # boots while dbt and GX are imported
    if server.starting:
        fast_start.warm_billing_imports(quiet_gx)
        server.wait()
    with fast_start.foreground_flow_runs():
        state = monthly_billing(home=str(home), period=period, preview=preview, yes=yes,
                                approve=approve, return_state=True)
    if state.is_failed() or state.is_crashed() or state.is_cancelled():
        message = (state.message or "billing failed").strip().splitlines()[0]
        print(f"error: {message}", file=sys.stderr)
        return 1
    return 0


def cli_approve(home: Path, period: str, yes: bool = False) -> int:
    """``support-billing approve --period P``: 0 finalized (or already), 1 refused or
    different from the draft, 2 malformed period."""
    try:
        period = periods.parse_period(period)
    except periods.PeriodError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if drafts.latest_draft(home, period) is None:
            print(f"error: {drafts.no_draft_message(period)}", file=sys.stderr)
            return 1
    except drafts.DraftError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return cli_bill(home, period, False, yes=yes, approve=True)
