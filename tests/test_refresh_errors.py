"""Section 6: an unexpected failure of the refresh is one line naming the log file that
holds its traceback (the same as bill and ingest)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("prefect_server")


def test_an_unexpected_refresh_failure_is_one_line_with_its_traceback_in_a_log(
        home: Path, monkeypatch, capsys):
    from support_billing.yearend import refresh as yearend
    (home / "warehouse.duckdb").write_bytes(b"")  # cli_refresh checks that it exists

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk went away\nsecond line never shown")

    monkeypatch.setattr(yearend, "run_refresh", broken)
    assert yearend.cli_refresh(home, 2027, preview=True) == 1
    # In-process, Prefect's console handler still shows the run log's ERROR record (the
    # command line's main() turns it off, see test_durability): the command's own line is one.
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(err) == 1
    assert err[0].startswith("error: refresh 2027 failed: disk went away (details: ")
    log = Path(err[0].split("(details: ", 1)[1].rstrip(")"))
    assert log.parent == home / "logs" and log.name.startswith("refresh-")
    text = log.read_text()
    assert "Traceback" in text and "RuntimeError: disk went away" in text
