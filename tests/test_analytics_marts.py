"""The analytics marts (dbt_project/models/marts/analytics) and analysis.py, on a small
known dataset written straight into raw.* and built once with dbt.

The business-hours calculation itself has dbt unit tests with hand-computed cases
(_analytics__models.yml); here every ticket of the dataset is checked against an
independent Python computation (one day at a time, holidays read from a hand-typed list of
2024-2028, tests/oracle/us_federal_holidays_2024_2028.csv; the warehouse's holidays come
from the `holidays` library, and 2031's are checked by hand).

`shared_analytics_home` (the built warehouse, once per session) is also used by
test_notebooks.py.
"""

from __future__ import annotations

import csv
import math
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

REPO_ROOT = Path(__file__).resolve().parents[1]
HOLIDAYS_CSV = REPO_ROOT / "tests" / "oracle" / "us_federal_holidays_2024_2028.csv"
ANALYTICS_SELECTOR = "+path:models/marts/analytics"
YEAR = 2026

# ------------------------------------------------------------------ the dataset

CUSTOMERS = [  # customer_id, name, overage_policy
    ("A", "Acme Builders", "subscription"),
    ("B", "Bravo Paving", "upfront"),
    ("C", "Cedar Electric", "subscription"),
    ("D", "Delta Mechanical", "upfront"),
]
SUBSCRIPTIONS = [  # id, customer, module, annual_incidents, start, end
    ("S-A1", "A", "remote_payroll", 8, "2026-01-01", None),
    ("S-A2", "A", "pay_stubs", 2, "2026-01-01", None),
    ("S-B1", "B", "field_reports", 2, "2026-03-16", None),
    ("S-C1", "C", "human_resources", 6, "2026-01-01", None),
    ("S-D1", "D", "data_drop", 6, "2026-01-01", None),
]
# R8 allotments 2026 (plan extras 2 included): A 8+2+2, B ceil(2*10/12)+2, C 6+2, D 6+2.
ALLOTMENT = {"A": 12, "B": 4, "C": 8, "D": 8}

# Billable incidents (category sync_support, R9 step 5), as (customer, month, day):
BILLABLE = (
    [("A", m, d) for m in range(1, 8) for d in (6, 20)]  # 14: the 13th and 14th (July) overage
    + [("B", m, 7) for m in (4, 5, 6, 8, 10)]  # 5: the 5th (October) overage, upfront
    + [("C", m, 9) for m in (2, 3, 4)]  # 3
    + [("D", m, 12) for m in range(1, 8)]  # 7: 1 left
)
# Free tickets (how_to) with responses, for response times.
FREE = [("C", m, 14) for m in range(1, 13)] + [("B", 7, 2), ("A", 11, 25), ("D", 5, 22)]

# Opening hour / response delay patterns (local Mountain time), cycled over the tickets.
OPEN_TIMES = [time(6, 30), time(9, 15), time(13, 0), time(16, 45), time(19, 30), time(11, 5)]
DELAYS = [
    timedelta(minutes=40),
    timedelta(hours=3, minutes=10),
    timedelta(hours=20),
    timedelta(hours=50, minutes=5),
    timedelta(hours=78),
    timedelta(days=6, hours=2),
    timedelta(hours=1),
]
SEVERITIES = ["normal", "high", "low", "urgent", "normal"]


def tickets() -> list[dict]:
    """The dataset's tickets, with local (Mountain) opened / first-response times."""
    rows = []
    specs = [(c, m, d, "sync_support") for c, m, d in BILLABLE] + [
        (c, m, d, "how_to") for c, m, d in FREE
    ]
    for i, (cust, month, day, category) in enumerate(specs):
        opened = datetime.combine(date(YEAR, month, day), OPEN_TIMES[i % len(OPEN_TIMES)])
        response = None if i % 11 == 10 else opened + DELAYS[i % len(DELAYS)]
        rows.append(
            {
                "ticket_id": f"T{i + 1:03d}",
                "customer_id": cust,
                "opened_local": opened,
                "category": category,
                "severity": SEVERITIES[i % len(SEVERITIES)],
                "status": "closed",
                "response_local": response,
            }
        )
    # A void duplicate with a very slow response: never in the analysts' figures.
    rows.append(
        {
            "ticket_id": "T900",
            "customer_id": "A",
            "opened_local": datetime(YEAR, 3, 3, 10, 0),
            "category": "sync_support",
            "severity": "urgent",
            "status": "void",
            "response_local": datetime(YEAR, 4, 30, 10, 0),
        }
    )
    return rows


