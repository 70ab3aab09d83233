"""Drafts and approval (SPEC R17): what a preview computed, and ``support-billing approve``.

A preview (``bill --preview``) is also the month's draft. Besides the preview folder it
records ``HOME/drafts/YYYY-MM/draft-NNNN.json``: the month's fingerprint (the same sha256
of every invoice and line column that the gate and the export compare), every invoice,
every line and the amount per customer and line type, all as the warehouse rendered them
(money as DECIMAL text, R2). Drafts are not finalized records, so they live beside the
R19 ledger, not in it, and survive a rebuilt warehouse.

``approve --period P`` runs the billing flow with ``approve=True``: ingest, build and
gate as ``bill`` does; the recomputed month is then compared with the latest draft. Equal
fingerprints publish and finalize exactly as ``bill`` would; any difference finalizes
nothing, lists each (customer, line type, draft amount, new amount), writes a new draft
with its review page and exits 1.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

DRAFTS_DIR = "drafts"
DRAFT_FILE = re.compile(r"^draft-(\d{4,})\.json$")

# Per customer and line type, summed in the warehouse (R2: DECIMAL, rendered as text).
AMOUNTS_SQL = """
select customer_id, line_type, cast(sum(amount) as varchar) as amount
from main.invoice_lines
where period = ?
group by customer_id, line_type
order by customer_id, line_type
"""

INVOICES_SQL = """
select invoice_number, document_type, customer_id, customer_name, accounting_ref,
       cast(total as varchar) as total, line_count
from main.invoices
where period = ?
order by invoice_number
"""

LINES_SQL = """
select invoice_number, line_number, customer_id, line_type, description,
       cast(quantity as varchar) as quantity, cast(unit_price as varchar) as unit_price,
       cast(amount as varchar) as amount, source_ref, rule
