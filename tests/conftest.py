"""Shared fixtures: one Prefect test server per session, fresh home folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
# The test servers run offline: no telemetry call (a DNS lookup that fails on a closed network).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

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


# ---------------------------------------------------------------- xdist: files, heaviest first
# Files whose tests share one session-built home: the same worker runs them, so it is built
# once (test_analytics_marts.shared_analytics_home).
SHARED_HOME_FILES = {
    "test_analytics_marts.py": "analytics home",
    "test_analyst_tools.py": "analytics home",
    "test_notebooks.py": "analytics home",
}
# Files of independent long tests (each its own home, no module fixture): one test at a
# time, so that both workers share them.
SPLIT_FILES = {"test_durability.py", "test_benchmark_smoke.py"}
# The heaviest files (seconds on 2 busy cores, docs/decisions.md "Test suite time"), handed
# out first so that the workers finish together; the rest follow in collection order.
HEAVY_FILES = (
    "test_durability.py", "test_benchmark_smoke.py", "test_billing_flow.py",
    "test_billing_flow_dbt.py", "test_billing_property.py", "test_dbt_incremental.py",
    "test_gate_gx.py", "test_ingest_files.py", "test_review_approve.py",
    "test_analytics_marts.py", "test_analyst_tools.py", "test_notebooks.py",
    "test_demo.py", "test_freshness.py", "test_billing_flow_credit_note.py", "test_gate.py",
    "test_billing_scenarios.py", "test_statements_flow.py", "test_yearend.py",
    "test_sample_data.py", "test_schedules.py", "test_ingest_flow.py", "test_dbt_project.py",
    "test_ingest.py", "test_rejected_rows.py", "test_usage.py", "test_export_roundtrip.py",
    "test_refresh_errors.py",
)


def _file_rank(item) -> int:
    name = Path(str(item.fspath)).name
    return HEAVY_FILES.index(name) if name in HEAVY_FILES else len(HEAVY_FILES)


def pytest_collection_modifyitems(config, items):
    """Heaviest files first; the order of the tests inside a file is kept."""
    items.sort(key=_file_rank)  # a stable sort


@pytest.hookimpl(optionalhook=True)  # an xdist hook: without xdist (-p no:xdist), unused
def pytest_xdist_make_scheduler(config, log):
    """`-n N` (xdist's default ``--dist load``): whole files per worker, so that a module's
    fixture (a home built by dbt) is built once, not once on every worker that runs one of
    its tests; the files in SHARED_HOME_FILES go together, the tests of SPLIT_FILES one by
    one; the queue keeps the order above.
    Another ``--dist`` given explicitly is left to xdist."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FilesHeaviestFirst(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            file = nodeid.split("::", 1)[0]
            if Path(file).name in SPLIT_FILES:
                return nodeid
            return SHARED_HOME_FILES.get(Path(file).name, file)

        def schedule(self) -> None:
            self.config.option.loadscopereorder = False  # the collection order, above
            super().schedule()

    return FilesHeaviestFirst(config, log)
