"""customers.csv and subscriptions.csv of the sample exports (SPEC section 3).

Every customer gets one to four modules; each (customer, module) line follows one of the
PATTERNS (a full year, a mid-year start, a cancellation, an upgrade, a downgrade, a renewal
under a new subscription_id, a short one, one that lapsed before the year), so the R4-R8
rules meet every shape of subscription history.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sample_exports.clock import Year
from sample_exports.csv_text import CsvWriter, blank_unless, csv_quote, days_text, ids, take, vocab
from sample_exports.vocabulary import (
    MODULE_WEIGHTS,
    NAME_A,
    NAME_B,
    NAME_S,
    PATTERNS,
    choice,
    ensure,
)

NO_END = np.iinfo(np.int32).max  # an open-ended subscription (blank end_date)
PATTERN = {p[0]: i for i, p in enumerate(PATTERNS)}


def customers(rng, n: int, w: int, out: Path) -> dict:
    """Write customers.csv: n customers, ids of width w; return {"path", "rows"}."""
    cids = [f"C{i + 1:0{w}d}" for i in range(n)]
    a = rng.integers(0, len(NAME_A), n)
    b = rng.integers(0, len(NAME_B), n)
    s = choice(rng, n, [6, 2, 2, 1, 1, 1, 0.5])
    names = [f"{NAME_A[a[i]]} {NAME_B[b[i]]}{NAME_S[s[i]]}" for i in range(n)]
    # R12: blank policy = subscription; some spelled in another case.
    policy_vocab = ["subscription", "upfront", "", "Upfront", "SUBSCRIPTION"]
    pol = choice(rng, n, [45, 30, 20, 3, 2])
    ensure(rng, pol, [0, 1, 2])
    has_ref = rng.random(n) < 0.7
    has_mail = rng.random(n) < 0.8
    region = ["North", "South", "Metro", "Western Slope"]
    reg = rng.integers(0, len(region), n)
    lines = [
        ",".join([
            cids[i], csv_quote(names[i]), policy_vocab[pol[i]],
            f"ACCT-{i + 1:0{w}d}" if has_ref[i] else "",
            f"ap+{cids[i].lower()}@example.com" if has_mail[i] else "",
            csv_quote(region[reg[i]]),
        ])
        for i in range(n)
    ]
    # An unknown column ('region') is ignored; header names in another case are matched.
    writer = CsvWriter(out / "customers.csv",
                       ["customer_id", "Customer_Name", "overage_policy", "accounting_ref",
                        "email", "region"], bom=True)
    writer.write_lines(lines)
    return writer.close()


@dataclass
class _Lines:
    """One entry per (customer, module) line: its first subscription and maybe a second."""

    cust: np.ndarray
    mod: np.ndarray
    inc1: np.ndarray
    blank: np.ndarray
    start1: np.ndarray
    end1: np.ndarray
    second: np.ndarray
    start2: np.ndarray
    end2: np.ndarray
    inc2: np.ndarray
    blank2: np.ndarray


def _module_lines(rng, n: int, modules) -> tuple[np.ndarray, np.ndarray]:
    """(customer, module) of each line: 1-4 distinct modules a customer, popular ones more."""
    nm = len(modules)
    k = np.minimum(1 + rng.binomial(3, 0.3, n), nm)
    weights = np.array([MODULE_WEIGHTS.get(m[0], 1.0) for m in modules])
    keys = np.log(weights)[None, :] - np.log(-np.log(rng.random((n, nm))))  # Gumbel top-k
    first = np.arange(min(n, nm))
    keys[first, first] = np.inf  # customer i < 7 has module i: every module shows up
    order = np.argsort(-keys, axis=1, kind="stable")
    chosen = np.arange(nm)[None, :] < k[:, None]
    return np.repeat(np.arange(n), k), order[chosen]


def _plan_lines(rng, line_cust, line_mod, mins, yr: Year) -> _Lines:
    """Draw each line's pattern, incidents and dates (a full year unless the pattern says)."""
    nl = len(line_cust)
    pat = choice(rng, nl, [p[1] for p in PATTERNS])
    ensure(rng, pat, np.arange(len(PATTERNS)))
    blank = rng.random(nl) < 0.2
    inc1 = mins[line_mod] + np.where(blank, 0, rng.choice([0, 0, 1, 2, 2, 4, 6, 10], nl))
    before = yr.y0 - rng.integers(1, 3 * 365, nl)
    mid = yr.y0 + rng.integers(1, yr.ndays - 1, nl)
    first_of = yr.month_starts[rng.integers(1, 12, nl)]
    change = np.where(rng.random(nl) < 0.5, first_of, yr.y0 + rng.integers(31, yr.ndays - 31, nl))
    lines = _Lines(
        cust=line_cust, mod=line_mod, inc1=inc1, blank=blank, start1=before.copy(),
        end1=np.where(rng.random(nl) < 0.85, NO_END, yr.y1 + rng.integers(0, 365, nl)),
        second=np.zeros(nl, dtype=bool), start2=np.zeros(nl, dtype=np.int64),
        end2=np.full(nl, NO_END, dtype=np.int64), inc2=inc1.copy(), blank2=blank.copy())
    _single_patterns(rng, lines, pat, mid, yr)
    _changing_patterns(rng, lines, pat, change, mins)
    return lines