TIMESHEETS = [  # entry_id, customer, work_date, hours, activity
    ("E1", "A", "2026-02-10", "6.00", "implementation"),
    ("E2", "A", "2026-03-11", "6.00", "training"),
    ("E3", "A", "2026-03-12", "3.00", "support"),
    ("E4", "C", "2026-05-05", "2.50", "custom_development"),
]
PREPAID = [("P1", "A", "10.00", "2026-01-15")]  # block_id, customer, hours, purchased_on

# Free tickets of 2031, past the old typed seed (2024-2028): opened, answered (Mountain),
# business seconds counted by hand with 2031's observed federal holidays (issue 16).
TICKETS_2031 = [
    # Thu Jul 3 16:00 -> Mon Jul 7 09:00 across Independence Day (Fri Jul 4): 1 h + 1 h
    ("T2031A", datetime(2031, 7, 3, 16, 0), datetime(2031, 7, 7, 9, 0), 2 * 3600),
    # Wed Nov 26 16:00 -> Fri Nov 28 09:00 across Thanksgiving (Thu Nov 27): 1 h + 1 h
    ("T2031B", datetime(2031, 11, 26, 16, 0), datetime(2031, 11, 28, 9, 0), 2 * 3600),
    # Fri Jan 17 16:00 -> Tue Jan 21 09:00 across Martin Luther King Jr. Day (Mon Jan 20)
    ("T2031C", datetime(2031, 1, 17, 16, 0), datetime(2031, 1, 21, 9, 0), 2 * 3600),
]
# The dataset's one ingest (R20: the data's time is the last ingest).
INGESTED_AT_UTC = "2026-12-31 18:30:00+00"


def build_analytics_warehouse(home: Path) -> None:
    """Write the dataset into raw.* of a fresh warehouse and build the analytics marts
    (and everything they depend on) with dbt, tests and unit tests included."""
    from support_billing.storage import dbt_runner
    from support_billing.storage.warehouse import open_warehouse

    with open_warehouse(Path(home)) as con:
        for i, (cid, name, policy) in enumerate(CUSTOMERS, 2):
            con.execute(
                "insert into raw.customers values (?, ?, ?, ?, null, 'customers.csv', ?, 1)",
                [cid, name, policy, name, i],
            )
        for i, (sid, cid, module, n, start, end) in enumerate(SUBSCRIPTIONS, 2):
            con.execute(
                "insert into raw.subscriptions values"
                " (?, ?, ?, ?, ?, ?, 'subscriptions.csv', ?, 1)",
                [sid, cid, module, n, start, end, i],
            )
        for i, t in enumerate(tickets(), 2):
            con.execute(
                """
                insert into raw.tickets values (
                    ?, ?, timezone('America/Denver', cast(? as timestamp)), ?, false, ?,
                    null, null, ?, timezone('America/Denver', cast(? as timestamp)), null,
                    'subject', 'tickets.csv', ?, 1)
                """,
                [
                    t["ticket_id"],
                    t["customer_id"],
                    t["opened_local"],
                    t["category"],
                    t["status"],
                    t["severity"],
                    t["response_local"],
                    i,
                ],
            )
        for i, (tid, opened, answered, _secs) in enumerate(TICKETS_2031, 900):
            con.execute(
                """
                insert into raw.tickets values (
                    ?, 'A', timezone('America/Denver', cast(? as timestamp)), 'how_to', false,
                    'closed', null, null, 'normal',
                    timezone('America/Denver', cast(? as timestamp)), null,
                    'subject', 'tickets.csv', ?, 1)
                """,
                [tid, opened, answered, i],
            )
        con.execute(
            "insert into raw.ingest_log (ingest_id, file_name, sha256, kind, status, rows_read,"
            " rows_loaded, rows_rejected, rows_held, ingested_at)"
            " values (1, 'tickets.csv', 'x', 'tickets', 'loaded', 1, 1, 0, 0,"
            " cast(? as timestamptz))",
            [INGESTED_AT_UTC],
        )
        for i, (eid, cid, day, hours, activity) in enumerate(TIMESHEETS, 2):
            con.execute(
                "insert into raw.timesheets values"
                " (?, ?, ?, ?, ?, null, 'x', 'timesheets.csv', ?, 1)",
                [eid, cid, day, hours, activity, i],
            )
        for i, (bid, cid, hours, bought) in enumerate(PREPAID, 2):
            con.execute(
                "insert into raw.prepaid_hours values (?, ?, ?, ?, 'prepaid_hours.csv', ?, 1)",
                [bid, cid, hours, bought, i],
            )
    result = dbt_runner.run_dbt(Path(home), ["build", "--select", ANALYTICS_SELECTOR])
    assert result.success, "dbt build failed: " + "; ".join(result.failures)


