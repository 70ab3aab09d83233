"""Billing periods in Mountain time (R1, R16, section 6): default month, ended months."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from support_billing import periods
from support_billing.billing.finalize import unfinalized_before

UTC = UTC


def test_previous_month_is_taken_in_mountain_time():
    # 2026-06-01 05:00 UTC is still 2026-05-31 23:00 in Denver (MDT, UTC-6)
    at = datetime(2026, 6, 1, 5, 0, tzinfo=UTC)
    assert periods.current_period(at) == "2026-05"
    assert periods.previous_period(at) == "2026-04"
    assert not periods.has_ended("2026-05", at)
    # 06:00 UTC is midnight in Denver: May has ended
    at = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
    assert periods.previous_period(at) == "2026-05"
    assert periods.has_ended("2026-05", at)
    # January: the previous month is December of the year before (MST, UTC-7)
    assert periods.previous_period(datetime(2027, 1, 1, 7, 0, tzinfo=UTC)) == "2026-12"
    assert periods.previous_period(datetime(2027, 1, 1, 6, 59, tzinfo=UTC)) == "2026-11"


@pytest.mark.parametrize("bad", ["2026-5", "2026-13", "2026-00", "26-05", "2026/05", "May",
                                 "", "2026-05-01", " 2026-0 5"])
def test_malformed_periods(bad):
    with pytest.raises(periods.PeriodError):
        periods.parse_period(bad)


def test_month_arithmetic():
    assert periods.parse_period("2026-05") == "2026-05"
    assert periods.shift_period("2026-01", -1) == "2025-12"
    assert periods.shift_period("2026-12", 1) == "2027-01"
    assert periods.first_day("2024-02") == date(2024, 2, 1)
    assert periods.last_day("2024-02") == date(2024, 2, 29)
    assert periods.compact("2026-05") == "202605"
    assert periods.periods_between("2025-11", "2026-03") == ["2025-12", "2026-01", "2026-02"]


def test_months_are_billed_in_order():
    """R15: P is refused while a month after the first finalized one and before P is open."""
    assert unfinalized_before([], "2026-05") == []
    assert unfinalized_before(["2026-03"], "2026-04") == []
    assert unfinalized_before(["2026-03"], "2026-06") == ["2026-04", "2026-05"]
    assert unfinalized_before(["2026-03", "2026-05"], "2026-06") == ["2026-04"]
    assert unfinalized_before(["2026-03"], "2026-01") == []   # before the first: allowed
    assert unfinalized_before(["2026-03", "2026-04"], "2026-03") == []  # re-billing
