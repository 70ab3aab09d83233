"""Write an oracle scenario straight into a fresh warehouse's raw.* tables, build dbt,
and read the marts back as plain Python values.

This bypasses CSV ingest on purpose: the comparison is between the billing rules as
modelled in dbt and the oracle, on the same typed rows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from .billing_oracle import normalize

SOURCE_FILE = "oracle_scenario.csv"


def _connect(home: Path, read_only: bool = False):
    """A warehouse connection with TimeZone=UTC.

    Opened here rather than with ``warehouse.connect``: with DuckDB 2.0 passing
    ``config={"TimeZone": ...}`` to ``duckdb.connect`` can fail ("the icu extension
    needs to be loaded"), while ``SET TimeZone`` after connecting works.
    """
    import duckdb
    from support_billing.storage.warehouse import warehouse_path

    con = duckdb.connect(str(warehouse_path(Path(home))), read_only=read_only)
    con.execute("set TimeZone = 'UTC'")
    return con


def write_scenario(home: Path, scenario: dict) -> None:
    """Insert the scenario's rows into raw.* (the tables are created if needed)."""
    from support_billing.storage.warehouse import ensure_home, init_warehouse

    data = normalize(scenario)
    ensure_home(Path(home))
    con = _connect(home)
    try:
        init_warehouse(con)
        _insert(con, data)
    finally:
        con.close()


def _insert(con, data: dict) -> None:
    if True:
        for i, c in enumerate(data["customers"], 2):
            con.execute(
                "insert into raw.customers values (?, ?, ?, ?, ?, ?, ?, 1)",
                [
                    c["customer_id"],
                    c["customer_name"],
                    c["overage_policy"],
                    c["accounting_ref"],
                    c["email"],
                    "customers_" + SOURCE_FILE,
                    i,
                ],
            )
        for i, s in enumerate(data["subscriptions"], 2):
            con.execute(
                "insert into raw.subscriptions values (?, ?, ?, ?, ?, ?, ?, ?, 1)",
                [
                    s["subscription_id"],
                    s["customer_id"],
                    s["module"],
                    s["annual_incidents"],
                    s["start_date"],
                    s["end_date"],
                    "subscriptions_" + SOURCE_FILE,
                    i,
                ],
            )
        for i, t in enumerate(data["tickets"], 2):
            utc = t["opened_at"].astimezone(UTC)
            con.execute(
                "insert into raw.tickets values "
                "(?, ?, cast(? as timestamptz), ?, ?, ?, ?, ?, ?, null, null, ?, ?, ?, 1)",
                [
                    t["ticket_id"],
                    t["customer_id"],
                    utc.strftime("%Y-%m-%d %H:%M:%S.%f+00:00"),
                    t["category"],
                    t["time_sensitive"],
                    t["status"],
                    t["billable_override"],
                    t["override_reason"],
                    t["severity"],
                    t["subject"],
                    "tickets_" + SOURCE_FILE,
                    i,
                ],
            )
        for i, e in enumerate(data["timesheets"], 2):
            con.execute(
                "insert into raw.timesheets values "
                "(?, ?, ?, cast(? as decimal(18,2)), ?, ?, ?, ?, ?, 1)",
                [
                    e["entry_id"],
                    e["customer_id"],
                    e["work_date"],
                    str(e["hours"]),
                    e["activity"],
                    e["ticket_id"],
                    e["employee"],
                    "timesheets_" + SOURCE_FILE,
                    i,
                ],
            )
        for i, b in enumerate(data["prepaid_hours"], 2):
            con.execute(
                "insert into raw.prepaid_hours values (?, ?, cast(? as decimal(18,2)), ?, ?, ?, 1)",
                [
                    b["block_id"],
                    b["customer_id"],
                    str(b["hours"]),
                    b["purchased_on"],
                    "prepaid_hours_" + SOURCE_FILE,
                    i,
                ],
            )


def merge_scenarios(scenarios: list[dict]) -> dict:
    """One scenario holding all rows of several (their ids must not collide)."""
    merged: dict[str, list] = {
        k: [] for k in ("customers", "subscriptions", "tickets", "timesheets", "prepaid_hours")
    }
    for s in scenarios:
        for k in merged:
            merged[k].extend(s.get(k, []))
    return merged


def build(home: Path, period: str) -> None:
    """Seeds and models (no data tests: a failing test must not skip the marts)."""
    from support_billing.storage.dbt_runner import run_dbt

    res = run_dbt(
        Path(home),
        ["build", "--exclude", "resource_type:test", "resource_type:unit_test"],
        vars={"period": period},
    )
    if not res.success:
        raise AssertionError("dbt build failed: " + "; ".join(res.failures))


def _plain(value):
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):  # never expected for money; keep exactness visible
        return Decimal(repr(value))
    return value