# ------------------------------------------------- independent expectations (Python)


def holidays() -> set[date]:
    with open(HOLIDAYS_CSV, newline="", encoding="utf-8") as fh:
        return {date.fromisoformat(r["observed_date"]) for r in csv.DictReader(fh)}


def business_seconds(opened: datetime, responded: datetime) -> int:
    """Mon-Fri 08:00-17:00 overlap of [opened, responded], holidays excluded, day by day."""
    off = holidays()
    total = 0
    day = opened.date()
    while day <= responded.date():
        if day.weekday() < 5 and day not in off:
            start = max(opened, datetime.combine(day, time(8)))
            end = min(responded, datetime.combine(day, time(17)))
            total += max(0, int((end - start).total_seconds()))
        day += timedelta(days=1)
    return total


def expected_response_times() -> dict[str, int]:
    """ticket_id -> business seconds, for the non-void tickets with a response."""
    return {
        t["ticket_id"]: business_seconds(t["opened_local"], t["response_local"])
        for t in tickets()
        if t["response_local"] is not None and t["status"] != "void"
    }


def expected_billable_by_customer() -> dict[str, int]:
    out: dict[str, int] = {}
    for cust, _m, _d in BILLABLE:
        out[cust] = out.get(cust, 0) + 1
    return out


# ------------------------------------------------------------------------ tests


_SHARED: dict[str, Path] = {}


def shared_analytics_home(tmp_path_factory) -> Path:
    """The dataset's warehouse, built once per test session (this module and
    test_notebooks.py only read it)."""
    from support_billing.storage.warehouse import ensure_home

    if "home" not in _SHARED:
        home = ensure_home(tmp_path_factory.mktemp("analytics") / "home")
        build_analytics_warehouse(home)
        _SHARED["home"] = home
    return _SHARED["home"]


@pytest.fixture(scope="module")
def analytics_home(tmp_path_factory) -> Path:
    return shared_analytics_home(tmp_path_factory)


def test_response_times_match_independent_computation(analytics_home):
    from support_billing.reporting import analysis
    df = analysis.response_times(analytics_home, YEAR)
    expected = expected_response_times()
    got = dict(zip(df["ticket_id"], df["business_seconds"].astype(int), strict=True))
    assert got == expected
    # the dataset crosses weekends and July 3 (Independence Day observed)
    assert any(s > 24 * 3600 for s in expected.values())
    assert any(s == 0 for s in expected.values())
    for row in df.itertuples():
        assert row.within_promise == (expected[row.ticket_id] <= 24 * 3600)
        assert row.business_hours == pytest.approx(round(expected[row.ticket_id] / 3600, 2))
    assert "T900" not in got  # void
    with_void = analysis.response_times(analytics_home, YEAR, include_void=True)
    assert "T900" in set(with_void["ticket_id"])


def test_holiday_is_not_a_business_day(analytics_home):
    from support_billing.reporting import analysis
    # 2026-07-02 (Thu) 16:00 -> 2026-07-06 (Mon) 09:00 across the observed July 3 holiday
    assert business_seconds(datetime(2026, 7, 2, 16), datetime(2026, 7, 6, 9)) == 2 * 3600
    df = analysis.query(
        analytics_home,
        "select count(*) as n from us_federal_holidays where observed_date = date '2026-07-03'",
    )
    assert int(df["n"].iloc[0]) == 1


