"""The January 1 refresh (R8, R11, SPEC section 6 `refresh`), on a hand-computed warehouse.

Customers (all values worked out by hand from SPEC R8-R11):

- C1 "Acme, Inc." (subscription): remote_payroll 8 since 2025-06-01, open-ended.
  2026 allotment 8 + 2 extras = 10. Billable 2026: T101, T102 and T103 (opened
  2027-01-01T06:59:00Z = 2026-12-31 23:59 in Denver, R1); T104 at 2027-01-01T07:00:00Z is
  2027. T105 is void, T106 a free how_to. Covered 3, overage 0, expired 10 - 3 = 7.
  Jan 1 2027: 10.
- C2 'Beta "B" Co' (upfront): field_reports 2 from 2026-03-16 to 2026-12-31: 2026
  allotment ceil(2 x 10 / 12) = 2, + 2 = 4. Five billable incidents: 4 covered,
  1 overage, expired 0. Not active on Jan 1 2027: no allotment row.
- C3 Gamma: no subscription, one billable incident in 2026: allotment 0, overage 1.
- D4 Delta: human_resources 6 2024-01-01..2026-06-30, then 12 from 2026-07-01 (upgrade):
  Dec 31 2026 ceil((6 x 6 + 6 x 12) / 12) = 9, + 2 = 11; no incidents, expired 11.
  Jan 1 2027: 12 + 2 = 14.
- a9 "lower a9": pay_stubs 2 since 2020, open-ended: 4 in 2026 (expired 4) and 2027.
  Sorted after the upper-case ids (binary order).
- E5 Epsilon: pay_stubs from 2027-02-01 only: in neither report.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from support_billing.cli import app
from support_billing.storage.warehouse import connect, open_warehouse
from support_billing.yearend import refresh as yearend
from typer.testing import CliRunner

CUSTOMERS = [
    ("C1", "Acme, Inc.", "subscription"),
    ("C2", 'Beta "B" Co', "upfront"),
    ("C3", "Gamma", "subscription"),
    ("D4", "Delta", "subscription"),
    ("a9", "lower a9", "subscription"),
    ("E5", "Epsilon", "subscription"),
]
SUBSCRIPTIONS = [
    ("S1", "C1", "remote_payroll", 8, "2025-06-01", None),
    ("S2", "C2", "field_reports", 2, "2026-03-16", "2026-12-31"),
    ("S4a", "D4", "human_resources", 6, "2024-01-01", "2026-06-30"),
    ("S4b", "D4", "human_resources", 12, "2026-07-01", None),
    ("S5", "a9", "pay_stubs", 2, "2020-01-01", None),
    ("S6", "E5", "pay_stubs", 2, "2027-02-01", None),
]
# ticket_id, customer_id, opened_at (instant), category, status, time_sensitive
TICKETS = [
    ("T101", "C1", "2026-02-10 17:00:00+00", "extended_help", "closed", False),
    ("T102", "C1", "2026-05-20 17:00:00+00", "sync_support", "closed", False),
    ("T103", "C1", "2027-01-01 06:59:00+00", "admin_task", "open", False),
    ("T104", "C1", "2027-01-01 07:00:00+00", "admin_task", "open", False),
    ("T105", "C1", "2026-03-01 17:00:00+00", "extended_help", "void", False),
    ("T106", "C1", "2026-04-01 17:00:00+00", "how_to", "closed", False),
    ("T201", "C2", "2026-03-20 17:00:00+00", "sync_support", "closed", False),
    ("T202", "C2", "2026-04-10 17:00:00+00", "sync_support", "closed", False),
    ("T203", "C2", "2026-05-05 17:00:00+00", "sync_support", "closed", False),
    ("T204", "C2", "2026-06-15 17:00:00+00", "sync_support", "closed", False),
    ("T205", "C2", "2026-10-02 17:00:00+00", "sync_support", "closed", False),
    ("T301", "C3", "2026-08-01 17:00:00+00", "extended_help", "closed", False),
]

YEAR_END_2026 = (
    "customer_id,allotment,covered,overage,expired,customer_name\n"
    'C1,10,3,0,7,"Acme, Inc."\n'
    'C2,4,4,1,0,"Beta ""B"" Co"\n'
    "C3,0,0,1,0,Gamma\n"
    "D4,11,0,0,11,Delta\n"
    "a9,4,0,0,4,lower a9\n"
)
ALLOTMENTS_2027 = (
    "customer_id,allotment,customer_name\n"
    'C1,10,"Acme, Inc."\n'
    "D4,14,Delta\n"
    "a9,4,lower a9\n"
)


def insert_raw(con, customers, subscriptions, tickets) -> None:
    """Rows as ingest would have loaded them (typed, validated)."""
    for cid, name, policy in customers:
        con.execute(
            "insert into raw.customers values (?, ?, ?, ?, null, 'customers.csv', 2, 1)",
            [cid, name, policy, name],
        )
    for sid, cid, module, n, start, end in subscriptions:
        con.execute(
            "insert into raw.subscriptions values (?, ?, ?, ?, ?, ?, 'subscriptions.csv', 2, 1)",
            [sid, cid, module, n, start, end],
        )
    for tid, cid, opened, category, status, ts in tickets:
        con.execute(
            "insert into raw.tickets values (?, ?, cast(? as timestamptz), ?, ?, ?, ?, null, "
            "'normal', null, null, null, 'tickets.csv', 2, 1)",
            [tid, cid, opened, category, ts, status, None],
        )


def build_home(home: Path, customers, subscriptions, tickets) -> Path:
    from support_billing.storage.dbt_runner import build

    with open_warehouse(home) as con:
        insert_raw(con, customers, subscriptions, tickets)
    result = build(home)
    assert result.success, result.failures
    return home


@pytest.fixture(scope="module")
def built_home(tmp_path_factory) -> Path:
    """The hand-computed warehouse, built once for the module (do not mutate it)."""
    return build_home(tmp_path_factory.mktemp("yearend") / "home", CUSTOMERS, SUBSCRIPTIONS, TICKETS)


@pytest.fixture
def fresh(built_home: Path, tmp_path: Path) -> Path:
    """A private copy of the built home, for tests that write to it: the warehouse with the
    record of its last build (.dbt/), so that the refresh's build rebuilds only what the test
    changed, as in a home that has been billed."""
    target = tmp_path / "home"
    shutil.copytree(built_home, target, symlinks=True)
    for sub in ("inbox", "exports", "reports"):
        (target / sub).mkdir(exist_ok=True)
    return target


@pytest.fixture
def on_day(monkeypatch):
    """Pretend today (America/Denver) is the given day."""

    def set_day(day: date) -> None:
        monkeypatch.setattr(yearend, "today_denver", lambda: day)

    return set_day


def refresh(home: Path, *args: str):
    return CliRunner().invoke(app, ["--home", str(home), "refresh", *args])


def test_marts_put_the_jan_1_boundary_in_denver_time(built_home: Path):
    """R1: 2027-01-01T06:59:00Z is 2026-12-31 23:59 in Denver (2026); 07:00Z is 2027."""
    con = connect(built_home, read_only=True)
    try:
        rows = con.execute(
            "select ticket_id, year, cast(incident_date as varchar), coverage "
            "from main.fct_incidents where ticket_id in ('T103', 'T104') order by ticket_id"
        ).fetchall()
    finally:
        con.close()
    assert rows == [("T103", 2026, "2026-12-31", "covered"), ("T104", 2027, "2027-01-01", "covered")]


@pytest.mark.slow  # year refresh flows with dbt builds
def test_refresh_closes_2026_and_opens_2027(fresh: Path, on_day, prefect_server):
    on_day(date(2027, 1, 1))
    result = refresh(fresh, "--year", "2027")
    assert result.exit_code == 0, result.output
    assert "closed 2026 and opened 2027" in result.output
    assert (fresh / "reports" / "year_end_2026.csv").read_bytes() == YEAR_END_2026.encode()
    assert (fresh / "reports" / "allotments_2027.csv").read_bytes() == ALLOTMENTS_2027.encode()
    assert not (fresh / "reports" / "_preview").exists()
    con = connect(fresh, read_only=True)
    try:
        closed = con.execute(
            "select year, revision, report_rows, allotments_rows, report_file, allotments_file, "
            "report_sha256, changes from billing.closed_years"
        ).fetchall()
    finally:
        con.close()
    import hashlib

    assert closed == [
        (
            2026,
            1,
            5,
            3,
            "reports/year_end_2026.csv",
            "reports/allotments_2027.csv",
            hashlib.sha256(YEAR_END_2026.encode()).hexdigest(),
            None,
        )
    ]
    # R19: the close is also in the ledger, append-only, with its checksum
    from support_billing.storage import ledger
    records = ledger.read_verified(fresh / "ledger" / "closed_years" / "2026-r1.jsonl")
    assert [(r["record"], r["year"], r["revision"], r["report_csv"]) for r in records] == [
        ("closed_year", 2026, 1, YEAR_END_2026)]

    # Running it again changes nothing: same bytes, files not rewritten, no new revision.
    mtimes = {p.name: p.stat().st_mtime_ns for p in (fresh / "reports").iterdir()}
    again = refresh(fresh, "--year", "2027")
    assert again.exit_code == 0, again.output
    assert "year 2026 already closed; reports unchanged" in again.output
    assert {p.name: p.stat().st_mtime_ns for p in (fresh / "reports").iterdir()} == mtimes
    assert sorted(p.name for p in (fresh / "reports").iterdir()) == [
        "allotments_2027.csv",
        "year_end_2026.csv",
    ]
    con = connect(fresh, read_only=True)
    try:
        assert con.execute("select count(*) from billing.closed_years").fetchone() == (1,)
    finally:
        con.close()

    # Late data for the closed year: the report is regenerated and the change is named.
    with open_warehouse(fresh) as con:
        insert_raw(con, [], [], [("T107", "C1", "2026-11-15 17:00:00+00", "admin_task", "closed", False)])
    late = refresh(fresh, "--year", "2027")
    assert late.exit_code == 0, late.output
    assert "year 2026 already closed; late data changed the numbers" in late.output
    assert "C1 covered 3 -> 4, expired 7 -> 6" in late.output
    assert (fresh / "reports" / "year_end_2026.csv").read_bytes() == YEAR_END_2026.replace(
        'C1,10,3,0,7,"Acme, Inc."', 'C1,10,4,0,6,"Acme, Inc."'
    ).encode()
    assert (fresh / "reports" / "allotments_2027.csv").read_bytes() == ALLOTMENTS_2027.encode()
    con = connect(fresh, read_only=True)
    try:
        assert con.execute(
            "select revision, changes from billing.closed_years order by revision"
        ).fetchall() == [
            (1, None),
            (2, "reports/year_end_2026.csv: C1 covered 3 -> 4, expired 7 -> 6"),
        ]
    finally:
        con.close()


@pytest.mark.slow  # year refresh flows with dbt builds
def test_refresh_restores_a_deleted_report_without_a_new_revision(fresh: Path, on_day, prefect_server):
    on_day(date(2027, 3, 1))
    assert refresh(fresh, "--year", "2027").exit_code == 0
    (fresh / "reports" / "allotments_2027.csv").unlink()
    result = refresh(fresh, "--year", "2027")
    assert result.exit_code == 0, result.output
    assert "year 2026 already closed" in result.output
    assert (fresh / "reports" / "allotments_2027.csv").read_bytes() == ALLOTMENTS_2027.encode()
    con = connect(fresh, read_only=True)
    try:
        assert con.execute("select count(*) from billing.closed_years").fetchone() == (1,)
    finally:
        con.close()


def test_refresh_refuses_a_year_that_has_not_started_in_denver(fresh: Path, on_day):
    on_day(date(2026, 12, 31))
    result = refresh(fresh, "--year", "2027")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: year 2027 has not started yet in America/Denver (today is 2026-12-31); "
        "use --preview to see the reports early"
    ]
    assert list((fresh / "reports").iterdir()) == []


@pytest.mark.slow  # year refresh flows with dbt builds
def test_preview_writes_to_the_preview_folder_and_records_nothing(fresh: Path, on_day, prefect_server):
    on_day(date(2026, 12, 31))
    result = refresh(fresh, "--year", "2027", "--preview")
    assert result.exit_code == 0, result.output
    preview = fresh / "reports" / "_preview"
    assert (preview / "year_end_2026.csv").read_bytes() == YEAR_END_2026.encode()
    assert (preview / "allotments_2027.csv").read_bytes() == ALLOTMENTS_2027.encode()
    assert sorted(p.name for p in (fresh / "reports").iterdir()) == ["_preview"]
    con = connect(fresh, read_only=True)
    try:
        tables = con.execute(
            "select count(*) from information_schema.tables where table_name = 'closed_years'"
        ).fetchone()
    finally:
        con.close()
    assert tables == (0,)


def test_refresh_without_a_warehouse_is_one_clear_error(home: Path, on_day, prefect_server):
    on_day(date(2027, 1, 1))
    result = refresh(home, "--year", "2027")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no warehouse at "), result.stderr
    assert not (home / "warehouse.duckdb").exists()


def test_report_files_are_byte_identical_for_the_same_inputs(built_home: Path):
    con = connect(built_home, read_only=True)
    try:
        first = yearend.render_csv(yearend.YEAR_END_COLUMNS, yearend.year_end_rows(con, 2026))
        second = yearend.render_csv(yearend.YEAR_END_COLUMNS, yearend.year_end_rows(con, 2026))
        opening = yearend.render_csv(yearend.ALLOTMENT_COLUMNS, yearend.opening_rows(con, 2027))
    finally:
        con.close()
    assert first == second == YEAR_END_2026.encode()
    assert opening == ALLOTMENTS_2027.encode()
