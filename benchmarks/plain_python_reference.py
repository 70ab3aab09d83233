#!/usr/bin/env python
"""A plain-Python reference pass over an inbox: the yardstick of the cold bill's ratio
(benchmarks/README.md, "Comparison steps").

    python benchmarks/plain_python_reference.py INBOX --period YYYY-MM

Reads the five exports with the standard `csv` module, checks the loading rules that
matter for correctness (SPEC section 3: required fields, types, enum values, module and
R4 minimum, R-IN6 text, known customers R-IN5; the last row of a repeated key wins,
R-IN4) and computes the month's invoices (R1, R5-R14) with the independent oracle of
`tests/oracle/billing_oracle.py`, one customer at a time (every rule is per customer, so
this is the same result as one oracle over everything, without its quadratic scans).

Not checked here (the product does, the reference does not need them for the numbers):
R-IN2 whole-file refusals beyond a missing key column, R-IN3 byte fingerprints, R-IN7.
No R15 (the reference bills a month on an empty home, like the cold `bill`).

Prints one line `REFERENCE {json}`: rows read, rows rejected and held, invoices, total,
and the seconds spent reading+checking and computing.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))

from oracle.billing_oracle import (  # noqa: E402  (the oracle lives with the tests)
    ALL_CATEGORIES,
    BillingOracle,
    OracleResult,
    local_date,
    period_of,
    to_instant,
)

KINDS = ("customers", "subscriptions", "tickets", "timesheets", "prepaid_hours")
KEYS = {"customers": "customer_id", "subscriptions": "subscription_id",
        "tickets": "ticket_id", "timesheets": "entry_id", "prepaid_hours": "block_id"}
DATE_RX = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TS_RX = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
                   r"(Z|[+-]\d{2}:\d{2})?$")
DEC_RX = re.compile(r"^\d+(\.\d+)?$|^\.\d+$")
BOOLS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False,
         "": False}
ACTIVITIES = ("implementation", "training", "custom_development", "support")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# The fields the rules read, kept per row as a tuple (key first, then customer_id): 5 million
# tickets as dicts with their free text would need several GB.
FIELDS = {
    "customers": ("customer_id", "customer_name", "overage_policy", "accounting_ref"),
    "subscriptions": ("subscription_id", "customer_id", "module", "annual_incidents",
                      "start_date", "end_date"),
    "tickets": ("ticket_id", "customer_id", "opened_at", "category", "time_sensitive",
                "status", "billable_override"),
    "timesheets": ("entry_id", "customer_id", "work_date", "hours", "activity", "ticket_id"),
    "prepaid_hours": ("block_id", "customer_id", "hours", "purchased_on"),
}


class Bad(ValueError):
    """A rejected row (R-IN1)."""


def read_modules() -> dict[str, tuple[str, int]]:
    """R3: any spelling of a module (code, display name, with or without `hh2 `) -> code, min."""
    out = {}
    with open(REPO_ROOT / "dbt_project" / "seeds" / "modules.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            code, name = r["module_code"], r["display_name"]
            entry = (code, int(r["minimum_annual_incidents"]))
            for spelling in (code, name, name.removeprefix("hh2 ")):
                out[spelling.lower()] = entry
    return out


# ----------------------------------------------------------------------------- typed values
def a_date(v: str, required: bool = True) -> date | None:
    if not v:
        if required:
            raise Bad("blank date")
        return None
    if not DATE_RX.match(v):
        raise Bad(f"bad date {v!r}")
    try:
        return date.fromisoformat(v)
    except ValueError as exc:
        raise Bad(f"bad date {v!r}") from exc


def a_timestamp(v: str) -> datetime:
    if not TS_RX.match(v):
        raise Bad(f"bad timestamp {v!r}")
    try:
        return to_instant(v)  # R1: offset converted, naive = Mountain time
    except ValueError as exc:
        raise Bad(f"bad timestamp {v!r}") from exc


def a_decimal(v: str, most: Decimal | None = None) -> Decimal:
    if not DEC_RX.match(v):
        raise Bad(f"bad decimal {v!r}")
    try:
        d = Decimal(v)
    except InvalidOperation as exc:
        raise Bad(f"bad decimal {v!r}") from exc
    if d <= 0 or (most is not None and d > most) or d != d.quantize(Decimal("0.01")):
        raise Bad(f"hours {v} out of range")
    return d


def enum(v: str, allowed, blank: str | None = None) -> str:
    v = v.lower()
    if not v and blank is not None:
        return blank
    if v not in allowed:
        raise Bad(f"unknown value {v!r}")
    return sys.intern(v)


def safe_text(v: str, what: str) -> str:
    """R-IN6 for keys, ids, customer_name and accounting_ref."""
    if CONTROL.search(v) or v[:1] in ("=", "+", "-", "@"):
        raise Bad(f"{what} is not safe text")
    return v


def required(v: str, what: str) -> str:
    if not v:
        raise Bad(f"{what} is required")
    return safe_text(v, what)


# ----------------------------------------------------------------------------- one row per kind
def customer(r: dict, _ctx) -> dict:
    name = required(r.get("customer_name", ""), "customer_name")
    return {"customer_id": required(r.get("customer_id", ""), "customer_id"),
            "customer_name": name,
            "overage_policy": enum(r.get("overage_policy", ""), ("subscription", "upfront"),
                                   "subscription"),
            "accounting_ref": safe_text(r.get("accounting_ref") or name, "accounting_ref"),
            "email": r.get("email") or None}


def subscription(r: dict, ctx) -> dict:
    code, minimum = ctx["modules"].get(r.get("module", "").lower(), (None, 0))
    if code is None:
        raise Bad(f"unknown module {r.get('module')!r}")
    raw = r.get("annual_incidents", "")
    if raw and not raw.isdigit():
        raise Bad(f"bad integer {raw!r}")
    annual = int(raw) if raw else minimum
    if annual < minimum:  # R4
        raise Bad(f"annual_incidents {annual} is below the minimum {minimum} for {code}")
    start, end = a_date(r.get("start_date", "")), a_date(r.get("end_date", ""), False)
    if end is not None and end < start:
        raise Bad("end_date before start_date")
    return {"subscription_id": required(r.get("subscription_id", ""), "subscription_id"),
            "customer_id": required(r.get("customer_id", ""), "customer_id"),
            "module": code, "annual_incidents": annual, "start_date": start, "end_date": end}


def ticket(r: dict, _ctx) -> dict:
    ts = r.get("time_sensitive", "").lower()
    if ts not in BOOLS:
        raise Bad(f"bad boolean {ts!r}")
    for opt in ("first_response_at", "closed_at"):
        if r.get(opt):
            a_timestamp(r[opt])
    return {"ticket_id": required(r.get("ticket_id", ""), "ticket_id"),
            "customer_id": required(r.get("customer_id", ""), "customer_id"),
            "opened_at": a_timestamp(r.get("opened_at", "")),
            "category": enum(r.get("category", ""), ALL_CATEGORIES),
            "time_sensitive": BOOLS[ts],
            "status": enum(r.get("status", ""), ("open", "closed", "void"), "open"),
            "billable_override": enum(r.get("billable_override", ""), ("yes", "no"), "") or None,
            "override_reason": r.get("override_reason") or None,
            "severity": enum(r.get("severity", ""), ("low", "normal", "high", "urgent"),
                             "normal"),
            "subject": r.get("subject") or None}


def timesheet(r: dict, _ctx) -> dict:
    return {"entry_id": required(r.get("entry_id", ""), "entry_id"),
            "customer_id": required(r.get("customer_id", ""), "customer_id"),
            "work_date": a_date(r.get("work_date", "")),
            "hours": a_decimal(r.get("hours", ""), Decimal("24")),
            "activity": enum(r.get("activity", ""), ACTIVITIES),
            "ticket_id": r.get("ticket_id") or None, "employee": r.get("employee") or None}


def block(r: dict, _ctx) -> dict:
    return {"block_id": required(r.get("block_id", ""), "block_id"),
            "customer_id": required(r.get("customer_id", ""), "customer_id"),
            "hours": a_decimal(r.get("hours", "")),
            "purchased_on": a_date(r.get("purchased_on", ""))}


TYPED = {"customers": customer, "subscriptions": subscription, "tickets": ticket,
         "timesheets": timesheet, "prepaid_hours": block}


# ----------------------------------------------------------------------------- reading
def read_kind(paths: list[Path], kind: str, ctx: dict, stats: dict) -> dict[str, tuple]:
    """Rows of one kind from its files in name order; the last row of a key wins (R-IN4)."""
    rows: dict[str, tuple] = {}
    fields = FIELDS[kind]
    for path in sorted(paths, key=lambda p: p.name.encode()):
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = [h.strip().lower() for h in next(reader, [])]
            if KEYS[kind] not in header:  # R-IN2 (the key column at least)
                stats["files_refused"] += 1
                continue
            for values in reader:
                stats["rows_read"] += 1
                raw = {h: v.strip() for h, v in zip(header, values, strict=False)}
                try:
                    row = TYPED[kind](raw, ctx)
                except Bad:
                    stats["rows_rejected"] += 1
                    continue
                cid = row["customer_id"]
                row["customer_id"] = ctx["ids"].setdefault(cid, cid)  # one string per id
                rows[row[KEYS[kind]]] = tuple(row[f] for f in fields)
    return rows


def read_inbox(inbox: Path) -> tuple[dict, dict]:
    """Every kind's valid rows (rows of an unknown customer are held, R-IN5) and counts."""
    stats = {"rows_read": 0, "rows_rejected": 0, "rows_held": 0, "files_refused": 0}
    ctx = {"modules": read_modules(), "ids": {}}
    files = [p for p in inbox.iterdir() if p.is_file() and p.suffix.lower() == ".csv"]
    data = {}
    for kind in KINDS:
        mine = [p for p in files if p.name.lower().startswith(kind)]
        data[kind] = read_kind(mine, kind, ctx, stats)
    known = set(data["customers"])
    for kind in KINDS[1:]:
        held = [k for k, r in data[kind].items() if r[1] not in known]
        stats["rows_held"] += len(held)
        for k in held:
            del data[kind][k]
    return data, stats


