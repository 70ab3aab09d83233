"""Billing periods (months, YYYY-MM) in the business time zone, America/Denver (R1, R16).

A period is a calendar month written ``YYYY-MM``. The default month to bill is the
previous month in Mountain time; a month may be billed (not previewed) only once it has
ended in Mountain time (SPEC section 6).
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("America/Denver")
# ASCII digits only: ``\d`` and ``str.isdigit()`` also take other scripts' digits
# (``２０２６-05``, ``٢٠٢٦-05``), and ``$`` a trailing newline; SPEC section 6 takes
# exactly ``YYYY-MM``, anything else is a usage error (exit 2).
PERIOD_RE = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])", re.ASCII)


class PeriodError(ValueError):
    """A --period value that is not YYYY-MM (a usage error, exit 2)."""


class Period(str):
    """A month already validated as ``YYYY-MM``: parsed once where it enters (the command
    line, a flow's parameters) and passed down as this type; it reads and binds as the
    plain text ``YYYY-MM`` everywhere (SQL parameters, file names, messages)."""

    __slots__ = ()

    @property
    def year(self) -> int:
        return int(self[:4])

    @property
    def month(self) -> int:
        return int(self[5:7])


def as_period(value: str) -> Period:
    """``value`` as a Period: returned as it is when it is one already, else parsed."""
    return value if isinstance(value, Period) else parse_period(value)


def parse_period(value: str) -> Period:
    """Validate ``YYYY-MM`` and return it as a Period; raise PeriodError otherwise."""
    text = (value or "").strip()
    m = PERIOD_RE.fullmatch(text)
    if not m or int(m.group(1)) < 1:
        shown = value if len(value or "") <= 20 else value[:20] + "..."
        raise PeriodError(
            f"--period must be a month written YYYY-MM with ASCII digits (e.g. 2026-05), "
            f"not {shown!r}"
        )
    return Period(text)


def now_mountain(now: datetime | None = None) -> datetime:
    """The current (or given) instant in America/Denver; naive values are taken as UTC."""
    now = now or datetime.now(tz=BUSINESS_TZ)
    if now.tzinfo is None:
        now = now.replace(tzinfo=ZoneInfo("UTC"))
    return now.astimezone(BUSINESS_TZ)


def period_of(d: date) -> Period:
    return Period(f"{d.year:04d}-{d.month:02d}")


def current_period(now: datetime | None = None) -> Period:
    """The month running now in Mountain time."""
    return period_of(now_mountain(now).date())


def previous_period(now: datetime | None = None) -> Period:
    """The previous month in Mountain time: the default month to bill."""
    return shift_period(current_period(now), -1)


def shift_period(period: str, months: int) -> Period:
    p = as_period(period)
    index = p.year * 12 + (p.month - 1) + months
    return Period(f"{index // 12:04d}-{index % 12 + 1:02d}")


def first_day(period: str) -> date:
    p = as_period(period)
    return date(p.year, p.month, 1)


def last_day(period: str) -> date:
    p = as_period(period)
    return date(p.year, p.month, calendar.monthrange(p.year, p.month)[1])


def compact(period: str) -> str:
    """``2026-05`` -> ``202605`` (the period inside invoice numbers, R14)."""
    return as_period(period).replace("-", "")


def has_ended(period: str, now: datetime | None = None) -> bool:
    """True once the month's last day has passed in Mountain time."""
    return now_mountain(now).date() > last_day(period)


def periods_between(start: str, end: str) -> list[Period]:
    """Months strictly after ``start`` and strictly before ``end``, in order."""
    out: list[Period] = []
    p = shift_period(start, 1)
    while p < end:
        out.append(p)
        p = shift_period(p, 1)
    return out


def days_between(a: date, b: date) -> int:
    return (b - a) // timedelta(days=1)