def query(home: Path, sql: str, params=None) -> list[dict]:
    con = _connect(home, read_only=True)
    try:
        cur = con.execute(sql, params or [])
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, (_plain(v) for v in row), strict=True)) for row in cur.fetchall()]
    finally:
        con.close()


def table_exists(home: Path, name: str) -> bool:
    rows = query(
        home,
        "select count(*) as n from information_schema.tables where table_schema = 'main' "
        "and table_name = ?",
        [name],
    )
    return rows[0]["n"] > 0


def read_marts(home: Path) -> dict[str, list[dict]]:
    """The marts the oracle is compared with, as lists of dicts."""
    out = {}
    for name, order in (
        ("fct_ticket_classification", "ticket_id"),
        ("fct_incidents", "customer_id, year, seq_in_year"),
        ("fct_invoice_lines_computed", "period, customer_id, line_type_order, sort_key"),
        ("customer_year_usage", "customer_id, year"),
        ("allotment_steps", "customer_id, year, available_from"),
        ("invoices", "invoice_number"),
        ("invoice_lines", "invoice_number, line_number"),
        ("prepaid_deductions", "customer_id, block_id"),
    ):
        if table_exists(home, name):
            out[name] = query(home, f"select * from main.{name} order by {order}")
        else:
            out[name] = None
    return out


def as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    return value


# ---------------------------------------------------------------------------------------
# Hand-computed scenarios from SPEC (section 4 and the section 7 worked example).
# Each uses its own customer ids so that all of them can share one warehouse and one
# dbt build; the expected values live in tests/test_oracle_unit.py (oracle) and
# tests/test_billing_scenarios.py (dbt marts).
# ---------------------------------------------------------------------------------------

UTC = UTC


def _t(tid, cid, when, category="sync_support", **kw):
    return {"ticket_id": tid, "customer_id": cid, "opened_at": when, "category": category, **kw}


def _at(y, m, d, h=17, mi=0):
    """A UTC instant (17:00 UTC is 10:00 or 11:00 in Denver: same calendar day)."""
    return datetime(y, m, d, h, mi, tzinfo=UTC)


def worked_example_a() -> dict:
    """SPEC 7, customer A: 80.00 + 20.00 a month; the 13th incident (June) is added."""
    cid = "WA"
    days = [(1, 5), (1, 20), (2, 5), (2, 20), (3, 5), (3, 20), (4, 5), (4, 20), (5, 5),
            (5, 12), (5, 20), (5, 28), (6, 15)]
    return {
        "customers": [{"customer_id": cid, "overage_policy": "subscription"}],
        "subscriptions": [
            {"subscription_id": "WA-RP", "customer_id": cid, "module": "remote_payroll",
             "annual_incidents": 8, "start_date": "2026-01-01", "end_date": "2026-12-31"},
            {"subscription_id": "WA-PS", "customer_id": cid, "module": "pay_stubs",
             "annual_incidents": 2, "start_date": "2026-01-01", "end_date": "2026-12-31"},
        ],
        "tickets": [
            _t(f"WA-T{i:02d}", cid, _at(2026, m, d), "extended_help")
            for i, (m, d) in enumerate(days, 1)
        ],
    }


