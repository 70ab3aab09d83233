"""`support-billing usage`: incident usage per customer and year (R8, R10, R11).

Reads the marts as they are (no dbt build) through a read-only connection.

Per customer: customer_id, customer_name, overage_policy, modules (codes of the
subscriptions active on at least one day of the year, sorted, joined by ','), allotment,
covered, overage, remaining, expired, projected_exhaustion.

- allotment: available (R8) on the "as of" day: Dec 31 for a past year, today
  (America/Denver) for the current year, Jan 1 for a future year (what opens then,
  from the subscriptions known today).
- covered / overage: the year's billable incidents in the R10 ledger (``fct_incidents``).
- remaining: allotment - covered, never below 0.
- expired (R11): past years only; null (blank) for the current and future years.
- projected_exhaustion (current year only): the month (YYYY-MM) the allotment runs out
  at the current pace, i.e. the year's incidents (covered + overage) per elapsed day
  (Jan 1 through today) extrapolated; the month of the last covered incident when it has
  already run out; null when it will not run out this year (or nothing has been used).

The ``table`` format explains, under the table, each overage policy shown and the
``remaining`` and ``expired`` columns in the words of the ``plain_reasons`` seed (kinds
``policy`` and ``usage``): the one place those words are written, so ``usage``, the review
page (R18) and the statements explain a rule alike. ``csv`` and ``json`` stay data only.
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, timedelta
from pathlib import Path

COLUMNS = [
    "customer_id",
    "customer_name",
    "overage_policy",
    "modules",
    "allotment",
    "covered",
    "overage",
    "remaining",
    "expired",
    "projected_exhaustion",
]
INT_COLUMNS = {"allotment", "covered", "overage", "remaining", "expired"}


class UsageError(RuntimeError):
    """A clear, one-line problem for the user."""


def today_denver() -> date:
    from support_billing.yearend.refresh import today_denver as _today

    return _today()


def as_of_day(year: int, today: date) -> date:
    """Dec 31 for a past year, today for the current year, Jan 1 for a future year."""
    return min(max(today, date(year, 1, 1)), date(year, 12, 31))


def projected_exhaustion(
    year: int,
    today: date,
    allotment: int,
    covered: int,
    overage: int,
    last_covered_period: str | None,
) -> str | None:
    """The month the allotment runs out at the current pace (current year only).

    Pace = (covered + overage) / elapsed days, elapsed = days from Jan 1 through today.
    Used up on the first day n (of the year, 1-based) with pace * n >= covered + overage +
    remaining, i.e. n = ceil((used + remaining) * elapsed / used); exact integers.
    """
    remaining = max(0, allotment - covered)
    if allotment <= 0:
        return None
    if remaining == 0:
        return last_covered_period
    used = covered + overage
    if used == 0:
        return None
    elapsed = (today - date(year, 1, 1)).days + 1
    n = -(-(used + remaining) * elapsed // used)
    days_in_year = (date(year, 12, 31) - date(year, 1, 1)).days + 1
    if n > days_in_year:
        return None
    return (date(year, 1, 1) + timedelta(days=n - 1)).strftime("%Y-%m")


def usage_rows(
    con, year: int, customer: str | None = None, today: date | None = None
) -> list[dict]:
    """The usage rows of ``year`` (all customers with a subscription active in the year,
    an allotment or an incident; or just ``customer``), sorted by customer_id.

    Allotment on the day, remaining and expired come from the dbt table macro
    ``customer_usage_on`` (``dbt_project/macros/usage_on.sql``, R8/R11 defined once)."""
    today = today or today_denver()
    current = year == today.year
    found = con.execute(
        "select customer_id, customer_name, overage_policy, modules, allotment, covered, "
        "overage, remaining, expired, last_covered_period, listed "
        "from main.customer_usage_on(?, ?) "
        "where (? is null and listed) or customer_id = ? order by customer_id",
        [year, today, customer, customer],
    ).fetchall()
    if customer is not None and not found:
        raise UsageError(f"unknown customer {customer!r}")
    rows = []
    for (cid, name, policy, modules, allotment, covered, overage, remaining, expired,
         last_covered, _listed) in found:
        rows.append({
            "customer_id": cid,
            "customer_name": name,
            "overage_policy": policy,
            "modules": modules,
            "allotment": allotment,
            "covered": covered,
            "overage": overage,
            "remaining": remaining,
            "expired": expired,
            "projected_exhaustion": (
                projected_exhaustion(year, today, allotment, covered, overage, last_covered)
                if current
                else None
            ),
        })
    return rows


def plain_words(con) -> dict[tuple[str, str], str]:
    """The seed's sentences for the usage table: (kind, code) -> sentence."""
    return {(kind, code): sentence for kind, code, sentence in con.execute(
        "select kind, code, sentence from main.plain_reasons "
        "where kind in ('policy', 'usage') order by kind, code").fetchall()}


