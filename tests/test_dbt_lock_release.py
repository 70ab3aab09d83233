"""dbt opens the warehouse once per command (profiles.yml ``keep_open: true``) and
storage/dbt_runner.py closes it when the command returns: the next process gets the file's
lock at once (R19: a run never keeps a reader waiting after it has finished)."""

import subprocess
import sys

from helpers import empty_warehouse, run_customers_model
from support_billing.storage import dbt_runner

OPEN_FOR_WRITING = """
import sys, duckdb
try:
    duckdb.connect(sys.argv[1]).close()
except duckdb.IOException as exc:
    print(exc)
    sys.exit(3)
"""


def other_process_opens(home) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", OPEN_FOR_WRITING,
                           str(home / "warehouse.duckdb")],
                          capture_output=True, text=True, timeout=120)


def build_customers(home) -> None:
    """One real dbt command on an empty warehouse."""
    assert run_customers_model(empty_warehouse(home)).success


def test_the_lock_is_released_when_the_dbt_command_returns(tmp_path):
    home = tmp_path / "home"
    build_customers(home)
    res = other_process_opens(home)
    assert res.returncode == 0, res.stdout


def test_without_the_release_the_file_stays_locked(tmp_path, monkeypatch):
    """Seeded defect: dbt-duckdb alone keeps the database open for the process's life."""
    monkeypatch.setattr(dbt_runner, "_release_warehouse", lambda: None)
    home = tmp_path / "home"
    try:
        build_customers(home)
        res = other_process_opens(home)
        assert res.returncode == 3 and "lock" in res.stdout.lower(), res.stdout
    finally:
        monkeypatch.undo()
        dbt_runner._release_warehouse()


def test_a_failing_close_leaves_dbts_error_standing(monkeypatch):
    """A close that fails (its checkpoint on a full disk) raises nothing of its own: the
    dbt command's own failure is what the run reports (section 6)."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    class FullDisk:
        closed = False

        def close(self):
            FullDisk.closed = True
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(DuckDBConnectionManager, "_ENV", FullDisk())
    dbt_runner._release_warehouse()
    assert FullDisk.closed and DuckDBConnectionManager._ENV is None
