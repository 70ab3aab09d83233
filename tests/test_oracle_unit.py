"""Unit tests of the billing oracle itself, against values computed by hand from SPEC.

The oracle (tests/oracle/billing_oracle.py) is the second opinion the dbt marts are
compared with, so it must first be right on the rules' own examples.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from oracle import scenario_db as sc
from oracle.billing_oracle import (
    DEFAULT_PRICE_BOOK,
    BillingOracle,
    compute,
    local_date,
    round_half_up,
)

D = Decimal


def lines(res, period, cid):
    return [
        (x["line_type"], x["quantity"], x["unit_price"], x["amount"])
        for x in res.lines_for(period, cid)
    ]


def periods(year, months):
    return [f"{year}-{m:02d}" for m in months]


# --------------------------------------------------------------------------- R2


def test_r2_round_half_up_is_exact_and_half_up():
    assert round_half_up(D("2.145")) == D("2.15")
    assert round_half_up(D("49.995")) == D("50.00")
    assert round_half_up(D("2.144999")) == D("2.14")
    assert round_half_up(D("-2.145")) == D("-2.15")
    # 2 x 12.50 x 16/31 (SPEC 7) = 12.9032...
    from fractions import Fraction

    assert round_half_up(Fraction(2) * Fraction(D("12.50")) * 16 / 31) == D("12.90")
    for thousandths in range(-2000, 2001):
        value = D(thousandths) / 1000
        assert round_half_up(value) == value.quantize(D("0.01"), rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------------- SPEC section 7


def test_worked_example_customer_a():
    res = compute(sc.worked_example_a())
    base = [
        ("support_subscription", D("2.00"), D("10.00"), D("20.00")),  # WA-PS sorts first
        ("support_subscription", D("8.00"), D("10.00"), D("80.00")),
    ]
    for p in periods(2026, range(1, 6)):
        assert lines(res, p, "WA") == base
        assert res.invoices[(p, "WA")] == D("100.00")
    added = ("additional_incident_subscription", D("1.00"), D("10.00"), D("10.00"))
    for p in periods(2026, range(6, 13)):
        assert lines(res, p, "WA") == base + [added]
        assert res.invoices[(p, "WA")] == D("110.00")
        assert res.tier_totals[(p, "WA")] == 11
    assert res.tier_totals[("2026-05", "WA")] == 10
    last = res.ledger_for("WA-T13")
    assert (last["seq_in_year"], last["coverage"], last["overage_treatment"]) == (
        13,
        "overage",
        "subscription",
    )
    assert last["allotment_available"] == 12 and last["allotment_remaining"] == 0
    assert res.ledger_for("WA-T12")["coverage"] == "covered"
    assert res.year_usage[("WA", 2026)] == {
        "allotment": 12,
        "covered": 12,
        "overage": 1,
        "expired": 0,
    }


def test_worked_example_customer_b():
    res = compute(sc.worked_example_b())
    assert lines(res, "2026-03", "WB") == [
        ("support_subscription", D("2.00"), D("12.50"), D("12.90"))
    ]
    assert ("2026-02", "WB") not in res.invoices
    assert lines(res, "2026-09", "WB") == [
        ("support_subscription", D("2.00"), D("12.50"), D("25.00"))
    ]
    assert lines(res, "2026-10", "WB") == [
        ("support_subscription", D("2.00"), D("12.50"), D("25.00")),
        ("additional_incident_upfront", D("1.00"), D("150.00"), D("150.00")),
    ]
    assert res.invoices[("2026-10", "WB")] == D("175.00")
    assert [x["coverage"] for x in res.ledger if x["customer_id"] == "WB"] == [
        "covered"
    ] * 4 + ["overage"]
    assert res.ledger_for("WB-T5")["overage_treatment"] == "upfront"
    assert res.year_usage[("WB", 2026)] == {
        "allotment": 4,
        "covered": 4,
        "overage": 1,
        "expired": 0,
    }
    o = BillingOracle(sc.worked_example_b())
    assert o.allotment("WB", date(2026, 3, 15)) == 0
    assert o.allotment("WB", date(2026, 3, 16)) == 4


# --------------------------------------------------------------------------- R8


def test_r8_start_mid_march_grants_seven_plus_extras():
    o = BillingOracle(sc.partial_year_start())
    assert o.module_allotment("PY", "remote_payroll", date(2026, 3, 15)) == 0
    assert o.module_allotment("PY", "remote_payroll", date(2026, 3, 16)) == 7
    assert o.allotment("PY", date(2026, 3, 15)) == 0  # extras only once active
    assert o.allotment("PY", date(2026, 3, 16)) == 9
    assert o.allotment("PY", date(2026, 12, 31)) == 9
    res = o.run()
    assert [x["coverage"] for x in res.ledger] == ["covered"] * 9 + ["overage"]
    assert res.ledger_for("PY-T09")["overage_treatment"] == "upfront"
    assert lines(res, "2026-03", "PY") == [
        ("support_subscription", D("8.00"), D("10.00"), D("41.29"))  # 80 x 16/31
    ]
    assert lines(res, "2026-07", "PY") == [
        ("support_subscription", D("8.00"), D("10.00"), D("80.00")),
        ("additional_incident_upfront", D("1.00"), D("150.00"), D("150.00")),
    ]


def test_r8_upgrade_on_july_first_gives_nine():
    o = BillingOracle(sc.upgrade_mid_year())
    assert o.module_allotment("UP", "remote_payroll", date(2026, 6, 30)) == 8
    assert o.module_allotment("UP", "remote_payroll", date(2026, 7, 1)) == 9
    assert o.allotment("UP", date(2026, 7, 1)) == 11
    res = o.run()
    cov = {x["ticket_id"]: x["coverage"] for x in res.ledger}
    assert cov["UP-T10"] == "covered"
    assert cov["UP-T11"] == "overage"  # June 30: 10 covered = allotment 10
    assert cov["UP-T12"] == "covered"  # July 2: 10 covered < 11 (the added one does not count)
    assert cov["UP-T13"] == "overage"
    assert res.ledger_for("UP-T12")["allotment_remaining"] == 0
    assert lines(res, "2026-06", "UP") == [
        ("support_subscription", D("8.00"), D("10.00"), D("80.00")),
        ("additional_incident_subscription", D("1.00"), D("10.00"), D("10.00")),
    ]
    assert lines(res, "2026-07", "UP") == [
        ("support_subscription", D("10.00"), D("10.00"), D("100.00")),
        ("additional_incident_subscription", D("2.00"), D("10.00"), D("20.00")),
    ]
    assert res.year_usage[("UP", 2026)] == {
        "allotment": 11,
        "covered": 11,
        "overage": 2,
        "expired": 0,
    }


def test_r8_renewal_grants_nothing_twice_and_end_date_never_takes_back():
    scenario = sc.renewal()
    o = BillingOracle(scenario)
    assert o.allotment("RN", date(2026, 1, 1)) == 8 + 2 + 2
    assert o.allotment("RN", date(2026, 7, 1)) == 12  # renewal adds nothing
    assert o.allotment("RN", date(2026, 12, 31)) == 12  # pay_stubs ended Jan 31, kept
    assert o.allotment("RN", date(2025, 7, 1)) == 4 + 2  # ceil(8 x 6/12)


# --------------------------------------------------------------------------- R7


def test_r7_february_start_on_the_fifteenth():
    res = compute(sc.february_start())
    assert lines(res, "2026-02", "FB") == [
        ("support_subscription", D("8.00"), D("10.00"), D("40.00"))  # 14 of 28 days
    ]
    assert lines(res, "2026-03", "FB") == [
        ("support_subscription", D("8.00"), D("10.00"), D("25.81"))  # 10 of 31 days
    ]
    assert ("2026-04", "FB") not in res.invoices


# --------------------------------------------------------------------------- R1


def test_r1_ticket_at_0530_utc_on_april_first_belongs_to_march():
    assert local_date(datetime(2026, 4, 1, 5, 30, tzinfo=UTC)) == date(2026, 3, 31)
    res = compute(sc.denver_month())
    mar = res.ledger_for("TZ-MAR")
    assert (mar["incident_date"], mar["period"], mar["year"]) == (
        date(2026, 3, 31),
        "2026-03",
        2026,
    )
    assert res.ledger_for("TZ-APR")["period"] == "2026-04"
    dec = res.ledger_for("TZ-DEC")
    assert (dec["incident_date"], dec["year"], dec["seq_in_year"]) == (date(2026, 12, 31), 2026, 3)
    upfront = ("additional_incident_upfront", D("1.00"), D("150.00"), D("150.00"))
    assert lines(res, "2026-03", "TZ") == [upfront]
    assert lines(res, "2026-04", "TZ") == [upfront]
    assert lines(res, "2026-12", "TZ") == [upfront]
    assert res.year_usage[("TZ", 2026)] == {
        "allotment": 4,
        "covered": 0,
        "overage": 3,
        "expired": 4,
    }
    assert ("TZ", 2027) not in res.year_usage


# --------------------------------------------------------------------------- R9


def test_r9_second_migration_of_a_year_is_billable():
    res = compute(sc.migrations())
    assert res.reasons["MG-1"] == "free_migration_benefit"
    assert res.reasons["MG-2"] == "billable_category"
    assert res.ledger_for("MG-2")["coverage"] == "covered"
    assert [x["ticket_id"] for x in res.ledger if x["customer_id"] == "MG"] == ["MG-2"]


def test_r9_migration_while_inactive_is_billable_without_using_the_benefit():
    res = compute(sc.migrations())
    assert res.reasons["MI-1"] == "billable_category"
    assert res.reasons["MI-2"] == "free_migration_benefit"
    assert res.reasons["MI-3"] == "billable_category"
    mi1 = res.ledger_for("MI-1")
    assert (mi1["coverage"], mi1["overage_treatment"], mi1["allotment_available"]) == (
        "overage",
        "upfront",
        0,
    )
    assert lines(res, "2026-02", "MI") == [
        ("additional_incident_upfront", D("1.00"), D("150.00"), D("150.00"))
    ]
    assert res.ledger_for("MI-3")["coverage"] == "covered"


def test_r9_steps_in_order():
    res = compute(sc.classification())
    got = {k: v for k, v in res.reasons.items() if k.startswith("CL-")}
    assert got == sc.CLASSIFICATION_REASONS
    assert [x["seq_in_year"] for x in res.ledger if x["customer_id"] == "CL"] == [1, 2, 3, 4, 5, 6]
    assert res.year_usage[("CL", 2026)] == {
        "allotment": 8,
        "covered": 6,
        "overage": 0,
        "expired": 2,
    }
    # started 2025-06-01: ceil(6 x 7/12) = 4, plus 2 extras
    assert res.year_usage[("CL", 2025)]["allotment"] == 6
    assert lines(res, "2026-02", "CL") == [
        ("support_subscription", D("6.00"), D("10.00"), D("60.00")),
        ("training_hours", D("1.00"), D("250.00"), D("250.00")),
    ]
    assert lines(res, "2026-02", "CL2") == [
        ("implementation_hours", D("1.00"), D("250.00"), D("250.00"))
    ]


# --------------------------------------------------------------------------- R12


def test_r12_incident_after_cancellation_is_upfront():
    res = compute(sc.cancelled())
    cx2 = res.ledger_for("CX-2")
    assert (cx2["coverage"], cx2["overage_treatment"]) == ("overage", "upfront")
    assert cx2["allotment_available"] == 10 and cx2["allotment_remaining"] == 9
    assert lines(res, "2026-07", "CX") == [
        ("additional_incident_upfront", D("1.00"), D("150.00"), D("150.00"))
    ]
    assert ("2026-06", "CX") not in res.invoices
    assert ("2026-08", "CX") not in res.invoices
    assert res.year_usage[("CX", 2026)] == {
        "allotment": 10,
        "covered": 1,
        "overage": 1,
        "expired": 9,
    }


def test_r6_tier_change_mid_year_from_added_incident():
    res = compute(sc.tier_change())
    for p in periods(2026, range(1, 5)):
        assert lines(res, p, "TC") == [("support_subscription", D("2.00"), D("12.50"), D("25.00"))]
    for p in periods(2026, range(5, 13)):
        assert res.tier_totals[(p, "TC")] == 3
        assert lines(res, p, "TC") == [
            ("support_subscription", D("2.00"), D("10.00"), D("20.00")),
            ("additional_incident_subscription", D("1.00"), D("10.00"), D("10.00")),
        ]


def test_r12_added_incident_skips_inactive_months_and_stops_in_december():
    scenario = sc.gap_in_service()
    res = compute(scenario)
    assert [x["coverage"] for x in res.ledger] == ["covered"] * 4 + ["overage"]
    # May: tier 2 + 1 = 3 -> 10.00
    assert lines(res, "2026-05", "GP") == [
        ("support_subscription", D("2.00"), D("10.00"), D("20.00")),
        ("additional_incident_subscription", D("1.00"), D("10.00"), D("10.00")),
    ]
    # June: 10 of 30 days
    assert lines(res, "2026-06", "GP") == [
        ("support_subscription", D("2.00"), D("10.00"), D("6.67")),
        ("additional_incident_subscription", D("1.00"), D("10.00"), D("10.00")),
    ]
    assert ("2026-07", "GP") not in res.invoices and ("2026-08", "GP") not in res.invoices
    # September: active from the 20th (11 of 30 days), whole-month added incident
    assert lines(res, "2026-09", "GP") == [
        ("support_subscription", D("2.00"), D("10.00"), D("7.33")),
        ("additional_incident_subscription", D("1.00"), D("10.00"), D("10.00")),
    ]
    # January 2027: a new year, nothing added any more
    assert lines(res, "2027-01", "GP") == [
        ("support_subscription", D("2.00"), D("12.50"), D("25.00"))
    ]


# --------------------------------------------------------------------------- R13


def test_r13_hours_split_across_two_blocks_with_billed_remainder():
    res = compute(sc.prepaid_hours())
    assert lines(res, "2026-01", "HR") == [
        ("prepaid_hours_deduction", D("1.50"), D("0.00"), D("0.00"))
    ]
    assert ("2026-01", "HR") not in res.invoices  # only a deduction: no invoice (R14)
    assert lines(res, "2026-02", "HR") == [
        ("training_hours", D("0.75"), D("250.00"), D("187.50")),
        ("custom_development_hours", D("1.25"), D("250.00"), D("312.50")),
        ("prepaid_hours_deduction", D("0.50"), D("0.00"), D("0.00")),
        ("prepaid_hours_deduction", D("3.00"), D("0.00"), D("0.00")),
    ]
    assert [x["source_ref"] for x in res.lines_for("2026-02", "HR")][2:] == ["HR-P1", "HR-P2"]
    assert res.invoices[("2026-02", "HR")] == D("500.00")
    assert ("2026-06", "HR") not in res.invoices
    assert [
        (d["period"], d["block_id"], d["hours_taken"], d["hours_left"]) for d in res.deductions
    ] == [
        ("2026-01", "HR-P1", D("1.50"), D("0.50")),
        ("2026-02", "HR-P1", D("0.50"), D("0.00")),
        ("2026-02", "HR-P2", D("3.00"), D("0.00")),
        ("2026-06", "HR-P3", D("2.00"), D("8.00")),
        ("2026-10", "HR-P3", D("8.00"), D("0.00")),
    ]
    assert lines(res, "2026-10", "HR") == [
        ("implementation_hours", D("1.00"), D("250.00"), D("250.00")),
        ("prepaid_hours_deduction", D("8.00"), D("0.00"), D("0.00")),
    ]


def test_r13_entries_in_binary_entry_id_order_on_the_same_day():
    # "E-B" < "E-a" in code-point order: E-B takes the block first.
    scenario = {
        "customers": [{"customer_id": "BO"}],
        "timesheets": [
            {"entry_id": "E-a", "customer_id": "BO", "work_date": "2026-03-03",
             "hours": "1.00", "activity": "implementation"},
            {"entry_id": "E-B", "customer_id": "BO", "work_date": "2026-03-03",
             "hours": "1.00", "activity": "training"},
        ],
        "prepaid_hours": [
            {"block_id": "BO-1", "customer_id": "BO", "hours": "1.00", "purchased_on": "2026-03-03"}
        ],
    }
    res = compute(scenario)
    assert lines(res, "2026-03", "BO") == [
        ("implementation_hours", D("1.00"), D("250.00"), D("250.00")),
        ("prepaid_hours_deduction", D("1.00"), D("0.00"), D("0.00")),
    ]


# --------------------------------------------------------------------------- prices


def test_prices_half_cent_rounding_and_price_in_force_on_first_day_of_month():
    """With the default prices no R7 or R13 amount ever ends in half a cent (rates are
    whole multiples of 0.50 over 28-31 days, hours have 2 decimals x 250), so the
    half-cent cases use edited price-book rows (SPEC 2: prices change without code)."""
    book = DEFAULT_PRICE_BOOK + [
        ("incident_rate_tier_3_plus", date(2026, 2, 1), D("10.01")),
        ("hourly_rate", date(2026, 5, 1), D("99.99")),
        ("hourly_rate", date(2026, 5, 15), D("200.00")),  # in force from June on
    ]
    scenario = {
        "customers": [{"customer_id": "HC"}],
        "subscriptions": [
            {"subscription_id": "HC-HR", "customer_id": "HC", "module": "human_resources",
             "annual_incidents": 6, "start_date": "2026-02-28", "end_date": None},
        ],
        "timesheets": [
            {"entry_id": "HC-1", "customer_id": "HC", "work_date": "2026-04-30",
             "hours": "0.50", "activity": "training"},
            {"entry_id": "HC-2", "customer_id": "HC", "work_date": "2026-05-20",
             "hours": "0.50", "activity": "training"},
            {"entry_id": "HC-3", "customer_id": "HC", "work_date": "2026-06-01",
             "hours": "0.50", "activity": "training"},
        ],
    }
    res = compute(scenario, price_book=book)
    # 6 x 10.01 x 1/28 = 2.145 exactly -> 2.15 (half up; banker's would give 2.14)
    assert lines(res, "2026-02", "HC") == [
        ("support_subscription", D("6.00"), D("10.01"), D("2.15"))
    ]
    assert lines(res, "2026-04", "HC")[1] == ("training_hours", D("0.50"), D("250.00"), D("125.00"))
    # 0.50 x 99.99 = 49.995 -> 50.00 (binary floating point gives 49.99)
    assert lines(res, "2026-05", "HC")[1] == ("training_hours", D("0.50"), D("99.99"), D("50.00"))
    assert lines(res, "2026-06", "HC")[1] == ("training_hours", D("0.50"), D("200.00"), D("100.00"))
    assert round(0.5 * 99.99, 2) == 49.99  # why floats are not allowed (R2)


@pytest.mark.parametrize(
    "tier,rate",
    [(1, D("12.50")), (2, D("12.50")), (3, D("10.00")), (12, D("10.00"))],
)
def test_r6_rate_bands(tier, rate):
    # a single subscription of `tier` incidents (field_reports has minimum 2; 1 only
    # exercises the band's lower boundary inside the oracle)
    scenario = {
        "customers": [{"customer_id": "RB"}],
        "subscriptions": [
            {"subscription_id": "RB-1", "customer_id": "RB", "module": "field_reports",
             "annual_incidents": tier, "start_date": "2026-01-01", "end_date": "2026-01-31"}
        ],
    }
    res = compute(scenario)
    line = res.lines_for("2026-01", "RB")[0]
    assert line["unit_price"] == rate
    assert line["amount"] == tier * rate
