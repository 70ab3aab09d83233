"""`support-billing usage` on a hand-computed warehouse (R8, R10, R11).

- P "Pine & Co" (subscription): remote_payroll 8 since 2025, open-ended, and pay_stubs 2
  for 2026 only: 2026 allotment 8 + 2 + 2 extras = 12. Billable incidents on Jan 15,
  Feb 10 and Mar 5 2026. On 2026-03-31 (day 90): pace 3 / 90 days, the 12th incident
  falls on day ceil(12 x 90 / 3) = 360 = Dec 26 -> projected 2026-12.
- Q "Quill" (upfront): field_reports 2 from 2026-03-16: ceil(2 x 10 / 12) + 2 = 4 from
  that day. Five billable incidents Mar 17-21: 4 covered, 1 overage; ran out in 2026-03.
- S "Spruce" (subscription): remote_payroll 8 since 2025: 10; one incident on Feb 1:
  ceil(10 x 90 / 1) = 900 > 365 days -> will not run out in 2026 (null).
- R "Rowan": no subscription, no incident (only listed when asked for).
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest
from support_billing.cli import app
from support_billing.reporting.usage import projected_exhaustion
from support_billing.storage import dbt_runner
from support_billing.yearend import refresh as yearend
from typer.testing import CliRunner

CUSTOMERS = [
    ("P", "Pine & Co", "subscription"),
    ("Q", "Quill", "upfront"),
    ("R", "Rowan", "subscription"),
    ("S", "Spruce", "subscription"),
]
SUBSCRIPTIONS = [
    ("SP1", "P", "remote_payroll", 8, "2025-01-01", None),
    ("SP2", "P", "pay_stubs", 2, "2026-01-01", "2026-12-31"),
    ("SQ1", "Q", "field_reports", 2, "2026-03-16", None),
    ("SS1", "S", "remote_payroll", 8, "2025-01-01", None),
]
TICKETS = [
    ("TP1", "P", "2026-01-15 17:00:00+00", "extended_help", "closed", False),
    ("TP2", "P", "2026-02-10 17:00:00+00", "basic_question", "closed", True),
    ("TP3", "P", "2026-03-05 17:00:00+00", "admin_task", "closed", False),
    ("TP4", "P", "2026-03-06 17:00:00+00", "feature_request", "closed", False),
    ("TQ1", "Q", "2026-03-17 17:00:00+00", "sync_support", "closed", False),
    ("TQ2", "Q", "2026-03-18 17:00:00+00", "sync_support", "closed", False),
    ("TQ3", "Q", "2026-03-19 17:00:00+00", "sync_support", "closed", False),
    ("TQ4", "Q", "2026-03-20 17:00:00+00", "sync_support", "closed", False),
    ("TQ5", "Q", "2026-03-21 17:00:00+00", "sync_support", "closed", False),
    ("TS1", "S", "2026-02-01 17:00:00+00", "sync_customization", "closed", False),
]


def row(cid, name, policy, modules, allotment, covered, overage, remaining, expired, projected):
    return {
        "customer_id": cid,
        "customer_name": name,
        "overage_policy": policy,
        "modules": modules,
        "allotment": allotment,
        "covered": covered,
        "overage": overage,
        "remaining": remaining,
        "expired": expired,
        "projected_exhaustion": projected,
    }


@pytest.fixture(scope="module")
def built_home(tmp_path_factory) -> Path:
    from test_yearend import build_home

    return build_home(tmp_path_factory.mktemp("usage") / "home", CUSTOMERS, SUBSCRIPTIONS, TICKETS)


@pytest.fixture
def on_day(monkeypatch):
    def set_day(day: date) -> None:
        monkeypatch.setattr(yearend, "today_denver", lambda: day)

    # usage reads the marts as they are: never a dbt build
    def no_build(*args, **kwargs):
        raise AssertionError("usage must not build dbt")

    monkeypatch.setattr(dbt_runner, "build", no_build)
    monkeypatch.setattr(dbt_runner, "run_dbt", no_build)
    return set_day


def usage(home: Path, *args: str):
    return CliRunner().invoke(app, ["--home", str(home), "usage", *args])


def test_usage_json_for_the_current_year(built_home: Path, on_day):
    on_day(date(2026, 3, 31))
    result = usage(built_home, "--year", "2026", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        row("P", "Pine & Co", "subscription", "pay_stubs,remote_payroll", 12, 3, 0, 9, None, "2026-12"),
        row("Q", "Quill", "upfront", "field_reports", 4, 4, 1, 0, None, "2026-03"),
        row("S", "Spruce", "subscription", "remote_payroll", 10, 1, 0, 9, None, None),
    ]


def test_usage_json_before_a_mid_year_start_counts_the_allotment_of_today(built_home: Path, on_day):
    """Q's subscription starts 2026-03-16: nothing is available on Mar 15 (R8)."""
    on_day(date(2026, 3, 15))
    result = usage(built_home, "--year", "2026", "--customer", "Q", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        row("Q", "Quill", "upfront", "field_reports", 0, 4, 1, 0, None, None)
    ]


