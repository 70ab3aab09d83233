"""SPEC's hand-computed scenarios run through the real dbt marts.

All scenarios (tests/oracle/scenario_db.py, each under its own customer ids) are written
straight into one warehouse's raw.* tables and built once (module-scoped fixture) with
period 2026-10. Every test asserts exact values computed by hand from SPEC; the last ones
also compare the whole build with the oracle.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from oracle import scenario_db as sc
from oracle.billing_oracle import DEFAULT_PRICE_BOOK, BillingOracle, compute

D = Decimal
PERIOD = "2026-10"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict]:
    home = tmp_path_factory.mktemp("scenarios") / "home"
    home.mkdir()
    sc.write_scenario(home, sc.all_hand_scenarios())
    sc.build(home, PERIOD)
    return home, sc.read_marts(home)


def mart_lines(marts, period, cid):
    rows = [
        r
        for r in marts["fct_invoice_lines_computed"]
        if r["period"] == period and r["customer_id"] == cid
    ]
    rows.sort(key=lambda r: (r["line_type_order"], r["sort_key"] or ""))
    return [(r["line_type"], r["quantity"], r["unit_price"], r["amount"]) for r in rows]


def ledger(marts, ticket_id):
    return next(r for r in marts["fct_incidents"] if r["ticket_id"] == ticket_id)


def reason(marts, ticket_id):
    return next(
        r["reason_code"] for r in marts["fct_ticket_classification"] if r["ticket_id"] == ticket_id
    )


def usage(marts, cid, year):
    row = next(
        r for r in marts["customer_year_usage"] if r["customer_id"] == cid and r["year"] == year
    )
    return {k: int(row[k]) for k in ("allotment", "covered", "overage", "expired")}


def steps(marts, cid, year):
    return [
        (sc.as_date(r["available_from"]), int(r["allotment"]))
        for r in marts["allotment_steps"]
        if r["customer_id"] == cid and r["year"] == year
    ]


def months(year, rng):
    return [f"{year}-{m:02d}" for m in rng]


SUB = "support_subscription"
ADDED = "additional_incident_subscription"
UPFRONT = "additional_incident_upfront"


# --------------------------------------------------------------------------- SPEC section 7


def test_section7_worked_example_customer_a(built):
    _, m = built
    base = [(SUB, D("2.00"), D("10.00"), D("20.00")), (SUB, D("8.00"), D("10.00"), D("80.00"))]
    for p in months(2026, range(1, 6)):
        assert mart_lines(m, p, "WA") == base, p
    for p in months(2026, range(6, 13)):
        assert mart_lines(m, p, "WA") == base + [(ADDED, D("1.00"), D("10.00"), D("10.00"))], p
    t13 = ledger(m, "WA-T13")
    assert (t13["seq_in_year"], t13["coverage"], t13["overage_treatment"]) == (
        13,
        "overage",
        "subscription",
    )
    assert ledger(m, "WA-T12")["coverage"] == "covered"
    assert usage(m, "WA", 2026) == {"allotment": 12, "covered": 12, "overage": 1, "expired": 0}


def test_section7_worked_example_customer_b(built):
    _, m = built
    assert mart_lines(m, "2026-02", "WB") == []
    assert mart_lines(m, "2026-03", "WB") == [(SUB, D("2.00"), D("12.50"), D("12.90"))]
    assert mart_lines(m, "2026-10", "WB") == [
        (SUB, D("2.00"), D("12.50"), D("25.00")),
        (UPFRONT, D("1.00"), D("150.00"), D("150.00")),
    ]
    assert steps(m, "WB", 2026) == [(date(2026, 3, 16), 4)]
    t5 = ledger(m, "WB-T5")
    assert (t5["coverage"], t5["overage_treatment"], t5["charged_period"]) == (
        "overage",
        "upfront",
        "2026-10",
    )
    assert usage(m, "WB", 2026) == {"allotment": 4, "covered": 4, "overage": 1, "expired": 0}


# --------------------------------------------------------------------------- R8


def test_r8_start_mid_march_grants_seven_plus_extras(built):
    _, m = built
    assert steps(m, "PY", 2026) == [(date(2026, 3, 16), 9)]  # ceil(8 x 10/12) = 7, + 2
    assert [ledger(m, f"PY-T{i:02d}")["coverage"] for i in range(10)] == ["covered"] * 9 + [
        "overage"
    ]
    assert mart_lines(m, "2026-03", "PY") == [(SUB, D("8.00"), D("10.00"), D("41.29"))]
    assert mart_lines(m, "2026-07", "PY") == [
        (SUB, D("8.00"), D("10.00"), D("80.00")),
        (UPFRONT, D("1.00"), D("150.00"), D("150.00")),
    ]


def test_r8_upgrade_on_july_first_gives_nine(built):
    _, m = built
    assert steps(m, "UP", 2026) == [(date(2026, 1, 1), 10), (date(2026, 7, 1), 11)]
    assert ledger(m, "UP-T11")["coverage"] == "overage"
    t12 = ledger(m, "UP-T12")
    assert (t12["coverage"], t12["allotment_available"], t12["allotment_remaining"]) == (
        "covered",
        11,
        0,
    )
    assert ledger(m, "UP-T13")["coverage"] == "overage"
    assert mart_lines(m, "2026-06", "UP") == [
        (SUB, D("8.00"), D("10.00"), D("80.00")),
        (ADDED, D("1.00"), D("10.00"), D("10.00")),
    ]
    assert mart_lines(m, "2026-07", "UP") == [
        (SUB, D("10.00"), D("10.00"), D("100.00")),
        (ADDED, D("2.00"), D("10.00"), D("20.00")),
    ]
    assert usage(m, "UP", 2026) == {"allotment": 11, "covered": 11, "overage": 2, "expired": 0}


def test_r8_renewal_grants_nothing_twice_and_end_date_never_takes_back(built):
    _, m = built
    assert usage(m, "RN", 2025)["allotment"] == 6  # ceil(8 x 6/12) + 2
    assert usage(m, "RN", 2026)["allotment"] == 12  # 8 + 2 + 2, renewal adds nothing
    s = dict(steps(m, "RN", 2026))
    assert s[date(2026, 1, 1)] == 12
    assert max(s.values()) == 12


# --------------------------------------------------------------------------- R7


def test_r7_february_start_prorated_14_of_28_days(built):
    _, m = built
    assert mart_lines(m, "2026-02", "FB") == [(SUB, D("8.00"), D("10.00"), D("40.00"))]
    assert mart_lines(m, "2026-03", "FB") == [(SUB, D("8.00"), D("10.00"), D("25.81"))]
    assert mart_lines(m, "2026-04", "FB") == []


# --------------------------------------------------------------------------- R1


def test_r1_ticket_at_0530_utc_on_april_first_belongs_to_march(built):
    _, m = built
    mar = ledger(m, "TZ-MAR")
    assert (sc.as_date(mar["incident_date"]), mar["period"], mar["year"]) == (
        date(2026, 3, 31),
        "2026-03",
        2026,
    )
    assert ledger(m, "TZ-APR")["period"] == "2026-04"
    dec = ledger(m, "TZ-DEC")
    assert (sc.as_date(dec["incident_date"]), dec["year"], dec["seq_in_year"]) == (
        date(2026, 12, 31),
        2026,
        3,
    )
    upfront = [(UPFRONT, D("1.00"), D("150.00"), D("150.00"))]
    assert mart_lines(m, "2026-03", "TZ") == upfront
    assert mart_lines(m, "2026-04", "TZ") == upfront
    assert mart_lines(m, "2026-12", "TZ") == upfront


# --------------------------------------------------------------------------- R9


def test_r9_second_migration_of_a_year_is_billable(built):
    _, m = built
    assert reason(m, "MG-1") == "free_migration_benefit"
    assert reason(m, "MG-2") == "billable_category"
    assert ledger(m, "MG-2")["coverage"] == "covered"
    assert "MG-1" not in {r["ticket_id"] for r in m["fct_incidents"]}


def test_r9_migration_while_inactive_is_billable_without_using_the_benefit(built):
    _, m = built
    assert [reason(m, t) for t in ("MI-1", "MI-2", "MI-3")] == [
        "billable_category",
        "free_migration_benefit",
        "billable_category",
    ]
    mi1 = ledger(m, "MI-1")
    assert (mi1["coverage"], mi1["overage_treatment"]) == ("overage", "upfront")
    assert mart_lines(m, "2026-02", "MI") == [(UPFRONT, D("1.00"), D("150.00"), D("150.00"))]


def test_r9_steps_in_order(built):
    _, m = built
    expected = sc.CLASSIFICATION_REASONS
    assert {t: reason(m, t) for t in expected} == expected
    assert usage(m, "CL", 2026) == {"allotment": 8, "covered": 6, "overage": 0, "expired": 2}
    assert mart_lines(m, "2026-02", "CL2") == [
        ("implementation_hours", D("1.00"), D("250.00"), D("250.00"))
    ]


# --------------------------------------------------------------------------- R12, R6


def test_r12_incident_after_cancellation_is_upfront(built):
    _, m = built
    cx2 = ledger(m, "CX-2")
    assert (cx2["coverage"], cx2["overage_treatment"], cx2["allotment_remaining"]) == (
        "overage",
        "upfront",
        9,
    )
    assert mart_lines(m, "2026-07", "CX") == [(UPFRONT, D("1.00"), D("150.00"), D("150.00"))]
    assert mart_lines(m, "2026-06", "CX") == []
    assert usage(m, "CX", 2026) == {"allotment": 10, "covered": 1, "overage": 1, "expired": 9}


def test_r6_tier_change_mid_year_from_added_incident(built):
    _, m = built
    for p in months(2026, range(1, 5)):
        assert mart_lines(m, p, "TC") == [(SUB, D("2.00"), D("12.50"), D("25.00"))], p
    for p in months(2026, range(5, 13)):
        assert mart_lines(m, p, "TC") == [
            (SUB, D("2.00"), D("10.00"), D("20.00")),
            (ADDED, D("1.00"), D("10.00"), D("10.00")),
        ], p


def test_r12_added_incident_only_in_active_months_of_its_year(built):
    _, m = built
    added = (ADDED, D("1.00"), D("10.00"), D("10.00"))
    assert mart_lines(m, "2026-05", "GP") == [(SUB, D("2.00"), D("10.00"), D("20.00")), added]
    assert mart_lines(m, "2026-06", "GP") == [(SUB, D("2.00"), D("10.00"), D("6.67")), added]
    assert mart_lines(m, "2026-07", "GP") == []
    assert mart_lines(m, "2026-08", "GP") == []
    assert mart_lines(m, "2026-09", "GP") == [(SUB, D("2.00"), D("10.00"), D("7.33")), added]
    assert mart_lines(m, "2027-01", "GP") == [(SUB, D("2.00"), D("12.50"), D("25.00"))]


# --------------------------------------------------------------------------- R13


def test_r13_hours_split_across_two_blocks_with_billed_remainder(built):
    _, m = built
    assert mart_lines(m, "2026-01", "HR") == [
        ("prepaid_hours_deduction", D("1.50"), D("0.00"), D("0.00"))
    ]
    assert mart_lines(m, "2026-02", "HR") == [
        ("training_hours", D("0.75"), D("250.00"), D("187.50")),
        ("custom_development_hours", D("1.25"), D("250.00"), D("312.50")),
        ("prepaid_hours_deduction", D("0.50"), D("0.00"), D("0.00")),
        ("prepaid_hours_deduction", D("3.00"), D("0.00"), D("0.00")),
    ]
    refs = [
        r["source_ref"]
        for r in m["fct_invoice_lines_computed"]
        if r["customer_id"] == "HR" and r["period"] == "2026-02"
        and r["line_type"] == "prepaid_hours_deduction"
    ]
    assert sorted(refs) == ["HR-P1", "HR-P2"]
    assert mart_lines(m, "2026-06", "HR") == [
        ("prepaid_hours_deduction", D("2.00"), D("0.00"), D("0.00"))
    ]
    assert mart_lines(m, "2026-10", "HR") == [
        ("implementation_hours", D("1.00"), D("250.00"), D("250.00")),
        ("prepaid_hours_deduction", D("8.00"), D("0.00"), D("0.00")),
    ]
    # R14: the October deduction is listed with HR's invoice number, 0.00 hours left
    ded = [(r["block_id"], r["hours_taken"], r["hours_left"], r["invoice_number"])
           for r in m["prepaid_deductions"] if r["customer_id"] == "HR"]
    assert ded == [("HR-P3", D("8.00"), D("0.00"), "INV-202610-00003")]


# --------------------------------------------------------------------------- R14


def test_r14_invoices_of_the_period_numbered_in_customer_order(built):
    _, m = built
    got = [(r["invoice_number"], r["customer_id"], r["total"]) for r in m["invoices"]]
    # customers with a non-zero line in October 2026, in binary customer_id order
    assert got == [
        ("INV-202610-00001", "CL", D("60.00")),
        ("INV-202610-00002", "GP", D("30.00")),
        ("INV-202610-00003", "HR", D("250.00")),
        ("INV-202610-00004", "MG", D("25.00")),
        ("INV-202610-00005", "MI", D("25.00")),
        ("INV-202610-00006", "PY", D("80.00")),
        ("INV-202610-00007", "RN", D("80.00")),
        ("INV-202610-00008", "TC", D("30.00")),
        ("INV-202610-00009", "UP", D("120.00")),
        ("INV-202610-00010", "WA", D("110.00")),
        ("INV-202610-00011", "WB", D("175.00")),
    ]
    wb = next(r for r in m["invoices"] if r["customer_id"] == "WB")
    assert (wb["invoice_date"], wb["due_date"], wb["line_count"]) == (
        date(2026, 10, 31),
        date(2026, 11, 30),
        2,
    )
    assert (wb["document_type"], wb["currency"], wb["accounting_ref"]) == (
        "invoice",
        "USD",
        "Customer WB",  # as loaded in raw.customers (ingest resolved the blank)
    )
    wa_lines = [
        (r["line_number"], r["line_type"], r["source_ref"], r["amount"])
        for r in m["invoice_lines"]
        if r["customer_id"] == "WA"
    ]
    assert sorted(wa_lines)[:2] == [(1, SUB, "WA-PS", D("20.00")), (2, SUB, "WA-RP", D("80.00"))]
    assert sorted(wa_lines)[2][:2] == (3, ADDED)


# --------------------------------------------------------------------------- whole build vs oracle


def _oracle_for(scenario, marts, price_book=None):
    base = BillingOracle(scenario).years
    years = list(range(min(base), max(set(base) | sc.mart_years(marts)) + 1))
    return compute(scenario, price_book=price_book, years=years)


def test_all_hand_scenarios_agree_with_the_oracle(built):
    _, m = built
    scenario = sc.all_hand_scenarios()
    res = _oracle_for(scenario, m)
    diffs = (
        sc.compare(res, m)
        + sc.compare_invoices(res, m, PERIOD)
        + sc.compare_prepaid(res, m, PERIOD)
    )
    assert diffs == [], "\n".join(diffs)


def test_the_comparison_notices_a_one_cent_difference(built):
    """The harness is not tautological: a changed cent or coverage is reported."""
    _, m = built
    res = _oracle_for(sc.all_hand_scenarios(), m)
    target = next(x for x in res.lines if x["customer_id"] == "WB" and x["period"] == "2026-03")
    target["amount"] += D("0.01")
    res.ledger_for("WA-T13")["coverage"] = "covered"
    diffs = sc.compare(res, m)
    assert any("lines 2026-03 WB" in d and "12.91" in d for d in diffs), diffs
    assert any("R10 ticket WA-T13" in d for d in diffs), diffs


# --------------------------------------------------------------------------- edited price book


EDITED_ROWS = [
    ("incident_rate_tier_3_plus", date(2026, 2, 1), D("10.01")),
    ("hourly_rate", date(2026, 5, 1), D("99.99")),
    ("hourly_rate", date(2026, 5, 15), D("200.00")),  # first in force on a month's 1st: June
    ("upfront_incident", date(2026, 8, 2), D("175.00")),  # September on
    ("extra_incidents_per_year", date(2026, 6, 1), D("3")),  # Jan 1 rule: 2027 on
    ("free_migrations_per_year", date(2027, 1, 1), D("0")),
    ("payment_terms_days", date(2026, 10, 31), D("45")),  # in force on the invoice date
]


def half_cent_scenario():
    cid = "HC"
    return {
        "customers": [{"customer_id": cid}],
        "subscriptions": [
            {"subscription_id": "HC-HR", "customer_id": cid, "module": "human_resources",
             "annual_incidents": 6, "start_date": "2026-02-28", "end_date": "2026-12-31"},
        ],
        "timesheets": [
            {"entry_id": f"HC-{i}", "customer_id": cid, "work_date": d, "hours": "0.50",
             "activity": "training"}
            for i, d in enumerate(["2026-04-30", "2026-05-20", "2026-06-01"], 1)
        ],
    }


def yearly_prices_scenario():
    cid = "HY"
    when = [(2026, 1, 5), (2026, 2, 5), (2026, 3, 5), (2026, 4, 5), (2026, 8, 5), (2026, 9, 5)]
    return {
        "customers": [{"customer_id": cid, "overage_policy": "upfront"}],
        "subscriptions": [
            {"subscription_id": "HY-PS", "customer_id": cid, "module": "pay_stubs",
             "annual_incidents": 2, "start_date": "2026-01-01", "end_date": None},
        ],
        "tickets": [
            {"ticket_id": f"HY-{i}", "customer_id": cid, "category": "admin_task",
             "opened_at": datetime(y, mo, d, 17, tzinfo=UTC)}
            for i, (y, mo, d) in enumerate(when, 1)
        ]
        + [
            {"ticket_id": "HY-M1", "customer_id": cid, "category": "server_migration",
             "opened_at": datetime(2026, 11, 5, 17, tzinfo=UTC)},
            {"ticket_id": "HY-M2", "customer_id": cid, "category": "server_migration",
             "opened_at": datetime(2027, 2, 5, 17, tzinfo=UTC)},
        ],
    }


def edited_prices_scenario():
    return sc.merge_scenarios([half_cent_scenario(), yearly_prices_scenario()])


@pytest.fixture(scope="module")
def built_edited_prices(tmp_path_factory):
    """Seeds built, then price-book rows added (SPEC 2: prices change without code),
    then the models run again."""
    from support_billing.storage.dbt_runner import run_dbt

    home = tmp_path_factory.mktemp("prices") / "home"
    home.mkdir()
    sc.write_scenario(home, edited_prices_scenario())
    sc.build(home, PERIOD)
    con = sc._connect(home)
    try:
        for key, eff, value in EDITED_ROWS:
            con.execute(
                "insert into main.price_book (price_key, effective_from, value) values (?, ?, ?)",
                [key, eff, value],
            )
    finally:
        con.close()
    res = run_dbt(home, ["run"], vars={"period": PERIOD})
    assert res.success, res.failures
    return home, sc.read_marts(home)


def test_r2_half_cent_rounds_up_with_edited_prices(built_edited_prices):
    _, m = built_edited_prices
    # 6 x 10.01 x 1/28 = 2.145 exactly -> 2.15
    assert mart_lines(m, "2026-02", "HC") == [(SUB, D("6.00"), D("10.01"), D("2.15"))]
    # 0.50 x 99.99 = 49.995 -> 50.00; the May 15 row is in force from June (first day rule)
    training = "training_hours"
    assert mart_lines(m, "2026-04", "HC")[1] == (training, D("0.50"), D("250.00"), D("125.00"))
    assert mart_lines(m, "2026-05", "HC")[1] == (training, D("0.50"), D("99.99"), D("50.00"))
    assert mart_lines(m, "2026-06", "HC")[1] == (training, D("0.50"), D("200.00"), D("100.00"))



def test_prices_upfront_price_of_the_month_and_yearly_benefits_from_jan_1(built_edited_prices):
    _, m = built_edited_prices
    assert mart_lines(m, "2026-08", "HY")[1] == (UPFRONT, D("1.00"), D("150.00"), D("150.00"))
    assert mart_lines(m, "2026-09", "HY")[1] == (UPFRONT, D("1.00"), D("175.00"), D("175.00"))
    assert usage(m, "HY", 2026)["allotment"] == 4  # extras 2: the row of Jan 1 2026
    assert usage(m, "HY", 2027)["allotment"] == 5  # extras 3 from 2027
    assert reason(m, "HY-M1") == "free_migration_benefit"
    assert reason(m, "HY-M2") == "billable_category"  # no free migration in 2027
    hy = next(r for r in m["invoices"] if r["customer_id"] == "HY")
    assert (hy["invoice_date"], hy["due_date"]) == (date(2026, 10, 31), date(2026, 12, 15))


def test_edited_prices_agree_with_the_oracle(built_edited_prices):
    _, m = built_edited_prices
    res = _oracle_for(edited_prices_scenario(), m, price_book=DEFAULT_PRICE_BOOK + EDITED_ROWS)
    diffs = sc.compare(res, m) + sc.compare_invoices(res, m, PERIOD)
    assert diffs == [], "\n".join(diffs)