def _single_patterns(rng, lines: _Lines, pat, mid, yr: Year) -> None:
    """Patterns of one subscription: mid-year start, cancellation, short, lapsed."""
    start1, end1 = lines.start1, lines.end1
    m = pat == PATTERN["mid_start"]
    start1[m], end1[m] = mid[m], NO_END
    m = pat == PATTERN["cancel"]
    end1[m] = mid[m]
    m = pat == PATTERN["short"]
    start1[m] = yr.y0 + rng.integers(0, yr.ndays - 130, m.sum())
    end1[m] = start1[m] + rng.integers(14, 120, m.sum())
    m = pat == PATTERN["lapsed"]
    start1[m] = yr.y0 - rng.integers(400, 1000, m.sum())
    end1[m] = yr.y0 - rng.integers(1, 200, m.sum())


def _changing_patterns(rng, lines: _Lines, pat, change, mins) -> None:
    """Patterns of two subscriptions to the same module, the second from the change day."""
    for name in ("upgrade", "downgrade", "renewal"):
        m = pat == PATTERN[name]
        lines.second[m] = True
        lines.start2[m] = change[m]
        lines.end1[m] = change[m] - 1
        if name == "renewal":
            lines.start1[m] = change[m] - 365
            lines.end2[m] = np.where(rng.random(m.sum()) < 0.5, NO_END, change[m] + 364)
        elif name == "upgrade":
            lines.inc2[m] = lines.inc1[m] + rng.choice([2, 4, 6], m.sum())
            lines.blank2[m] = False
        else:
            lines.inc2[m] = np.maximum(mins[lines.mod[m]],
                                       lines.inc1[m] - rng.choice([2, 4], m.sum()))
            lines.blank2[m] = False


def _subscription_rows(lines: _Lines) -> dict:
    """Rows: each line's first subscription, then its second one (same module)."""
    second = lines.second
    nrows = len(lines.cust) + second.sum()
    rows_line = np.repeat(np.arange(len(lines.cust)), 1 + second)
    is_second = np.zeros(nrows, dtype=bool)
    is_second[np.cumsum(1 + second) - 1] = second
    return {
        "start": np.where(is_second, lines.start2[rows_line], lines.start1[rows_line]),
        "end": np.where(is_second, lines.end2[rows_line], lines.end1[rows_line]),
        "inc": np.where(is_second, lines.inc2[rows_line], lines.inc1[rows_line]),
        "blank": np.where(is_second, lines.blank2[rows_line], lines.blank[rows_line]),
        "cust": lines.cust[rows_line],
        "mod": lines.mod[rows_line],
    }


