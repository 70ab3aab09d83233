"""Shared fixtures: one Prefect test server per session, fresh home folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def prefect_server():
    """A real Prefect API for flow runs, started once per test session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="session")
def prefect_api_url(prefect_server) -> str:
    """The session's Prefect API, for commands run in a subprocess: given as
    PREFECT_API_URL, their flow runs go there (as with a deployed server, section 6) instead
    of each command starting Prefect's temporary server."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty home folder (inbox/, exports/, reports/) for one test."""
    from support_billing.storage.warehouse import ensure_home

    return ensure_home(tmp_path / "home")


@pytest.fixture(scope="session")
def flow_template(tmp_path_factory) -> Path:
    """The billing flow's scenario (tests/flow_scenario.py) ingested and built once per test
    session by the real ingest and the real dbt models, May 2026 being the built month.
    Tests bill a copy (``billing_home``): copying the folder with its warehouse is far cheaper
    than a dbt build, and a `bill` of May on the copy finds the models current."""
    from flow_scenario import write_inbox
    from support_billing.ingest.flow import ingest_paths
    from support_billing.storage import dbt_runner
    from support_billing.storage.warehouse import ensure_home

    home = ensure_home(tmp_path_factory.mktemp("flow_template") / "home")
    write_inbox(home)
    ingest_paths(home, [home / "inbox"])
    result = dbt_runner.build(home)
    assert result.success, result.failures
    return home


def copy_home(template: Path, target: Path) -> Path:
    """A working copy of a built home (warehouse, dbt state, inbox, ingest records)."""
    import shutil

    shutil.copytree(template, target, symlinks=True)
    return target


@pytest.fixture
def billing_home(flow_template: Path, tmp_path: Path, prefect_server) -> Path:
    """A copy of the built scenario home, ready to `bill` (Prefect API running)."""
    return copy_home(flow_template, tmp_path / "home")
