"""Random small scenarios: the oracle and the dbt marts agree to the cent.

A seeded generator makes SCENARIOS independent scenarios (2-4 customers each, under
their own customer-id prefix). They are written into ONE warehouse and built ONCE per
batch; then each scenario is compared with the oracle on its own customers: every
month's invoice lines (line_type, quantity, unit_price, amount, in R14 order), R9 reason
codes, the R10 ledger, R8 allotment on every day, R11 year usage, and the R14 invoices
of the built period.

Set ORACLE_SEED to explore other batches (the default seeds are fixed so CI is stable).
"""

from __future__ import annotations

import os
import random
from datetime import UTC, date, datetime, timedelta

import pytest
from oracle import scenario_db as sc
from oracle.billing_oracle import ALL_CATEGORIES, BillingOracle, compute

pytestmark = pytest.mark.slow

SCENARIOS = 30
BASE_SEED = int(os.environ.get("ORACLE_SEED", "20260"))
# (period built, seed, years added to every date: +2 moves the scenarios into leap year 2028)
BATCHES = [
    ("2026-06", BASE_SEED, 0),
    ("2026-12", BASE_SEED + 1000, 0),
    ("2028-02", BASE_SEED + 2000, 2),
]

MODULES = {
    "remote_payroll": 8,
    "human_resources": 6,
    "field_service": 6,
    "document_flow": 8,
    "data_drop": 6,
    "pay_stubs": 2,
    "field_reports": 2,
}
# small modules are more likely: tier totals near the 2/3 boundary matter (R6)
MODULE_WEIGHTS = [2, 1, 1, 1, 1, 5, 5]
UTC = UTC


def rand_date(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, (last - first).days))


def rand_start(rng: random.Random) -> date:
    pick = rng.random()
    if pick < 0.2:
        return date(2026, 1, 1)
    if pick < 0.4:
        return rand_date(rng, date(2025, 3, 1), date(2025, 12, 31))
    if pick < 0.5:  # first of a month
        return date(2026, rng.randint(2, 12), 1)
    return rand_date(rng, date(2026, 1, 1), date(2026, 12, 15))


def rand_end(rng: random.Random, start: date) -> date | None:
    pick = rng.random()
    if pick < 0.4:
        return None
    if pick < 0.5:
        return start  # a one-day subscription
    if pick < 0.65:  # end of a month
        d = rand_date(rng, start, date(2027, 3, 1))
        nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
        return nxt - timedelta(days=1)
    return rand_date(rng, start, date(2027, 2, 28))


def rand_instant(rng: random.Random, cust_subs: list[dict]) -> datetime:
    pick = rng.random()
    if pick < 0.08:  # around New Year (R1: Mountain-time year)
        base = rng.choice(
            [datetime(2026, 1, 1, 7, 0, tzinfo=UTC), datetime(2027, 1, 1, 7, 0, tzinfo=UTC)]
        )
        return base + timedelta(minutes=rng.randint(-120, 120))
    if pick < 0.12:  # around a DST change or a month end in Mountain time (R1)
        base = rng.choice([
            datetime(2026, 3, 8, 9, 0, tzinfo=UTC),    # 02:00 MST -> 03:00 MDT
            datetime(2026, 11, 1, 8, 0, tzinfo=UTC),   # 02:00 MDT -> 01:00 MST
            datetime(2026, 5, 1, 6, 0, tzinfo=UTC),    # May 1 00:00 MDT
            datetime(2026, 12, 1, 7, 0, tzinfo=UTC),   # Dec 1 00:00 MST
        ])
        return base + timedelta(minutes=rng.randint(-90, 90))
    if pick < 0.25 and cust_subs:  # on a subscription boundary day, late evening Mountain
        s = rng.choice(cust_subs)
        d = rng.choice([x for x in (s["start_date"], s["end_date"]) if x])
        hour = rng.choice([0, 1, 3, 5, 6, 7, 15, 23])  # UTC: 0-6 is the previous local day
        return datetime(d.year, d.month, d.day, hour, rng.choice([0, 30, 59]), tzinfo=UTC)
    d = rand_date(rng, date(2025, 11, 1), date(2027, 1, 31)) if pick < 0.35 else rand_date(
        rng, date(2026, 1, 1), date(2026, 12, 31))
    return datetime(d.year, d.month, d.day, rng.randint(0, 23), rng.randint(0, 59), tzinfo=UTC)