def _module_spellings(rng, modules, r_mod: np.ndarray) -> pa.Array:
    """The module column (R3): code, display name, without 'hh2 ', lower case, upper code."""
    spell = []
    for code, display, _ in modules:
        bare = display[4:] if display.lower().startswith("hh2 ") else display
        spell += [code, display, bare, display.lower(), code.upper()]
    variant = choice(rng, len(r_mod), [40, 35, 15, 5, 5])
    codes = [m[0] for m in modules]
    for mod, var in (("remote_payroll", 1), ("pay_stubs", 2)):  # 'hh2 Remote Payroll', 'Pay Stubs'
        hit = np.flatnonzero(r_mod == codes.index(mod)) if mod in codes else []
        if len(hit):
            variant[hit[0]] = var
    return take(vocab(spell), r_mod * 5 + variant)


def _write_subscriptions(rng, n: int, rows: dict, modules, yr: Year, out: Path,
                         with_errors: bool) -> dict:
    nrows = len(rows["cust"])
    module = _module_spellings(rng, modules, rows["mod"])
    w = max(5, len(str(n)))
    sw = max(6, len(str(nrows)))
    r_end = rows["end"]
    cols = [
        ids("S", np.arange(1, nrows + 1), sw),
        ids("C", rows["cust"] + 1, w),
        module,
        blank_unless(~rows["blank"], pc.cast(pa.array(rows["inc"]), pa.string())),
        days_text(rows["start"]),
        blank_unless(r_end != NO_END, days_text(np.where(r_end == NO_END, 0, r_end))),
    ]
    writer = CsvWriter(out / "subscriptions.csv", ["subscription_id", "customer_id", "module",
                                                    "annual_incidents", "start_date",
                                                    "end_date"])
    writer.write(cols)
    if with_errors:
        c1 = f"C{1:0{w}d}"
        writer.write_lines([
            f"SERR-01,{c1},hh2 Time Clock,8,{yr.year}-01-01,",  # unknown module (R3)
            f"SERR-02,{c1},remote_payroll,4,{yr.year}-01-01,",  # below the minimum (R4)
            f"SERR-03,{c1},pay_stubs,2,05/05/{yr.year},",  # not a date
            f"SERR-04,{c1},pay_stubs,2,{yr.year}-06-01,{yr.year}-05-31",  # ends before start
        ])
    return writer.close()


def _active_spans(rows: dict, n: int, yr: Year) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's active span within the year (for when its tickets are opened)."""
    s = np.maximum(rows["start"], yr.y0)
    e = np.minimum(rows["end"], yr.y1 - 1)
    ok = s <= e
    span_lo = np.full(n, yr.y1, dtype=np.int64)
    span_hi = np.full(n, yr.y0 - 1, dtype=np.int64)
    np.minimum.at(span_lo, rows["cust"][ok], s[ok])
    np.maximum.at(span_hi, rows["cust"][ok], e[ok])
    return span_lo, span_hi


def subscriptions(rng, n: int, yr: Year, modules, out: Path, with_errors: bool):
    """Write subscriptions.csv; return its {"path", "rows"}, each customer's first and last
    active day in the year, and its subscribed incidents (how many tickets it opens)."""
    mins = np.array([m[2] for m in modules])
    line_cust, line_mod = _module_lines(rng, n, modules)
    lines = _plan_lines(rng, line_cust, line_mod, mins, yr)
    rows = _subscription_rows(lines)
    written = _write_subscriptions(rng, n, rows, modules, yr, out, with_errors)
    span_lo, span_hi = _active_spans(rows, n, yr)
    size = np.zeros(n)
    np.add.at(size, line_cust, lines.inc1)
    return written, span_lo, span_hi, size