def worked_example_b() -> dict:
    """SPEC 7, customer B: field_reports (2) from 2026-03-16, up front; 5th incident in October."""
    cid = "WB"
    days = [(4, 2), (5, 6), (7, 7), (9, 9), (10, 14)]
    return {
        "customers": [{"customer_id": cid, "overage_policy": "upfront"}],
        "subscriptions": [
            {"subscription_id": "WB-FR", "customer_id": cid, "module": "field_reports",
             "annual_incidents": 2, "start_date": "2026-03-16", "end_date": None},
        ],
        "tickets": [
            _t(f"WB-T{i}", cid, _at(2026, m, d), "admin_task") for i, (m, d) in enumerate(days, 1)
        ],
    }


def partial_year_start() -> dict:
    """R8: remote_payroll (8) from 2026-03-16 grants ceil(8*10/12)=7 (+2 extras) from that day.

    Ten billable incidents after the start: 9 covered, the 10th is an overage (up front)."""
    cid = "PY"
    return {
        "customers": [{"customer_id": cid, "overage_policy": "upfront"}],
        "subscriptions": [
            {"subscription_id": "PY-RP", "customer_id": cid, "module": "remote_payroll",
             "annual_incidents": 8, "start_date": "2026-03-16", "end_date": None},
        ],
        "tickets": [_t(f"PY-T{i:02d}", cid, _at(2026, 3 + i // 2, 17 + i % 2)) for i in range(10)],
    }


def upgrade_mid_year() -> dict:
    """R8/R6/R12: remote_payroll 8 (Jan 1 - Jun 30) then 10 from Jul 1 (new subscription_id).

    Allotment 8+2=10 until Jun 30, then ceil((6*8+6*10)/12)=9 (+2) = 11 from Jul 1.
    Eleven incidents by Jun 30 -> the 11th (Jun 30) is added to the subscription;
    Jul 2 is covered again (10 covered < 11); Jul 3 is the second added incident."""
    cid = "UP"
    dates = [(1, 10), (1, 20), (2, 10), (2, 20), (3, 10), (3, 20), (4, 10), (4, 20), (5, 10),
             (5, 20), (6, 30), (7, 2), (7, 3)]
    return {
        "customers": [{"customer_id": cid, "overage_policy": "subscription"}],
        "subscriptions": [
            {"subscription_id": "UP-1", "customer_id": cid, "module": "remote_payroll",
             "annual_incidents": 8, "start_date": "2026-01-01", "end_date": "2026-06-30"},
            {"subscription_id": "UP-2", "customer_id": cid, "module": "remote_payroll",
             "annual_incidents": 10, "start_date": "2026-07-01", "end_date": None},
        ],
        "tickets": [_t(f"UP-T{i:02d}", cid, _at(2026, m, d)) for i, (m, d) in enumerate(dates, 1)],
    }


def february_start() -> dict:
    """R7: remote_payroll (8) from 2026-02-15: 14 of 28 days -> 8 x 10.00 x 14/28 = 40.00."""
    cid = "FB"
    return {
        "customers": [{"customer_id": cid}],
        "subscriptions": [
            {"subscription_id": "FB-RP", "customer_id": cid, "module": "remote_payroll",
             "annual_incidents": 8, "start_date": "2026-02-15", "end_date": "2026-03-10"},
        ],
    }


def denver_month() -> dict:
    """R1: 2026-04-01T05:30Z is 2026-03-31 23:30 MDT (March); 06:30Z is April 1 00:30 MDT.

    The subscription ended 2026-02-28, so both incidents are overages while not active:
    up front (R12) even under the subscription policy, one in March, one in April.
    2027-01-01T06:30Z is 2026-12-31 23:30 MST: an incident of 2026."""
    cid = "TZ"
    return {
        "customers": [{"customer_id": cid, "overage_policy": "subscription"}],
        "subscriptions": [
            {"subscription_id": "TZ-PS", "customer_id": cid, "module": "pay_stubs",
             "annual_incidents": 2, "start_date": "2026-01-01", "end_date": "2026-02-28"},
        ],
        "tickets": [
            _t("TZ-MAR", cid, datetime(2026, 4, 1, 5, 30, tzinfo=UTC), "sync_support"),
            _t("TZ-APR", cid, datetime(2026, 4, 1, 6, 30, tzinfo=UTC), "sync_support"),
            _t("TZ-DEC", cid, datetime(2027, 1, 1, 6, 30, tzinfo=UTC), "admin_task"),
        ],
    }


def migrations() -> dict:
    """R9 step 4: first migration (Feb) free, the second of the year (Mar) billable;
    one opened while not active (before the start) is billable and does not use the benefit."""
    return {
        "customers": [
            {"customer_id": "MG", "overage_policy": "upfront"},
            {"customer_id": "MI", "overage_policy": "subscription"},
        ],
        "subscriptions": [
            {"subscription_id": "MG-PS", "customer_id": "MG", "module": "pay_stubs",
             "annual_incidents": 2, "start_date": "2026-01-01", "end_date": None},
            {"subscription_id": "MI-PS", "customer_id": "MI", "module": "pay_stubs",
             "annual_incidents": 2, "start_date": "2026-03-01", "end_date": None},
        ],
        "tickets": [
            _t("MG-1", "MG", _at(2026, 2, 10), "server_migration"),
            _t("MG-2", "MG", _at(2026, 3, 10), "key_code_change"),
            # MI: Feb 10 not active (billable, up front), Apr 10 free, May 10 billable.
            _t("MI-1", "MI", _at(2026, 2, 10), "key_code_change"),
            _t("MI-2", "MI", _at(2026, 4, 10), "server_migration"),
            _t("MI-3", "MI", _at(2026, 5, 10), "server_migration"),
        ],
    }


def cancelled() -> dict:
    """R12: remote_payroll (8) Jan 1 - May 31, policy subscription; an incident on Jul 15
    (not active) is an overage billed up front (150.00) in July; allotment stays 10 (R8)."""
    cid = "CX"
    return {
        "customers": [{"customer_id": cid, "overage_policy": "subscription"}],
        "subscriptions": [
            {"subscription_id": "CX-RP", "customer_id": cid, "module": "remote_payroll",
             "annual_incidents": 8, "start_date": "2026-01-01", "end_date": "2026-05-31"},
        ],
        "tickets": [
            _t("CX-1", cid, _at(2026, 3, 3), "sync_customization"),
            _t("CX-2", cid, _at(2026, 7, 15), "sync_support"),
        ],
    }


def prepaid_hours() -> dict:
    """R13: entries FIFO over blocks purchased on or before the work date; a split entry.

    P1 2.00 (Jan 10), P2 3.00 (Feb 1), P3 10.00 (Jun 1).
    E1 Jan 20 implementation 1.50 -> P1 1.50 (0.50 left). January: deduction only, no invoice.
    E2 Feb 5 training 4.25 -> P1 0.50, P2 3.00, 0.75 billed (187.50).
    E3 Feb 6 support 2.00 -> not billed, no deduction.
    E4 Feb 7 custom_development 1.25 -> no usable block (P3 bought later): 312.50.
    E5 Jun 10 implementation 2.00 -> P3 (8.00 left). June: deduction only, no invoice.
    E6 Oct 5 implementation 9.00 -> P3 8.00 (0.00 left), 1.00 billed (250.00)."""
    cid = "HR"
    return {
        "customers": [{"customer_id": cid}],
        "timesheets": [
            {"entry_id": "HR-E1", "customer_id": cid, "work_date": "2026-01-20",
             "hours": "1.50", "activity": "implementation"},
            {"entry_id": "HR-E2", "customer_id": cid, "work_date": "2026-02-05",
             "hours": "4.25", "activity": "training"},
            {"entry_id": "HR-E3", "customer_id": cid, "work_date": "2026-02-06",
             "hours": "2.00", "activity": "support"},
            {"entry_id": "HR-E4", "customer_id": cid, "work_date": "2026-02-07",
             "hours": "1.25", "activity": "custom_development"},
            {"entry_id": "HR-E5", "customer_id": cid, "work_date": "2026-06-10",
             "hours": "2.00", "activity": "implementation"},
            {"entry_id": "HR-E6", "customer_id": cid, "work_date": "2026-10-05",
             "hours": "9.00", "activity": "implementation"},
        ],
        "prepaid_hours": [
            {"block_id": "HR-P1", "customer_id": cid, "hours": "2.00",
             "purchased_on": "2026-01-10"},
            {"block_id": "HR-P2", "customer_id": cid, "hours": "3.00",
             "purchased_on": "2026-02-01"},
            {"block_id": "HR-P3", "customer_id": cid, "hours": "10.00",
             "purchased_on": "2026-06-01"},
        ],
    }


def tier_change() -> dict:
    """R6/R12: pay_stubs (2) all year, policy subscription: tier 2, 2 x 12.50 = 25.00.
    Allotment 2+2 = 4; the 5th incident (May 12) is added: from May the tier total is 3,
    rate 10.00: 2 x 10.00 = 20.00 plus 1 x 10.00."""
    cid = "TC"
    dates = [(1, 12), (2, 12), (3, 12), (4, 12), (5, 12)]
    return {
        "customers": [{"customer_id": cid, "overage_policy": "subscription"}],
        "subscriptions": [
            {"subscription_id": "TC-PS", "customer_id": cid, "module": "pay_stubs",
             "annual_incidents": 2, "start_date": "2026-01-01", "end_date": None},
        ],
        "tickets": [
            _t(f"TC-T{i}", cid, _at(2026, m, d), "admin_task") for i, (m, d) in enumerate(dates, 1)
        ],
    }


def classification() -> dict:
    """R9 steps 1-6 on one always-active customer (allotment 6+2 = 8, nothing overflows)."""
    cid = "CL"
    t = [
        _t("CL-void", cid, _at(2026, 2, 2), "sync_support", status="void", billable_override="yes"),
        _t("CL-ovy", cid, _at(2026, 2, 3), "feature_request", billable_override="yes"),
        _t("CL-ovn", cid, _at(2026, 2, 4), "sync_support", billable_override="no"),
        _t("CL-impl", cid, _at(2026, 2, 5), "implementation", time_sensitive=True),
        _t("CL-impl-yes", cid, _at(2026, 2, 6), "training", billable_override="YES"),
        _t("CL-sheet", cid, _at(2026, 2, 7), "sync_support"),       # on a training entry
        _t("CL-support", cid, _at(2026, 2, 8), "sync_support"),     # on a support entry only
        _t("CL-other", cid, _at(2026, 2, 9), "admin_task"),         # on another customer's entry
        _t("CL-ts", cid, _at(2026, 2, 10), "how_to", time_sensitive=True),
        _t("CL-bug", cid, _at(2026, 2, 11), "bug_report"),
        _t("CL-fr-ts", cid, _at(2026, 2, 12), "feature_request", time_sensitive=True),
        _t("CL-unsup", cid, _at(2026, 2, 13), "unsupported_environment", status="closed"),
        _t("CL-basic", cid, _at(2026, 2, 14), "basic_question"),
    ]
    return {
        "customers": [{"customer_id": cid}, {"customer_id": "CL2"}],
        "subscriptions": [
            {"subscription_id": "CL-HR", "customer_id": cid, "module": "human_resources",
             "annual_incidents": 6, "start_date": "2025-06-01", "end_date": None},
        ],
        "tickets": t,
        "timesheets": [
            {"entry_id": "CL-E1", "customer_id": cid, "work_date": "2026-02-07",
             "hours": "1.00", "activity": "training", "ticket_id": "CL-sheet"},
            {"entry_id": "CL-E2", "customer_id": cid, "work_date": "2026-02-08",
             "hours": "1.00", "activity": "support", "ticket_id": "CL-support"},
            {"entry_id": "CL2-E1", "customer_id": "CL2", "work_date": "2026-02-09",
             "hours": "1.00", "activity": "implementation", "ticket_id": "CL-other"},
        ],
    }


def gap_in_service() -> dict:
    """R12/R6: pay_stubs Jan 1 - Jun 10, again from Sep 20 (policy subscription).
    The 5th incident (May 6) is added: in effect May, Jun, Sep-Dec (months with an active
    day), whole months; not in Jul/Aug; gone in 2027 (a new year)."""
    cid = "GP"
    return {
        "customers": [{"customer_id": cid}],
        "subscriptions": [
            {"subscription_id": "GP-1", "customer_id": cid, "module": "pay_stubs",
             "annual_incidents": 2, "start_date": "2026-01-01", "end_date": "2026-06-10"},
            {"subscription_id": "GP-2", "customer_id": cid, "module": "pay_stubs",
             "annual_incidents": 2, "start_date": "2026-09-20", "end_date": "2027-03-31"},
        ],
        "tickets": [_t(f"GP-{i}", cid, _at(2026, 5, 2 + i)) for i in range(5)],
    }


def renewal() -> dict:
    """R8: a renewal under a new subscription_id grants nothing twice; an end_date never
    takes allotment back (pay_stubs ended Jan 31 still counts all year)."""
    cid = "RN"
    return {
        "customers": [{"customer_id": cid}],
        "subscriptions": [
            {"subscription_id": "RN-1", "customer_id": cid, "module": "remote_payroll",
             "annual_incidents": 8, "start_date": "2025-07-01", "end_date": "2026-06-30"},
            {"subscription_id": "RN-2", "customer_id": cid, "module": "remote_payroll",
             "annual_incidents": 8, "start_date": "2026-07-01", "end_date": None},
            {"subscription_id": "RN-3", "customer_id": cid, "module": "pay_stubs",
             "annual_incidents": 2, "start_date": "2026-01-01", "end_date": "2026-01-31"},
        ],
    }


HAND_SCENARIOS = {
    "gap_in_service": gap_in_service,
    "renewal": renewal,
    "worked_example_a": worked_example_a,
    "worked_example_b": worked_example_b,
    "partial_year_start": partial_year_start,
    "upgrade_mid_year": upgrade_mid_year,
    "february_start": february_start,
    "denver_month": denver_month,
    "migrations": migrations,
    "cancelled": cancelled,
    "prepaid_hours": prepaid_hours,
    "tier_change": tier_change,
    "classification": classification,
}


def all_hand_scenarios() -> dict:
    return merge_scenarios([f() for f in HAND_SCENARIOS.values()])


# ---------------------------------------------------------------------------------------
# Comparing the oracle with the marts
# ---------------------------------------------------------------------------------------


def mart_years(marts: dict) -> set[int]:
    years = {int(r["period"][:4]) for r in marts["fct_invoice_lines_computed"] or []}
    years |= {int(r["year"]) for r in marts["customer_year_usage"] or []}
    return years


def compare(oracle, marts: dict, customers: set[str] | None = None) -> list[str]:
    """Every difference between an OracleResult and the marts, as readable strings.

    ``customers`` limits the comparison (a batch holds many independent scenarios).
    """
    from datetime import timedelta

    diffs: list[str] = []

    def mine(cid):
        return customers is None or cid in customers

    # R9 reason codes
    got = {r["ticket_id"]: r["reason_code"] for r in marts["fct_ticket_classification"]
           if mine(r["customer_id"])}
    exp = {t: c for t, c in oracle.reasons.items() if t in got or mine(_ticket_customer(oracle, t))}
    for tid in sorted(set(got) | set(exp)):
        if got.get(tid) != exp.get(tid):
            diffs.append(f"R9 ticket {tid}: reason expected {exp.get(tid)} got {got.get(tid)}")

    # R10 ledger
    cols = ("incident_date", "period", "year", "seq_in_year", "coverage", "allotment_available",
            "allotment_remaining", "overage_treatment")
    got_l = {r["ticket_id"]: r for r in marts["fct_incidents"] if mine(r["customer_id"])}
    exp_l = {r["ticket_id"]: r for r in oracle.ledger if mine(r["customer_id"])}
    for tid in sorted(set(got_l) | set(exp_l)):
        g, e = got_l.get(tid), exp_l.get(tid)
        if g is None or e is None:
            diffs.append(
                f"R10 ticket {tid}: in ledger expected {e is not None} got {g is not None}"
            )
            continue
        for c in cols:
            gv = g[c]
            if c in ("year", "seq_in_year", "allotment_available", "allotment_remaining"):
                gv = int(gv)
            if gv != e[c]:
                diffs.append(f"R10 ticket {tid} ({e['customer_id']} {e['incident_date']}): "
                             f"{c} expected {e[c]} got {gv}")

    # R11 year usage
    ucols = ("allotment", "covered", "overage", "expired")
    zero = dict.fromkeys(ucols, 0)
    got_u = {(r["customer_id"], int(r["year"])): {c: int(r[c]) for c in ucols}
             for r in marts["customer_year_usage"] if mine(r["customer_id"])}
    exp_u = {k: v for k, v in oracle.year_usage.items() if mine(k[0])}
    for key in sorted(set(got_u) | set(exp_u)):
        if got_u.get(key, zero) != exp_u.get(key, zero):
            diffs.append(f"R11 {key}: expected {exp_u.get(key, zero)} got {got_u.get(key, zero)}")

    # R8 allotment steps: the allotment on every day of each year
    steps: dict[tuple[str, int], list] = {}
    for r in marts["allotment_steps"] or []:
        if mine(r["customer_id"]):
            steps.setdefault((r["customer_id"], int(r["year"])), []).append(
                (as_date(r["available_from"]), int(r["allotment"])))
    o = oracle.oracle
    for cid in sorted(c for c in o.customers if mine(c)):
        for year in o.years:
            s = sorted(steps.get((cid, year), []))
            d = date(year, 1, 1)
            while d.year == year:
                got_a = ([a for f, a in s if f <= d] or [0])[-1]
                exp_a = o.allotment(cid, d)
                if got_a != exp_a:
                    diffs.append(f"R8 {cid} allotment on {d}: expected {exp_a} got {got_a}")
                    break  # one per customer-year is enough
                d += timedelta(days=1)

    # R7/R12/R13 lines, per customer and month, in R14 order
    def key(x):
        return (x["line_type"], x["quantity"], x["unit_price"], x["amount"],
                x["source_ref"] if x["line_type"] in ("support_subscription",
                                                      "prepaid_hours_deduction") else None)

    got_lines: dict[tuple[str, str], list] = {}
    for r in sorted(marts["fct_invoice_lines_computed"],
                    key=lambda r: (r["period"], r["customer_id"], r["line_type_order"],
                                   r["sort_key"] or "")):
        if mine(r["customer_id"]):
            got_lines.setdefault((r["period"], r["customer_id"]), []).append(key(r))
    exp_lines: dict[tuple[str, str], list] = {}
    for x in oracle.lines:
        if mine(x["customer_id"]):
            exp_lines.setdefault((x["period"], x["customer_id"]), []).append(key(x))
    for k in sorted(set(got_lines) | set(exp_lines)):
        g, e = got_lines.get(k, []), exp_lines.get(k, [])
        if g != e:
            diffs.append(f"lines {k[0]} {k[1]}: expected {_fmt(e)} got {_fmt(g)}")
    return diffs


def compare_invoices(oracle, marts: dict, period: str, customers: set[str] | None = None):
    """R14 for the built period: which customers get an invoice, totals, line order."""
    diffs = []

    def mine(cid):
        return customers is None or cid in customers

    exp = {c: t for (p, c), t in oracle.invoices.items() if p == period and mine(c)}
    got = {r["customer_id"]: r for r in marts["invoices"] if mine(r["customer_id"])}
    for cid in sorted(set(exp) | set(got)):
        if cid not in got or cid not in exp:
            diffs.append(f"R14 {period} {cid}: invoice expected {exp.get(cid)} "
                         f"got {got[cid]['total'] if cid in got else None}")
            continue
        g = got[cid]
        if g["total"] != exp[cid]:
            diffs.append(f"R14 {period} {cid}: total expected {exp[cid]} got {g['total']}")
        lines = [r for r in marts["invoice_lines"] if r["customer_id"] == cid]
        got_seq = [(r["line_number"], r["line_type"], r["quantity"], r["unit_price"], r["amount"])
                   for r in sorted(lines, key=lambda r: r["line_number"])]
        exp_seq = [(i, x["line_type"], x["quantity"], x["unit_price"], x["amount"])
                   for i, x in enumerate(oracle.lines_for(period, cid), 1)]
        if got_seq != exp_seq:
            diffs.append(f"R14 {period} {cid}: lines expected {exp_seq} got {got_seq}")
        if g["line_count"] != len(exp_seq):
            diffs.append(f"R14 {period} {cid}: line_count expected {len(exp_seq)} "
                         f"got {g['line_count']}")
    return diffs


def _ticket_customer(oracle, ticket_id):
    return next(t["customer_id"] for t in oracle.oracle.tickets if t["ticket_id"] == ticket_id)


def _fmt(lines):
    return "[" + "; ".join(
        f"{t} {q} x {u} = {a}" + (f" ({s})" if s else "") for t, q, u, a, s in lines
    ) + "]"


def compare_prepaid(oracle, marts: dict, period: str, customers: set[str] | None = None):
    """R13/R14 for the built period: block deductions, hours left, invoice number or blank."""
    diffs = []

    def mine(cid):
        return customers is None or cid in customers

    inv_no = {r["customer_id"]: r["invoice_number"] for r in marts["invoices"]}
    got = {(r["customer_id"], r["block_id"]): (r["hours_taken"], r["hours_left"],
                                              r["invoice_number"])
           for r in marts["prepaid_deductions"] if mine(r["customer_id"])}
    exp = {}
    for d in oracle.deductions:
        if d["period"] == period and mine(d["customer_id"]):
            has_invoice = (period, d["customer_id"]) in oracle.invoices
            exp[(d["customer_id"], d["block_id"])] = (
                d["hours_taken"], d["hours_left"],
                inv_no.get(d["customer_id"]) if has_invoice else None)
    for k in sorted(set(got) | set(exp)):
        if got.get(k) != exp.get(k):
            diffs.append(f"R13 prepaid {period} {k}: (taken, left, invoice) expected "
                         f"{exp.get(k)} got {got.get(k)}")
        if k in exp and exp[k][2] is None and (period, k[0]) in oracle.invoices:
            diffs.append(f"R14 prepaid {period} {k}: customer has an invoice but none in marts")
    return diffs


# R9 reason codes of the classification() scenario, hand-computed from SPEC (shared by the
# oracle unit test and the dbt scenario test).
CLASSIFICATION_REASONS = {
    "CL-void": "void",
    "CL-ovy": "override_billable",
    "CL-ovn": "override_free",
    "CL-impl": "hourly_work",
    "CL-impl-yes": "override_billable",
    "CL-sheet": "hourly_work",
    "CL-support": "billable_category",
    "CL-other": "billable_category",
    "CL-ts": "time_sensitive",
    "CL-bug": "free_category",
    "CL-fr-ts": "free_category",
    "CL-unsup": "billable_category",
    "CL-basic": "free_category",
}
