"""The sample data generator: deterministic, varied, valid (SPEC section 3), scalable."""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from sample_exports import generator as sample_data
from sample_exports.generator import FILES, generate

REPO_ROOT = Path(__file__).resolve().parents[1]
CATEGORIES = {c for c, _ in sample_data.CATEGORIES}
BILLABLE_STEP5 = {"extended_help", "sync_support", "sync_customization", "admin_task",
                  "unsupported_environment"}
STEP6 = {"bug_report", "how_to", "basic_question"}
TS = re.compile(r"\d{4}-\d{2}-\d{2}[T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?"
                r"(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DEC2 = re.compile(r"\d+(\.\d{0,2}0*)?")
TRUE, FALSE = {"true", "yes", "1"}, {"false", "no", "0", ""}


def read(path) -> list[dict[str, str]]:
    """Rows as the SPEC reads them: header names lower case and trimmed, values trimmed."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = [h.strip().lower() for h in next(reader)]
        return [{h: v.strip() for h, v in zip(header, row, strict=True)} for row in reader]


def load(folder) -> dict[str, list[dict[str, str]]]:
    return {kind: read(Path(folder) / f"{kind}.csv") for kind in FILES}


def norm_module(value: str) -> str:
    return re.sub(r"^hh2 ", "", re.sub(r"\s+", " ", value.strip().lower()))


def modules() -> dict[str, tuple[str, int]]:
    """normalized spelling -> (code, minimum)"""
    out = {}
    for code, display, minimum in sample_data._read_modules():
        out[norm_module(code)] = (code, minimum)
        out[norm_module(display)] = (code, minimum)
    return out


def is_date(v: str) -> bool:
    if not DATE.fullmatch(v):
        return False
    try:
        dt.date.fromisoformat(v)
    except ValueError:
        return False
    return True


def is_ts(v: str) -> bool:
    if not TS.fullmatch(v):
        return False
    try:
        dt.date.fromisoformat(v[:10])
    except ValueError:
        return False
    return True


def spec_problems(data: dict[str, list[dict[str, str]]]) -> list[str]:
    """An independent reading of SPEC section 3: every reason a row would be rejected."""
    bad: list[str] = []
    mods = modules()
    customers = set()
    for kind, key in (("customers", "customer_id"), ("subscriptions", "subscription_id"),
                      ("tickets", "ticket_id"), ("timesheets", "entry_id"),
                      ("prepaid_hours", "block_id")):
        keys = Counter(r[key] for r in data[kind])
        bad += [f"{kind}: duplicate {k}" for k, n in keys.items() if n > 1]
        bad += [f"{kind}: blank key" for r in data[kind] if not r[key]]
    for r in data["customers"]:
        customers.add(r["customer_id"])
        if not r["customer_name"]:
            bad.append(f"customer {r['customer_id']}: no name")
        if r["overage_policy"].lower() not in {"", "subscription", "upfront"}:
            bad.append(f"customer {r['customer_id']}: policy {r['overage_policy']}")
    for r in data["subscriptions"]:
        sid = r["subscription_id"]
        if r["customer_id"] not in customers:
            bad.append(f"{sid}: unknown customer")
        mod = mods.get(norm_module(r["module"]))
        if mod is None:
            bad.append(f"{sid}: module {r['module']}")
            continue
        if r["annual_incidents"] and (not r["annual_incidents"].isdigit()
                                      or int(r["annual_incidents"]) < mod[1]):
            bad.append(f"{sid}: annual_incidents {r['annual_incidents']}")
        if not is_date(r["start_date"]) or (r["end_date"] and not is_date(r["end_date"])):
            bad.append(f"{sid}: dates")
        elif r["end_date"] and r["end_date"] < r["start_date"]:
            bad.append(f"{sid}: ends before it starts")
    for r in data["tickets"]:
        tid = r["ticket_id"]
        if r["customer_id"] not in customers:
            bad.append(f"{tid}: unknown customer")
        if not is_ts(r["opened_at"]):
            bad.append(f"{tid}: opened_at {r['opened_at']}")
        for col in ("first_response_at", "closed_at"):
            if r[col] and not is_ts(r[col]):
                bad.append(f"{tid}: {col} {r[col]}")
        if r["category"].lower() not in CATEGORIES:
            bad.append(f"{tid}: category {r['category']}")
        if r["time_sensitive"].lower() not in TRUE | FALSE:
            bad.append(f"{tid}: time_sensitive {r['time_sensitive']}")
        if r["status"].lower() not in {"", "open", "closed", "void"}:
            bad.append(f"{tid}: status {r['status']}")
        if r["billable_override"].lower() not in {"", "yes", "no"}:
            bad.append(f"{tid}: override {r['billable_override']}")
        if r["severity"].lower() not in {"", "low", "normal", "high", "urgent"}:
            bad.append(f"{tid}: severity {r['severity']}")
    for r in data["timesheets"]:
        eid = r["entry_id"]
        if r["customer_id"] not in customers:
            bad.append(f"{eid}: unknown customer")
        if not is_date(r["work_date"]):
            bad.append(f"{eid}: work_date {r['work_date']}")
        if not DEC2.fullmatch(r["hours"]) or not 0 < Decimal(r["hours"]) <= 24:
            bad.append(f"{eid}: hours {r['hours']}")
        if r["activity"].lower() not in {"implementation", "training", "custom_development",
                                         "support"}:
            bad.append(f"{eid}: activity {r['activity']}")
    for r in data["prepaid_hours"]:
        bid = r["block_id"]
        if r["customer_id"] not in customers:
            bad.append(f"{bid}: unknown customer")
        if not DEC2.fullmatch(r["hours"]) or not Decimal(r["hours"]) > 0:
            bad.append(f"{bid}: hours {r['hours']}")
        if not is_date(r["purchased_on"]):
            bad.append(f"{bid}: purchased_on {r['purchased_on']}")
    return bad


@pytest.fixture(scope="module")
def sample25(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample25")
    generate(out, customers=25, year=2026, seed=7)
    return out


def test_same_seed_gives_byte_identical_files(sample25, tmp_path):
    generate(tmp_path / "again", customers=25, year=2026, seed=7)
    generate(tmp_path / "other", customers=25, year=2026, seed=8)
    for name in (f"{k}.csv" for k in FILES):
        assert (tmp_path / "again" / name).read_bytes() == (sample25 / name).read_bytes(), name
    assert (tmp_path / "other" / "tickets.csv").read_bytes() != (
        sample25 / "tickets.csv").read_bytes()


def test_committed_sample_is_the_generators_output(tmp_path):
    """data/sample/ is `python -m sample_exports.generator --customers 25 --seed 7`."""
    generate(tmp_path, customers=25, year=2026, seed=7)
    for kind in FILES:
        committed = REPO_ROOT / "data" / "sample" / f"{kind}.csv"
        assert committed.read_bytes() == (tmp_path / f"{kind}.csv").read_bytes(), kind


def test_result_counts_match_the_files(tmp_path):
    result = generate(tmp_path, customers=25, year=2026, seed=7)
    for kind in FILES:
        assert Path(result[kind]["path"]).name == f"{kind}.csv"
        assert result[kind]["rows"] == len(read(result[kind]["path"])) > 0


def test_every_row_is_valid_for_section_3(sample25, tmp_path):
    assert spec_problems(load(sample25)) == []
    generate(tmp_path, customers=300, year=2026, seed=11)
    assert spec_problems(load(tmp_path)) == []


def test_with_errors_adds_only_rejectable_rows(tmp_path):
    generate(tmp_path, customers=25, year=2026, seed=7, with_errors=True)
    problems = spec_problems(load(tmp_path))
    assert any("module hh2 Time Clock" in p for p in problems)
    assert any("hours 24.01" in p for p in problems)
    assert any("opened_at 05/05/2026" in p for p in problems)
    assert any("TERR-03: unknown customer" in p for p in problems)
    assert len(problems) < 25


def test_every_category_module_activity_and_policy_at_25(sample25):
    data = load(sample25)
    assert {r["category"].lower() for r in data["tickets"]} == CATEGORIES
    mods = modules()
    codes = {code for code, _ in mods.values()}
    assert {mods[norm_module(r["module"])][0] for r in data["subscriptions"]} == codes
    spellings = {r["module"] for r in data["subscriptions"]}
    assert "hh2 Remote Payroll" in spellings and "Pay Stubs" in spellings
    assert {r["activity"].lower() for r in data["timesheets"]} == {
        "implementation", "training", "custom_development", "support"}
    assert {r["overage_policy"].lower() for r in data["customers"]} >= {
        "subscription", "upfront", ""}
    tickets = data["tickets"]
    assert len({r["time_sensitive"] for r in tickets if r["time_sensitive"].lower() in TRUE}) >= 3
    assert {r["status"].lower() for r in tickets} == {"open", "closed", "void", ""}
    for answer in ("yes", "no"):
        assert any(r["billable_override"].lower() == answer and r["override_reason"]
                   for r in tickets)
    assert any(r["annual_incidents"] == "" for r in data["subscriptions"])
    assert all(r["purchased_on"].startswith("2026-") for r in data["prepaid_hours"])


def test_subscription_histories(sample25):
    subs = read(sample25 / "subscriptions.csv")
    mods = modules()
    by_line = defaultdict(list)
    for r in subs:
        by_line[(r["customer_id"], mods[norm_module(r["module"])][0])].append(r)
    assert any("2026-01-01" < r["start_date"] <= "2026-12-31" and r["start_date"][8:] != "01"
               for r in subs), "a mid-month start in the year"
    assert any("2026-01-01" <= r["end_date"] < "2026-12-31" for r in subs), "an end in the year"

    def incidents(r):
        return int(r["annual_incidents"] or mods[norm_module(r["module"])][1])

    pairs = [rows for rows in by_line.values() if len(rows) == 2]
    upgrades = [a for a, b in pairs if incidents(b) > incidents(a)
                and b["start_date"].startswith("2026") and b["start_date"] > "2026-01-01"]
    renewals = [a for a, b in pairs if incidents(b) == incidents(a)
                and (dt.date.fromisoformat(a["end_date"]) + dt.timedelta(days=1)).isoformat()
                == b["start_date"] and a["subscription_id"] != b["subscription_id"]]
    assert upgrades and renewals


def test_timestamp_variety_and_boundaries(sample25):
    tickets = read(sample25 / "tickets.csv")
    opened = [r["opened_at"] for r in tickets]
    assert any(v.endswith("Z") for v in opened)
    assert any(v.endswith(("-06:00", "-07:00")) for v in opened)
    assert any(v.endswith("+02:00") for v in opened)
    assert any(len(v) == 19 and "T" in v for v in opened), "naive with seconds"
    assert any(len(v) == 16 and " " in v for v in opened), "naive without seconds"
    assert any("." in v for v in opened), "fractional seconds"
    for literal in ("2026-04-01T05:30:00Z", "2027-01-01T06:59:00Z", "2026-01-01T07:00:00Z",
                    "2026-11-01 01:30:00", "2026-03-08 02:30:00"):
        assert literal in opened, literal


def test_subjects_need_quoting(sample25):
    raw = (sample25 / "tickets.csv").read_text(encoding="utf-8")
    subjects = [r["subject"] for r in read(sample25 / "tickets.csv")]
    assert any("," in s for s in subjects)
    assert any('"' in s for s in subjects)
    assert any("\n" in s for s in subjects)
    assert '""' in raw  # RFC 4180 doubled quotes


def test_timesheets_point_at_tickets_of_the_same_customer(sample25):
    data = load(sample25)
    owner = {r["ticket_id"]: r["customer_id"] for r in data["tickets"]}
    linked = [r for r in data["timesheets"] if r["ticket_id"]]
    assert linked and all(owner[r["ticket_id"]] == r["customer_id"] for r in linked)
    hourly = {r["ticket_id"] for r in data["tickets"]
              if r["category"].lower() in {"implementation", "training", "custom_development"}}
    assert any(r["ticket_id"] in hourly for r in linked)


def test_some_customers_of_each_policy_run_over(sample25):
    """Billable incidents (a lower bound per R9) exceed the largest possible allotment."""
    data = load(sample25)
    mods = modules()
    allot = defaultdict(int)
    best = defaultdict(int)
    for r in data["subscriptions"]:
        code, minimum = mods[norm_module(r["module"])]
        if r["end_date"] and r["end_date"] < "2026-01-01":
            continue
        key = (r["customer_id"], code)
        best[key] = max(best[key], int(r["annual_incidents"] or minimum))
    for (cust, _), n in best.items():
        allot[cust] += n
    billable = Counter(
        r["customer_id"] for r in data["tickets"]
        if r["status"].lower() != "void" and r["billable_override"].lower() != "no"
        and (r["category"].lower() in BILLABLE_STEP5
             or (r["category"].lower() in STEP6 and r["time_sensitive"].lower() in TRUE))
    )
    over = {c["customer_id"] for c in data["customers"]
            if billable[c["customer_id"]] > allot[c["customer_id"]] + 2}
    policies = {c["customer_id"]: c["overage_policy"].lower() or "subscription"
                for c in data["customers"]}
    assert {policies[c] for c in over} == {"subscription", "upfront"}
    assert len(over) < len(data["customers"]), "and some stay within their allotment"


def test_row_counts_scale_linearly(tmp_path):
    small = generate(tmp_path / "a", customers=200, year=2026, seed=3)
    large = generate(tmp_path / "b", customers=800, year=2026, seed=3)
    for kind in FILES:
        ratio = large[kind]["rows"] / small[kind]["rows"]
        assert 3.0 < ratio < 5.3, (kind, ratio)
    per_customer = large["tickets"]["rows"] / 800
    assert 35 < per_customer < 70


def test_command_line(tmp_path, capsys):
    assert sample_data.main(["--customers", "3", "--seed", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for kind in FILES:
        assert kind in out and (tmp_path / f"{kind}.csv").exists()


def _ingest_available() -> bool:
    from support_billing.ingest import flow as ingest
    return not (ingest.__doc__ or "").startswith("Placeholder")


@pytest.mark.slow
@pytest.mark.skipif(not _ingest_available(), reason="support_billing.ingest.flow is a placeholder")
def test_ingest_loads_every_generated_row(prefect_server, home, tmp_path):
    from support_billing.ingest.flow import cli_ingest
    from support_billing.storage.warehouse import open_warehouse

    result = generate(home / "inbox", customers=25, year=2026, seed=7)
    assert cli_ingest(home, []) == 0
    with open_warehouse(home, read_only=True) as con:
        assert con.execute("select count(*) from raw.rejected_rows").fetchone()[0] == 0
        assert con.execute("select count(*) from raw.held_rows").fetchone()[0] == 0
        for kind in FILES:
            n = con.execute(f"select count(*) from raw.{kind}").fetchone()[0]
            assert n == result[kind]["rows"], kind

    errors = tmp_path / "errors"
    generate(errors, customers=25, year=2026, seed=7, with_errors=True)
    cli_ingest(home, [errors])
    with open_warehouse(home, read_only=True) as con:
        rejected = {r[0] for r in con.execute("select row_key from raw.rejected_rows").fetchall()}
        held = {r[0] for r in con.execute("select row_key from raw.held_rows").fetchall()}
    assert {"SERR-01", "SERR-02", "TERR-01", "TERR-02", "EERR-01", "EERR-02", "BERR-01"} <= rejected
    assert held == {"TERR-03"}
