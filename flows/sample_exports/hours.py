"""timesheets.csv and prepaid_hours.csv of the sample exports (SPEC section 3).

Timesheet entries are hourly work on tickets of the same customer (R9 step 3), tickets of
another category turned into custom work by an entry, support time on any ticket, and
entries without a ticket; prepaid hour blocks are bought during the year (R13).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sample_exports.clock import Year
from sample_exports.csv_text import (
    CHUNK_ROWS,
    CsvWriter,
    blank_unless,
    days_text,
    hours_text,
    ids,
    take,
    vocab,
)
from sample_exports.vocabulary import ACTIVITIES, CATEGORIES, EMPLOYEES, HOURLY, choice, ensure

SUPPORT = ACTIVITIES.index("support")


def _ticket_entries(rng, t: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entries on tickets: (ticket position, activity, Mountain-time day) of each."""
    code = {c[0]: i for i, c in enumerate(CATEGORIES)}
    act_of_cat = np.full(len(CATEGORIES), -1)
    for i, a in enumerate(HOURLY):
        act_of_cat[code[a]] = i
    T = len(t["cust"])
    live = ~t["void"]
    # (a) hourly-work tickets (R9 step 3), most with 1-3 entries of their activity
    hourly = live & (act_of_cat[t["cat"]] >= 0) & (rng.random(T) < 0.95)
    # (b) tickets of another category turned into custom work by a timesheet entry
    converted = live & np.isin(t["cat"], [code["sync_customization"], code["sync_support"],
                                          code["extended_help"]]) & (rng.random(T) < 0.02)
    # (c) support time logged against any ticket
    support = rng.random(T) < 0.12
    reps = np.where(hourly, 1 + rng.binomial(2, 0.4, T), 0)
    a_tix = np.repeat(np.arange(T), reps)
    a_act = act_of_cat[t["cat"][a_tix]]
    other = rng.random(len(a_tix)) < 0.1
    a_act = np.where(other, rng.integers(0, 3, len(a_tix)), a_act)
    b_tix = np.flatnonzero(converted)
    b_act = np.where(rng.random(len(b_tix)) < 0.7, 2, 0)
    c_tix = np.flatnonzero(support)
    c_act = np.full(len(c_tix), SUPPORT)
    l_tix = np.concatenate([a_tix, b_tix, c_tix])
    l_act = np.concatenate([a_act, b_act, c_act])
    l_delay = np.where(l_act == SUPPORT, rng.integers(0, 3, len(l_tix)),
                       rng.integers(0, 11, len(l_tix)))
    return l_tix, l_act, t["day"][l_tix] + l_delay


def _loose_entries(rng, n, yr: Year, span_lo, span_hi):
    """(d) entries without a ticket, on days the customer is active: (customer, day, act)."""
    has_span = span_lo <= span_hi
    frac = np.where(has_span, (span_hi - span_lo + 1) / yr.ndays, 0.0)
    counts = rng.poisson(10 * frac)
    u_cust = np.repeat(np.arange(n), counts)
    lo, hi = span_lo[u_cust], span_hi[u_cust]
    u_day = lo + np.floor(rng.random(len(u_cust)) * (hi - lo + 1)).astype(np.int64)
    u_act = choice(rng, len(u_cust), [25, 20, 15, 40]).astype(np.int64)
    ensure(rng, u_act, np.arange(len(ACTIVITIES)))
    return u_cust, u_day, u_act


def _timesheet_errors(w: int, y: int) -> list[str]:
    """Rows that break a section 3 timesheet rule, so the ingest rejects them (R-IN1)."""
    c1 = f"C{1:0{w}d}"
    return [
        f"EERR-01,{c1},{y}-05-05,24.01,training,,Ana Ruiz",  # more than 24 hours
        f'EERR-02,{c1},{y}-05-05,"1,5",training,,Ana Ruiz',  # decimal comma
        f"EERR-03,{c1},{y}-05-05,2.00,coffee,,Ana Ruiz",  # unknown activity
        f"EERR-04,{c1},{y}-05-05,0,support,,Ana Ruiz",  # not more than 0
    ]


