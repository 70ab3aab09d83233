"""`support-billing demo`: sample data into the inbox, one month billed end to end."""

from __future__ import annotations

import datetime as dt
import types

import pytest
from sample_exports import demo
from sample_exports.generator import FILES


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (dt.date(2026, 11, 26), ("2026-10", False)),  # the previous month
        (dt.date(2026, 2, 1), ("2026-01", False)),
        (dt.date(2027, 3, 5), ("2026-12", False)),  # after the data's year: December
        (dt.date(2026, 1, 15), ("2026-01", True)),  # January not ended: preview only
        (dt.date(2025, 6, 1), ("2026-01", True)),
    ],
)
def test_demo_period(today, expected):
    assert demo.demo_period(today) == expected


def test_sample_data_is_placed_once(tmp_path):
    written, unchanged = demo.place_sample_data(tmp_path, customers=5, seed=7)
    assert sorted(written) == sorted(f"{k}.csv" for k in FILES) and unchanged == []
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "inbox").iterdir()}
    written, unchanged = demo.place_sample_data(tmp_path, customers=5, seed=7)
    assert written == [] and len(unchanged) == len(FILES)
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "inbox").iterdir()}
    assert before == after
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".demo-")]


def test_bad_customer_count_is_a_usage_error(tmp_path):
    assert demo.cli_demo(tmp_path, 0, 7) == 2


@pytest.mark.slow
def test_demo_bills_one_month_end_to_end(prefect_server, tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    monkeypatch.setattr(demo, "today_mountain", lambda: dt.date(2026, 11, 26))
    assert demo.cli_demo(home, 25, 7) == 0
    out = capsys.readouterr().out
    folder = home / "exports" / "2026-10"
    assert (folder / "invoices.csv").exists() and (folder / "manifest.json").exists()
    assert f"exports:   {folder}" in out
    count = int(out.split("invoices:  ")[1].split()[0])
    assert count > 0
    assert "hours 24.01" in out  # the deliberately bad sample rows are listed (R-IN1)
    assert "held rows (R-IN5, waiting for their customer): 1" in out


def test_cli_demo_signature():
    assert isinstance(demo.cli_demo, types.FunctionType)
    assert list(demo.cli_demo.__code__.co_varnames[:3]) == ["home", "customers", "seed"]
