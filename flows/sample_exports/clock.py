"""Mountain time for the sample exports (SPEC R1): the Denver offset at an instant, the
calendar year in epoch days, and instants written out the many ways exports write them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sample_exports.csv_text import blank_unless, take

DENVER = ZoneInfo("America/Denver")


def denver_offset(utc_secs: np.ndarray) -> np.ndarray:
    """Offset of America/Denver (seconds, e.g. -21600) at each UTC instant."""
    idx = pd.to_datetime(utc_secs, unit="s", utc=True).tz_convert("America/Denver")
    local = idx.tz_localize(None).to_numpy().astype("datetime64[s]").astype(np.int64)
    return (local - utc_secs).astype(np.int32)


def epoch_day(d: dt.date) -> int:
    """Days since 1970-01-01 (the unit numpy and pyarrow dates share)."""
    return (d - dt.date(1970, 1, 1)).days


class Year:
    """The calendar year of the data, in epoch days: first day, day after the last, length."""

    def __init__(self, year: int):
        self.year = year
        self.y0 = epoch_day(dt.date(year, 1, 1))
        self.y1 = epoch_day(dt.date(year + 1, 1, 1))
        self.ndays = self.y1 - self.y0
        # first day of each month of the year (epoch days), for upgrades on the 1st
        self.month_starts = np.array([epoch_day(dt.date(year, m, 1)) for m in range(1, 13)])


def local_to_utc(local: np.ndarray) -> np.ndarray:
    """Mountain wall-clock seconds -> UTC seconds (two fixed-point steps)."""
    utc = local - denver_offset(local + 7 * 3600)
    return local - denver_offset(utc)


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
    den = denver_offset(utc)
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
    sep = take(pa.array(["T", " "]), sep_space.astype(np.int8))
    fraction = blank_unless(frac, pc.binary_join_element_wise(
        pa.scalar("."),
        pc.utf8_lpad(pc.cast(pa.array(micros.astype(np.int64)), pa.string()), width=6,
                     padding="0"), ""))
    # suffix: '' (naive), 'Z' or the offset written out: few distinct values, so a vocabulary
    naive, zulu = 10**7, 10**7 + 1  # codes that are no offset
    code = np.where(suffix_kind == 2, off, np.where(suffix_kind == 1, zulu, naive))
    values, index = np.unique(code, return_inverse=True)
    vocab = ["" if v == naive else "Z" if v == zulu else _offset_text(v) for v in values]
    suffix = take(pa.array(vocab, type=pa.string()), index)
    return pc.binary_join_element_wise(date, sep, clock, fraction, suffix, "")


def special_timestamps(year: int) -> list[tuple[str, int]]:
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
