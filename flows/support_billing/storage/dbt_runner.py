"""Run the dbt project in-process against a home folder's warehouse, and build only what
changed since the last successful build.

dbt writes its target/ and logs/ under HOME/.dbt so that several homes (tests,
benchmarks) never share a manifest; the parse is reused across commands and homes
(``dbt_parse.py``).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from support_billing.storage.dbt_parse import (
    DBT_PROJECT_DIR,
    PARSE_FILE,
    keep_parse,
    parsed_project,
    project_digest,
    seed_parse,
)

SEEDS_DIR = DBT_PROJECT_DIR / "seeds"


class DbtError(RuntimeError):
    """dbt failed; the message names the failing nodes."""


@dataclass
class DbtResult:
    success: bool
    failures: list[str] = field(default_factory=list)
    skipped: bool = False  # nothing changed since the last successful build
    selected: list[str] | None = None  # what a build rebuilt (None: everything)
    narrowed_to: str | None = None  # built only what this model reads of ``selected``


LOCK_RETRIES = 5


def run_dbt(home: Path, args: list[str], vars: dict | None = None,
            reuse_parse: bool = False) -> DbtResult:
    """Run one dbt command (e.g. ["build"]) in-process; return success and failing nodes.

    R19: a reader that holds the warehouse for a moment must not fail the run. dbt-duckdb
    retries its own connect (profiles.yml ``retries``); a command that still failed on
    DuckDB's lock is run again as a whole (dbt build is idempotent), a few times."""
    import time

    for attempt in range(LOCK_RETRIES):
        result = _run_dbt_once(home, args, vars, reuse_parse)
        if result.success or not any("could not set lock" in f.lower()
                                     for f in result.failures):
            return result
        time.sleep(0.5 * (attempt + 1))
    return result