def generate(index: int, seed: int) -> dict:
    rng = random.Random(seed * 1000 + index)
    prefix = f"S{index:02d}"
    scenario: dict[str, list] = {
        k: [] for k in ("customers", "subscriptions", "tickets", "timesheets", "prepaid_hours")
    }
    n_customers = rng.randint(2, 4)
    suffixes = rng.sample(["A", "b", "C", "d", "_E", "Z"], n_customers)
    cids = [f"{prefix}{suffix}" for suffix in suffixes]
    all_tickets: list[str] = []
    for cid in cids:
        scenario["customers"].append(
            {"customer_id": cid, "overage_policy": rng.choice(["subscription", "upfront"])}
        )
        subs = []
        for j in range(rng.choice([0, 1, 1, 2, 2, 2, 3, 4])):
            if subs and rng.random() < 0.4:  # same module again: renewal / upgrade / overlap
                module = rng.choice(subs)["module"]
            else:
                module = rng.choices(list(MODULES), MODULE_WEIGHTS)[0]
            start = rand_start(rng)
            sub = {
                "subscription_id": f"{cid}-s{rng.choice(['a', 'B', 'c', 'D'])}{j}",
                "customer_id": cid,
                "module": module,
                "annual_incidents": MODULES[module] + rng.choice([0, 0, 0, 1, 2, 4, 17]),
                "start_date": start,
                "end_date": rand_end(rng, start),
            }
            subs.append(sub)
        scenario["subscriptions"].extend(subs)

        n_tickets = rng.randint(5, 30)
        instants = []
        for k in range(n_tickets):
            if instants and rng.random() < 0.1:  # same instant: ticket_id decides (R10)
                when = rng.choice(instants)
            else:
                when = rand_instant(rng, subs)
            instants.append(when)
            category = rng.choice(
                ALL_CATEGORIES + ("sync_support", "admin_task", "server_migration")
            )
            override = rng.choices([None, "yes", "no"], [85, 8, 7])[0]
            tid = f"{cid}-t{rng.choice(['x', 'X', 'y', 'Y'])}{k:02d}"
            scenario["tickets"].append(
                {
                    "ticket_id": tid,
                    "customer_id": cid,
                    "opened_at": when,
                    "category": category,
                    "time_sensitive": rng.random() < 0.3,
                    "status": rng.choices(["open", "closed", "void"], [40, 50, 10])[0],
                    "billable_override": override,
                    "override_reason": "agent decision" if override else None,
                }
            )
            all_tickets.append(tid)

        for k in range(rng.choice([0, 0, 1, 2, 3, 5])):
            scenario["prepaid_hours"].append(
                {
                    "block_id": f"{cid}-p{rng.choice(['a', 'B'])}{k}",
                    "customer_id": cid,
                    "hours": f"{rng.randint(1, 40) / 4:.2f}",
                    "purchased_on": rand_date(rng, date(2025, 12, 1), date(2026, 11, 30)),
                }
            )
        for k in range(rng.choice([0, 1, 2, 4, 6])):
            scenario["timesheets"].append(
                {
                    "entry_id": f"{cid}-e{rng.choice(['m', 'N'])}{k}",
                    "customer_id": cid,
                    "work_date": rand_date(rng, date(2025, 12, 15), date(2026, 12, 31)),
                    "hours": f"{rng.randint(1, 800) / 100:.2f}",
                    "activity": rng.choice(
                        ["implementation", "training", "custom_development", "support"]
                    ),
                    "ticket_id": None,
                }
            )
    # some entries name a ticket (of the same customer, or of another: R9 step 3)
    for e in scenario["timesheets"]:
        if all_tickets and rng.random() < 0.5:
            own = [
                t["ticket_id"]
                for t in scenario["tickets"]
                if t["customer_id"] == e["customer_id"]
            ]
            e["ticket_id"] = rng.choice(own if own and rng.random() < 0.8 else all_tickets)
    return scenario


