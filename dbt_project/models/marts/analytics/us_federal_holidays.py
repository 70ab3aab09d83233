"""US federal holidays with the dates they are observed, from the maintained `holidays`
library (https://pypi.org/project/holidays/, country US, category public = the federal
holidays, observed rules on), for every year the tickets span: a fixed list of years would
end, and after its last year holidays would silently count as business hours.

One row per holiday: the day it is observed (the day off; a Saturday holiday is observed
the Friday before, a Sunday holiday the Monday after, so New Year's Day 2028 is observed
on 2027-12-31), the holiday's own year, name and calendar date. Read by
mart_response_times through macros/business_hours.sql.

The years are those of every ticket's opening and first response (Mountain time, R1),
one year either side (an observed New Year's Day falls in the year before), and the
current year, so an empty warehouse still has a calendar.
"""

from datetime import date, timedelta

OBSERVED_SUFFIX = " (observed)"


def covered_years(tickets) -> range:
    """First to last year the business calendar can reach, one year either side."""
    lo, hi = tickets.aggregate(
        "least(min(year(opened_at_local)), min(year(first_response_at_local))) as lo, "
        "greatest(max(year(opened_at_local)), max(year(first_response_at_local))) as hi"
    ).fetchall()[0]
    this_year = date.today().year
    lo = min(lo or this_year, this_year)
    hi = max(hi or this_year, this_year)
    return range(lo - 1, hi + 2)


def holiday_rows(years) -> list[tuple]:
    """(observed_date, holiday_year, holiday_name, holiday_date), one row per holiday."""
    import holidays

    actual = holidays.US(years=years, observed=False)
    observed = holidays.US(years=years, observed=True)
    moved = {}  # (name, holiday_date) -> observed date
    for day, names in observed.items():
        for name in names.split("; "):
            if not name.endswith(OBSERVED_SUFFIX):
                continue
            base = name[: -len(OBSERVED_SUFFIX)]
            for shift in (1, -1, 2, -2, 3, -3):  # the actual day is next to the observed one
                other = day + timedelta(days=shift)
                if base in actual.get_list(other):
                    moved[(base, other)] = day
                    break
    rows = []
    for day, names in actual.items():
        for name in names.split("; "):
            rows.append((moved.get((name, day), day), day.year, name, day))
    return sorted(rows)


def model(dbt, session):
    import pyarrow as pa

    dbt.config(materialized="table")
    rows = holiday_rows(covered_years(dbt.ref("stg_exports__tickets")))
    columns = list(zip(*rows, strict=True)) if rows else [[], [], [], []]
    return pa.table(
        {
            "observed_date": pa.array(columns[0], pa.date32()),
            "holiday_year": pa.array(columns[1], pa.int32()),
            "holiday_name": pa.array(columns[2], pa.string()),
            "holiday_date": pa.array(columns[3], pa.date32()),
        }
    )