def _release_warehouse() -> None:
    """Close the DuckDB database dbt-duckdb keeps open (``keep_open: true`` in profiles.yml).

    The adapter keeps one environment per process, class-level, until the process exits or
    another profile replaces it; its own ``close_all_connections`` only drops the reference.
    Closing it here releases the file's lock as soon as the dbt command returns (R19: the
    next reader or run gets in), and the gate's or export's own connection in this process
    never meets a database still open with dbt's configuration.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager as manager
    except ImportError:  # dbt-duckdb not imported: nothing is open
        return
    with manager._LOCK:
        env, manager._ENV = manager._ENV, None
    if env is not None:
        try:
            env.close()
        except Exception:  # a full disk fails the close's checkpoint: dbt's error stands
            logging.getLogger(__name__).debug("closing dbt's warehouse", exc_info=True)


# A command handed this process's parse writes its run_results.json but not manifest.json:
# dbt's --write-json writes both, and serialising the manifest again (~0.3-0.7 s a command)
# writes what the parse already described. Nothing reads a home's manifest.json; the
# benchmark and the tests read run_results.json, which dbt's own code writes here.
def _write_run_results(result, target: Path) -> None:
    if result is not None and hasattr(result, "write"):
        target.mkdir(parents=True, exist_ok=True)
        result.write(str(target / "run_results.json"))


def _run_dbt_once(home: Path, args: list[str], vars: dict | None = None,
                  reuse_parse: bool = False) -> DbtResult:
    from dbt.cli.main import dbtRunner

    home = Path(home).resolve()
    os.environ["SUPPORT_BILLING_HOME"] = str(home)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    dbt_dir = home / ".dbt"
    flags = [
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(dbt_dir / "target"),
        "--log-path", str(dbt_dir / "logs"),
        "--quiet",
    ]
    if vars:
        flags += ["--vars", json.dumps(vars)]
    # profiles.yml names the warehouse relative to the home (see there)
    try:
        cwd = os.getcwd()
    except FileNotFoundError:  # the caller's folder was removed
        cwd = None
    saved_parse = dbt_dir / "target" / PARSE_FILE
    os.chdir(home)
    try:
        manifest = parsed_project(flags, saved_parse) if reuse_parse and not vars else None
        if manifest is None:  # dbt parses in this command: from the saved parse
            seed_parse(saved_parse)
            res = dbtRunner().invoke([*args, *flags])
        else:
            res = dbtRunner(manifest=manifest).invoke([*args, "--no-write-json", *flags])
            _write_run_results(res.result, dbt_dir / "target")
    finally:
        _release_warehouse()
        if cwd is not None:
            os.chdir(cwd)
    if manifest is None:
        keep_parse(saved_parse)
    failures: list[str] = []
    if res.result is not None and hasattr(res.result, "results"):
        for r in res.result.results:
            status = str(getattr(r, "status", "")).lower()
            if status in {"error", "fail", "runtimeerror"}:
                failures.append(f"{r.node.unique_id}: {failure_text(r.message or status)}")
    if res.exception is not None:
        failures.append(failure_text(str(res.exception)))
    return DbtResult(success=bool(res.success) and not failures, failures=failures)


def failure_text(message: str) -> str:
    """One line from a dbt error message. dbt heads a database's error with its kind and
    the node that failed ("Runtime Error in model invoice_lines (models/...)", or only
    "Runtime Error") and gives the cause on the next line ("IO Error: ... No space left on
    device"): both are kept, so the one line a failed run prints says what to act on."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if not lines:
        return ""
    heading = lines[0].endswith(" Error") or (" Error in " in lines[0]
                                              and lines[0].endswith(")"))
    return f"{lines[0]}: {lines[1]}" if heading and len(lines) > 1 else lines[0]


# What a build depends on. A model's table stays valid while the dbt sources it reads, the
# project's files and the current year (int_calendar_months reaches year(current_date) + 1)
# are unchanged. The marts hold every month (the month billed is a filter of the exports),
# so billing another month needs no build at all.
# A build rebuilds only what changed and what reads it: nothing when nothing changed,
# everything downstream of the changed sources after an ingest or a finalization, and
# everything when the project changed.
#
# Home-made, not dbt's state selection: `state:modified` compares the project's files only,
# never the data, and `source_status:fresher` needs a loaded-at column on every source and a
# `dbt source freshness` run per build. Row digests of the source tables cost ~0.1 s.
SOURCE_TABLES = (
    "raw.customers", "raw.subscriptions", "raw.tickets", "raw.timesheets",
    "raw.prepaid_hours", "raw.held_rows", "billing.finalized_months",
    "billing.finalized_invoices", "billing.finalized_invoice_lines",
    "billing.finalized_policies",
)
# Built tables checked for changes made outside dbt (the ones the flows read; hashing
# the multi-million-row intermediate tables too would cost a second per build).
BUILT_TABLES = (
    "main.price_book", "main.invoices", "main.invoice_lines", "main.prepaid_deductions",
    "main.fct_incidents", "main.customer_year_usage",
)
# What finalizing a month changes (R15): the adjustments, hence the invoices, of the months
# after it, which now compare with what it finalized.
FINALIZED_SELECTORS = (
    "source:billing.finalized_invoice_lines+", "source:billing.finalized_invoices+",
)
# Unit tests do not depend on the data; the analytics, review and statement marts are views
# whose data tests read every month and run with the project's own tests (a plain
# `dbt build`), not in every billing run (the gate checks the month billed).
BUILD_EXCLUDE = ["--exclude", "test_type:unit", "tag:analytics,resource_type:test",
                 "tag:statements,resource_type:test"]


def _table_digests(home: Path, tables: tuple[str, ...],
                   views: bool = False) -> dict[str, str] | None:
    """Per table: row count and an order-independent hash of every row (None: unknown);
    ``views``: also the names of the views in the warehouse (key "views")."""
    from support_billing.storage.warehouse import connect, warehouse_path

    if not warehouse_path(home).exists():
        return None
    con = connect(home, read_only=True)
    try:
        out = {}
        for table in tables:
            try:
                count, total = con.execute(
                    f"select count(*), coalesce(sum(hash(t)), 0) from {table} as t"
                ).fetchone()
            except Exception:  # table missing: not built yet
                return None
            out[table] = f"{count}:{total}"
        if views:
            out["views"] = " ".join(name for (name,) in con.execute(
                "select schema_name || '.' || view_name from duckdb_views() "
                "where not internal order by 1").fetchall())
        return out
    finally:
        con.close()


def _state_file(home: Path) -> Path:
    return Path(home) / ".dbt" / "last_build.json"


def _read_state(home: Path) -> dict:
    try:
        return json.loads(_state_file(home).read_text())
    except (OSError, ValueError):
        return {}


def plan_build(last: dict, now: dict, built_now: dict | None) -> list[str] | None:
    """What to rebuild since the last successful build: None = everything, [] = nothing,
    else dbt selectors (each with its descendants)."""
    if not last or now["sources"] is None or built_now is None:
        return None
    if last.get("project") != now["project"] or last.get("year") != now["year"]:
        return None
    if last.get("built") != built_now or not isinstance(last.get("sources"), dict):
        return None  # a built table was changed or dropped outside dbt
    selectors = [
        f"source:{table}+"
        for table in SOURCE_TABLES
        if last["sources"].get(table) != now["sources"][table]
    ]
    selectors += [s for s in last.get("pending", []) if s not in selectors]
    return selectors


# A build for new data (the project unchanged since the last successful build) leaves the
# views alone: a view stores its query, not rows, so the one in the warehouse already reads
# the new rows, and creating it again was 40% of a small build. Their data tests run.
# (plan_build compares the warehouse's views with the last build's, so a view dropped
# outside dbt brings a whole build.)
DATA_DRIVEN_KINDS = ("config.materialized:table", "resource_type:test", "resource_type:seed",
                     "resource_type:exposure")


def build(home: Path, reads: str | None = None) -> DbtResult:
    """`dbt build` (seeds, models, data tests) of every month, limited to what changed
    since the last successful build (see SOURCE_TABLES above).

    ``reads``: the one model the caller reads. When the only changes are a finalization's
    (``note_finalized``), just what it reads of them is built; the rest stays pending for
    the next build (docs/decisions.md, "Scale": a finalized month billed again)."""
    from datetime import date

    home = Path(home).resolve()
    now = {
        "project": project_digest(),
        "year": date.today().year,
        "sources": _table_digests(home, SOURCE_TABLES),
    }
    last = _read_state(home)
    plan = plan_build(last, now, _table_digests(home, BUILT_TABLES, views=True))
    if plan == []:
        return DbtResult(success=True, skipped=True)
    narrowed = bool(reads and plan and set(plan) <= set(last.get("pending", [])))
    args = ["build", *BUILD_EXCLUDE]
    if narrowed:
        args += ["--select", *(f"{selector},+{reads}" for selector in plan)]
    elif plan:
        args += ["--select", *(f"{selector},{kind}" for selector in plan
                               for kind in DATA_DRIVEN_KINDS)]
    result = run_dbt(home, args, reuse_parse=True)
    state = _state_file(home)
    if result.success and now["sources"] is not None:
        state.parent.mkdir(parents=True, exist_ok=True)
        now["built"] = _table_digests(home, BUILT_TABLES, views=True)
        if narrowed:
            now["pending"] = plan
        state.write_text(json.dumps(now))
    elif state.exists():
        state.unlink()
    result.selected = plan
    result.narrowed_to = reads if narrowed else None
    return result


def read_seed(name: str) -> list[dict[str, str]]:
    """A seed's rows as dicts (reference data shared by ingest and dbt)."""
    import csv

    with open(SEEDS_DIR / f"{name}.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def note_finalized(home: Path, period: str) -> None:
    """Keep the last build's bookkeeping right after ``period`` was finalized (R15).

    Finalizing writes billing.* rows. The incidents do not change with them (the R12 policy
    snapshot equals the current policies, and the invoice that charged an incident is read
    through a view), so the next build does not rebuild from fct_incidents on. The invoice
    marts' adjustments compare later months with what is finalized; they change only if
    the month finalized differs from its recomputation or carried adjustments itself.
    Otherwise (``_finalized_as_computed``) they stay as built and the next build rebuilds
    nothing; else it rebuilds the invoice marts (FINALIZED_SELECTORS)."""
    home = Path(home).resolve()
    last = _read_state(home)
    finalized = tuple(table for table in SOURCE_TABLES if table.startswith("billing."))
    sources = _table_digests(home, finalized)  # the raw tables are as the build saw them
    if not last or sources is None or not isinstance(last.get("sources"), dict):
        return
    last["sources"].update(sources)
    if not _finalized_as_computed(home, period):
        last["pending"] = sorted({*last.get("pending", []), *FINALIZED_SELECTORS})
    _state_file(home).write_text(json.dumps(last))


def _finalized_as_computed(home: Path, period: str) -> bool:
    """R15: adding ``period`` to the finalized months leaves every adjustment as it was when
    the month carries no adjustment line and each of its (customer, line type) amounts is
    what the rules compute now (int_finalized_differences is zero for it): it then adds no
    difference to compare and nothing already carried. False when unsure."""
    from support_billing.storage.warehouse import connect

    try:
        con = connect(home, read_only=True)
    except Exception:  # noqa: BLE001 - unsure: the next build rebuilds the invoice marts
        return False
    try:
        carried, differing = con.execute(
            """
            select
                (select count(*) from billing.finalized_invoice_lines as l
                 inner join main.line_types as t on l.line_type = t.line_type
                 where t.rule = 'R15' and l.period = $period),
                (select count(*) from main.int_finalized_differences
                 where adjusts_period = $period and difference <> 0)
            """, {"period": period}).fetchone()
        return carried == 0 and differing == 0
    except Exception:  # noqa: BLE001 - e.g. a home built before the view existed
        return False
    finally:
        con.close()
