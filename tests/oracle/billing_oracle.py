"""Reference implementation of the billing rules R1, R5-R14 (SPEC section 4), no R15.

Deliberately simple and literal: days are walked one by one, incidents are taken one
by one in (opened_at, ticket_id) order, timesheet entries and prepaid blocks are
consumed FIFO. Money is exact (``fractions.Fraction`` for the arithmetic, one
half-up rounding per line to a ``decimal.Decimal`` with 2 places, R2).

Input: plain lists of dicts shaped like the ``raw.*`` tables (see ``normalize``), and
a price book (list of ``(price_key, effective_from, value)``; default: SPEC section 2).
Output: an ``OracleResult`` with

- ``reasons``: ticket_id -> R9 reason code,
- ``ledger``: the R10 ledger, one dict per billable incident,
- ``year_usage``: (customer_id, year) -> allotment on Dec 31, covered, overage, expired (R11),
- ``lines``: every month's normal invoice lines (R7, R12, R13), in R14 line order,
- ``invoices``: (period, customer_id) -> total, only where a line is non-zero (R14),
- ``deductions``: the prepaid block deductions per month (R13).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

DENVER = ZoneInfo("America/Denver")
CENT = Decimal("0.01")

# SPEC section 2, price book (all rows in force from 2000-01-01).
DEFAULT_PRICE_BOOK: list[tuple[str, date, Decimal]] = [
    ("incident_rate_tier_1_2", date(2000, 1, 1), Decimal("12.50")),
    ("incident_rate_tier_3_plus", date(2000, 1, 1), Decimal("10.00")),
    ("upfront_incident", date(2000, 1, 1), Decimal("150.00")),
    ("hourly_rate", date(2000, 1, 1), Decimal("250.00")),
    ("extra_incidents_per_year", date(2000, 1, 1), Decimal("2")),
    ("free_migrations_per_year", date(2000, 1, 1), Decimal("1")),
    ("payment_terms_days", date(2000, 1, 1), Decimal("30")),
]

HOURLY_CATEGORIES = ("implementation", "training", "custom_development")
MIGRATION_CATEGORIES = ("server_migration", "key_code_change")
BILLABLE_CATEGORIES = (
    "extended_help",
    "sync_support",
    "sync_customization",
    "admin_task",
    "unsupported_environment",
)
FREE_UNLESS_TIME_SENSITIVE = ("bug_report", "how_to", "basic_question")
ALWAYS_FREE = ("feature_request",)
ALL_CATEGORIES = (
    HOURLY_CATEGORIES
    + MIGRATION_CATEGORIES
    + BILLABLE_CATEGORIES
    + FREE_UNLESS_TIME_SENSITIVE
    + ALWAYS_FREE
)
BILLABLE_REASONS = ("override_billable", "billable_category", "time_sensitive")

# R14 line order (prior_period_adjustment is R15, not computed here).
LINE_TYPE_ORDER = (
    "support_subscription",
    "additional_incident_subscription",
    "additional_incident_upfront",
    "implementation_hours",
    "training_hours",
    "custom_development_hours",
    "prepaid_hours_deduction",
)
HOURS_LINE_TYPE = {
    "implementation": "implementation_hours",
    "training": "training_hours",
    "custom_development": "custom_development_hours",
}


# ---------------------------------------------------------------------------- helpers


def round_half_up(value: Fraction | Decimal | int) -> Decimal:
    """Round an exact value once, half up (away from zero), to cents (R2).

    Exact for any rational (a prorated amount like 8 x 10.00 x 16/31 has no finite
    decimal form); for decimal inputs it equals ``Decimal.quantize(ROUND_HALF_UP)``."""
    exact = Fraction(value)
    sign = -1 if exact < 0 else 1
    cents = (abs(exact) * 100 + Fraction(1, 2)).__floor__()
    return (Decimal(sign * cents) / 100).quantize(CENT)


def days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def days_of_month(year: int, month: int) -> list[date]:
    return [date(year, month, d) for d in range(1, days_in_month(year, month) + 1)]


def days_between(first: date, last: date) -> list[date]:
    """Every day from first to last, both included."""
    out = []
    d = first
    while d <= last:
        out.append(d)
        d += timedelta(days=1)
    return out


def period_of(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def to_date(value) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def to_instant(value) -> datetime:
    """opened_at as an aware datetime; a naive one is Mountain time (R1)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        # R1: naive = Mountain time; fold=0 = the earlier instant of an ambiguous time.
        # (A non-existent spring time is not produced by the generators used here.)
        value = value.replace(tzinfo=DENVER, fold=0)
    return value


