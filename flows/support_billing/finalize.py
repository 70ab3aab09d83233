"""Finalized months (R15): ordering, finalization in one transaction, carried differences.

A month is finalized when its export folder is published: the flow renames the folder
into place, then calls :func:`finalize_month`, which copies the month's documents from
the dbt marts (``main.invoices``, ``main.invoice_lines``) and each customer's current
overage policy into ``billing.*`` in ONE transaction. Invoice numbers are consumed only
here. If the process dies between the rename and the commit, the next run finds the
folder, checks it matches the recomputation and finalizes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from . import periods


class OrderError(RuntimeError):
    """Months are billed in order (R15)."""


def finalized_periods(con) -> list[str]:
    return [r[0] for r in con.execute(
        "select distinct period from billing.finalized_months order by period").fetchall()]


def is_finalized(con, period: str) -> bool:
    return con.execute(
        "select count(*) from billing.finalized_months where period = ?", [period]
    ).fetchone()[0] > 0


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


def finalize_month(con, period: str, manifest_sha256: str | None,
                   expect_count: int | None = None,
                   expect_total: Decimal | None = None) -> FinalizeResult:
    """Insert the month into billing.finalized_* in one transaction (R15).

    Idempotent: a month already finalized is left untouched. ``expect_count`` /
    ``expect_total`` (from the published manifest) guard against finalizing documents
    other than the ones published: on a mismatch nothing is written.
    """
    con.execute("begin transaction")
    try:
        if is_finalized(con, period):
            con.execute("rollback")
            row = con.execute(
                "select invoice_count, grand_total from billing.finalized_months "
                "where period = ?", [period]).fetchone()
            return FinalizeResult(period, int(row[0]), Decimal(row[1]), already=True)
        con.execute(
            """
            insert into billing.finalized_invoices
                (period, invoice_number, document_type, customer_id, customer_name,
                 accounting_ref, invoice_date, due_date, currency, total, line_count)
            select period, invoice_number, document_type, customer_id, customer_name,
                   accounting_ref, invoice_date, due_date, currency, total, line_count
            from main.invoices
            where period = ?
            """,
            [period],
        )
        con.execute(
            """
            insert into billing.finalized_invoice_lines
                (period, invoice_number, customer_id, line_number, line_type, description,
                 quantity, unit_price, amount, source_ref, rule, adjusts_period,
                 adjusts_line_type)
            select period, invoice_number, customer_id, line_number, line_type, description,
                   quantity, unit_price, amount, source_ref, rule,
                   case when line_type = 'prior_period_adjustment' then adjusts_period end,
                   case when line_type = 'prior_period_adjustment' then adjusts_line_type end
            from main.invoice_lines
            where period = ?
            """,
            [period],
        )
        con.execute(
            """
            insert into billing.finalized_policies (period, customer_id, overage_policy)
            select ?, customer_id, overage_policy
            from main.stg_exports__customers
            """,
            [period],
        )
        count, total = con.execute(
            "select count(*), coalesce(sum(total), 0) from billing.finalized_invoices "
            "where period = ?", [period]).fetchone()
        total = Decimal(total).quantize(Decimal("0.01"))
        if (expect_count is not None and int(count) != expect_count) or (
            expect_total is not None and total != expect_total
        ):
            raise RuntimeError(
                f"finalizing {period}: the warehouse has {count} documents totalling {total}, "
                f"the published manifest {expect_count} totalling {expect_total}; "
                "nothing finalized")
        con.execute(
            "insert into billing.finalized_months "
            "(period, finalized_at, invoice_count, grand_total, manifest_sha256) "
            "values (?, now(), ?, ?, ?)",
            [period, int(count), total, manifest_sha256],
        )
        con.execute("commit")
    except BaseException:
        try:
            con.execute("rollback")
        except Exception:  # already rolled back
            pass
        raise
    return FinalizeResult(period, int(count), total)


@dataclass(frozen=True)
class Difference:
    customer_id: str
    line_type: str
    recomputed: Decimal
    finalized: Decimal     # finalized lines + adjustments already finalized for them

    @property
    def amount(self) -> Decimal:
        return self.recomputed - self.finalized


def carried_differences(con, period: str) -> list[Difference]:
    """R15's d for finalized month ``period``, per customer and line type: what billing a
    later month would carry forward as prior_period_adjustment lines."""
    rows = con.execute(
        """
        with recomputed as (
            select customer_id, line_type, sum(amount) as amount
            from main.fct_invoice_lines_computed
            where period = ?
            group by 1, 2
        ),
        finalized as (
            select customer_id, line_type, sum(amount) as amount
            from billing.finalized_invoice_lines
            where period = ? and line_type <> 'prior_period_adjustment'
            group by 1, 2
        ),
        adjusted as (
            select customer_id, adjusts_line_type as line_type, sum(amount) as amount
            from billing.finalized_invoice_lines
            where line_type = 'prior_period_adjustment' and adjusts_period = ?
            group by 1, 2
        ),
        keys as (
            select customer_id, line_type from recomputed
            union select customer_id, line_type from finalized
            union select customer_id, line_type from adjusted
        )
        select k.customer_id, k.line_type,
               coalesce(r.amount, 0) as recomputed,
               coalesce(f.amount, 0) + coalesce(a.amount, 0) as finalized
        from keys as k
        left join recomputed as r using (customer_id, line_type)
        left join finalized as f using (customer_id, line_type)
        left join adjusted as a using (customer_id, line_type)
        order by k.customer_id, k.line_type
        """,
        [period, period, period],
    ).fetchall()
    out = [Difference(c, t, Decimal(r), Decimal(f)) for c, t, r, f in rows]
    return [d for d in out if d.amount != 0]
