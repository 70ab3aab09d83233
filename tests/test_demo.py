"""`support-billing demo`: sample data into the inbox, one month billed end to end."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
from sample_exports import demo
from sample_exports.generator import FILES

REPO = Path(__file__).resolve().parents[1]


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
def test_demo_bills_one_month_end_to_end(tmp_path):
    """The quick start's first command as a user runs it: a new process and no Prefect
    server (no PREFECT_API_URL), so `bill` starts Prefect's temporary server early, while
    dbt and Great Expectations are imported (fast_start.py), and its flows run there."""
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env["PYTHONPATH"] = str(REPO / "flows")
    env.pop("SUPPORT_BILLING_DEBUG", None)
    proc = subprocess.run([sys.executable, "-m", "support_billing.cli", "--home", str(home),
                           "demo"], capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    period, preview = demo.demo_period(demo.today_mountain())
    assert not preview  # the sample data's year has a finished month by now
    folder = home / "exports" / period
    assert (folder / "invoices.csv").exists() and (folder / "manifest.json").exists()
    out = proc.stdout
    assert f"exports:   {folder}" in out
    count = int(out.split("invoices:  ")[1].split()[0])
    assert count > 0
    assert "hours 24.01" in out  # the deliberately bad sample rows are listed (R-IN1)
    assert "held rows (R-IN5, waiting for their customer): 1" in out


def test_cli_demo_signature():
    assert isinstance(demo.cli_demo, types.FunctionType)
    assert list(demo.cli_demo.__code__.co_varnames[:3]) == ["home", "customers", "seed"]
