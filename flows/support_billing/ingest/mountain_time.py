"""Mountain time in SQL (R1): naive export timestamps to instants, set-based in DuckDB.

A naive timestamp is America/Denver wall-clock time; an ambiguous autumn time takes the
earlier instant and a time in the spring gap moves forward one hour (R1). The years
1970-2100 use a table derived from Python's zoneinfo (the reference), others ICU.
"""

from __future__ import annotations

from datetime import UTC
from functools import lru_cache


def denver_to_utc_sql(local: str) -> str:
    """A naive America/Denver local TIMESTAMP -> TIMESTAMPTZ instant (R1), with ICU.

    Mountain time is UTC-6 (MDT) or UTC-7 (MST). If local+6h maps back to the same local
    time it is valid (summer, or the earlier instant of an ambiguous autumn time);
    otherwise local+7h (winter, or a time in the spring gap, which moves forward one
    hour). Same result as Python zoneinfo with fold=0. Used for years outside the
    precomputed table of ``denver_dst_table``.
    """
    a = f"timezone('UTC', {local} + INTERVAL 6 HOUR)"
    b = f"timezone('UTC', {local} + INTERVAL 7 HOUR)"
    return f"(CASE WHEN timezone('America/Denver', {a}) = {local} THEN {a} ELSE {b} END)"


DST_FIRST_YEAR, DST_LAST_YEAR = 1970, 2100
HOUR_US = 3_600_000_000


@lru_cache(maxsize=1)
def denver_dst_table() -> tuple[tuple[int, int] | None, ...]:
    """Per year DST_FIRST_YEAR..DST_LAST_YEAR: (s, e) as epoch microseconds of local wall
    times, such that a naive local time n is daylight time (UTC-6) exactly when
    s <= n < e, with the R1 choices built in (a time in the spring gap is standard time,
    i.e. moves forward one hour; an ambiguous autumn time is the earlier, daylight
    instant). None for a year whose pattern is not one MST->MDT->MST cycle (the SQL then
    falls back to ICU). Derived from Python zoneinfo, the reference of R1.
    """
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    den = ZoneInfo("America/Denver")
    utc = UTC
    out: list[tuple[int, int] | None] = []

    def off(t: datetime) -> timedelta:
        return t.astimezone(den).utcoffset()

    for year in range(DST_FIRST_YEAR, DST_LAST_YEAR + 1):
        t = datetime(year, 1, 1, 12, tzinfo=utc)
        transitions = []
        prev = off(t)
        if prev != timedelta(hours=-7):
            out.append(None)
            continue
        for _day in range(366):
            nxt = t + timedelta(days=1)
            if nxt.year != year:
                break
            o = off(nxt)
            if o != prev:
                h = t
                while off(h + timedelta(hours=1)) == prev:
                    h += timedelta(hours=1)
                transitions.append((h + timedelta(hours=1), prev, o))
                prev = o
            t = nxt
        if (
            len(transitions) == 2
            and transitions[0][1:] == (timedelta(hours=-7), timedelta(hours=-6))
            and transitions[1][1:] == (timedelta(hours=-6), timedelta(hours=-7))
        ):
            epoch = datetime(1970, 1, 1, tzinfo=utc)
            start_utc, end_utc = transitions[0][0], transitions[1][0]
            s = (start_utc - epoch) // timedelta(microseconds=1) - 6 * HOUR_US
            e = (end_utc - epoch) // timedelta(microseconds=1) - 6 * HOUR_US
            out.append((s, e))
        else:
            out.append(None)
    return tuple(out)


def denver_us_sql(u: str, year: str) -> str:
    """Naive Mountain local time as epoch microseconds ``u`` (BIGINT) of year ``year`` ->
    the UTC instant as epoch microseconds (R1). Table lookup, ICU outside the table."""
    table = denver_dst_table()
    starts = "[" + ", ".join("NULL" if v is None else str(v[0]) for v in table) + "]"
    ends = "[" + ", ".join("NULL" if v is None else str(v[1]) for v in table) + "]"
    idx = f"({year} - {DST_FIRST_YEAR - 1})"
    s = f"list_extract({starts}::BIGINT[], {idx})"
    e = f"list_extract({ends}::BIGINT[], {idx})"
    icu = f"epoch_us({denver_to_utc_sql(f'make_timestamp({u})')})"
    return (
        f"CASE WHEN {year} BETWEEN {DST_FIRST_YEAR} AND {DST_LAST_YEAR} AND {s} IS NOT NULL "
        f"THEN {u} + {HOUR_US} * (CASE WHEN {u} >= {s} AND {u} < {e} THEN 6 ELSE 7 END) "
        f"ELSE {icu} END"
    )
