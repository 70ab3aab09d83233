"""Seeded, deterministic sample exports (SPEC section 3) for the demo, tests and benchmarks.

``generate(out_dir, customers=N, year=Y, seed=S)`` writes the five CSV exports
(customers.csv, subscriptions.csv, tickets.csv, timesheets.csv, prepaid_hours.csv) for N
customers over calendar year Y. The data is meant to exercise every rule:

- modules as codes and display names (``hh2 Remote Payroll``, ``Pay Stubs``, any case),
  blank ``annual_incidents`` (= module minimum, R4), mid-month starts and ends,
  cancellations, upgrades and downgrades (a second subscription to the same module from
  mid-year), renewals under a new subscription_id, subscriptions that lapsed before Y;
- both overage policies and a blank policy (R12), some customers far over their allotment;
- every R9 ticket category, ``time_sensitive`` in several spellings, void tickets,
  billable overrides (yes/no with a reason), server migrations and key code changes;
- timestamps with ``Z``, with offsets (``-06:00``, ``+02:00``...), naive Mountain time,
  with and without seconds, with fractions, and tickets right at Mountain-time month and
  year boundaries (``2026-04-01T05:30:00Z`` is March in Denver), the DST gap and overlap;
- subjects with commas, quotes and newlines (RFC 4180 quoting);
- every timesheet activity, entries pointing at tickets of the same customer (hourly work,
  R9 step 3), prepaid hour blocks bought during the year (R13).

Every row is valid for the ingest rules, unless ``with_errors=True`` adds a handful of bad
rows (a bad date, an unknown module, 24.01 hours...) and one ticket of an unknown
customer (held, R-IN5), for the demo to show rejections.

Generation is vectorized with numpy and the CSV text is assembled with pyarrow compute in
chunks, so 100,000 customers (~5 million tickets) take well under a minute. The same
arguments always give byte-identical files.

Command line: ``python -m sample_exports.generator --customers N --year Y --seed S --out DIR``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

DENVER = ZoneInfo("America/Denver")
CHUNK_ROWS = 400_000
FILES = ("customers", "subscriptions", "tickets", "timesheets", "prepaid_hours")

# R9 categories and how often they occur (fractions of all tickets).
CATEGORIES = [
    ("implementation", 0.020), ("training", 0.020), ("custom_development", 0.015),
    ("server_migration", 0.015), ("key_code_change", 0.015), ("extended_help", 0.080),
    ("sync_support", 0.120), ("sync_customization", 0.040), ("admin_task", 0.080),
    ("unsupported_environment", 0.025), ("bug_report", 0.150), ("how_to", 0.200),
    ("basic_question", 0.170), ("feature_request", 0.050),
]
HOURLY = ("implementation", "training", "custom_development")
ACTIVITIES = ("implementation", "training", "custom_development", "support")

SUBJECTS = {
    "implementation": ["Go-live for the second company", "Set up hh2 for the new division"],
    "training": ["Training for new payroll clerks", "Refresher session, approvals"],
    "custom_development": ["Custom export to the union report", "Custom field on time cards"],
    "server_migration": ["Move to the new accounting server", "Server migration, Sage 300"],
    "key_code_change": ["New key code after license renewal", "Key code change"],
    "extended_help": ["Approvals stuck, walked through setup", "Cost codes missing on jobs"],
    "sync_support": ["Sync fails with error \"0x80004005\"", "Sync stopped, firewall?"],
    "sync_customization": ["Redo sync mapping after update 2.14", "Custom sync of equipment"],
    "admin_task": ["Password reset for jdoe", "Add users, roles: foremen"],
    "unsupported_environment": ["Install behind proxy server", "Terminal server, no internet"],
    "bug_report": ["Pay stub shows wrong YTD, \"Overtime\" line", "Crash when opening timesheet"],
    "how_to": ["How do I approve a timesheet?", "How to export,\nthen re-import"],
    "basic_question": ["Where is the PTO balance?", "Question about the \"Field\" app"],
    "feature_request": ["Please add dark mode", "Wish: bulk edit, like Excel"],
}
TRICKY_SUBJECTS = [
    "Re: \"urgent\" - payroll won't post, 3 jobs",
    "Line one\nline two, with a comma",
    "Customer says: \"it just says \"\"error\"\"\"",
    "  spaces around, trimmed  ",
]
OVERRIDE_REASONS = {
    "yes": ["Customer asked for same-day help by phone", "Agreed with CFO: billable, \"rush\""],
    "no": ["Goodwill: outage on our side", "Duplicate of an earlier ticket, not void"],
}
EMPLOYEES = ["Ana Ruiz", "Ben Cho", "O'Neil, Pat", "Dana Smith", "Eli Moss", "Farah Khan",
             "Gus Lind", "Hana Ito", "Ivan Petrov", "Jo Park", ""]
NAME_A = ["Summit", "Red Rock", "Front Range", "Pikes", "Granite", "Blue Sky", "Canyon",
          "Aspen", "Prairie", "Timberline", "Mesa", "Cedar", "Iron Horse", "Silverton"]
NAME_B = ["Builders", "Concrete", "Electric", "Mechanical", "Paving", "Plumbing", "Roofing",
          "Excavating", "Steel", "Framing", "Drywall", "Civil"]
NAME_S = ["", ", Inc.", " LLC", " Co.", ", Ltd.", " & Sons", " \"The Pros\""]
# (module index weights): how popular each module is.
MODULE_WEIGHTS = {"remote_payroll": 5, "human_resources": 2, "field_service": 2,
                  "document_flow": 1.5, "data_drop": 1, "pay_stubs": 3, "field_reports": 2}


# ----------------------------------------------------------------------------- helpers
def csv_quote(value: str) -> str:
    """RFC 4180: quote a field only when it holds a comma, quote, CR or LF."""
    if any(ch in value for ch in ',"\r\n') or value != value.strip():
        return '"' + value.replace('"', '""') + '"'
    return value


def _vocab(values) -> pa.Array:
    return pa.array([csv_quote(v) for v in values], type=pa.string())


def _take(vocab: pa.Array, codes: np.ndarray) -> pa.Array:
    return pc.take(vocab, pa.array(np.asarray(codes, dtype=np.int32)))


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers.astype(np.int64)), pa.string()),
                          width=width, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


def _days_str(days: np.ndarray) -> pa.Array:
    """Days since 1970-01-01 -> 'YYYY-MM-DD'."""
    return pc.cast(pa.array(days.astype(np.int32), type=pa.date32()), pa.string())


def _opt(mask: np.ndarray, values: pa.Array) -> pa.Array:
    return pc.if_else(pa.array(mask), values, pa.scalar("", pa.string()))


def _rows(columns: list[pa.Array]) -> pa.Buffer:
    """Join the (already quoted) columns into CSV lines; return the bytes."""
    parts: list = []
    for i, col in enumerate(columns):
        if i:
            parts.append(pa.scalar(","))
        parts.append(col)
    parts.append(pa.scalar("\n"))
    lines = pc.binary_join_element_wise(*parts, "")
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32,
                            count=len(lines) + 1, offset=lines.offset * 4)
    return lines.buffers()[2][int(offsets[0]):int(offsets[-1])]


def _choice(rng: np.random.Generator, n: int, weights) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum()).astype(np.int8)


def _ensure(rng: np.random.Generator, arr: np.ndarray, values) -> None:
    """Put each of values at a random distinct position (so small samples show them all)."""
    values = np.asarray(values)
    if len(arr) >= len(values):
        arr[rng.choice(len(arr), size=len(values), replace=False)] = values


def _denver_offset(utc_secs: np.ndarray) -> np.ndarray:
    """Offset of America/Denver (seconds, e.g. -21600) at each UTC instant."""
    idx = pd.to_datetime(utc_secs, unit="s", utc=True).tz_convert("America/Denver")
    local = idx.tz_localize(None).to_numpy().astype("datetime64[s]").astype(np.int64)
    return (local - utc_secs).astype(np.int32)


def _epoch_day(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


# Timestamp styles: (weight, offset kind, separator, with seconds, fraction).
# offset kind: 'Z', 'denver' (the real Mountain offset written out), a fixed '+HH:MM', or
# 'naive' (Mountain wall time without offset, R1).
TS_STYLES = [
    (0.34, "Z", "T", True, False),
    (0.20, "denver", "T", True, False),
    (0.03, "+02:00", "T", True, False),
    (0.02, "+00:00", " ", True, False),
    (0.02, "-05:00", "T", True, False),
    (0.22, "naive", "T", True, False),
    (0.09, "naive", " ", False, False),
    (0.05, "Z", "T", True, True),
    (0.03, "naive", " ", True, True),
]


def _fixed_offset(kind: str) -> int:
    sign = -1 if kind[0] == "-" else 1
    return sign * (int(kind[1:3]) * 3600 + int(kind[4:6]) * 60)


def _offset_text(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    a = abs(int(seconds))
    return f"{sign}{a // 3600:02d}:{(a % 3600) // 60:02d}"


def format_timestamps(utc: np.ndarray, micros: np.ndarray, styles: np.ndarray) -> pa.Array:
    """Write instants (UTC seconds) in the given TS_STYLES, as an export would."""
    den = _denver_offset(utc)
    off = np.zeros(len(utc), dtype=np.int64)
    suffix_kind = np.zeros(len(utc), dtype=np.int8)  # 0 none, 1 Z, 2 numeric offset
    sep_space = np.zeros(len(utc), dtype=bool)
    no_secs = np.zeros(len(utc), dtype=bool)
    frac = np.zeros(len(utc), dtype=bool)
    for code, (_, kind, sep, secs, fr) in enumerate(TS_STYLES):
        m = styles == code
        if not m.any():
            continue
        if kind == "Z":
            suffix_kind[m] = 1
        elif kind in ("denver", "naive"):
            off[m] = den[m]
            suffix_kind[m] = 2 if kind == "denver" else 0
        else:
            off[m] = _fixed_offset(kind)
            suffix_kind[m] = 2
        sep_space[m] = sep == " "
        no_secs[m] = not secs
        frac[m] = fr
    # 'YYYY-MM-DD HH:MM:SS' (a cast is ~20x faster than pc.strftime)
    wall = pc.cast(pa.array(utc + off, type=pa.timestamp("s")), pa.string())
    date = pc.utf8_slice_codeunits(wall, 0, 10)
    hms = pc.utf8_slice_codeunits(wall, 11, 19)
    hm = pc.utf8_slice_codeunits(wall, 11, 16)
    clock = pc.if_else(pa.array(no_secs), hm, hms)
    sep = _take(pa.array(["T", " "]), sep_space.astype(np.int8))
    fraction = _opt(frac, pc.binary_join_element_wise(
        pa.scalar("."),
        pc.utf8_lpad(pc.cast(pa.array(micros.astype(np.int64)), pa.string()), width=6,
                     padding="0"), ""))
    # suffix: '' (naive), 'Z' or the offset written out: few distinct values, so a vocabulary
    naive, zulu = 10**7, 10**7 + 1  # codes that are no offset
    code = np.where(suffix_kind == 2, off, np.where(suffix_kind == 1, zulu, naive))
    values, index = np.unique(code, return_inverse=True)
    vocab = ["" if v == naive else "Z" if v == zulu else _offset_text(v) for v in values]
    suffix = _take(pa.array(vocab, type=pa.string()), index)
    return pc.binary_join_element_wise(date, sep, clock, fraction, suffix, "")


def _hours_str(h100: np.ndarray, rng: np.random.Generator) -> pa.Array:
    """Hundredths of an hour -> '1.50' mostly, sometimes '1.5', '2' or '1.500'."""
    whole = pc.cast(pa.array(h100 // 100), pa.string())
    cents = pc.utf8_lpad(pc.cast(pa.array(h100 % 100), pa.string()), width=2, padding="0")
    full = pc.binary_join_element_wise(whole, pa.scalar("."), cents, "")
    style = rng.random(len(h100))
    short = np.where(h100 % 100 == 0, 0, np.where(h100 % 10 == 0, 1, 2))
    one = pc.binary_join_element_wise(whole, pa.scalar("."),
                                      pc.cast(pa.array((h100 % 100) // 10), pa.string()), "")
    compact = pc.if_else(pa.array(short == 0), whole, pc.if_else(pa.array(short == 1), one, full))
    out = pc.if_else(pa.array(style < 0.15), compact, full)
    return pc.if_else(pa.array(style > 0.98),
                      pc.binary_join_element_wise(full, pa.scalar("0"), ""), out)


def _read_modules() -> list[tuple[str, str, int]]:
    try:
        from support_billing.storage.dbt_runner import read_seed

        rows = read_seed("modules")
        return [(r["module_code"], r["display_name"], int(r["minimum_annual_incidents"]))
                for r in rows]
    except Exception:  # pragma: no cover - seeds missing: the SPEC section 2 table
        return [("remote_payroll", "hh2 Remote Payroll", 8),
                ("human_resources", "hh2 Human Resources", 6),
                ("field_service", "hh2 Field Service", 6),
                ("document_flow", "hh2 Document Flow", 8), ("data_drop", "hh2 Data Drop", 6),
                ("pay_stubs", "hh2 Pay Stubs", 2), ("field_reports", "hh2 Field Reports", 2)]


class _Writer:
    """Write one CSV file: header, then chunks of rows; count the rows."""

    def __init__(self, path: Path, header: list[str], bom: bool = False):
        self.path = path
        self.rows = 0
        self.fh = open(path, "wb")
        if bom:
            self.fh.write(b"\xef\xbb\xbf")
        self.fh.write((",".join(header) + "\n").encode())

    def write(self, columns: list[pa.Array]) -> None:
        if len(columns[0]):
            self.fh.write(_rows(columns))
            self.rows += len(columns[0])

    def write_lines(self, lines: list[str]) -> None:
        for line in lines:
            self.fh.write((line + "\n").encode())
        self.rows += len(lines)

    def close(self) -> dict:
        self.fh.close()
        return {"path": str(self.path), "rows": self.rows}


# ----------------------------------------------------------------------------- generation
class _Year:
    def __init__(self, year: int):
        self.year = year
        self.y0 = _epoch_day(dt.date(year, 1, 1))
        self.y1 = _epoch_day(dt.date(year + 1, 1, 1))
        self.ndays = self.y1 - self.y0
        # first day of each month of the year (epoch days), for upgrades on the 1st
        self.month_starts = np.array([_epoch_day(dt.date(year, m, 1)) for m in range(1, 13)])


def _customers(rng, n: int, w: int, out: Path) -> dict:
    ids = [f"C{i + 1:0{w}d}" for i in range(n)]
    a = rng.integers(0, len(NAME_A), n)
    b = rng.integers(0, len(NAME_B), n)
    s = _choice(rng, n, [6, 2, 2, 1, 1, 1, 0.5])
    names = [f"{NAME_A[a[i]]} {NAME_B[b[i]]}{NAME_S[s[i]]}" for i in range(n)]
    # R12: blank policy = subscription; some spelled in another case.
    policy_vocab = ["subscription", "upfront", "", "Upfront", "SUBSCRIPTION"]
    pol = _choice(rng, n, [45, 30, 20, 3, 2])
    _ensure(rng, pol, [0, 1, 2])
    has_ref = rng.random(n) < 0.7
    has_mail = rng.random(n) < 0.8
    region = ["North", "South", "Metro", "Western Slope"]
    reg = rng.integers(0, len(region), n)
    lines = [
        ",".join([
            ids[i], csv_quote(names[i]), policy_vocab[pol[i]],
            f"ACCT-{i + 1:0{w}d}" if has_ref[i] else "",
            f"ap+{ids[i].lower()}@example.com" if has_mail[i] else "",
            csv_quote(region[reg[i]]),
        ])
        for i in range(n)
    ]
    # An unknown column ('region') is ignored; header names in another case are matched.
    writer = _Writer(out / "customers.csv",
                     ["customer_id", "Customer_Name", "overage_policy", "accounting_ref",
                      "email", "region"], bom=True)
    writer.write_lines(lines)
    return writer.close()


# Subscription patterns: (name, weight). Each (customer, module) line gets one.
PATTERNS = [("full", 62), ("mid_start", 8), ("cancel", 7), ("upgrade", 8), ("renewal", 8),
            ("downgrade", 3), ("short", 2), ("lapsed", 2)]


def _subscriptions(rng, n: int, yr: _Year, modules, out: Path, with_errors: bool):
    nm = len(modules)
    mins = np.array([m[2] for m in modules])
    k = np.minimum(1 + rng.binomial(3, 0.3, n), nm)
    weights = np.array([MODULE_WEIGHTS.get(m[0], 1.0) for m in modules])
    keys = np.log(weights)[None, :] - np.log(-np.log(rng.random((n, nm))))  # Gumbel top-k
    first = np.arange(min(n, nm))
    keys[first, first] = np.inf  # customer i < 7 has module i: every module shows up
    order = np.argsort(-keys, axis=1, kind="stable")
    take = np.arange(nm)[None, :] < k[:, None]
    line_cust = np.repeat(np.arange(n), k)
    line_mod = order[take]
    nl = len(line_cust)
    pat = _choice(rng, nl, [p[1] for p in PATTERNS])
    _ensure(rng, pat, np.arange(len(PATTERNS)))
    pname = {p[0]: i for i, p in enumerate(PATTERNS)}
    blank = rng.random(nl) < 0.2
    inc1 = mins[line_mod] + np.where(blank, 0, rng.choice([0, 0, 1, 2, 2, 4, 6, 10], nl))
    before = yr.y0 - rng.integers(1, 3 * 365, nl)
    mid = yr.y0 + rng.integers(1, yr.ndays - 1, nl)
    first_of = yr.month_starts[rng.integers(1, 12, nl)]
    change = np.where(rng.random(nl) < 0.5, first_of, yr.y0 + rng.integers(31, yr.ndays - 31, nl))
    NONE = np.iinfo(np.int32).max

    start1 = before.copy()
    end1 = np.where(rng.random(nl) < 0.85, NONE, yr.y1 + rng.integers(0, 365, nl))
    second = np.zeros(nl, dtype=bool)
    start2 = np.zeros(nl, dtype=np.int64)
    end2 = np.full(nl, NONE, dtype=np.int64)
    inc2 = inc1.copy()
    blank2 = blank.copy()

    m = pat == pname["mid_start"]
    start1[m], end1[m] = mid[m], NONE
    m = pat == pname["cancel"]
    end1[m] = mid[m]
    m = pat == pname["short"]
    start1[m] = yr.y0 + rng.integers(0, yr.ndays - 130, m.sum())
    end1[m] = start1[m] + rng.integers(14, 120, m.sum())
    m = pat == pname["lapsed"]
    start1[m] = yr.y0 - rng.integers(400, 1000, m.sum())
    end1[m] = yr.y0 - rng.integers(1, 200, m.sum())
    for name in ("upgrade", "downgrade", "renewal"):
        m = pat == pname[name]
        second[m] = True
        start2[m] = change[m]
        end1[m] = change[m] - 1
        if name == "renewal":
            start1[m] = change[m] - 365
            end2[m] = np.where(rng.random(m.sum()) < 0.5, NONE, change[m] + 364)
        elif name == "upgrade":
            inc2[m] = inc1[m] + rng.choice([2, 4, 6], m.sum())
            blank2[m] = False
        else:
            inc2[m] = np.maximum(mins[line_mod[m]], inc1[m] - rng.choice([2, 4], m.sum()))
            blank2[m] = False

    # Rows: each line's first subscription, then its second one (same module).
    nrows = nl + second.sum()
    rows_line = np.repeat(np.arange(nl), 1 + second)
    is_second = np.zeros(nrows, dtype=bool)
    is_second[np.cumsum(1 + second) - 1] = second
    r_start = np.where(is_second, start2[rows_line], start1[rows_line])
    r_end = np.where(is_second, end2[rows_line], end1[rows_line])
    r_inc = np.where(is_second, inc2[rows_line], inc1[rows_line])
    r_blank = np.where(is_second, blank2[rows_line], blank[rows_line])
    r_cust = line_cust[rows_line]
    r_mod = line_mod[rows_line]

    # Module spellings: code, display name, without 'hh2 ', lower case, upper-case code.
    spell = []
    for code, display, _ in modules:
        bare = display[4:] if display.lower().startswith("hh2 ") else display
        spell += [code, display, bare, display.lower(), code.upper()]
    variant = _choice(rng, nrows, [40, 35, 15, 5, 5])
    codes = [m[0] for m in modules]
    for mod, var in (("remote_payroll", 1), ("pay_stubs", 2)):  # 'hh2 Remote Payroll', 'Pay Stubs'
        hit = np.flatnonzero(r_mod == codes.index(mod)) if mod in codes else []
        if len(hit):
            variant[hit[0]] = var
    w = max(5, len(str(n)))
    sw = max(6, len(str(nrows)))
    cols = [
        _ids("S", np.arange(1, nrows + 1), sw),
        _ids("C", r_cust + 1, w),
        _take(_vocab(spell), r_mod * 5 + variant),
        _opt(~r_blank, pc.cast(pa.array(r_inc), pa.string())),
        _days_str(r_start),
        _opt(r_end != NONE, _days_str(np.where(r_end == NONE, 0, r_end))),
    ]
    writer = _Writer(out / "subscriptions.csv", ["subscription_id", "customer_id", "module",
                                                  "annual_incidents", "start_date", "end_date"])
    writer.write(cols)
    if with_errors:
        c1 = f"C{1:0{w}d}"
        writer.write_lines([
            f"SERR-01,{c1},hh2 Time Clock,8,{yr.year}-01-01,",  # unknown module (R3)
            f"SERR-02,{c1},remote_payroll,4,{yr.year}-01-01,",  # below the minimum (R4)
            f"SERR-03,{c1},pay_stubs,2,05/05/{yr.year},",  # not a date
            f"SERR-04,{c1},pay_stubs,2,{yr.year}-06-01,{yr.year}-05-31",  # ends before start
        ])

    # Each customer's active span within the year (for when its tickets are opened).
    s = np.maximum(r_start, yr.y0)
    e = np.minimum(r_end, yr.y1 - 1)
    ok = s <= e
    span_lo = np.full(n, yr.y1, dtype=np.int64)
    span_hi = np.full(n, yr.y0 - 1, dtype=np.int64)
    np.minimum.at(span_lo, r_cust[ok], s[ok])
    np.maximum.at(span_hi, r_cust[ok], e[ok])
    size = np.zeros(n)
    np.add.at(size, line_cust, inc1)
    return writer.close(), span_lo, span_hi, size


def _special_timestamps(year: int) -> list[tuple[str, int]]:
    """Literal opened_at values at Mountain-time boundaries, with their R1 instants."""
    y = year
    utc = dt.UTC

    def inst(d: dt.datetime) -> int:
        return int(d.timestamp())

    def naive(s: str, fold: int = 0) -> int:
        d = dt.datetime.fromisoformat(s).replace(tzinfo=DENVER, fold=fold)
        return int(d.timestamp())

    # DST in Denver: second Sunday of March, first Sunday of November.
    march = [d for d in range(8, 15) if dt.date(y, 3, d).weekday() == 6][0]
    nov = [d for d in range(1, 8) if dt.date(y, 11, d).weekday() == 6][0]
    gap = dt.datetime(y, 3, march, 3, 30, tzinfo=DENVER)  # 02:30 does not exist: +1 h (R1)
    return [
        (f"{y}-04-01T05:30:00Z", inst(dt.datetime(y, 4, 1, 5, 30, tzinfo=utc))),  # March
        (f"{y + 1}-01-01T06:59:00Z", inst(dt.datetime(y + 1, 1, 1, 6, 59, tzinfo=utc))),  # Dec
        (f"{y}-01-01T07:00:00Z", inst(dt.datetime(y, 1, 1, 7, 0, tzinfo=utc))),  # Jan 1 00:00
        (f"{y}-01-01T06:30:00Z", inst(dt.datetime(y, 1, 1, 6, 30, tzinfo=utc))),  # prior year
        (f"{y}-07-01T05:59:59Z", inst(dt.datetime(y, 7, 1, 5, 59, 59, tzinfo=utc))),  # June
        (f"{y}-12-31T23:59:59-07:00", naive(f"{y}-12-31T23:59:59")),
        (f"{y}-10-31T23:30:00-06:00", naive(f"{y}-10-31T23:30:00")),
        (f"{y}-02-01T00:00:00+02:00", inst(dt.datetime(y, 1, 31, 22, 0, tzinfo=utc))),  # Jan
        (f"{y}-03-31 23:45", naive(f"{y}-03-31T23:45:00")),
        (f"{y}-05-31 23:59:59.999999", naive(f"{y}-05-31T23:59:59")),
        (f"{y}-11-{nov:02d} 01:30:00", naive(f"{y}-11-{nov:02d}T01:30:00", fold=0)),  # overlap
        (f"{y}-03-{march:02d} 02:30:00", int(gap.timestamp())),  # gap
    ]


TICKETS_PER_INCIDENT = 3.3  # tickets a year per subscribed incident (~50 per customer)
STATUS = (["closed", "open", "", "void", "Closed", "VOID"], [66, 12, 5, 2.5, 4, 0.5])
TIME_SENSITIVE = (["", "false", "no", "0", "true", "yes", "1", "TRUE", "Yes", "False"],
                  [60, 10, 5, 3, 6, 4, 2, 1, 1, 1])
OVERRIDE = (["", "yes", "no", "Yes", "NO"], [96.5, 1.2, 1.3, 0.5, 0.5])
SEVERITY = (["", "normal", "low", "high", "urgent", "High", "LOW"], [20, 30, 15, 12, 3, 1, 1])


def _local_to_utc(local: np.ndarray) -> np.ndarray:
    """Mountain wall-clock seconds -> UTC seconds (two fixed-point steps)."""
    utc = local - _denver_offset(local + 7 * 3600)
    return local - _denver_offset(utc)


def _tickets(rng, n, w, yr: _Year, span_lo, span_hi, size, out: Path, with_errors: bool):
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
    utc = _local_to_utc(day.astype(np.int64) * 86400 + tod)
    micros = rng.integers(0, 1_000_000, T)

    specials = _special_timestamps(yr.year)
    special = np.full(T, -1, dtype=np.int16)
    per = max(1, T // 25_000)
    if T:
        picked = rng.choice(T, size=min(T, per * len(specials)), replace=False)
        special[picked] = np.tile(np.arange(len(specials)), per)[: len(picked)]
        utc[picked] = np.array([s[1] for s in specials])[special[picked]]

    cats = [c[0] for c in CATEGORIES]
    cat = _choice(rng, T, [c[1] for c in CATEGORIES])
    _ensure(rng, cat, np.arange(len(cats)))
    cat_upper = rng.random(T) < 0.015
    status = _choice(rng, T, STATUS[1])
    _ensure(rng, status, np.arange(len(STATUS[0])))
    void = np.isin(status, (3, 5))
    closed = np.isin(status, (0, 4)) | void
    ts = _choice(rng, T, TIME_SENSITIVE[1])
    _ensure(rng, ts, np.arange(len(TIME_SENSITIVE[0])))
    ovr = _choice(rng, T, OVERRIDE[1])
    _ensure(rng, ovr, np.arange(len(OVERRIDE[0])))
    ovr_yes = np.isin(ovr, (1, 3))
    reason = np.where(ovr == 0, 0, 1 + np.where(ovr_yes, 0, 2) + rng.integers(0, 2, T))
    reason[(ovr != 0) & (rng.random(T) < 0.1)] = 0
    sev = _choice(rng, T, SEVERITY[1])
    subj_kind = rng.random(T)
    tricky = 2 * len(cats)  # subjects: 2 per category, then the tricky ones, then blank
    subj = np.where(subj_kind < 0.85, cat.astype(np.int64) * 2 + rng.integers(0, 2, T),
                    np.where(subj_kind < 0.92, tricky + rng.integers(0, len(TRICKY_SUBJECTS), T),
                             tricky + len(TRICKY_SUBJECTS)))
    has_fr = rng.random(T) < 0.85
    fr = utc + 60 + rng.exponential(3 * 3600, T).astype(np.int64)
    cl = utc + 600 + rng.exponential(30 * 3600, T).astype(np.int64)
    ts_styles = [_choice(rng, T, [s[0] for s in TS_STYLES]) for _ in range(3)]

    order = np.lexsort((rng.random(T), utc))
    tnum = np.empty(T, dtype=np.int64)
    tnum[order] = np.arange(1, T + 1)
    tw = max(7, len(str(T)))

    v_cat = _vocab(cats + [c.upper() for c in cats])
    v_subj = _vocab([s for c in cats for s in SUBJECTS[c]] + TRICKY_SUBJECTS + [""])
    v_reason = _vocab([""] + OVERRIDE_REASONS["yes"] + OVERRIDE_REASONS["no"])
    v_special = _vocab([s[0] for s in specials] + [""])
    v_status, v_ts, v_ovr, v_sev = (_vocab(x[0]) for x in (STATUS, TIME_SENSITIVE, OVERRIDE,
                                                            SEVERITY))
    writer = _Writer(out / "tickets.csv",
                     ["ticket_id", "customer_id", "opened_at", "category", "time_sensitive",
                      "status", "billable_override", "override_reason", "severity",
                      "first_response_at", "closed_at", "subject"])
    for startrow in range(0, T, CHUNK_ROWS):
        ix = order[startrow:startrow + CHUNK_ROWS]
        sp = special[ix]
        opened = format_timestamps(utc[ix], micros[ix], ts_styles[0][ix])
        opened = pc.if_else(pa.array(sp >= 0), _take(v_special, np.where(sp >= 0, sp, 0)), opened)
        writer.write([
            _ids("T", tnum[ix], tw),
            _ids("C", t_cust[ix] + 1, w),
            opened,
            _take(v_cat, cat[ix].astype(np.int64) + np.where(cat_upper[ix], len(cats), 0)),
            _take(v_ts, ts[ix]),
            _take(v_status, status[ix]),
            _take(v_ovr, ovr[ix]),
            _take(v_reason, reason[ix]),
            _take(v_sev, sev[ix]),
            _opt(has_fr[ix], format_timestamps(fr[ix], micros[ix], ts_styles[1][ix])),
            _opt(closed[ix], format_timestamps(cl[ix], micros[ix], ts_styles[2][ix])),
            _take(v_subj, subj[ix]),
        ])
    if with_errors:
        c1, y = f"C{1:0{w}d}", yr.year
        writer.write_lines([
            f"TERR-01,{c1},05/05/{y},how_to,,closed,,,,,,Date in the wrong format",
            f"TERR-02,{c1},{y}-05-05T10:00:00Z,gossip,,closed,,,,,,Unknown category",
            f"TERR-03,C_UNKNOWN,{y}-05-05T10:00:00Z,admin_task,,closed,,,,,,Customer not known",
            f"TERR-04,{c1},{y}-05-05T10:00:00Z,how_to,maybe,closed,,,,,,Bad boolean",
        ])
    local_day = (utc + _denver_offset(utc)) // 86400
    tickets = {"cust": t_cust, "cat": cat, "void": void, "day": local_day, "tnum": tnum,
               "tw": tw}
    return writer.close(), tickets


def _timesheets(rng, n, w, yr: _Year, span_lo, span_hi, t: dict, out: Path, with_errors):
    cats = [c[0] for c in CATEGORIES]
    code = {c: i for i, c in enumerate(cats)}
    act_of_cat = np.full(len(cats), -1)
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
    c_act = np.full(len(c_tix), 3)
    l_tix = np.concatenate([a_tix, b_tix, c_tix])
    l_act = np.concatenate([a_act, b_act, c_act])
    l_delay = np.where(l_act == 3, rng.integers(0, 3, len(l_tix)), rng.integers(0, 11, len(l_tix)))
    l_day = t["day"][l_tix] + l_delay
    # (d) entries without a ticket, on days the customer is active
    has_span = span_lo <= span_hi
    frac = np.where(has_span, (span_hi - span_lo + 1) / yr.ndays, 0.0)
    counts = rng.poisson(10 * frac)
    u_cust = np.repeat(np.arange(n), counts)
    lo, hi = span_lo[u_cust], span_hi[u_cust]
    u_day = lo + np.floor(rng.random(len(u_cust)) * (hi - lo + 1)).astype(np.int64)
    u_act = _choice(rng, len(u_cust), [25, 20, 15, 40]).astype(np.int64)
    _ensure(rng, u_act, np.arange(len(ACTIVITIES)))

    e_cust = np.concatenate([t["cust"][l_tix], u_cust])
    e_act = np.concatenate([l_act, u_act])
    e_day = np.clip(np.concatenate([l_day, u_day]), yr.y0, yr.y1 - 1)
    e_tnum = np.concatenate([t["tnum"][l_tix], np.zeros(len(u_cust), dtype=np.int64)])
    E = len(e_cust)
    quarters = np.where(e_act == 3, rng.integers(1, 13, E), rng.integers(2, 33, E))
    h100 = np.where(rng.random(E) < 0.05, rng.integers(10, 801, E), quarters * 25)
    emp = rng.integers(0, len(EMPLOYEES), E)
    act_case = rng.random(E) < 0.02
    order = np.lexsort((rng.random(E), e_day))
    ew = max(7, len(str(E)))
    v_act = _vocab(list(ACTIVITIES) + [a.capitalize() for a in ACTIVITIES])
    v_emp = _vocab(EMPLOYEES)
    writer = _Writer(out / "timesheets.csv", ["entry_id", "customer_id", "work_date", "hours",
                                               "activity", "ticket_id", "employee"])
    for startrow in range(0, E, CHUNK_ROWS):
        ix = order[startrow:startrow + CHUNK_ROWS]
        writer.write([
            _ids("E", np.arange(startrow + 1, startrow + len(ix) + 1), ew),
            _ids("C", e_cust[ix] + 1, w),
            _days_str(e_day[ix]),
            _hours_str(h100[ix], rng),
            _take(v_act, e_act[ix] + np.where(act_case[ix], 4, 0)),
            _opt(e_tnum[ix] > 0, _ids("T", e_tnum[ix], t["tw"])),
            _take(v_emp, emp[ix]),
        ])
    if with_errors:
        c1, y = f"C{1:0{w}d}", yr.year
        writer.write_lines([
            f"EERR-01,{c1},{y}-05-05,24.01,training,,Ana Ruiz",  # more than 24 hours
            f'EERR-02,{c1},{y}-05-05,"1,5",training,,Ana Ruiz',  # decimal comma
            f"EERR-03,{c1},{y}-05-05,2.00,coffee,,Ana Ruiz",  # unknown activity
            f"EERR-04,{c1},{y}-05-05,0,support,,Ana Ruiz",  # not more than 0
        ])
    return writer.close()


def _prepaid(rng, n, w, yr: _Year, span_lo, span_hi, out: Path, with_errors):
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
    writer = _Writer(out / "prepaid_hours.csv", ["Block_ID", "customer_id", "hours",
                                                  "purchased_on"])
    for startrow in range(0, B, CHUNK_ROWS):
        ix = order[startrow:startrow + CHUNK_ROWS]
        writer.write([
            _ids("B", np.arange(startrow + 1, startrow + len(ix) + 1), bw),
            _ids("C", b_cust[ix] + 1, w),
            _hours_str(h100[ix], rng),
            _days_str(day[ix]),
        ])
    if with_errors:
        c1, y = f"C{1:0{w}d}", yr.year
        writer.write_lines([f"BERR-01,{c1},10,{y}-13-01",  # no month 13
                            f"BERR-02,{c1},10.125,{y}-02-01"])  # three decimals
    return writer.close()


def generate(out_dir, customers: int = 25, year: int = 2026, seed: int = 7,
             with_errors: bool = False) -> dict:
    """Write the five exports into out_dir; return {kind: {"path", "rows"}} (data rows).

    Same arguments -> byte-identical files.
    """
    if customers < 1:
        raise ValueError("customers must be at least 1")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, year, customers])
    modules = _read_modules()
    yr = _Year(year)
    w = max(5, len(str(customers)))
    result = {}
    result["customers"] = _customers(rng, customers, w, out)
    if with_errors:
        with open(out / "customers.csv", "ab") as fh:
            fh.write(b"CERR-01,,upfront,,,North\n")  # customer_name is required
        result["customers"]["rows"] += 1
    result["subscriptions"], span_lo, span_hi, size = _subscriptions(
        rng, customers, yr, modules, out, with_errors)
    result["tickets"], tickets = _tickets(rng, customers, w, yr, span_lo, span_hi, size, out,
                                          with_errors)
    result["timesheets"] = _timesheets(rng, customers, w, yr, span_lo, span_hi, tickets, out,
                                       with_errors)
    result["prepaid_hours"] = _prepaid(rng, customers, w, yr, span_lo, span_hi, out,
                                       with_errors)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sample_exports.generator",
        description="Write seeded, deterministic sample exports (SPEC section 3).")
    parser.add_argument("--customers", type=int, default=25, help="number of customers")
    parser.add_argument("--year", type=int, default=2026, help="calendar year of the data")
    parser.add_argument("--seed", type=int, default=7, help="random seed")
    parser.add_argument("--out", type=Path, default=Path("data/sample"), help="output folder")
    parser.add_argument("--with-errors", action="store_true",
                        help="add a handful of invalid rows (to show rejections)")
    args = parser.parse_args(argv)
    if args.customers < 1:
        parser.error("--customers must be at least 1")
    started = time.perf_counter()
    result = generate(args.out, customers=args.customers, year=args.year, seed=args.seed,
                      with_errors=args.with_errors)
    elapsed = time.perf_counter() - started
    for kind in FILES:
        print(f"{kind:<14} {result[kind]['rows']:>10,} rows  {result[kind]['path']}")
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"generated in {elapsed:.2f}s, peak memory {peak:.0f} MB")
    except ImportError:  # pragma: no cover - not on POSIX
        print(f"generated in {elapsed:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
