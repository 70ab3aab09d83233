"""Finalized months (R15, R15a): ordering, finalization in one transaction, carried
differences.

A month is finalized when its export folder is published (R15a: published is final). The
flow renames the folder into place, then calls :func:`finalize_published`, which reads the
month's documents from the published folder itself (``invoices.csv``,
``invoice_lines.csv``, never a recomputation) and each customer's current overage policy
into ``billing.*`` in ONE transaction. If the process dies between the rename and the
commit, the next run records the folder as it stands (:func:`finalize_published` again);
what changed since is carried to the next month billed as R15 adjustments.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from support_billing import periods
from support_billing.exports import writers as exporters
from support_billing.storage import ledger
from support_billing.storage.dbt_runner import read_seed
from support_billing.storage.warehouse import open_warehouse

INVOICES_FILE = "invoices.csv"
LINES_FILE = "invoice_lines.csv"
PERIOD_DIR = re.compile(r"[0-9]{4}-[0-9]{2}")
LINE_COLUMNS = [*exporters.LINES_HEADER, "adjusts_period", "adjusts_line_type"]


class OrderError(RuntimeError):
    """Months are billed in order (R15)."""


def finalized_periods(con) -> list[str]:
    return [r[0] for r in con.execute(
        "select distinct period from billing.finalized_months order by period").fetchall()]


def is_finalized(con, period: str) -> bool:
    return con.execute(
        "select count(*) from billing.finalized_months where period = ?", [period]
    ).fetchall()[0][0] > 0


def unfinalized_before(finalized: list[str], period: str) -> list[str]:
    """Months after the first finalized one and before ``period`` that are not finalized:
    while any exist, ``period`` may not be billed (R15)."""
    if not finalized or period in finalized:
        return []
    done = set(finalized)
    return [m for m in periods.periods_between(min(finalized), period) if m not in done]


def check_order(con, period: str) -> None:
    missing = unfinalized_before(finalized_periods(con), period)
    if missing:
        listed = ", ".join(missing[:6]) + (" ..." if len(missing) > 6 else "")
        raise OrderError(
            f"cannot bill {period}: earlier month(s) {listed} not finalized yet; "
            "months are billed in order (R15), bill them first")


@dataclass
class FinalizeResult:
    period: str
    invoice_count: int
    grand_total: Decimal
    already: bool = False


class PublishedFolderError(RuntimeError):
    """A published folder that cannot be recorded as it stands (unreadable or damaged)."""


def read_published(folder: Path) -> tuple[list[dict], list[dict], dict]:
    """The documents, lines and manifest of a published folder, as strings (R15a).

    The folder is checked against its own manifest first (each file's sha256), so what is
    recorded is exactly what was handed to finance."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / exporters.MANIFEST).read_text(encoding="utf-8"))
        for entry in manifest["files"]:
            if entry["name"] in (INVOICES_FILE, LINES_FILE):
                if exporters.sha256_file(folder / entry["name"]) != entry["sha256"]:
                    raise PublishedFolderError(
                        f"{folder / entry['name']} does not match its manifest (sha256)")
        docs = _read_csv(folder / INVOICES_FILE, exporters.INVOICES_HEADER)
        lines = _read_csv(folder / LINES_FILE, exporters.LINES_HEADER)
    except PublishedFolderError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PublishedFolderError(f"the published folder {folder} cannot be read: {exc}") from exc
    return docs, lines, manifest


def _read_csv(path: Path, header: list[str]) -> list[dict]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, strict=True)
        head = next(reader, None)
        if head != header:
            raise PublishedFolderError(f"{path} has an unexpected header")
        return [dict(zip(header, row, strict=True)) for row in reader]


def _staged(con, name: str, header: list[str], rows: list[list]):
    """Register ``rows`` (strings) as a relation: one bulk insert instead of a statement per
    row (a month of the large benchmark has tens of thousands of lines)."""
    import pandas as pd

    con.register(name, pd.DataFrame(rows, columns=header, dtype="object"))


def _insert_documents(con, period: str) -> None:
    con.execute(
        """
        insert into billing.finalized_invoices
            (period, invoice_number, document_type, customer_id, customer_name,
             accounting_ref, invoice_date, due_date, currency, total, line_count)
        select ?, invoice_number, document_type, customer_id, customer_name,
               accounting_ref, cast(invoice_date as date), cast(due_date as date), currency,
               cast(total as decimal(18, 2)), cast(line_count as integer)
        from _published_docs
        """,
        [period],
    )


def adjustment_line_types() -> frozenset[str]:
    """The line type(s) of R15's adjustments, from the ``line_types`` seed (rule R15)."""
    return frozenset(r["line_type"] for r in read_seed("line_types") if r["rule"] == "R15")


def _adjusts(line: dict, adjustment_types: frozenset[str]) -> tuple[str | None, str | None]:
    """R15: an adjustment's source_ref is ``M:<original invoice number or blank>:T``."""
    if line["line_type"] not in adjustment_types:
        return None, None
    parts = line["source_ref"].split(":")
    return (parts[0], parts[-1]) if len(parts) >= 3 else (None, None)


