"""`support-billing serve`: the schedules ops keep running (SPEC section 6).

Two Prefect deployments, served by this process (``prefect.serve``):

- ``scheduled-monthly-billing/monthly-billing``: cron ``0 6 1 * *`` in America/Denver,
  06:00 on the 1st of each month, for the previous month (R17): with
  ``billing.approval = "required"`` (the default) it writes the month's draft and its
  review page (``bill --preview``) and waits for ``support-billing approve``; with
  ``"auto"`` it bills at once (``bill``). Either way it publishes a Prefect Markdown
  artifact ``review-YYYY-MM`` with the month's summary and the review page's path.
- ``year-refresh/year-refresh``: cron ``5 0 1 1 *`` in America/Denver, 00:05 on Jan 1:
  ``refresh`` for the new year (the current year in Denver when it runs).

Schedules only fire when the Prefect API this process talks to runs its scheduler
service: a Prefect server (``prefect server start``) named by ``PREFECT_API_URL``. The
temporary server Prefect starts when no API URL is set runs no scheduler, so ``serve``
refuses to start without one. ``--run-once bill|refresh`` runs one job now, in this
process, and exits with its status (it works with the temporary server).
See docs/operations.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

from prefect import flow
from prefect.states import Completed, Failed

from support_billing.settings import SettingsError

TIMEZONE = "America/Denver"
BILLING_CRON = "0 6 1 * *"
REFRESH_CRON = "5 0 1 1 *"
BILLING_DEPLOYMENT = "monthly-billing"
REFRESH_DEPLOYMENT = "year-refresh"
TAGS = ["support-billing"]
RUN_ONCE_JOBS = ("bill", "refresh")


@flow(name="scheduled-billing", description="Monthly billing of the previous month (bill).")
def monthly_billing_job(home: str):
    """Fallback when ``billing.monthly_billing`` is not there: run `support-billing bill`
    for the previous month (Mountain time), as finance would."""
    from support_billing.billing.flow import cli_bill

    status = cli_bill(Path(home), None, False)
    if status != 0:
        return Failed(message=f"bill exited with status {status}")
    return Completed(message="bill succeeded", data=status)


APPROVAL_ENV = "SUPPORT_BILLING_BILLING__APPROVAL"


def approval_mode(home: Path | str) -> str:
    """``billing.approval`` (R17, section 8): ``required`` (the default) or ``auto``, from
    ``HOME/settings.toml`` or ``SUPPORT_BILLING_BILLING__APPROVAL``; a bad value is a
    :class:`SettingsError` (exit 2) naming the key."""
    from support_billing.settings import load_settings

    return load_settings(Path(home)).billing.approval


def review_markdown(result: dict, mode: str) -> str:
    """The artifact ops read in the Prefect UI: the month's summary and its review page."""
    s = result.get("stats") or {}
    period = result["period"]
    if result.get("preview"):
        head = (f"# {period}: draft waiting for approval\n\nReview the page, then run "
                f"`support-billing approve --period {period}`.")
    else:
        head = f"# {period}: billed and finalized"
    rows = [("approval", mode), ("invoices", s.get("invoices")),
            ("credit notes", s.get("credit_notes")),
            ("total billed (USD)", s.get("total_billed")),
            ("overage incidents", s.get("overage_incidents")),
            ("hours billed", s.get("hours_billed")),
            ("rejected rows waiting", s.get("rejected_rows_waiting")),
            ("rows held", s.get("rows_held")), ("quality gate", result.get("gate")),
            ("review page", f"`{result.get('review_page')}`"),
            ("files", f"`{result.get('folder')}`")]
    if result.get("draft"):
        rows.append(("draft", f"`{result['draft']}`"))
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    return f"{head}\n\n| | |\n|---|---|\n{table}\n"


@flow(name="scheduled-monthly-billing",
      description="Monthly run (R17): the previous month's draft and review page, or the "
                  "bill itself when billing.approval is auto.")