from main.invoice_lines
where period = ?
order by invoice_number, line_number
"""


class DraftError(RuntimeError):
    """No draft to approve, or an unreadable one: one line on stderr, exit 1."""


@dataclass(frozen=True)
class Difference:
    """One (customer, line type) whose amount differs from the draft (R17)."""

    customer_id: str
    line_type: str
    draft_amount: str | None   # None: no such line in the draft
    new_amount: str | None     # None: no such line any more

    def describe(self) -> str:
        """A line type absent on one side is an amount of 0.00 there."""
        return (f"{self.customer_id} {self.line_type}: draft {self.draft_amount or '0.00'}, "
                f"new {self.new_amount or '0.00'}")


# ---------------------------------------------------------------- reading the warehouse
def _rows(con, sql: str, params: list) -> list[dict]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def month_snapshot(con, period: str) -> dict:
    """Every invoice, line and (customer, line type) amount of the month as built."""
    return {
        "amounts": _rows(con, AMOUNTS_SQL, [period]),
        "invoices": _rows(con, INVOICES_SQL, [period]),
        "lines": _rows(con, LINES_SQL, [period]),
    }


# ---------------------------------------------------------------- the draft files
def draft_folder(home: Path, period: str) -> Path:
    return Path(home) / DRAFTS_DIR / period


def draft_files(home: Path, period: str) -> list[Path]:
    folder = draft_folder(home, period)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := DRAFT_FILE.match(p.name))]
    return [p for _n, p in sorted(found)]


def latest_draft(home: Path, period: str) -> dict | None:
    """The month's latest draft, or None when it was never previewed."""
    files = draft_files(home, period)
    if not files:
        return None
    try:
        return json.loads(files[-1].read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DraftError(f"the draft {files[-1]} cannot be read ({exc}); preview "
                         f"{period} again") from None


def record_draft(home: Path, con, period: str, fingerprint: str) -> tuple[Path, bool]:
    """Write the month's draft unless the latest one already holds these exact numbers
    (a repeated preview does not pile up drafts). Returns (path, newly written)."""
    files = draft_files(home, period)
    latest = latest_draft(home, period)
    if latest is not None and latest.get("fingerprint") == fingerprint:
        return files[-1], False
    number = len(files) + 1 if not files else int(DRAFT_FILE.match(files[-1].name).group(1)) + 1
    draft = {"period": period, "draft": number, "fingerprint": fingerprint,
             **month_snapshot(con, period)}
    folder = draft_folder(home, period)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"draft-{number:04d}.json"
    tmp = folder / f".{path.name}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(draft, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path, True


# ---------------------------------------------------------------- comparing
def differences(draft: dict, now: dict) -> list[Difference]:
    """Each (customer, line type) whose amount moved, in customer then line type order.
    Amounts are compared as the warehouse rendered them (both DECIMAL(38,2) text)."""
    before = {(r["customer_id"], r["line_type"]): r["amount"] for r in draft["amounts"]}
    after = {(r["customer_id"], r["line_type"]): r["amount"] for r in now["amounts"]}
    return [Difference(c, t, before.get((c, t)), after.get((c, t)))
            for c, t in sorted(before.keys() | after.keys())
            if before.get((c, t)) != after.get((c, t))]


def detail_changes(draft: dict, now: dict) -> list[str]:
    """Customers whose invoices or lines changed with equal amounts (a description, a
    name, a quantity): still a difference, so still no approval (R17)."""
    def by_customer(snapshot: dict) -> dict[str, list]:
        out: dict[str, list] = {}
        for key in ("invoices", "lines"):
            for r in snapshot[key]:
                out.setdefault(r["customer_id"], []).append(sorted(r.items()))
        return out

    a, b = by_customer(draft), by_customer(now)
    return [c for c in sorted(a.keys() | b.keys()) if a.get(c) != b.get(c)]


def compare_with_draft(home: Path, con, period: str, fingerprint: str) -> list[str]:
    """The lines to print when the recomputed month differs from its latest draft; an
    empty list when it equals it."""
    draft = latest_draft(home, period)
    if draft is None:
        raise DraftError(no_draft_message(period))
    if draft.get("fingerprint") == fingerprint:
        return []
    now = month_snapshot(con, period)
    diffs = differences(draft, now)
    out = [d.describe() for d in diffs]
    moved = {d.customer_id for d in diffs}
    out += [f"{c}: invoice details changed (amounts equal)"
            for c in detail_changes(draft, now) if c not in moved]
    return out or ["the month's documents changed since the draft"]


def no_draft_message(period: str) -> str:
    return (f"{period} has no draft to approve: preview it first with "
            f"'support-billing bill --period {period} --preview' and review its page")


# ---------------------------------------------------------------- hooks of the billing flow
def copy_quality_reports(home: Path, period: str, gate: dict) -> dict:
    """An approved month's gate reports move from reports/_preview to reports/ (approve
    gates as a preview until it knows the month equals its draft)."""
    target = Path(home) / "reports"
    out = dict(gate)
    for key in ("report_json", "report_md"):
        src = Path(gate[key])
        dst = target / src.name
        shutil.copyfile(src, dst)
        out[key] = str(dst)
    return out


def after_export(home: Path, period: str, preview: bool, gate: dict) -> dict:
    """After a preview (the draft) or a published month: the draft record (preview only)
    and the review page (R17, R18). Returns the paths written."""
    from support_billing.reporting.rejected import rejected_rows_path
    from support_billing.reporting.review import write_review_page
    from support_billing.storage.warehouse import connect

    out: dict = {"rejected_rows": str(rejected_rows_path(home))}
    with connect(Path(home), read_only=True) as con:
        if preview:
            path, new = record_draft(home, con, period, gate["fingerprint"])
            out["draft"] = str(path)
            out["draft_new"] = new
        try:
            out["review_page"] = str(write_review_page(home, con, period, preview,
                                                       Path(gate["report_json"])))
        except Exception as exc:  # noqa: BLE001 - a page must not undo a published month
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            print(f"warning: the review page of {period} was not written: {first}",
                  file=sys.stderr, flush=True)
            out["review_page"] = f"not written ({first})"
    return out


def approve_or_redraft(home: str, period: str, gate: dict) -> dict:
    """R17, inside the billing flow once the gate passed: the month equals its latest
    draft -> the gate's reports move to reports/ and billing goes on; else a new draft
    (preview folder, draft, page) and a refusal (``BillingStop``: nothing finalized)."""
    from support_billing.billing.steps import BillingStop, check, say
    from support_billing.billing.tasks import export_task
    from support_billing.storage.warehouse import connect

    with connect(Path(home), read_only=True) as con:
        changes = compare_with_draft(Path(home), con, period, gate["fingerprint"])
    if not changes:
        say(f"  {period} equals its latest draft: publishing it")
        return copy_quality_reports(Path(home), period, gate)
    say(f"  {period} differs from its latest draft ({len(changes)} difference(s)):")
    for line in changes:
        say(f"    {line}")
    exported = check(export_task(home, period, True, gate))
    written = after_export(Path(home), period, True, gate)
    say(f"  new draft: {written['draft']}  review page: {written['review_page']}")
    say(f"  files: {exported['folder']}")
    raise BillingStop(f"{period} differs from its latest draft; nothing finalized. Review "
                      f"the new draft ({written['review_page']}) and approve again")


# ---------------------------------------------------------------- months billed late
def later_finalized(con, period: str) -> list[str]:
    """Finalized months after ``period``: billing ``period`` now (when it is not itself
    finalized) would finalize a month out of order."""
    return [r[0] for r in con.execute(
        "select distinct period from billing.finalized_months where period > ? order by 1",
        [period]).fetchall()]


def late_month_message(period: str, later: list[str]) -> str:
    return (f"{period} comes before {later[-1]}, which is already finalized: billing it now "
            f"would finalize {period} after later months and its invoice numbers would not "
            "follow the order finance sees in the accounting system; if that is intended, "
            "run again with --yes")
