"""`support-billing notebooks` and `support-billing docs` (issue 16)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from test_analytics_marts import shared_analytics_home

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO_ROOT / "notebooks"


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "support_billing.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=600,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_notebooks_print_command(tmp_path):
    """The command JupyterLab would run: in notebooks/, with the home in the environment."""
    home = tmp_path / "home"
    done = cli("--home", str(home), "notebooks", "--print-command", "--port", "8899",
               "--no-browser")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f"SUPPORT_BILLING_HOME={home.resolve()} {sys.executable} -m jupyterlab"
        f" --ServerApp.root_dir={NOTEBOOKS} --ServerApp.port=8899"
        " --ServerApp.open_browser=False"
        + (" --ServerApp.allow_root=True" if os.geteuid() == 0 else "")
    )


def test_notebooks_home_from_environment(tmp_path):
    done = cli("notebooks", "--print-command", env={"SUPPORT_BILLING_HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"SUPPORT_BILLING_HOME={tmp_path.resolve()} ")


@pytest.mark.slow
def test_notebooks_starts_jupyterlab(tmp_path):
    """The real server starts on the notebooks (then this test stops the process it started)."""
    pytest.importorskip("jupyterlab")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "support_billing.cli",
         "--home", str(tmp_path), "notebooks", "--port", str(port), "--no-browser"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        env={**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")},
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api", timeout=2) as r:
                    assert "version" in json.loads(r.read())
                    break
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "JupyterLab did not start"
                time.sleep(1)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_docs_without_a_warehouse_is_one_line(tmp_path):
    done = cli("--home", str(tmp_path), "docs")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: no warehouse at {tmp_path.resolve() / 'warehouse.duckdb'}:"
        " run 'support-billing demo' or 'bill' first"
    ]


@pytest.mark.slow  # dbt docs generate with its catalog
def test_docs_builds_the_site_with_exposures(tmp_path_factory, capsys):
    """dbt's docs for the home's warehouse in HOME/reports/dbt-docs, one file that opens from
    disk, with the exposures: who reads each model."""
    from support_billing.reporting.analyst_tools import cli_docs

    home = shared_analytics_home(tmp_path_factory)
    assert cli_docs(home) == 0
    site = home / "reports" / "dbt-docs"
    assert capsys.readouterr().out.strip() == str(site / "static_index.html")
    for name in ("static_index.html", "index.html", "manifest.json", "catalog.json"):
        assert (site / name).stat().st_size > 0
    manifest = json.loads((site / "manifest.json").read_text(encoding="utf-8"))
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert {"notebook_incident_usage", "notebook_response_times", "notebook_customer",
            "invoice_exports", "customer_statements", "review_page"} <= set(exposures)
    assert "model.support_billing.mart_overage_policy_cost" not in (
        exposures["notebook_incident_usage"]["depends_on"]["nodes"]
    )
    assert "model.support_billing.us_federal_holidays" in (
        exposures["notebook_response_times"]["depends_on"]["nodes"]
    )
    assert "model.support_billing.invoice_lines" in (
        exposures["invoice_exports"]["depends_on"]["nodes"]
    )
    assert "model.support_billing.review_customers" in (  # R18: the page's figures
        exposures["review_page"]["depends_on"]["nodes"]
    )
    catalog = json.loads((site / "catalog.json").read_text(encoding="utf-8"))
    assert "model.support_billing.mart_response_times" in catalog["nodes"]
    static = (site / "static_index.html").read_text(encoding="utf-8")
    assert "notebook_customer" in static  # the manifest is inside the one file
    assert not re.search(r"<script[^>]*src=[\"']?(https?:)?//", static)
