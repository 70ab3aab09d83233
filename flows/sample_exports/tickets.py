"""tickets.csv of the sample exports (SPEC section 3).

Tickets are opened mostly on a customer's active days (office hours, Mountain time), with
every R9 category, status spellings, R9 overrides with and without a reason, subjects that
need RFC 4180 quoting, and a few opened_at values right at Mountain-time month, year and
DST boundaries (R1). Ticket numbers follow the opening instant.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sample_exports.clock import (
    TS_STYLES,
    Year,
    denver_offset,
    format_timestamps,
    local_to_utc,
    special_timestamps,
)
from sample_exports.csv_text import CHUNK_ROWS, CsvWriter, blank_unless, ids, take, vocab
from sample_exports.vocabulary import (
    CATEGORIES,
    OVERRIDE,
    OVERRIDE_REASONS,
    SEVERITY,
    STATUS,
    SUBJECTS,
    TICKETS_PER_INCIDENT,
    TIME_SENSITIVE,
    TRICKY_SUBJECTS,
    choice,
    ensure,
)

CATEGORY_CODES = [c[0] for c in CATEGORIES]
HEADER = ["ticket_id", "customer_id", "opened_at", "category", "time_sensitive", "status",
          "billable_override", "override_reason", "severity", "first_response_at",
          "closed_at", "subject"]


def _opening_instants(rng, n, yr: Year, span_lo, span_hi, size) -> dict:
    """How many tickets each customer opens (by its incidents) and when (UTC seconds)."""
    has_span = span_lo <= span_hi
    frac = np.where(has_span, (span_hi - span_lo + 1) / yr.ndays, 0.1)
    lam = TICKETS_PER_INCIDENT * size * frac * rng.lognormal(-0.125, 0.5, n)
    counts = rng.poisson(lam)
    t_cust = np.repeat(np.arange(n), counts)
    T = len(t_cust)
    u = rng.random(T)
    in_span = has_span[t_cust] & (rng.random(T) < 0.97)
    lo, hi = span_lo[t_cust], span_hi[t_cust]
    day = np.where(in_span, lo + np.floor(u * (hi - lo + 1)), yr.y0 + np.floor(u * yr.ndays))
    tod = np.where(rng.random(T) < 0.85, 7 * 3600 + rng.integers(0, 11 * 3600, T),
                   rng.integers(0, 86400, T))
    utc = local_to_utc(day.astype(np.int64) * 86400 + tod)
    micros = rng.integers(0, 1_000_000, T)
    return {"cust": t_cust, "utc": utc, "micros": micros}


def _place_specials(rng, t: dict, year: int) -> list[tuple[str, int]]:
    """Give some tickets a literal boundary opened_at (t["special"]: its index, or -1)."""
    utc = t["utc"]
    T = len(utc)
    specials = special_timestamps(year)
    special = np.full(T, -1, dtype=np.int16)
    per = max(1, T // 25_000)
    if T:
        picked = rng.choice(T, size=min(T, per * len(specials)), replace=False)
        special[picked] = np.tile(np.arange(len(specials)), per)[: len(picked)]
        utc[picked] = np.array([s[1] for s in specials])[special[picked]]
    t["special"] = special
    return specials


def _draw_fields(rng, t: dict) -> None:
    """Category, status, time_sensitive, override and its reason, severity (codes)."""
    T = len(t["cust"])
    cat = choice(rng, T, [c[1] for c in CATEGORIES])
    ensure(rng, cat, np.arange(len(CATEGORY_CODES)))
    cat_upper = rng.random(T) < 0.015
    status = choice(rng, T, STATUS[1])
    ensure(rng, status, np.arange(len(STATUS[0])))
    void = np.isin(status, (3, 5))
    closed = np.isin(status, (0, 4)) | void
    ts = choice(rng, T, TIME_SENSITIVE[1])
    ensure(rng, ts, np.arange(len(TIME_SENSITIVE[0])))
    ovr = choice(rng, T, OVERRIDE[1])
    ensure(rng, ovr, np.arange(len(OVERRIDE[0])))
    ovr_yes = np.isin(ovr, (1, 3))
    reason = np.where(ovr == 0, 0, 1 + np.where(ovr_yes, 0, 2) + rng.integers(0, 2, T))
    reason[(ovr != 0) & (rng.random(T) < 0.1)] = 0
    sev = choice(rng, T, SEVERITY[1])
    t.update(cat=cat, cat_upper=cat_upper, status=status, void=void, closed=closed, ts=ts,
             ovr=ovr, reason=reason, sev=sev)


def _draw_subjects_and_times(rng, t: dict) -> None:
    """Subject, first response and closing instants, and how each timestamp is written."""
    T, cat, utc = len(t["cust"]), t["cat"], t["utc"]
    subj_kind = rng.random(T)
    tricky = 2 * len(CATEGORY_CODES)  # subjects: 2 per category, then the tricky ones, blank
    subj = np.where(subj_kind < 0.85, cat.astype(np.int64) * 2 + rng.integers(0, 2, T),
                    np.where(subj_kind < 0.92, tricky + rng.integers(0, len(TRICKY_SUBJECTS), T),
                             tricky + len(TRICKY_SUBJECTS)))
    has_fr = rng.random(T) < 0.85
    fr = utc + 60 + rng.exponential(3 * 3600, T).astype(np.int64)
    cl = utc + 600 + rng.exponential(30 * 3600, T).astype(np.int64)
    ts_styles = [choice(rng, T, [s[0] for s in TS_STYLES]) for _ in range(3)]
    t.update(subj=subj, has_fr=has_fr, fr=fr, cl=cl, ts_styles=ts_styles)


def _vocabularies(specials) -> dict:
    cats = CATEGORY_CODES
    v = {
        "cat": vocab(cats + [c.upper() for c in cats]),
        "subj": vocab([s for c in cats for s in SUBJECTS[c]] + TRICKY_SUBJECTS + [""]),
        "reason": vocab([""] + OVERRIDE_REASONS["yes"] + OVERRIDE_REASONS["no"]),
        "special": vocab([s[0] for s in specials] + [""]),
    }
    v["status"], v["ts"], v["ovr"], v["sev"] = (vocab(x[0]) for x in (STATUS, TIME_SENSITIVE,
                                                                       OVERRIDE, SEVERITY))
    return v


def _columns(t: dict, v: dict, ix: np.ndarray, w: int) -> list[pa.Array]:
    """The twelve columns of the tickets at positions ix."""
    sp, micros, styles = t["special"][ix], t["micros"][ix], t["ts_styles"]
    opened = format_timestamps(t["utc"][ix], micros, styles[0][ix])
    opened = pc.if_else(pa.array(sp >= 0), take(v["special"], np.where(sp >= 0, sp, 0)), opened)
    upper = np.where(t["cat_upper"][ix], len(CATEGORY_CODES), 0)
    return [
        ids("T", t["tnum"][ix], t["tw"]),
        ids("C", t["cust"][ix] + 1, w),
        opened,
        take(v["cat"], t["cat"][ix].astype(np.int64) + upper),
        take(v["ts"], t["ts"][ix]),
        take(v["status"], t["status"][ix]),
        take(v["ovr"], t["ovr"][ix]),
        take(v["reason"], t["reason"][ix]),
        take(v["sev"], t["sev"][ix]),
        blank_unless(t["has_fr"][ix], format_timestamps(t["fr"][ix], micros, styles[1][ix])),
        blank_unless(t["closed"][ix], format_timestamps(t["cl"][ix], micros, styles[2][ix])),
        take(v["subj"], t["subj"][ix]),
    ]


def _error_rows(w: int, y: int) -> list[str]:
    """Rows the ingest rejects (R-IN1) or holds (an unknown customer, R-IN5)."""
    c1 = f"C{1:0{w}d}"
    return [
        f"TERR-01,{c1},05/05/{y},how_to,,closed,,,,,,Date in the wrong format",
        f"TERR-02,{c1},{y}-05-05T10:00:00Z,gossip,,closed,,,,,,Unknown category",
        f"TERR-03,C_UNKNOWN,{y}-05-05T10:00:00Z,admin_task,,closed,,,,,,Customer not known",
        f"TERR-04,{c1},{y}-05-05T10:00:00Z,how_to,maybe,closed,,,,,,Bad boolean",
    ]


def tickets(rng, n, w, yr: Year, span_lo, span_hi, size, out: Path, with_errors: bool):
    """Write tickets.csv; return its {"path", "rows"} and what the timesheets need to know
    of the tickets (customer, category, void, Mountain-time day, number, id width)."""
    t = _opening_instants(rng, n, yr, span_lo, span_hi, size)
    specials = _place_specials(rng, t, yr.year)
    _draw_fields(rng, t)
    _draw_subjects_and_times(rng, t)
    T, utc = len(t["cust"]), t["utc"]
    order = np.lexsort((rng.random(T), utc))
    t["tnum"] = np.empty(T, dtype=np.int64)
    t["tnum"][order] = np.arange(1, T + 1)
    t["tw"] = max(7, len(str(T)))

    v = _vocabularies(specials)
    writer = CsvWriter(out / "tickets.csv", HEADER)
    for startrow in range(0, T, CHUNK_ROWS):
        writer.write(_columns(t, v, order[startrow:startrow + CHUNK_ROWS], w))
    if with_errors:
        writer.write_lines(_error_rows(w, yr.year))
    local_day = (utc + denver_offset(utc)) // 86400
    known = {"cust": t["cust"], "cat": t["cat"], "void": t["void"], "day": local_day,
             "tnum": t["tnum"], "tw": t["tw"]}
    return writer.close(), known