def local_date(instant: datetime) -> date:
    """R1: the incident's date is that of opened_at in America/Denver."""
    return instant.astimezone(DENVER).date()


class PriceBook:
    def __init__(self, rows=None):
        self.rows = [(k, to_date(f), Decimal(str(v))) for k, f, v in (rows or DEFAULT_PRICE_BOOK)]

    def value(self, key: str, on: date) -> Decimal:
        """The row in force on a date: the latest effective_from on or before it."""
        candidates = [(f, v) for k, f, v in self.rows if k == key and f <= on]
        if not candidates:
            raise KeyError(f"no price {key} in force on {on}")
        return max(candidates)[1]


# ---------------------------------------------------------------------------- input


def normalize(scenario: dict) -> dict:
    """Fill the raw.* defaults (SPEC section 3) so every dict has every column."""
    customers = []
    for c in scenario.get("customers", []):
        customers.append(
            {
                "customer_id": c["customer_id"],
                "customer_name": c.get("customer_name") or f"Customer {c['customer_id']}",
                "overage_policy": (c.get("overage_policy") or "subscription").lower(),
                "accounting_ref": c.get("accounting_ref")
                or c.get("customer_name")
                or f"Customer {c['customer_id']}",
                "email": c.get("email"),
            }
        )
    subscriptions = []
    for s in scenario.get("subscriptions", []):
        subscriptions.append(
            {
                "subscription_id": s["subscription_id"],
                "customer_id": s["customer_id"],
                "module": s["module"],
                "annual_incidents": int(s["annual_incidents"]),
                "start_date": to_date(s["start_date"]),
                "end_date": to_date(s.get("end_date")),
            }
        )
    tickets = []
    for t in scenario.get("tickets", []):
        override = t.get("billable_override")
        tickets.append(
            {
                "ticket_id": t["ticket_id"],
                "customer_id": t["customer_id"],
                "opened_at": to_instant(t["opened_at"]),
                "category": t["category"].lower(),
                "time_sensitive": bool(t.get("time_sensitive", False)),
                "status": (t.get("status") or "open").lower(),
                "billable_override": override.lower() if override else None,
                "override_reason": t.get("override_reason"),
                "severity": (t.get("severity") or "normal").lower(),
                "subject": t.get("subject"),
            }
        )
    timesheets = []
    for e in scenario.get("timesheets", []):
        timesheets.append(
            {
                "entry_id": e["entry_id"],
                "customer_id": e["customer_id"],
                "work_date": to_date(e["work_date"]),
                "hours": Decimal(str(e["hours"])),
                "activity": e["activity"].lower(),
                "ticket_id": e.get("ticket_id"),
                "employee": e.get("employee"),
            }
        )
    blocks = []
    for b in scenario.get("prepaid_hours", []):
        blocks.append(
            {
                "block_id": b["block_id"],
                "customer_id": b["customer_id"],
                "hours": Decimal(str(b["hours"])),
                "purchased_on": to_date(b["purchased_on"]),
            }
        )
    return {
        "customers": customers,
        "subscriptions": subscriptions,
        "tickets": tickets,
        "timesheets": timesheets,
        "prepaid_hours": blocks,
    }


# ---------------------------------------------------------------------------- result


