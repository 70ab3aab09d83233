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


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty home folder (inbox/, exports/, reports/) for one test."""
    from support_billing.storage.warehouse import ensure_home

    return ensure_home(tmp_path / "home")
