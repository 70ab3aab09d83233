"""Run the dbt project in-process against a home folder's warehouse.

dbt writes its target/ and logs/ under HOME/.dbt so that several homes (tests,
benchmarks) never share a partial-parse cache or a manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"


class DbtError(RuntimeError):
    """dbt failed; the message names the failing nodes."""


@dataclass
class DbtResult:
    success: bool
    failures: list[str] = field(default_factory=list)
    skipped: bool = False  # nothing changed since the last successful build


def run_dbt(home: Path, args: list[str], vars: dict | None = None) -> DbtResult:
    """Run one dbt command (e.g. ["build"]) in-process; return success and failing nodes."""
    from dbt.cli.main import dbtRunner

    home = Path(home).resolve()
    os.environ["SUPPORT_BILLING_HOME"] = str(home)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    dbt_dir = home / ".dbt"
    cli_args = [
        *args,
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(dbt_dir / "target"),
        "--log-path", str(dbt_dir / "logs"),
        "--quiet",
    ]
    if vars:
        cli_args += ["--vars", json.dumps(vars)]
    res = dbtRunner().invoke(cli_args)
    failures: list[str] = []
    if res.result is not None and hasattr(res.result, "results"):
        for r in res.result.results:
            status = str(getattr(r, "status", "")).lower()
            if status in {"error", "fail", "runtimeerror"}:
                failures.append(f"{r.node.unique_id}: {(r.message or status).splitlines()[0]}")
    if res.exception is not None:
        failures.append(str(res.exception).strip().splitlines()[0])
    return DbtResult(success=bool(res.success) and not failures, failures=failures)


# The dbt sources: when none of them, nor the project's files, nor the built marts the
# flows read have changed since the last successful build for the same period, a new build
# cannot change anything and is skipped (a re-billed finalized month, R15, costs seconds).
SOURCE_TABLES = (
    "raw.customers", "raw.subscriptions", "raw.tickets", "raw.timesheets",
    "raw.prepaid_hours", "raw.held_rows", "billing.finalized_months",
    "billing.finalized_invoices", "billing.finalized_invoice_lines",
    "billing.finalized_policies",
)
BUILT_TABLES = (
    "main.price_book", "main.invoices", "main.invoice_lines", "main.prepaid_deductions",
    "main.fct_incidents", "main.customer_year_usage",
)
PROJECT_PARTS = ("dbt_project.yml", "profiles.yml", "models", "seeds", "macros", "tests")


def _project_digest() -> str:
    digest = hashlib.sha256()
    for part in PROJECT_PARTS:
        root = DBT_PROJECT_DIR / part
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            digest.update(str(path.relative_to(DBT_PROJECT_DIR)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _tables_digest(home: Path, tables: tuple[str, ...]) -> str | None:
    """Row count and an order-independent hash of every row of each table (None: unknown)."""
    from .warehouse import connect, warehouse_path

    if not warehouse_path(home).exists():
        return None
    con = connect(home, read_only=True)
    try:
        parts = []
        for table in tables:
            try:
                parts.append(con.execute(
                    f"select count(*), coalesce(sum(hash(t)), 0) from {table} as t"
                ).fetchone())
            except Exception:  # table missing: not built yet
                return None
        return hashlib.sha256(repr(parts).encode()).hexdigest()
    finally:
        con.close()


def _state_file(home: Path) -> Path:
    return Path(home) / ".dbt" / "last_build.json"


def build(home: Path, period: str | None = None, select: str | None = None) -> DbtResult:
    """`dbt build` (seeds, models, data tests) with the billing period as a var.

    dbt unit tests do not depend on the data, and the analytics marts are views: their
    tests run with the project's own tests and a plain `dbt build`, not in every billing run. A build whose inputs, project files and
    outputs are unchanged since the last successful one is skipped.
    """
    home = Path(home).resolve()
    key = {
        "period": period or "",
        "select": select or "",
        "project": _project_digest(),
        "sources": _tables_digest(home, SOURCE_TABLES),
    }
    state = _state_file(home)
    if key["sources"] is not None and state.exists():
        try:
            last = json.loads(state.read_text())
        except ValueError:
            last = {}
        if last.get("key") == key and last.get("built") == _tables_digest(home, BUILT_TABLES):
            return DbtResult(success=True, skipped=True)
    # Analytics marts are views; their data tests run with the project's own tests.
    args = ["build", "--exclude", "test_type:unit", "tag:analytics,resource_type:test"]
    if select:
        args += ["--select", select]
    result = run_dbt(home, args, vars={"period": period} if period else None)
    if result.success and key["sources"] is not None:
        state.parent.mkdir(parents=True, exist_ok=True)
        state.write_text(json.dumps({"key": key, "built": _tables_digest(home, BUILT_TABLES)}))
    elif state.exists():
        state.unlink()
    return result


def read_seed(name: str) -> list[dict[str, str]]:
    """A seed's rows as dicts (reference data shared by ingest and dbt)."""
    import csv

    with open(SEEDS_DIR / f"{name}.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def note_finalized(home: Path, period: str) -> None:
    """Keep the last build current after `period` was finalized (R15).

    Finalizing P writes billing.* rows for P only. No built table depends on them for the
    same period: adjustments read months before P, the policy snapshot equals the current
    policies, and the invoice that charged an incident is read through a view. So the
    build of P stays valid and a re-bill of P does not rebuild.
    """
    home = Path(home).resolve()
    state = _state_file(home)
    if not state.exists():
        return
    try:
        last = json.loads(state.read_text())
    except ValueError:
        return
    if last.get("key", {}).get("period") != period:
        return
    last["key"]["sources"] = _tables_digest(home, SOURCE_TABLES)
    last["built"] = _tables_digest(home, BUILT_TABLES)
    state.write_text(json.dumps(last))