@dataclass
class OracleResult:
    reasons: dict[str, str] = field(default_factory=dict)
    ledger: list[dict] = field(default_factory=list)
    year_usage: dict[tuple[str, int], dict] = field(default_factory=dict)
    lines: list[dict] = field(default_factory=list)
    invoices: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    deductions: list[dict] = field(default_factory=list)
    tier_totals: dict[tuple[str, str], int] = field(default_factory=dict)
    oracle: BillingOracle | None = None

    def lines_for(self, period: str, customer_id: str) -> list[dict]:
        return [x for x in self.lines if x["period"] == period and x["customer_id"] == customer_id]

    def ledger_for(self, ticket_id: str) -> dict:
        return next(x for x in self.ledger if x["ticket_id"] == ticket_id)


# ---------------------------------------------------------------------------- the oracle


class BillingOracle:
    def __init__(self, scenario: dict, price_book=None, years: list[int] | None = None):
        data = normalize(scenario)
        self.customers = {c["customer_id"]: c for c in data["customers"]}
        self.subscriptions = data["subscriptions"]
        self.tickets = data["tickets"]
        self.timesheets = data["timesheets"]
        self.blocks = data["prepaid_hours"]
        self.book = PriceBook(price_book)
        self.years = years or self._years_in_data()
        self._active_cache: dict[tuple[str, date], bool] = {}
        self._allotment_cache: dict[tuple[str, date], int] = {}
        self._sub_year_cache: dict[tuple[str, int], bool] = {}
        self._first_active_cache: dict[tuple[str, int], date | None] = {}
        self._subs_by_customer: dict[str, list[dict]] = {}
        for s in self.subscriptions:
            self._subs_by_customer.setdefault(s["customer_id"], []).append(s)

    # --- which years to bill: every year any input date falls in
    def _years_in_data(self) -> list[int]:
        ys = set()
        for s in self.subscriptions:
            ys.add(s["start_date"].year)
            if s["end_date"]:
                ys.add(s["end_date"].year)
        for t in self.tickets:
            ys.add(local_date(t["opened_at"]).year)
        for e in self.timesheets:
            ys.add(e["work_date"].year)
        for b in self.blocks:
            ys.add(b["purchased_on"].year)
        if not ys:
            return []
        return list(range(min(ys), max(ys) + 1))

    # --- R5
    @staticmethod
    def sub_active(sub: dict, d: date) -> bool:
        return sub["start_date"] <= d and (sub["end_date"] is None or d <= sub["end_date"])

    def subs_of(self, customer_id: str) -> list[dict]:
        return self._subs_by_customer.get(customer_id, [])

    def customer_active(self, customer_id: str, d: date) -> bool:
        key = (customer_id, d)
        if key not in self._active_cache:
            self._active_cache[key] = any(self.sub_active(s, d) for s in self.subs_of(customer_id))
        return self._active_cache[key]

    def sub_active_some_day(self, sub: dict, days: list[date]) -> bool:
        return any(self.sub_active(sub, d) for d in days)

    def active_some_day_of_year(self, sub: dict, year: int) -> bool:
        key = (sub["subscription_id"], year)
        if key not in self._sub_year_cache:
            days = days_between(date(year, 1, 1), date(year, 12, 31))
            self._sub_year_cache[key] = self.sub_active_some_day(sub, days)
        return self._sub_year_cache[key]

    def first_active_day(self, customer_id: str, year: int) -> date | None:
        """The first day of the year on which the customer is active (None: never)."""
        key = (customer_id, year)
        if key not in self._first_active_cache:
            self._first_active_cache[key] = next(
                (
                    d
                    for d in days_between(date(year, 1, 1), date(year, 12, 31))
                    if self.customer_active(customer_id, d)
                ),
                None,
            )
        return self._first_active_cache[key]

    # --- R8
    def module_allotment(self, customer_id: str, module: str, d: date) -> int:
        year = d.year
        in_year = [
            s
            for s in self.subs_of(customer_id)
            if s["module"] == module and self.active_some_day_of_year(s, year)
        ]
        started = [s for s in in_year if s["start_date"] <= d]
        total = 0
        for k in range(1, 13):
            running = []
            for s in started:
                first_month = s["start_date"].month if s["start_date"].year == year else 1
                if first_month <= k:  # runs from its start month through December
                    running.append(s["annual_incidents"])
            total += max(running, default=0)
        return -(-total // 12)  # ceil

    def allotment(self, customer_id: str, d: date) -> int:
        key = (customer_id, d)
        if key not in self._allotment_cache:
            self._allotment_cache[key] = self._allotment(customer_id, d)
        return self._allotment_cache[key]

    def _allotment(self, customer_id: str, d: date) -> int:
        modules = sorted({s["module"] for s in self.subs_of(customer_id)})
        total = sum(self.module_allotment(customer_id, m, d) for m in modules)
        first_active = self.first_active_day(customer_id, d.year)
        if first_active is not None and first_active <= d:  # active on some day of Y up to d
            total += int(self.book.value("extra_incidents_per_year", date(d.year, 1, 1)))
        return total

    # --- R9
    def classify(self) -> dict[str, str]:
        hourly_ticket_refs = {
            (e["customer_id"], e["ticket_id"])
            for e in self.timesheets
            if e["ticket_id"] and e["activity"] in HOURLY_CATEGORIES
        }
        reasons: dict[str, str] = {}
        migrations: list[dict] = []
        for t in self.tickets:
            if t["status"] == "void":
                reasons[t["ticket_id"]] = "void"
            elif t["billable_override"] == "yes":
                reasons[t["ticket_id"]] = "override_billable"
            elif t["billable_override"] == "no":
                reasons[t["ticket_id"]] = "override_free"
            elif (
                t["category"] in HOURLY_CATEGORIES
                or (t["customer_id"], t["ticket_id"]) in hourly_ticket_refs
            ):
                reasons[t["ticket_id"]] = "hourly_work"
            elif t["category"] in MIGRATION_CATEGORIES:
                migrations.append(t)  # step 4, decided below per customer and year
            elif t["category"] in BILLABLE_CATEGORIES:
                reasons[t["ticket_id"]] = "billable_category"
            elif t["category"] in FREE_UNLESS_TIME_SENSITIVE:
                ts = t["time_sensitive"]
                reasons[t["ticket_id"]] = "time_sensitive" if ts else "free_category"
            elif t["category"] in ALWAYS_FREE:
                reasons[t["ticket_id"]] = "free_category"
            else:
                raise ValueError(f"unknown category {t['category']!r}")
        # Step 4: per customer and (Mountain) year, in (opened_at, ticket_id) order.
        groups: dict[tuple[str, int], list[dict]] = {}
        for t in migrations:
            groups.setdefault((t["customer_id"], local_date(t["opened_at"]).year), []).append(t)
        for (cid, year), group in groups.items():
            free_left = int(self.book.value("free_migrations_per_year", date(year, 1, 1)))
            for t in sorted(group, key=lambda t: (t["opened_at"], t["ticket_id"])):
                if not self.customer_active(cid, local_date(t["opened_at"])):
                    reasons[t["ticket_id"]] = "billable_category"  # does not use the benefit
                elif free_left > 0:
                    reasons[t["ticket_id"]] = "free_migration_benefit"
                    free_left -= 1
                else:
                    reasons[t["ticket_id"]] = "billable_category"
        return reasons

    # --- R10, R12 treatment
    def deduct(self, reasons: dict[str, str]) -> list[dict]:
        incidents = [t for t in self.tickets if reasons[t["ticket_id"]] in BILLABLE_REASONS]
        groups: dict[tuple[str, int], list[dict]] = {}
        for t in incidents:
            groups.setdefault((t["customer_id"], local_date(t["opened_at"]).year), []).append(t)
        ledger = []
        for (cid, year), group in sorted(groups.items()):
            covered_so_far = 0
            in_order = sorted(group, key=lambda t: (t["opened_at"], t["ticket_id"]))
            for seq, t in enumerate(in_order, 1):
                d = local_date(t["opened_at"])
                available = self.allotment(cid, d)
                active = self.customer_active(cid, d)
                if active and covered_so_far < available:
                    coverage = "covered"
                    covered_so_far += 1
                    treatment = None
                else:
                    coverage = "overage"
                    if not active:
                        treatment = "upfront"  # R12: not active -> up front, whatever the policy
                    else:
                        treatment = self.customers[cid]["overage_policy"]
                ledger.append(
                    {
                        "ticket_id": t["ticket_id"],
                        "customer_id": cid,
                        "opened_at": t["opened_at"],
                        "incident_date": d,
                        "period": period_of(d),
                        "year": year,
                        "seq_in_year": seq,
                        "coverage": coverage,
                        "allotment_available": available,
                        "allotment_remaining": max(0, available - covered_so_far),
                        "reason_code": reasons[t["ticket_id"]],
                        "overage_treatment": treatment,
                    }
                )
        return ledger

    # --- R13
    def consume_hours(self):
        """FIFO: entries by (work_date, entry_id) over blocks by (purchased_on, block_id).

        Returns (billed, taken): billed[(customer, period, activity)] = hours billed,
        taken = list of (customer, period, block_id, hours) in consumption order.
        """
        billed: dict[tuple[str, str, str], Decimal] = {}
        taken: list[tuple[str, date, str, Decimal]] = []
        for cid in sorted({e["customer_id"] for e in self.timesheets}):
            blocks = sorted(
                (b for b in self.blocks if b["customer_id"] == cid),
                key=lambda b: (b["purchased_on"], b["block_id"]),
            )
            left = {b["block_id"]: b["hours"] for b in blocks}
            entries = sorted(
                (
                    e
                    for e in self.timesheets
                    if e["customer_id"] == cid and e["activity"] in HOURLY_CATEGORIES
                ),
                key=lambda e: (e["work_date"], e["entry_id"]),
            )
            for e in entries:
                need = e["hours"]
                for b in blocks:
                    if need == 0:
                        break
                    if b["purchased_on"] > e["work_date"] or left[b["block_id"]] == 0:
                        continue
                    use = min(need, left[b["block_id"]])
                    left[b["block_id"]] -= use
                    need -= use
                    taken.append((cid, e["work_date"], b["block_id"], use))
                if need > 0:
                    key = (cid, period_of(e["work_date"]), e["activity"])
                    billed[key] = billed.get(key, Decimal("0")) + need
        return billed, taken

    # --- everything
    def run(self) -> OracleResult:
        res = OracleResult(oracle=self)
        res.reasons = self.classify()
        res.ledger = self.deduct(res.reasons)
        billed_hours, taken = self.consume_hours()

        # R11
        for cid in sorted(self.customers):
            for year in self.years:
                allot = self.allotment(cid, date(year, 12, 31))
                inc = [x for x in res.ledger if x["customer_id"] == cid and x["year"] == year]
                covered = sum(1 for x in inc if x["coverage"] == "covered")
                overage = sum(1 for x in inc if x["coverage"] == "overage")
                if allot > 0 or inc:
                    res.year_usage[(cid, year)] = {
                        "allotment": allot,
                        "covered": covered,
                        "overage": overage,
                        "expired": max(0, allot - covered),
                    }

        # R13 deductions per block and month (hours taken that month, hours left at its end)
        block_hours = {b["block_id"]: b["hours"] for b in self.blocks}
        per_month: dict[tuple[str, str, str], Decimal] = {}
        for cid, work_date, block_id, hours in taken:
            key = (cid, period_of(work_date), block_id)
            per_month[key] = per_month.get(key, Decimal("0")) + hours
        for (cid, period, block_id), hours in sorted(per_month.items()):
            used_to_end = sum(
                (h for c, wd, b, h in taken if b == block_id and period_of(wd) <= period),
                Decimal("0"),
            )
            res.deductions.append(
                {
                    "period": period,
                    "customer_id": cid,
                    "block_id": block_id,
                    "hours_taken": hours,
                    "hours_left": block_hours[block_id] - used_to_end,
                }
            )

        for year in self.years:
            for month in range(1, 13):
                for cid in sorted(self.customers):
                    lines = self.month_lines(cid, year, month, res, billed_hours)
                    res.lines.extend(lines)
                    if any(x["amount"] != 0 for x in lines):
                        res.invoices[(period_of(date(year, month, 1)), cid)] = sum(
                            (x["amount"] for x in lines), Decimal("0.00")
                        )
        return res

    def month_lines(self, cid, year, month, res: OracleResult, billed_hours) -> list[dict]:
        period = f"{year:04d}-{month:02d}"
        first = date(year, month, 1)
        mdays = days_of_month(year, month)
        subs = [s for s in self.subs_of(cid) if self.sub_active_some_day(s, mdays)]
        active_in_month = any(self.customer_active(cid, d) for d in mdays)

        # R12 subscription policy: added incidents in effect in this month
        added = [
            x
            for x in res.ledger
            if x["customer_id"] == cid
            and x["overage_treatment"] == "subscription"
            and x["year"] == year
            and x["incident_date"].month <= month
        ]
        added_in_effect = len(added) if active_in_month else 0

        # R6
        tier_total = added_in_effect
        for module in sorted({s["module"] for s in subs}):
            tier_total += max(s["annual_incidents"] for s in subs if s["module"] == module)
        res.tier_totals[(period, cid)] = tier_total
        rate = None
        if 1 <= tier_total <= 2:
            rate = self.book.value("incident_rate_tier_1_2", first)
        elif tier_total >= 3:
            rate = self.book.value("incident_rate_tier_3_plus", first)

        lines: list[dict] = []

        def add(line_type, quantity, unit_price, amount, source_ref, rule):
            lines.append(
                {
                    "period": period,
                    "customer_id": cid,
                    "line_type": line_type,
                    "quantity": Decimal(quantity).quantize(CENT),
                    "unit_price": Decimal(unit_price).quantize(CENT),
                    "amount": amount,
                    "source_ref": source_ref,
                    "rule": rule,
                }
            )

        # R7
        for s in sorted(subs, key=lambda s: s["subscription_id"]):
            active_days = sum(1 for d in mdays if self.sub_active(s, d))
            amount = round_half_up(
                Fraction(s["annual_incidents"]) * Fraction(rate) * active_days / len(mdays)
            )
            sid = s["subscription_id"]
            add("support_subscription", s["annual_incidents"], rate, amount, sid, "R7")

        # R12 subscription
        if added_in_effect:
            add(
                "additional_incident_subscription",
                added_in_effect,
                rate,
                round_half_up(added_in_effect * Fraction(rate)),
                ",".join(sorted(x["ticket_id"] for x in added)),
                "R12",
            )

        # R12 up front
        upfront = [
            x
            for x in res.ledger
            if x["customer_id"] == cid
            and x["overage_treatment"] == "upfront"
            and x["period"] == period
        ]
        if upfront:
            price = self.book.value("upfront_incident", first)
            add(
                "additional_incident_upfront",
                len(upfront),
                price,
                round_half_up(len(upfront) * Fraction(price)),
                ",".join(sorted(x["ticket_id"] for x in upfront)),
                "R12",
            )

        # R13 hours
        for activity in HOURLY_CATEGORIES:
            hours = billed_hours.get((cid, period, activity))
            if hours:
                price = self.book.value("hourly_rate", first)
                add(
                    HOURS_LINE_TYPE[activity],
                    hours,
                    price,
                    round_half_up(Fraction(hours) * Fraction(price)),
                    None,
                    "R13",
                )
        for d in sorted(
            (x for x in res.deductions if x["customer_id"] == cid and x["period"] == period),
            key=lambda x: x["block_id"],
        ):
            zero = Decimal("0.00")
            add("prepaid_hours_deduction", d["hours_taken"], 0, zero, d["block_id"], "R13")
        return lines


def compute(scenario: dict, price_book=None, years: list[int] | None = None) -> OracleResult:
    """Run the oracle over one scenario (any number of customers)."""
    return BillingOracle(scenario, price_book=price_book, years=years).run()
