"""Issue 14 item 5: the gate's GX objects and Data Docs, retries, the failed run's ERROR log.

The gate's checks and seeded defects are in test_gate.py / test_statements_gate.py; here:
the suite parameters reach the suites, results and Data Docs are kept in HOME, the Prefect
retries are declared, and a failed run's traceback is in the Prefect run log at ERROR
while the terminal shows one line (section 6)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC
from pathlib import Path

import pytest
import test_gate as tg
from helpers import gate_frames, run_gate
from support_billing.billing import flow as billing
from support_billing.billing import gate, gate_gx
from support_billing.ingest import flow as ingest

REPO = Path(__file__).resolve().parents[1]


def test_the_period_is_a_suite_parameter_and_a_wrong_month_fails(tmp_path):
    inp = tg.good()
    assert run_gate(inp).success
    # May's rows validated as June: numbers and period are wrong (the warehouse's reads
    # are by period, so only a frame handed to the wrong month's run can show this)
    failed = gate._result("2026-06", gate_frames(inp), None).failed_checks
    assert any("match INV-/CN-YYYYMM-NNNNN for the period" in f for f in failed)
    assert any("invoices belong to the period" in f for f in failed)


def test_results_and_data_docs_are_kept_under_home(tmp_path):
    home = tmp_path / "home"
    (home / "reports" / "_preview").mkdir(parents=True)
    inp = tg.good()
    store = {"home": home, "preview": True, "data_time": None}
    frames = gate_frames(inp)
    result = gate._result(inp.period, frames, None, store)
    assert result.success
    pages = result.report["data_docs"]
    assert sorted(pages) == sorted(frames)
    # relative to HOME/reports, stable (run time: the 1st when no data time)
    assert pages["invoices"] == (
        "_preview/gx/validations/invoices/2026-05-preview/20260501T000000.000000Z/"
        "billing_gate-invoices.html")
    for page in pages.values():
        html = (home / "reports" / page).read_text(encoding="utf-8")
        assert "expect_column" in html or "values must" in html or "Expectation" in html
    assert (home / "reports" / "_preview" / "gx" / "index.html").is_file()
    assert not (home / "reports" / "gx").exists()  # a preview writes only under _preview
    stored = list((home / "gx" / "uncommitted" / "validations" / "invoices").rglob("*.json"))
    assert len(stored) == 1
    assert sorted(p.name for p in (home / "gx" / "checkpoints").iterdir()) == sorted(
        f"gate_{name}.json" for name in frames)


def gx_project_files(home: Path) -> dict[str, bytes]:
    """The GX objects kept in HOME/gx (not the validation results, one per run)."""
    root = home / "gx"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "uncommitted" not in p.parts}


def test_stored_checkpoints_are_reused_until_a_suite_file_changes(tmp_path):
    """The gate keeps its suites, validation definitions and checkpoints in HOME/gx; a run
    whose suite files are unchanged uses them as stored (rewriting them is a third of a
    small gate), and a changed suite file takes effect at once, and so does its return."""
    home = tmp_path / "home"
    (home / "reports").mkdir(parents=True)
    inp = tg.good()
    frames = gate_frames(inp)
    store = {"home": home, "preview": False, "data_time": None}
    assert gate._result(inp.period, frames, None, store).success
    kept = gx_project_files(home)
    assert "checkpoints/gate_invoices.json" in kept
    assert gate._result(inp.period, frames, None, store).success
    assert gx_project_files(home) == kept  # nothing rewritten

    changed = tmp_path / "suites"
    shutil.copytree(gate.EXPECTATIONS_DIR, changed)
    spec = json.loads((changed / "invoices.json").read_text(encoding="utf-8"))
    spec["expectations"][0] = {  # a seeded defect in the suite file: no number may be set
        "type": "expect_column_values_to_be_null", "kwargs": {"column": "invoice_number"},
        "meta": {"check": "seeded: invoice numbers absent", "rule": "R14"}}
    (changed / "invoices.json").write_text(json.dumps(spec), encoding="utf-8")
    failed = gate._result(inp.period, frames, changed, store).failed_checks
    assert failed == ["invoices: seeded: invoice numbers absent (3 rows)"]  # 3 documents
    assert gx_project_files(home) != kept
    assert gate._result(inp.period, frames, None, store).success  # the repository's again


def test_steps_safe_to_repeat_have_retries():
    assert (billing.build_task.retries, billing.build_task.retry_delay_seconds) == (2, 3)
    assert (ingest.file_task.retries, ingest.file_task.retry_delay_seconds) == (2, 3)
    assert billing.gate_task.retries == 0 and billing.finalize_task.retries == 0


def test_run_time_is_the_data_time_in_utc():
    from datetime import datetime

    assert gate_gx.run_time("2026-05", None) == datetime(2026, 5, 1, tzinfo=UTC)
    naive = datetime(2026, 6, 2, 3, 4, 5, 678)
    assert gate_gx.run_time("2026-05", naive) == datetime(2026, 6, 2, 3, 4, 5,
                                                          tzinfo=UTC)


# Patches billing only once cli.main() has configured the console (as in a real run,
# Prefect is imported after that), then fails the run with an unexpected exception.
FAILING_BILL = """
import sys
from support_billing import cli
real_app = cli.app
def app(*args, **kwargs):
    from support_billing.billing import flow as billing
    def boom(period, preview):
        raise RuntimeError("disk unplugged")
    billing._refuse_unfinished = boom
    return real_app(*args, **kwargs)