def timesheets(rng, n, w, yr: Year, span_lo, span_hi, t: dict, out: Path, with_errors):
    """Write timesheets.csv (entries in work-date order); return its {"path", "rows"}."""
    l_tix, l_act, l_day = _ticket_entries(rng, t)
    u_cust, u_day, u_act = _loose_entries(rng, n, yr, span_lo, span_hi)
    e_cust = np.concatenate([t["cust"][l_tix], u_cust])
    e_act = np.concatenate([l_act, u_act])
    e_day = np.clip(np.concatenate([l_day, u_day]), yr.y0, yr.y1 - 1)
    e_tnum = np.concatenate([t["tnum"][l_tix], np.zeros(len(u_cust), dtype=np.int64)])
    E = len(e_cust)
    quarters = np.where(e_act == SUPPORT, rng.integers(1, 13, E), rng.integers(2, 33, E))
    h100 = np.where(rng.random(E) < 0.05, rng.integers(10, 801, E), quarters * 25)
    emp = rng.integers(0, len(EMPLOYEES), E)
    act_case = rng.random(E) < 0.02
    order = np.lexsort((rng.random(E), e_day))
    ew = max(7, len(str(E)))
    v_act = vocab(list(ACTIVITIES) + [a.capitalize() for a in ACTIVITIES])
    v_emp = vocab(EMPLOYEES)
    writer = CsvWriter(out / "timesheets.csv", ["entry_id", "customer_id", "work_date", "hours",
                                                 "activity", "ticket_id", "employee"])
    for startrow in range(0, E, CHUNK_ROWS):
        ix = order[startrow:startrow + CHUNK_ROWS]
        writer.write([
            ids("E", np.arange(startrow + 1, startrow + len(ix) + 1), ew),
            ids("C", e_cust[ix] + 1, w),
            days_text(e_day[ix]),
            hours_text(h100[ix], rng),
            take(v_act, e_act[ix] + np.where(act_case[ix], len(ACTIVITIES), 0)),
            blank_unless(e_tnum[ix] > 0, ids("T", e_tnum[ix], t["tw"])),
            take(v_emp, emp[ix]),
        ])
    if with_errors:
        writer.write_lines(_timesheet_errors(w, yr.year))
    return writer.close()


def prepaid(rng, n, w, yr: Year, span_lo, span_hi, out: Path, with_errors):
    """Write prepaid_hours.csv: blocks bought during the year (R13); return {"path", "rows"}."""
    buys = rng.random(n) < 0.6
    counts = np.where(buys, 1 + rng.poisson(2.3, n), 0)
    b_cust = np.repeat(np.arange(n), counts)
    B = len(b_cust)
    has_span = (span_lo <= span_hi)[b_cust]
    lo = np.where(has_span, span_lo[b_cust], yr.y0)
    hi = np.where(has_span, span_hi[b_cust], yr.y1 - 1)
    day = lo + np.floor(rng.random(B) * (hi - lo + 1)).astype(np.int64)
    h100 = rng.choice([500, 800, 1000, 1000, 2000, 2000, 4000, 250, 750], B)
    order = np.lexsort((rng.random(B), day))
    bw = max(6, len(str(B)))
    writer = CsvWriter(out / "prepaid_hours.csv", ["Block_ID", "customer_id", "hours",
                                                    "purchased_on"])
    for startrow in range(0, B, CHUNK_ROWS):
        ix = order[startrow:startrow + CHUNK_ROWS]
        writer.write([
            ids("B", np.arange(startrow + 1, startrow + len(ix) + 1), bw),
            ids("C", b_cust[ix] + 1, w),
            hours_text(h100[ix], rng),
            days_text(day[ix]),
        ])
    if with_errors:
        c1, y = f"C{1:0{w}d}", yr.year
        writer.write_lines([f"BERR-01,{c1},10,{y}-13-01",  # no month 13
                            f"BERR-02,{c1},10.125,{y}-02-01"])  # three decimals
    return writer.close()