# ----------------------------------------------------------------------------- one month
def by_customer(data: dict) -> dict[str, dict]:
    """{customer_id: {kind: [row tuples]}}."""
    out: dict[str, dict] = {cid: {k: [] for k in KINDS} for cid in data["customers"]}
    for kind in KINDS:
        cid_at = 0 if kind == "customers" else 1
        for row in data[kind].values():
            out[row[cid_at]][kind].append(row)
    return out


class Oracle(BillingOracle):
    """The oracle with two day-by-day walks in closed form (same answers: a subscription's
    start is never after its end, checked at reading)."""

    def active_some_day_of_year(self, sub: dict, year: int) -> bool:  # R5 over a year
        return sub["start_date"] <= date(year, 12, 31) and (
            sub["end_date"] is None or sub["end_date"] >= date(year, 1, 1))

    def first_active_day(self, customer_id: str, year: int) -> date | None:  # R8 extras
        firsts = [max(s["start_date"], date(year, 1, 1)) for s in self.subs_of(customer_id)
                  if self.active_some_day_of_year(s, year)]
        return min(firsts, default=None)


def month_lines(rows: dict, period: str) -> list[dict]:
    """The oracle's lines of one customer for one month (R7, R12, R13 in R14 order)."""
    year, month = int(period[:4]), int(period[5:])
    scenario = {k: [dict(zip(FIELDS[k], r, strict=True)) for r in rows[k]] for k in KINDS}
    oracle = Oracle(scenario, years=[year])
    res = OracleResult(oracle=oracle)
    res.reasons = oracle.classify()
    res.ledger = oracle.deduct(res.reasons)
    billed, taken = oracle.consume_hours()
    blocks = {b["block_id"]: b["hours"] for b in oracle.blocks}
    this_month: dict[str, Decimal] = {}
    used_to_end: dict[str, Decimal] = {}
    for _cid, work_date, block_id, hours in taken:
        p = period_of(work_date)
        if p <= period:
            used_to_end[block_id] = used_to_end.get(block_id, Decimal("0")) + hours
        if p == period:
            this_month[block_id] = this_month.get(block_id, Decimal("0")) + hours
    cid = next(iter(oracle.customers))
    res.deductions = [{"period": period, "customer_id": cid, "block_id": b,
                       "hours_taken": h, "hours_left": blocks[b] - used_to_end[b]}
                      for b, h in sorted(this_month.items())]
    return oracle.month_lines(cid, year, month, res, billed)