def test_usage_json_for_a_past_year_has_expired(built_home: Path, on_day):
    on_day(date(2027, 1, 15))
    result = usage(built_home, "--year", "2026", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        row("P", "Pine & Co", "subscription", "pay_stubs,remote_payroll", 12, 3, 0, 9, 9, None),
        row("Q", "Quill", "upfront", "field_reports", 4, 4, 1, 0, 0, None),
        row("S", "Spruce", "subscription", "remote_payroll", 10, 1, 0, 9, 9, None),
    ]
    # exact integers, not strings or floats
    assert '"allotment": 12,' in result.stdout


def test_usage_for_a_future_year_shows_what_opens_on_jan_1(built_home: Path, on_day):
    on_day(date(2026, 3, 31))
    result = usage(built_home, "--year", "2027", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        row("P", "Pine & Co", "subscription", "remote_payroll", 10, 0, 0, 10, None, None),
        row("Q", "Quill", "upfront", "field_reports", 4, 0, 0, 4, None, None),
        row("S", "Spruce", "subscription", "remote_payroll", 10, 0, 0, 10, None, None),
    ]


def test_usage_csv_for_one_customer(built_home: Path, on_day):
    on_day(date(2027, 1, 15))
    result = usage(built_home, "--year", "2026", "--customer", "P", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "customer_id,customer_name,overage_policy,modules,allotment,covered,overage,remaining,"
        "expired,projected_exhaustion\n"
        'P,Pine & Co,subscription,"pay_stubs,remote_payroll",12,3,0,9,9,\n'
    )


def test_usage_for_a_known_customer_without_usage_is_a_row_of_zeros(built_home: Path, on_day):
    on_day(date(2027, 1, 15))
    result = usage(built_home, "--year", "2026", "--customer", "R", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [row("R", "Rowan", "subscription", "", 0, 0, 0, 0, 0, None)]


def test_usage_for_an_unknown_customer_is_one_clear_error(built_home: Path, on_day):
    on_day(date(2026, 3, 31))
    result = usage(built_home, "--year", "2026", "--customer", "ZZZ", "--format", "json")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "error: unknown customer 'ZZZ'\n"


def test_usage_table_is_readable(built_home: Path, on_day):
    on_day(date(2026, 3, 31))
    result = usage(built_home, "--year", "2026")
    assert result.exit_code == 0, result.output
    assert "Incident usage 2026" in result.stdout
    assert "Pine & Co" in result.stdout and "2026-12" in result.stdout
    assert "pay_stubs,remote_payroll" in result.stdout


def test_usage_table_explains_policies_and_columns_in_the_seeds_words(built_home: Path, on_day):
    """Issue 15 item 2: under the table, each overage policy shown (R12) and the remaining
    and expired columns (R11) in the plain_reasons seed's sentences, read here from the
    seed file; csv and json carry no sentence."""
    seed = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds" / "plain_reasons.csv"
    with seed.open(encoding="utf-8", newline="") as f:
        words = {(r["kind"], r["code"]): r["sentence"] for r in csv.DictReader(f)}
    on_day(date(2026, 3, 31))
    table = usage(built_home, "--year", "2026")
    assert table.exit_code == 0, table.output
    below = " ".join(table.stdout[table.stdout.rindex("pay_stubs,remote_payroll"):].split())
    expected = [("subscription", words[("policy", "subscription")]),  # P first, and S
                ("upfront", words[("policy", "upfront")]),            # Q
                ("remaining", words[("usage", "remaining")]),
                ("expired", words[("usage", "expired")])]
    for word, sentence in expected:
        assert f"{word} {' '.join(sentence.split())}" in below
    order = [below.index(" ".join(s.split())) for _w, s in expected]
    assert order == sorted(order)  # policies as first shown, then the columns
    one = usage(built_home, "--year", "2026", "--customer", "Q")
    assert words[("policy", "upfront")] in " ".join(one.stdout.split())
    assert words[("policy", "subscription")] not in " ".join(one.stdout.split())
    for fmt in ("csv", "json"):
        out = usage(built_home, "--year", "2026", "--format", fmt).stdout
        assert words[("usage", "remaining")] not in out


def test_usage_without_a_warehouse_is_one_clear_error(home: Path):
    result = usage(home, "--year", "2026")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: no warehouse at ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (home / "warehouse.duckdb").exists()


@pytest.mark.parametrize(
    ("today", "allotment", "covered", "overage", "last", "expected"),
    [
        (date(2026, 3, 31), 12, 3, 0, "2026-03", "2026-12"),  # day 360
        # overage counts in the pace: 4 incidents in 90 days, 14th on day ceil(14 x 90 / 4) = 315
        (date(2026, 3, 31), 12, 2, 2, "2026-02", "2026-11"),
        (date(2026, 1, 1), 10, 1, 0, "2026-01", "2026-01"),  # 10 days at 1 a day
        (date(2026, 12, 31), 10, 9, 0, "2026-12", None),  # day 406 > 365
        (date(2026, 6, 30), 10, 0, 0, None, None),  # nothing used yet
        (date(2026, 6, 30), 4, 4, 2, "2026-05", "2026-05"),  # already ran out
        (date(2026, 6, 30), 0, 0, 3, None, None),  # no allotment to run out
    ],
)
def test_projected_exhaustion(today, allotment, covered, overage, last, expected):
    assert projected_exhaustion(today.year, today, allotment, covered, overage, last) == expected
