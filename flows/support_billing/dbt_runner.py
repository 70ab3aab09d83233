"""Run the dbt project in-process against a home folder's warehouse.

dbt writes its target/ and logs/ under HOME/.dbt so that several homes (tests,
benchmarks) never share a partial-parse cache or a manifest.
"""

from __future__ import annotations

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


def build(home: Path, period: str | None = None, select: str | None = None) -> DbtResult:
    """`dbt build` (seeds, models, tests) with the billing period as a var."""
    args = ["build"]
    if select:
        args += ["--select", select]
    return run_dbt(home, args, vars={"period": period} if period else None)


def read_seed(name: str) -> list[dict[str, str]]:
    """A seed's rows as dicts (reference data shared by ingest and dbt)."""
    import csv

    with open(SEEDS_DIR / f"{name}.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