def test_2031_holidays_are_not_business_hours(analytics_home):
    """Holidays come from the `holidays` library for any year the tickets reach (issue 16):
    2031's Independence Day, Thanksgiving and Martin Luther King Jr. Day are days off."""
    from support_billing.reporting import analysis
    df = analysis.response_times(analytics_home, 2031)
    got = dict(zip(df["ticket_id"], df["business_seconds"].astype(int), strict=True))
    assert got == {tid: secs for tid, _o, _a, secs in TICKETS_2031}
    # the same spans counted with holidays as business days would be 11 h each
    assert all(business_seconds(o, a) == 11 * 3600 for _t, o, a, _s in TICKETS_2031)
    days = analysis.query(
        analytics_home,
        "select observed_date from us_federal_holidays where holiday_year = 2031"
        " order by observed_date",
    )
    observed = [str(d)[:10] for d in days["observed_date"]]
    assert {"2031-01-20", "2031-07-04", "2031-11-27", "2031-12-25"} <= set(observed)
    assert len(observed) == 11  # the 11 federal holidays of 2031


def test_library_holidays_equal_the_typed_list(analytics_home):
    """For the years the typed list covered, the library gives the same observed dates
    (2027-12-31 for New Year's Day 2028 included)."""
    from support_billing.reporting import analysis
    df = analysis.query(
        analytics_home,
        "select observed_date, holiday_date, holiday_year from us_federal_holidays"
        " where holiday_year between 2025 and 2028",
    )
    pairs = zip(df["observed_date"], df["holiday_date"], strict=True)
    got = {(str(o)[:10], str(h)[:10]) for o, h in pairs}
    with open(HOLIDAYS_CSV, newline="", encoding="utf-8") as fh:
        typed = {
            (r["observed_date"], r["holiday_date"])
            for r in csv.DictReader(fh)
            if 2025 <= int(r["holiday_year"]) <= 2028
        }
    assert got == typed
    assert ("2027-12-31", "2028-01-01") in got


def test_data_time_is_the_last_ingest(analytics_home, tmp_path):
    """R20: the analysis helpers say the time of the data, the last ingest (Mountain time)."""
    from support_billing.reporting import analysis
    from support_billing.storage.warehouse import ensure_home, open_warehouse

    stamp = analysis.data_time(analytics_home)
    assert stamp.isoformat() == "2026-12-31T11:30:00-07:00"
    label = analysis.data_time_label(analytics_home)
    assert label == "data as of the last ingest, 2026-12-31 11:30 MST"
    empty = ensure_home(tmp_path / "empty")
    with open_warehouse(empty):
        pass
    assert analysis.data_time(empty) is None
    assert analysis.data_time_label(empty) == "no ingest recorded yet"


def test_overage_cost_under_each_policy(analytics_home):
    """mart_overage_policy_cost (R12 what-if): A (subscription) has 2 overage incidents in
    July: added July-December at 10.00 = 120.00, or 2 x 150.00 = 300.00 up front. B
    (upfront) has 1 in October: 150.00 up front, or added October-December with its tier
    total 2 + 1 = 3, so at 10.00: 30.00."""
    from support_billing.reporting import analysis
    df = analysis.overage_cost_by_policy(analytics_home, YEAR).set_index("customer_id")
    assert df.loc["A", "cost_if_subscription"] == pytest.approx(120.0)
    assert df.loc["A", "cost_if_upfront"] == pytest.approx(300.0)
    assert df.loc["A", "actual_cost"] == pytest.approx(120.0)
    assert df.loc["A", "overage_policy"] == "subscription"
    assert df.loc["B", "cost_if_upfront"] == pytest.approx(150.0)
    assert df.loc["B", "cost_if_subscription"] == pytest.approx(30.0)
    assert df.loc["B", "actual_cost"] == pytest.approx(150.0)
    assert set(df.index) == {"A", "B"}
    monthly = analysis.overage_cost_by_policy(analytics_home, YEAR, "A", by_month=True)
    assert list(monthly["period"]) == [f"2026-{m:02d}" for m in range(1, 13)]
    assert list(monthly["cost_if_subscription"]) == [0] * 6 + [20.0] * 6
    assert list(monthly["cost_if_upfront"]) == [0] * 6 + [300.0] + [0] * 5


