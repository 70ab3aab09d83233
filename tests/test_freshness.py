"""SPEC R20: what readers show reflects every row ingested so far, and says when.

Hand-computed: customer C1 (upfront) has pay_stubs 2 from 2026-01-01, open-ended, so its
2026 allotment is 2 + 2 extras = 4 (R8). Five admin tasks (R9 step 5, billable) in
January-March: 4 covered, 1 overage (R10). Two more admin tasks ingested later: 3 overage.
No `bill` runs at all: `usage` must work after `ingest` alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support_billing.cli import app
from typer.testing import CliRunner

from tests.ingest_helpers import CUSTOMERS, SUBSCRIPTIONS, TICKETS, ticket, write

pytestmark = pytest.mark.usefixtures("prefect_server")


def _usage(runner: CliRunner, home: Path) -> tuple[dict, str]:
    result = runner.invoke(
        app, ["--home", str(home), "usage", "--year", "2026", "--customer", "C1",
              "--format", "json"],
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 1
    return rows[0], result.stderr


@pytest.mark.slow  # ingests and usage, each building the models (R20)
def test_usage_after_ingest_alone_and_after_more_rows(tmp_path: Path) -> None:
    home = tmp_path / "home"
    inbox = tmp_path / "exports"
    write(inbox, "customers.csv", CUSTOMERS + "C1,Alder Roofing,upfront,,\n")
    write(inbox, "subscriptions.csv", SUBSCRIPTIONS + "S1,C1,pay_stubs,,2026-01-01,\n")
    write(inbox, "tickets.csv", TICKETS + "".join(
        ticket(f"T{i}", "C1", f"2026-0{1 + i // 2}-1{i} 10:00", "admin_task") for i in range(5)
    ))
    runner = CliRunner()
    first = runner.invoke(app, ["--home", str(home), "ingest", str(inbox)])
    assert first.exit_code == 0, first.output

    row, err = _usage(runner, home)
    assert (row["allotment"], row["covered"], row["overage"], row["remaining"]) == (4, 4, 1, 0)
    assert "data as of 2" in err and "(last ingest)" in err

    later = tmp_path / "later"
    write(later, "tickets_late.csv", TICKETS + ticket("T8", "C1", "2026-04-01 10:00", "admin_task")
          + ticket("T9", "C1", "2026-04-02 10:00", "admin_task"))
    second = runner.invoke(app, ["--home", str(home), "ingest", str(later)])
    assert second.exit_code == 0, second.output
    assert "models brought up to date" in second.stdout

    row, _ = _usage(runner, home)
    assert (row["allotment"], row["covered"], row["overage"], row["remaining"]) == (4, 4, 3, 0)

    # Nothing new: no dbt run, same numbers.
    again = runner.invoke(app, ["--home", str(home), "ingest", str(later)])
    assert again.exit_code == 0, again.output
    assert "models brought up to date" not in again.stdout
    assert _usage(runner, home)[0]["overage"] == 3


def test_usage_table_names_the_data_time(tmp_path: Path) -> None:
    home = tmp_path / "home"
    inbox = tmp_path / "exports"
    write(inbox, "customers.csv", CUSTOMERS + "C1,Alder Roofing,,,\n")
    runner = CliRunner()
    assert runner.invoke(app, ["--home", str(home), "ingest", str(inbox)]).exit_code == 0
    result = runner.invoke(app, ["--home", str(home), "usage", "--year", "2026"])
    assert result.exit_code == 0, result.output
    assert "data as of 2" in result.stdout
