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

The work is split by file: ``accounts`` (customers, subscriptions), ``tickets``, ``hours``
(timesheets, prepaid hour blocks), over ``vocabulary`` (values and their frequencies),
``clock`` (Mountain time, R1) and ``csv_text`` (quoting and column joins). One random
generator, seeded from (seed, year, customers), is drawn from in file order: the order of
the draws is part of the output, so moving a draw changes the bytes of every later file.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from sample_exports import accounts, hours, tickets
from sample_exports.clock import Year
from sample_exports.csv_text import csv_quote
from sample_exports.vocabulary import CATEGORIES
from sample_exports.vocabulary import read_modules as _read_modules

__all__ = ["CATEGORIES", "FILES", "csv_quote", "generate", "main"]

FILES = ("customers", "subscriptions", "tickets", "timesheets", "prepaid_hours")


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
    yr = Year(year)
    w = max(5, len(str(customers)))
    result = {}
    result["customers"] = accounts.customers(rng, customers, w, out)
    if with_errors:
        with open(out / "customers.csv", "ab") as fh:
            fh.write(b"CERR-01,,upfront,,,North\n")  # customer_name is required
        result["customers"]["rows"] += 1
    result["subscriptions"], span_lo, span_hi, size = accounts.subscriptions(
        rng, customers, yr, modules, out, with_errors)
    result["tickets"], known = tickets.tickets(rng, customers, w, yr, span_lo, span_hi, size,
                                               out, with_errors)
    result["timesheets"] = hours.timesheets(rng, customers, w, yr, span_lo, span_hi, known, out,
                                            with_errors)
    result["prepaid_hours"] = hours.prepaid(rng, customers, w, yr, span_lo, span_hi, out,
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
