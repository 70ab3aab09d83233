"""Flow runs of a command in the foreground carry no Prefect heartbeat
(``fast_start.foreground_flow_runs``): the end of a run with heartbeats waits up to a second
for the heartbeat thread to wake, about 1 s of every ``bill``. Checked on a real flow run
on the session's Prefect server, and on the commands that start one."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers import empty_warehouse
from prefect import flow
from prefect.settings import get_current_settings
from prefect.states import Completed
from support_billing import fast_start, schedules
from support_billing.billing import flow as billing_flow
from support_billing.ingest import flow as ingest_flow
from support_billing.yearend import refresh


def heartbeat_setting() -> int | None:
    return get_current_settings().flows.heartbeat_frequency


@flow(name="probe-heartbeat")
def probe() -> dict:
    """What a flow run sees: its heartbeat setting and the heartbeat threads beside it
    (Prefect runs the loop through ``Context.run``, so the thread is named "Thread-N (run)")."""
    time.sleep(0.1)  # the thread starts with the run
    return {"setting": heartbeat_setting(),
            "heartbeats": [t.name for t in threading.enumerate() if t.name.endswith("(run)")]}


def test_a_run_in_the_foreground_has_no_heartbeat(prefect_server):
    with fast_start.foreground_flow_runs():
        quiet = probe()
    usual = probe()
    assert quiet["setting"] is None
    assert usual["setting"] == heartbeat_setting() >= 30  # Prefect's own (180 by default)
    assert quiet["heartbeats"] == [] and len(usual["heartbeats"]) == 1
    assert heartbeat_setting() == usual["setting"]  # restored after the block


def record_setting(seen: list, result):
    """A stand-in for a command's flow: it records the heartbeat setting it runs under."""
    def fake_flow(*_args, **_kwargs):
        seen.append(heartbeat_setting())
        return result
    return fake_flow


COMPLETED = Completed(data=SimpleNamespace(messages=[]))


@pytest.mark.parametrize("module, attribute, result, command", [
    (billing_flow, "monthly_billing", COMPLETED,
     lambda home: billing_flow.cli_bill(home, "2026-01", False)),
    (refresh, "year_refresh_flow", COMPLETED,
     lambda home: refresh.cli_refresh(home, 2026, True)),
    (schedules, "scheduled_billing_flow", COMPLETED,
     lambda home: schedules.run_scheduled_billing(home, "2026-01")),
    (ingest_flow, "ingest_flow", ingest_flow.IngestSummary(ingest_id=1),
     lambda home: ingest_flow.cli_ingest(home, [])),
])
def test_each_command_runs_its_flow_in_the_foreground(module, attribute, result, command,
                                                      home: Path, monkeypatch, prefect_server):
    empty_warehouse(home)  # refresh refuses a home without one before its flow
    monkeypatch.setattr(ingest_flow, "_models_current", lambda _home: 0)
    seen: list = []
    monkeypatch.setattr(module, attribute, record_setting(seen, result))
    assert command(home) == 0
    assert seen == [None]