def shift_years(scenario: dict, years: int) -> dict:
    """The same scenario `years` later (dates and instants; none of them is a Feb 29)."""
    if not years:
        return scenario
    out = {}
    for kind, rows in scenario.items():
        out[kind] = []
        for row in rows:
            row = dict(row)
            for col in ("start_date", "end_date", "opened_at", "work_date", "purchased_on"):
                if row.get(col) is not None:
                    row[col] = row[col].replace(year=row[col].year + years)
            out[kind].append(row)
    return out


HOMES: dict[str, object] = {}


def customers_of(scenario: dict) -> set[str]:
    return {c["customer_id"] for c in scenario["customers"]}


@pytest.fixture(scope="module", params=BATCHES, ids=[p for p, _, _ in BATCHES])
def batch(request, tmp_path_factory):
    period, seed, offset = request.param
    scenarios = [shift_years(generate(i, seed), offset) for i in range(SCENARIOS)]
    home = tmp_path_factory.mktemp(f"batch{seed}") / "home"
    home.mkdir()
    sc.write_scenario(home, sc.merge_scenarios(scenarios))
    sc.build(home)
    HOMES[period] = home
    return period, scenarios, sc.read_marts(home, period)


def oracle_for(scenario: dict, marts: dict):
    years = set(BillingOracle(scenario).years) | sc.mart_years(marts)
    return compute(scenario, years=list(range(min(years), max(years) + 1)))


@pytest.mark.parametrize("index", range(SCENARIOS))
def test_random_scenario_agrees_with_oracle(batch, index):
    period, scenarios, marts = batch
    scenario = scenarios[index]
    res = oracle_for(scenario, marts)
    mine = customers_of(scenario)
    diffs = (
        sc.compare(res, marts, mine)
        + sc.compare_invoices(res, marts, period, mine)
        + sc.compare_prepaid(res, marts, period, mine)
    )
    assert diffs == [], f"scenario S{index:02d} of batch {period}\n" + "\n".join(diffs)


def test_batch_invoice_numbers_follow_customer_order(batch):
    """R14: one invoice per customer with a non-zero line, numbered 1.. in customer_id order."""
    period, scenarios, marts = batch
    expected = []
    for scenario in scenarios:
        res = oracle_for(scenario, marts)
        expected += [(c, t) for (p, c), t in res.invoices.items() if p == period]
    expected.sort()
    ym = period.replace("-", "")
    want = [(f"INV-{ym}-{i:05d}", c, t) for i, (c, t) in enumerate(expected, 1)]
    got = [(r["invoice_number"], r["customer_id"], r["total"]) for r in marts["invoices"]]
    assert sorted(got) == want


def test_generator_covers_the_rules(batch):
    """The random batch really exercises what it claims (not a vacuous comparison)."""
    _, scenarios, marts = batch
    reasons = {r["reason_code"] for r in marts["fct_ticket_classification"]}
    assert reasons >= {
        "void", "override_billable", "override_free", "hourly_work",
        "free_migration_benefit", "billable_category", "time_sensitive", "free_category",
    }
    treatments = {r["overage_treatment"] for r in marts["fct_incidents"]}
    assert treatments >= {None, "upfront", "subscription"}
    types = {r["line_type"] for r in marts["fct_invoice_lines_computed"]}
    assert types >= {
        "support_subscription", "additional_incident_subscription",
        "additional_incident_upfront", "implementation_hours", "training_hours",
        "custom_development_hours", "prepaid_hours_deduction",
    }
    amounts = [r["amount"] for r in marts["fct_invoice_lines_computed"]]
    assert any(a != a.to_integral_value() for a in amounts)  # prorated cents occur


def test_dbt_data_tests_hold_on_random_data(batch):
    """The project's own data tests (invariants) pass on valid random inputs (first batch).
    Its unit tests read their own fixed rows, not the data: test_dbt_project.py runs them."""
    from support_billing.storage.dbt_runner import run_dbt

    period = batch[0]
    if period != BATCHES[0][0]:
        pytest.skip("run on the first batch only (each dbt test run takes seconds)")
    res = run_dbt(HOMES[period], ["test", "--exclude", "test_type:unit"])
    assert res.success, res.failures