def compute_month(data: dict, period: str) -> dict:
    """R14: one invoice per customer with a non-zero line; count, total, lines."""
    invoices, total, lines = 0, Decimal("0.00"), 0
    for _cid, rows in sorted(by_customer(data).items()):
        got = month_lines(rows, period)
        lines += len(got)
        if any(x["amount"] != 0 for x in got):
            invoices += 1
            total += sum((x["amount"] for x in got), Decimal("0.00"))
    return {"invoices": invoices, "total": str(total), "lines": lines}


def run(inbox: Path, period: str) -> dict:
    t0 = time.perf_counter()
    data, stats = read_inbox(inbox)
    t1 = time.perf_counter()
    month = compute_month(data, period)
    t2 = time.perf_counter()
    return {"period": period, **stats, **month, "read_check_s": t1 - t0, "compute_s": t2 - t1}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inbox", type=Path, help="folder with the five exports")
    parser.add_argument("--period", required=True, help="the month to compute, YYYY-MM")
    args = parser.parse_args(argv)
    if not re.match(r"^\d{4}-(0[1-9]|1[0-2])$", args.period):
        parser.error("--period must be YYYY-MM")
    if not args.inbox.is_dir():
        parser.error(f"{args.inbox} is not a folder")
    print("REFERENCE " + json.dumps(run(args.inbox, args.period)))
    return 0


__all__ = ["local_date", "read_inbox", "run"]

if __name__ == "__main__":
    sys.exit(main())