def explanations(rows: list[dict], words: dict[tuple[str, str], str]) -> list[tuple[str, str]]:
    """(word, sentence) for each overage policy shown (R12, first-seen order), then the
    remaining and expired columns (R11); a word without a sentence in the seed is left out."""
    policies = list(dict.fromkeys(r["overage_policy"] for r in rows if r["overage_policy"]))
    wanted = [("policy", p) for p in policies] + [("usage", "remaining"), ("usage", "expired")]
    return [(code, words[(kind, code)]) for kind, code in wanted if (kind, code) in words]


def render_json(rows: list[dict]) -> str:
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"


def render_csv(rows: list[dict]) -> str:
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if row[c] is None else row[c] for c in COLUMNS])
    return buf.getvalue()


def print_table(rows: list[dict], year: int, today: date, data_as_of: str = "",
                words: dict[tuple[str, str], str] | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console = Console(width=200)
    day = as_of_day(year, today)
    kind = (
        "past year" if year < today.year
        else "current year" if year == today.year
        else "future year"
    )
    table = Table(
        title=f"Incident usage {year} ({kind}; allotment as of {day.isoformat()})"
        + (f"\ndata as of {data_as_of} (last ingest)" if data_as_of else ""),
        title_justify="left",
    )
    for col in COLUMNS:
        table.add_column(
            col.replace("_", " "),
            justify="right" if col in INT_COLUMNS else "left",
            overflow="fold",
        )
    for row in rows:
        table.add_row(*["-" if row[c] is None else str(row[c]) for c in COLUMNS])
    console.print(table)
    if not rows:
        console.print(f"no customer has a subscription, an allotment or an incident in {year}")
        return
    meanings = explanations(rows, words or {})
    if meanings:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        for word, sentence in meanings:
            grid.add_row(word, sentence)
        console.print(grid)


def cli_usage(home: Path, year: int, customer: str | None, fmt: str) -> int:
    """`support-billing usage --year Y [--customer ID] [--format table|csv|json]`."""
    import duckdb

    from support_billing.storage.freshness import data_time_text
    from support_billing.storage.warehouse import connect

    if not 1 <= year <= 9999:
        print(f"error: --year {year} is out of range (1-9999)", file=sys.stderr)
        return 2
    if fmt not in ("table", "csv", "json"):
        print(f"error: --format must be one of table, csv, json, not {fmt!r}", file=sys.stderr)
        return 2
    try:
        con = connect(Path(home), read_only=True)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    today = today_denver()
    try:
        data_as_of = data_time_text(con)
        rows = usage_rows(con, year, customer, today)
        words = plain_words(con) if fmt == "table" else {}
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except duckdb.CatalogException as exc:
        first = str(exc).strip().splitlines()[0]
        print(
            f"error: the warehouse has no usage models yet ({first}); "
            f"run 'support-billing ingest' to load and build them",
            file=sys.stderr,
        )
        return 1
    finally:
        con.close()
    if fmt == "json":
        sys.stdout.write(render_json(rows))
    elif fmt == "csv":
        sys.stdout.write(render_csv(rows))
    else:
        print_table(rows, year, today, data_as_of, words)
    if fmt != "table":  # stdout stays machine-readable; the data's time goes beside it (R20)
        print(f"data as of {data_as_of} (last ingest)", file=sys.stderr)
    return 0