def test_share_within_promise_by_month(analytics_home):
    from support_billing.reporting import analysis
    df = analysis.response_share_within_promise_by_month(analytics_home, YEAR)
    by_month: dict[str, list[int]] = {}
    for t in tickets():
        if t["response_local"] is None or t["status"] == "void":
            continue
        s = business_seconds(t["opened_local"], t["response_local"])
        by_month.setdefault(t["opened_local"].strftime("%Y-%m"), []).append(s)
    assert list(df["period"]) == sorted(by_month)
    for row in df.itertuples():
        secs = by_month[row.period]
        assert row.tickets == len(secs)
        assert row.share_within_promise == pytest.approx(
            sum(s <= 24 * 3600 for s in secs) / len(secs)
        )


def test_slowest_tickets(analytics_home):
    from support_billing.reporting import analysis
    expected = sorted(expected_response_times().items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    df = analysis.slowest_tickets(analytics_home, YEAR, 3)
    assert list(df["ticket_id"]) == [k for k, _ in expected]
    assert df["business_hours"].iloc[0] == pytest.approx(round(expected[0][1] / 3600, 2))


def test_usage_vs_allotment(analytics_home):
    from support_billing.reporting import analysis
    df = analysis.usage_vs_allotment(analytics_home, YEAR).set_index("customer_id")
    billable = expected_billable_by_customer()
    for cust, allotment in ALLOTMENT.items():
        row = df.loc[cust]
        assert row["allotment"] == allotment
        assert row["billable_incidents"] == billable[cust]
        assert row["covered"] == min(billable[cust], allotment)
        assert row["overage"] == max(0, billable[cust] - allotment)
        assert row["remaining"] == max(0, allotment - billable[cust])
    assert df.index[0] == "A"  # most billable incidents first


def test_closest_to_running_out(analytics_home):
    from support_billing.reporting import analysis
    # A and B have used everything; D has 1 left, C has 5.
    df = analysis.closest_to_running_out(analytics_home, YEAR, 3)
    assert list(df["customer_id"]) == ["D", "C"]
    assert list(df["remaining"]) == [1, 5]
    df = analysis.closest_to_running_out(analytics_home, YEAR, 3, include_exhausted=True)
    assert list(df["customer_id"]) == ["A", "B", "D"]  # A has the larger overage
    assert analysis.exhausted_customers(analytics_home, YEAR) == 2


def test_incident_usage_monthly(analytics_home):
    from support_billing.reporting import analysis
    df = analysis.monthly_usage(analytics_home, YEAR, "A")
    assert list(df["month"]) == list(range(1, 13))
    assert list(df["billable_incidents"]) == [2] * 7 + [0] * 5
    assert list(df["covered_ytd"])[-1] == 12
    assert list(df["overage_subscription"]) == [0] * 6 + [2] + [0] * 5
    assert set(df["allotment"]) == {12}
    assert list(df["allotment_remaining"])[:3] == [10, 8, 6]
    b = analysis.monthly_usage(analytics_home, YEAR, "B").set_index("month")
    # B's allotment starts with its subscription on 2026-03-16 (R8): 0 in Jan-Feb, 4 from March
    assert list(b["allotment"])[:4] == [0, 0, 4, 4]
    assert b.loc[10, "overage_upfront"] == 1


def test_overage_revenue_by_month(analytics_home):
    from support_billing.reporting import analysis
    df = analysis.overage_revenue_by_month(analytics_home, YEAR)
    assert len(df) == 24
    rev = {(r.period, r.overage_treatment): r.revenue for r in df.itertuples()}
    # B's fifth incident (October) is billed up front at 150.00 (R12)
    assert rev[("2026-10", "upfront")] == pytest.approx(150.0)
    assert sum(v for (_p, t), v in rev.items() if t == "upfront") == pytest.approx(150.0)
    # A's two July overage incidents are added to the subscription, July-December at the
    # month's rate (tier total 8 + 2 + 2 added = 12 -> 10.00): 2 x 10.00 a month
    for month in range(7, 13):
        assert rev[(f"2026-{month:02d}", "subscription")] == pytest.approx(20.0)
    assert rev[("2026-06", "subscription")] == 0
    incidents = {(r.period, r.overage_treatment): r.overage_incidents for r in df.itertuples()}
    assert incidents[("2026-07", "subscription")] == 2
    assert incidents[("2026-10", "upfront")] == 1


def test_expiring_forecast(analytics_home):
    from support_billing.reporting import analysis
    # On Dec 31 the forecast is exactly what expires (R11).
    df = analysis.expiring_forecast(analytics_home, YEAR, as_of="2026-12-31").set_index(
        "customer_id"
    )
    assert df.loc["C", "projected_expiring"] == 5
    assert df.loc["D", "projected_expiring"] == 1
    assert df.loc["A", "projected_expiring"] == 0
    # Mid-year: C has used 3 by June 30 (181 days); at that pace ~3 more by Dec 31
    mid = analysis.expiring_forecast(analytics_home, YEAR, as_of=date(2026, 6, 30))
    c = mid.set_index("customer_id").loc["C"]
    assert c["remaining_now"] == 5
    pace_use = 3 / 181 * 184
    assert c["projected_expiring"] == math.floor(5 - round(pace_use, 1) + 0.5)
    exp = analysis.query(
        analytics_home,
        "select customer_id, remaining, expires_on from mart_expiring_allotment where year = 2026",
    ).set_index("customer_id")
    assert exp.loc["C", "remaining"] == 5
    assert str(exp.loc["C", "expires_on"])[:10] == "2026-12-31"


def test_hourly_work_and_prepaid_balances(analytics_home):
    from support_billing.reporting import analysis
    hw = analysis.hourly_work(analytics_home, YEAR)
    rows = {(r.customer_id, r.period, r.activity): r for r in hw.itertuples()}
    # A: block P1 of 10 h (bought 2026-01-15): 6 h implementation in Feb from the block,
    # 6 h training in March: 4 from the block, 2 billed at 250.00 (R13)
    feb = rows[("A", "2026-02", "implementation")]
    assert (feb.hours, feb.billed_hours, feb.prepaid_hours) == (6, 0, 6)
    mar = rows[("A", "2026-03", "training")]
    assert (mar.hours, mar.billed_hours, mar.prepaid_hours) == (6, 2, 4)
    assert mar.billed_amount == pytest.approx(500.0)
    sup = rows[("A", "2026-03", "support")]
    assert (sup.billed_hours, sup.prepaid_hours, sup.is_billable_activity) == (0, 0, False)
    cdev = rows[("C", "2026-05", "custom_development")]
    assert cdev.billed_hours == pytest.approx(2.5)
    assert cdev.billed_amount == pytest.approx(625.0)
    pb = analysis.prepaid_balances(analytics_home, YEAR)
    left = dict(zip(pb["period"], pb["hours_left"], strict=True))
    assert left["2026-01"] == 10 and left["2026-02"] == 4 and left["2026-03"] == 0


def test_read_only_connection_is_refused_writes(analytics_home):
    """analysis.py only ever reads: its connection cannot write."""
    import duckdb
    from support_billing.reporting import analysis
    con = analysis._connect_read_only(analytics_home)
    try:
        with pytest.raises(duckdb.Error):
            con.execute("create table main.should_fail (x int)")
    finally:
        con.close()


def test_waits_for_the_billing_runs_write_lock(analytics_home):
    """While another process holds the write lock, analysis retries, then reads."""
    import subprocess
    import sys
    import time as clock

    from support_billing.reporting import analysis
    from support_billing.storage.warehouse import warehouse_path

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time\n"
            "con = duckdb.connect(sys.argv[1])\n"
            "print('locked', flush=True)\n"
            "time.sleep(2)\n"
            "con.close()\n",
            str(warehouse_path(analytics_home)),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = clock.monotonic()
        df = analysis.slowest_tickets(analytics_home, YEAR, 1)
        waited = clock.monotonic() - started
    finally:
        holder.wait(timeout=30)
    assert len(df) == 1
    assert waited > 0.5  # it did wait for the writer


def test_missing_warehouse_is_a_clear_error(tmp_path):
    from support_billing.reporting import analysis
    with pytest.raises(analysis.AnalysisError, match="no warehouse"):
        analysis.response_times(tmp_path, YEAR)


# ----------------------------------------------- holidays and notebook helpers (pure)


def _holidays_model():
    import importlib.util

    path = REPO_ROOT / "dbt_project" / "models" / "marts" / "analytics" / "us_federal_holidays.py"
    spec = importlib.util.spec_from_file_location("us_federal_holidays_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@settings(max_examples=25, deadline=None)
@given(year=st.integers(min_value=2022, max_value=2080))
def test_holiday_rows_every_year(year):
    """Any year (issue 16): the 11 federal holidays, each observed on a weekday at most one
    day from its date (Saturday -> Friday, Sunday -> Monday), one row per observed day."""
    rows = [r for r in _holidays_model().holiday_rows(range(year - 1, year + 2)) if r[1] == year]
    assert len(rows) == 11
    assert len({r[0] for r in rows}) == 11
    for observed, holiday_year, name, actual in rows:
        assert actual.year == holiday_year and name
        assert observed.weekday() < 5
        if actual.weekday() == 5:
            assert observed == actual - timedelta(days=1)
        elif actual.weekday() == 6:
            assert observed == actual + timedelta(days=1)
        else:
            assert observed == actual


def test_notebook_home_resolution(tmp_path, monkeypatch):
    """home, else SUPPORT_BILLING_HOME, else ./data; from notebooks/ a relative path that is
    not there is taken from the project root above."""
    from support_billing.reporting.analysis import notebook_home

    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    (project / "data").mkdir()
    monkeypatch.delenv("SUPPORT_BILLING_HOME", raising=False)
    monkeypatch.chdir(project)
    assert notebook_home(None) == project / "data"
    monkeypatch.chdir(project / "notebooks")
    assert notebook_home(None) == project / "data"
    assert notebook_home("") == project / "data"
    assert notebook_home("../data") == project / "data"
    assert notebook_home(str(tmp_path / "elsewhere")) == tmp_path / "elsewhere"
    monkeypatch.setenv("SUPPORT_BILLING_HOME", str(tmp_path / "env_home"))
    assert notebook_home(None) == tmp_path / "env_home"
    assert notebook_home("data") == project / "data"  # the parameter wins


def test_months_and_periods():
    from support_billing.reporting.analysis import periods, resolve_months

    assert resolve_months(None) == list(range(1, 13))
    assert resolve_months("1-3") == [1, 2, 3]
    assert resolve_months([4, "2026-03", "7,8"]) == [3, 4, 7, 8]
    assert resolve_months(12) == [12]
    assert periods(2026, "11-12") == ["2026-11", "2026-12"]
    for bad in ("0", "13", "3-14", []):
        with pytest.raises(ValueError):
            resolve_months(bad)


def test_one_customers_year_reads_the_expiring_allotment_mart(analytics_home):
    """analysis_customer reads mart_expiring_allotment through analysis_base's one reader:
    the busiest customer (R10 billable incidents, from the mart), one customer's year, and
    zeros for a year without allotment or incidents (R8, R11)."""
    from support_billing.reporting import analysis_customer as ac
    assert ac.default_customer(analytics_home, YEAR) == "A"
    c = ac.customer_year(analytics_home, YEAR, "C")
    assert (c["customer_name"], c["overage_policy"], c["allotment"], c["remaining"]) == (
        "Cedar Electric", "subscription", 8, 5)
    assert str(c["expires_on"])[:10] == "2026-12-31"
    quiet = ac.customer_year(analytics_home, 2025, "C")
    assert (quiet["customer_name"], quiet["allotment"], quiet["covered"], quiet["overage"],
            quiet["remaining"]) == ("Cedar Electric", 0, 0, 0, 0)
    assert str(quiet["expires_on"])[:10] == "2025-12-31"
    with pytest.raises(ac.AnalysisError, match="no customer 'Z'"):
        ac.customer_year(analytics_home, YEAR, "Z")
    with pytest.raises(ac.AnalysisError, match="2025"):
        ac.default_customer(analytics_home, 2025)