def scheduled_billing_flow(home: str, period: str | None = None):
    """Draft (default) or bill the month, then publish the review artifact."""
    from prefect.artifacts import create_markdown_artifact

    try:
        mode = approval_mode(home)
    except SettingsError as exc:
        return Failed(message=str(exc))
    state = billing_flow()(home=home, period=period, preview=mode != "auto",
                           return_state=True)
    if not state.is_completed():
        return state
    result = state.result()
    if not isinstance(result, dict) or "period" not in result:
        return state
    create_markdown_artifact(markdown=review_markdown(result, mode),
                             key=f"review-{result['period']}",
                             description=f"Review of {result['period']} (R17, R18)")
    return result


def billing_flow():
    """The monthly billing flow (``billing.monthly_billing``, parameters home, period=None
    meaning the previous month, preview=False); imported lazily."""
    from support_billing.billing import flow as billing
    return getattr(billing, "monthly_billing", None) or monthly_billing_job


def build_deployments(home: Path) -> list:
    """The two deployments (prefect RunnerDeployment objects), not yet registered.

    ``home`` is resolved to an absolute path and passed to every run as a parameter.
    """
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    from support_billing.yearend.refresh import year_refresh_flow

    home_str = str(Path(home).expanduser().resolve())
    billing = scheduled_billing_flow.to_deployment(
        BILLING_DEPLOYMENT,
        schedules=[Cron(BILLING_CRON, timezone=TIMEZONE)],
        parameters={"home": home_str},
        description="06:00 on the 1st of each month (America/Denver): the previous month's "
                    "draft and review page, waiting for approve (billing.approval = auto: "
                    "bill at once).",
        tags=TAGS,
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    refresh = year_refresh_flow.to_deployment(
        REFRESH_DEPLOYMENT,
        schedules=[Cron(REFRESH_CRON, timezone=TIMEZONE)],
        parameters={"home": home_str, "year": None, "preview": False},
        description="00:05 on January 1 (America/Denver): close the old year, open the new one.",
        tags=TAGS,
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    return [billing, refresh]


def api_url() -> str | None:
    """The Prefect API URL in force (PREFECT_API_URL or a Prefect profile), if any."""
    from prefect.settings import get_current_settings

    return get_current_settings().api.url


def run_job(home: Path, job: str) -> int:
    """Run one job now, in this process; 0 when its flow run completed, else 1."""
    if job == "refresh":
        from support_billing.yearend.refresh import cli_refresh, current_year_denver

        return cli_refresh(home, current_year_denver(), False)
    return run_scheduled_billing(Path(home).resolve())


def run_scheduled_billing(home: Path, period: str | None = None) -> int:
    """The monthly deployment's flow, run now (``serve --run-once bill``): a draft unless
    ``billing.approval`` is auto (R17). 0 completed, 1 failed, 2 bad setting."""
    from support_billing.console import quiet_prefect_console
    from support_billing.fast_start import foreground_flow_runs

    try:
        approval_mode(home)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    quiet_prefect_console()
    with foreground_flow_runs():
        state = scheduled_billing_flow(home=str(home), period=period, return_state=True)
    if not state.is_completed():
        message = (state.message or "billing failed").strip().splitlines()[0]
        print(f"error: {message}", file=sys.stderr)
        return 1
    return 0


def cli_serve(home: Path, run_once: str | None = None) -> int:
    """`support-billing serve [--run-once bill|refresh]`."""
    if run_once is not None:
        if run_once not in RUN_ONCE_JOBS:
            print(
                f"error: --run-once must be one of {', '.join(RUN_ONCE_JOBS)}, not {run_once!r}",
                file=sys.stderr,
            )
            return 2
        return run_job(Path(home), run_once)

    if not api_url():
        print(
            "error: serve needs a Prefect server that runs the scheduler: start one with "
            "'prefect server start' and set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api); "
            "see docs/operations.md ('--run-once bill|refresh' works without one)",
            file=sys.stderr,
        )
        return 1
    import prefect

    deployments = build_deployments(Path(home))
    prefect.serve(*deployments)
    return 0