def _insert_lines(con, period: str) -> None:
    con.execute(
        """
        insert into billing.finalized_invoice_lines
            (period, invoice_number, customer_id, line_number, line_type, description,
             quantity, unit_price, amount, source_ref, rule, adjusts_period,
             adjusts_line_type)
        select ?, invoice_number, customer_id, cast(line_number as integer), line_type,
               description, cast(quantity as decimal(18, 2)),
               cast(unit_price as decimal(18, 2)), cast(amount as decimal(18, 2)),
               nullif(source_ref, ''), rule, adjusts_period, adjusts_line_type
        from _published_lines
        """,
        [period],
    )


def _insert_policies(con, period: str) -> None:
    """R12: the overage policy each customer has when the month is finalized (the latest
    loaded customers; a later policy change applies only to months not yet finalized)."""
    con.execute(
        "insert into billing.finalized_policies (period, customer_id, overage_policy) "
        "select ?, customer_id, overage_policy from raw.customers",
        [period],
    )


def finalize_published(con, period: str, folder: Path) -> FinalizeResult:
    """Record the published folder of ``period`` as the month's final state, in one
    transaction (R15, R15a).

    Idempotent: a month already finalized is left untouched. The folder's invoices and
    lines are recorded as they stand; the manifest's count and total guard against a
    folder other than the one published: on a mismatch nothing is written."""
    docs, lines, manifest = read_published(folder)
    expect_count = int(manifest["document_count"])
    expect_total = Decimal(str(manifest["grand_total"]))
    _staged(con, "_published_docs", exporters.INVOICES_HEADER,
            [[d[c] for c in exporters.INVOICES_HEADER] for d in docs])
    adjustment_types = adjustment_line_types()
    _staged(con, "_published_lines", LINE_COLUMNS,
            [[*(ln[c] for c in exporters.LINES_HEADER), *_adjusts(ln, adjustment_types)]
             for ln in lines])
    con.begin()
    try:
        if is_finalized(con, period):
            con.rollback()
            row = con.execute(
                "select invoice_count, grand_total from billing.finalized_months "
                "where period = ?", [period]).fetchall()[0]
            return FinalizeResult(period, int(row[0]), Decimal(row[1]), already=True)
        _insert_documents(con, period)
        _insert_lines(con, period)
        _insert_policies(con, period)
        count, total = con.execute(
            "select count(*), coalesce(sum(total), 0) from billing.finalized_invoices "
            "where period = ?", [period]).fetchall()[0]
        total = Decimal(total).quantize(Decimal("0.01"))
        if int(count) != expect_count or total != expect_total:
            raise PublishedFolderError(
                f"finalizing {period}: {folder} lists {count} documents totalling {total}, "
                f"its manifest {expect_count} totalling {expect_total}; nothing finalized")
        con.execute(
            "insert into billing.finalized_months "
            "(period, finalized_at, invoice_count, grand_total, manifest_sha256) "
            "values (?, now(), ?, ?, ?)",
            [period, int(count), total,
             exporters.sha256_file(Path(folder) / exporters.MANIFEST)],
        )
        con.commit()
    except BaseException:
        try:
            con.rollback()
        except Exception:  # already rolled back
            pass
        raise
    finally:
        con.unregister("_published_docs")
        con.unregister("_published_lines")
    return FinalizeResult(period, int(count), total)


def published_unfinalized(con, exports: Path) -> list[tuple[str, Path]]:
    """Published month folders (``exports/YYYY-MM``) not yet recorded as finalized, oldest
    first: a run stopped after publishing them (R15a)."""
    exports = Path(exports)
    if not exports.is_dir():
        return []
    done = set(finalized_periods(con))
    out = []
    for child in sorted(exports.iterdir()):
        if child.is_dir() and PERIOD_DIR.fullmatch(child.name) and child.name not in done \
                and (child / exporters.MANIFEST).is_file():
            out.append((child.name, child))
    return out


def record_published(home: Path, period: str, folder: Path) -> FinalizeResult:
    """billing.* from the published folder, then the ledger (R19; a run killed between the
    two has the ledger written by the next run's ``ledger.sync``)."""
    with open_warehouse(home) as con:
        res = finalize_published(con, period, folder)
        ledger.write_month(con, home, period)
    return res


def adopt_published(home: Path) -> list[str]:
    """R15a: months published by a run that stopped before recording them are recorded now,
    from their folders as they stand, oldest first; later changes become R15 adjustments."""
    with open_warehouse(home) as con:
        pending = published_unfinalized(con, Path(home) / "exports")
    for period, folder in pending:
        record_published(home, period, folder)
    return [p for p, _ in pending]


@dataclass(frozen=True)
class Difference:
    customer_id: str
    line_type: str
    recomputed: Decimal
    finalized: Decimal     # finalized lines + adjustments already finalized for them

    @property
    def amount(self) -> Decimal:
        return self.recomputed - self.finalized


# The model that billing a finalized month again reads, and all it reads (R15).
DIFFERENCES_MODEL = "prior_period_differences"


def carried_differences(con, period: str) -> list[Difference]:
    """R15's d for finalized month ``period``, per customer and line type: what billing a
    later month would carry forward as adjustment lines: the dbt view
    ``prior_period_differences``, which reads them from the intermediate model that is
    R15's one definition, with the amounts it compares."""
    rows = con.execute(
        "select customer_id, line_type, recomputed, finalized "
        f"from main.{DIFFERENCES_MODEL} where adjusts_period = ? "
        "order by customer_id, line_type",
        [period],
    ).fetchall()
    return [Difference(c, t, Decimal(r), Decimal(f)) for c, t, r, f in rows]