cli.app = app
sys.argv = ["support-billing", *sys.argv[1:]]
cli.main()
"""


async def _error_logs(flow_name: str) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        LogFilter,
        LogFilterFlowRunId,
    )

    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])))
        ids = [r.id for r in runs if r.state and r.state.is_failed()]
        logs = await client.read_logs(log_filter=LogFilter(
            flow_run_id=LogFilterFlowRunId(any_=ids)))
    return [log for log in logs if log.level == 40]


def test_a_failed_run_logs_its_traceback_at_error_and_prints_one_line(
        tmp_path, prefect_server):
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PYTHONPATH": str(REPO / "flows"),
           "PREFECT_API_URL": PREFECT_API_URL.value()}
    for name in ("SUPPORT_BILLING_DEBUG", "PREFECT_LOGGING_LEVEL"):  # a user's terminal
        env.pop(name, None)
    proc = subprocess.run([sys.executable, "-c", FAILING_BILL, "--home",
                           str(tmp_path / "home"), "bill", "--period", "2026-05"],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert proc.returncode == 1
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and "disk unplugged" in err[0], proc.stderr
    errors = asyncio.run(_error_logs("monthly-billing"))
    assert any("Traceback" in log.message and "RuntimeError: disk unplugged" in log.message
               for log in errors), [log.message[:200] for log in errors]


@pytest.mark.slow  # three real bills (preview, approve, the next month)
def test_the_review_page_links_the_months_data_docs(billing_home, capsys):
    """R18: from the review page (opened from disk), each suite's Data Docs page of the
    month is one relative link away; a preview's pages stay under reports/_preview/, and
    an approved month's final page links the pages of the run that approved it."""
    import re

    home = billing_home
    suites = sorted([*gate.SUITES, "statement_totals", "statement_incidents"])

    def links(folder: Path) -> list[tuple[str, str]]:
        html = (folder / "review_2026-05.html").read_text(encoding="utf-8")
        found = re.findall(r'<a class="data-docs" href="([^"]+)">([a-z_]+)</a>', html)
        assert sorted(name for _, name in found) == suites
        for href, _ in found:
            assert "://" not in href and (folder / href).is_file(), href
        return found

    assert billing.cli_bill(home, "2026-05", True) == 0
    for href, name in links(home / "reports" / "_preview"):
        assert href.startswith(f"gx/validations/{name}/2026-05-preview/")
    assert billing.cli_approve(home, "2026-05") == 0
    for href, name in links(home / "reports"):  # approve gates as a preview (drafts.py)
        assert href.startswith(f"_preview/gx/validations/{name}/2026-05-preview/")
    assert billing.cli_bill(home, "2026-06", False) == 0
    html = (home / "reports" / "review_2026-06.html").read_text(encoding="utf-8")
    assert 'href="gx/validations/invoices/2026-06/' in html


@pytest.mark.slow  # two ingests through the flow, each building the models (R20)
def test_a_retried_file_is_loaded_exactly_once(home, prefect_server, monkeypatch, capsys):
    """Retries of ``ingest-file``: an exception inside the file's transaction rolls it all
    back and the retry loads the file once; an exception after the commit makes the retry
    find the same bytes loaded and skip them (R-IN2, R-IN3)."""
    from ingest_helpers import customers_file, rows
    from support_billing.ingest import load as ingest_load
    from support_billing.ingest.flow import cli_ingest

    real_load, real_cleanup = ingest_load._load, ingest_load._cleanup
    failures = {"load": 1, "cleanup": 0}

    def load_then_fail(*args, **kwargs):
        real_load(*args, **kwargs)  # rows inserted, then the transaction breaks
        if failures["load"]:
            failures["load"] -= 1
            raise RuntimeError("passing failure inside the transaction")

    def cleanup_then_fail(con):
        real_cleanup(con)
        if failures["cleanup"]:
            failures["cleanup"] -= 1
            raise RuntimeError("passing failure after the commit")

    monkeypatch.setattr(ingest_load, "_load", load_then_fail)
    monkeypatch.setattr(ingest_load, "_cleanup", cleanup_then_fail)
    customers_file(home / "inbox", "C1", "C2")
    assert cli_ingest(home, []) == 0
    assert failures["load"] == 0
    assert rows(home, "SELECT customer_id FROM raw.customers ORDER BY 1") == [("C1",), ("C2",)]
    assert rows(home, "SELECT status FROM raw.ingest_log") == [("loaded",)]

    failures["cleanup"] = 1
    customers_file(home / "more", "C3", name="customers_2.csv")
    assert cli_ingest(home, [home / "more"]) == 0
    assert failures["cleanup"] == 0
    assert rows(home, "SELECT customer_id FROM raw.customers ORDER BY 1") == [
        ("C1",), ("C2",), ("C3",)]
    assert rows(home, "SELECT file_name, status FROM raw.ingest_log ORDER BY rowid") == [
        ("customers.csv", "loaded"), ("customers_2.csv", "loaded"),
        ("customers_2.csv", "skipped")]
