"""`support-billing serve`: deployments, schedules in America/Denver, --run-once (section 6)."""

from __future__ import annotations

import asyncio
import fcntl
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from support_billing import schedules
from support_billing.cli import app
from support_billing.yearend import refresh as yearend
from typer.testing import CliRunner


def by_name(home: Path) -> dict:
    return {d.name: d for d in schedules.build_deployments(home)}


def next_runs(schedule, start: datetime, n: int) -> list[str]:
    """The run times Prefect's server scheduler derives from a schedule, as UTC strings."""
    from prefect.server.schemas.schedules import CronSchedule

    server_schedule = CronSchedule(cron=schedule.cron, timezone=schedule.timezone)
    dates = asyncio.run(server_schedule.get_dates(n=n, start=start))
    return [d.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ") for d in dates]


def test_deployments_carry_the_cron_strings_and_the_denver_time_zone(home: Path):
    deployments = by_name(home)
    assert sorted(deployments) == ["monthly-billing", "year-refresh"]

    billing, refresh = deployments["monthly-billing"], deployments["year-refresh"]
    assert [(s.schedule.cron, s.schedule.timezone, s.active) for s in billing.schedules] == [
        ("0 6 1 * *", "America/Denver", True)
    ]
    assert [(s.schedule.cron, s.schedule.timezone, s.active) for s in refresh.schedules] == [
        ("5 0 1 1 *", "America/Denver", True)
    ]
    assert billing.flow_name == "scheduled-monthly-billing"
    assert refresh.flow_name == "year-refresh"
    assert billing.parameters == {"home": str(home.resolve())}
    assert refresh.parameters == {"home": str(home.resolve()), "year": None, "preview": False}
    # served runs load the flows from the installed package, whatever the working folder
    assert billing.entrypoint == "support_billing.schedules.scheduled_billing_flow"
    assert refresh.entrypoint == "support_billing.yearend.refresh.year_refresh_flow"


def test_schedules_fire_at_denver_wall_clock_times_across_dst(home: Path):
    deployments = by_name(home)
    billing = deployments["monthly-billing"].schedules[0].schedule
    refresh = deployments["year-refresh"].schedules[0].schedule
    start = datetime(2026, 11, 26, tzinfo=UTC)
    # 06:00 Denver on the 1st: MST (UTC-7) in winter, MDT (UTC-6) from March 8, 2027
    assert next_runs(billing, start, 6) == [
        "2026-12-01T13:00Z",
        "2027-01-01T13:00Z",
        "2027-02-01T13:00Z",
        "2027-03-01T13:00Z",
        "2027-04-01T12:00Z",
        "2027-05-01T12:00Z",
    ]
    # 00:05 Denver on Jan 1 is 07:05 UTC: the new year in Denver (R1)
    assert next_runs(refresh, start, 2) == ["2027-01-01T07:05Z", "2028-01-01T07:05Z"]


def test_deployments_register_with_the_prefect_api(home: Path, prefect_server):
    from prefect import get_client

    for deployment in schedules.build_deployments(home):
        deployment.apply()

    async def read():
        async with get_client() as client:
            out = {}
            for name in ("scheduled-monthly-billing/monthly-billing",
                         "year-refresh/year-refresh"):
                d = await client.read_deployment_by_name(name)
                out[name] = [(s.schedule.cron, s.schedule.timezone) for s in d.schedules]
            return out

    assert asyncio.run(read()) == {
        "scheduled-monthly-billing/monthly-billing": [("0 6 1 * *", "America/Denver")],
        "year-refresh/year-refresh": [("5 0 1 1 *", "America/Denver")],
    }


def test_serve_serves_both_deployments(home: Path, monkeypatch):
    import prefect

    served = []
    monkeypatch.setattr(schedules, "api_url", lambda: "http://127.0.0.1:4200/api")
    monkeypatch.setattr(prefect, "serve", lambda *deployments, **kw: served.extend(deployments))
    assert schedules.cli_serve(home, None) == 0
    assert sorted(d.name for d in served) == ["monthly-billing", "year-refresh"]


def test_serve_without_a_prefect_server_is_one_clear_error(home: Path, monkeypatch, capsys):
    monkeypatch.setattr(schedules, "api_url", lambda: None)
    assert schedules.cli_serve(home, None) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("error: serve needs a Prefect server") and "PREFECT_API_URL" in err


def test_run_once_rejects_an_unknown_job(home: Path):
    result = CliRunner().invoke(app, ["--home", str(home), "serve", "--run-once", "dance"])
    assert result.exit_code == 2
    assert result.stderr == "error: --run-once must be one of bill, refresh, not 'dance'\n"


def test_run_once_bill_runs_the_scheduled_flow_for_the_previous_month(home: Path, monkeypatch):
    calls = []

    class FakeState:
        message = "billing 2026-10 failed: boom"

        def is_completed(self):
            return False

    def fake_flow(**kw):
        calls.append(kw)
        return FakeState()

    monkeypatch.setattr(schedules, "scheduled_billing_flow", fake_flow)
    result = CliRunner().invoke(app, ["--home", str(home), "serve", "--run-once", "bill"])
    assert result.exit_code == 1  # the job's status
    assert calls == [{"home": str(home.resolve()), "period": None, "return_state": True}]
    assert result.stderr == "error: billing 2026-10 failed: boom\n"


@pytest.mark.slow  # the year refresh flow with a dbt build
def test_run_once_refresh_runs_the_year_refresh_flow_for_the_current_denver_year(
    home: Path, monkeypatch, prefect_server
):
    from support_billing.storage.warehouse import open_warehouse
    from test_yearend import CUSTOMERS, SUBSCRIPTIONS, TICKETS, insert_raw

    with open_warehouse(home) as con:
        insert_raw(con, CUSTOMERS, SUBSCRIPTIONS, TICKETS)
    monkeypatch.setattr(yearend, "today_denver", lambda: date(2027, 1, 1))
    result = CliRunner().invoke(app, ["--home", str(home), "serve", "--run-once", "refresh"])
    assert result.exit_code == 0, result.output
    assert "closed 2026 and opened 2027" in result.stdout
    assert (home / "reports" / "year_end_2026.csv").read_text().splitlines()[1] == (
        'C1,10,3,0,7,"Acme, Inc."'
    )

    # the refresh holds the billing lock: while a billing run holds it, refresh refuses
    with open(home / ".bill.lock", "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        busy = CliRunner().invoke(app, ["--home", str(home), "refresh", "--year", "2027"])
    assert busy.exit_code == 1
    assert busy.stderr.startswith("error: a billing run or another refresh is in progress")
    assert busy.stderr.endswith(".bill.lock is held); try again later\n")



# ---------------------------------------------------------------- R17: the schedule drafts
def test_approval_defaults_to_required_and_reads_the_settings_file(home: Path, monkeypatch):
    monkeypatch.delenv(schedules.APPROVAL_ENV, raising=False)
    assert schedules.approval_mode(home) == "required"
    (home / "settings.toml").write_text('[company]\ncountry = "US"\n', encoding="utf-8")
    assert schedules.approval_mode(home) == "required"
    (home / "settings.toml").write_text('[billing]\napproval = "Auto"\n', encoding="utf-8")
    assert schedules.approval_mode(home) == "auto"
    monkeypatch.setenv(schedules.APPROVAL_ENV, "required")  # the variable wins (section 8)
    assert schedules.approval_mode(home) == "required"


def test_a_bad_approval_value_is_a_usage_error_naming_the_key(home: Path, monkeypatch, capsys):
    monkeypatch.delenv(schedules.APPROVAL_ENV, raising=False)
    (home / "settings.toml").write_text('[billing]\napproval = "sometimes"\n', encoding="utf-8")
    assert schedules.run_scheduled_billing(home) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: settings.toml: billing.approval: ") and "'sometimes'" not in err
    monkeypatch.setenv(schedules.APPROVAL_ENV, "never")
    assert schedules.run_scheduled_billing(home) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: SUPPORT_BILLING_BILLING__APPROVAL: billing.approval: ")


def _fake_billing(calls: list):
    from prefect import flow

    @flow(name="fake-monthly-billing")
    def fake(home: str, period: str | None = None, preview: bool = False):
        calls.append(preview)
        return {"period": "2026-10", "preview": preview, "folder": f"{home}/exports/x",
                "gate": "passed", "review_page": f"{home}/reports/_preview/review_2026-10.html",
                "draft": f"{home}/drafts/2026-10/draft-0001.json" if preview else None,
                "stats": {"invoices": 3, "credit_notes": 1, "total_billed": "812.40",
                          "overage_incidents": 2, "hours_billed": "1.50",
                          "rejected_rows_waiting": 4, "rows_held": 1}}

    return fake


def test_the_scheduled_run_writes_a_draft_and_publishes_the_review_artifact(
        home: Path, monkeypatch, prefect_server):
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    calls: list = []
    monkeypatch.delenv(schedules.APPROVAL_ENV, raising=False)
    monkeypatch.setattr(schedules, "billing_flow", lambda: _fake_billing(calls))
    result = schedules.scheduled_billing_flow(home=str(home))
    assert calls == [True]  # required (default): a preview, i.e. the month's draft
    assert result["review_page"].endswith("reports/_preview/review_2026-10.html")

    async def read():
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["review-2026-10"])))
            return [a.data for a in found]

    markdowns = asyncio.run(read())
    assert markdowns and markdowns[0].startswith("# 2026-10: draft waiting for approval")
    assert "| total billed (USD) | 812.40 |" in markdowns[0]
    assert f"| review page | `{home}/reports/_preview/review_2026-10.html` |" in markdowns[0]
    assert "support-billing approve --period 2026-10" in markdowns[0]

    monkeypatch.setenv(schedules.APPROVAL_ENV, "auto")
    schedules.scheduled_billing_flow(home=str(home))
    assert calls == [True, False]  # auto: billed at once (R17)


def test_review_markdown_of_a_billed_month():
    md = schedules.review_markdown(
        {"period": "2026-10", "preview": False, "folder": "/h/exports/2026-10", "gate": "ok",
         "review_page": "/h/reports/review_2026-10.html", "stats": {"invoices": 2}}, "auto")
    assert md.splitlines()[0] == "# 2026-10: billed and finalized"
    assert "| approval | auto |" in md and "| invoices | 2 |" in md and "draft" not in md
