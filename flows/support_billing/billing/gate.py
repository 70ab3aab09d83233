"""The quality gate: Great Expectations 1.x suites over the month's invoices and lines.

The suites are JSON files in ``expectations/`` (reviewed like code). They run in an
ephemeral GX context against pandas DataFrames computed in DuckDB (``gate_sql.py``): checks
that span rows or tables (gaps in numbering, totals = sum of lines, prices in force, the
incident-ledger reconciliation) are plain columns (``expected_*``, ``*_minus_*``, booleans)
that the suites then expect to be equal / 0 / true. GX does not raise on failed
expectations: the gate acts on ``success``.

Two entry points share that SQL: ``run_gate_on(con, period)`` reads the warehouse (the
billing flow), ``run_gate(GateInputs)`` hand-made rows (tests).

The period reaches the suites as expectation suite parameters (``suite_parameters``:
``{"$PARAMETER": "period_values"}`` etc. in an expectation's kwargs), supplied at each
checkpoint run; the suite files are never edited per run. Validation definitions,
checkpoints, stored results and Data Docs: ``gate_gx.py``.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from support_billing import periods
from support_billing.billing import gate_sql
from support_billing.exports.writers import dec

PROJECT_ROOT = Path(__file__).resolve().parents[3]
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
SUITES = ("invoices", "invoice_lines", "incident_reconciliation")


@dataclass
class GateInputs:
    """Hand-made rows for ``run_gate``: plain dicts shaped like the warehouse's rows."""

    period: str
    invoices: list[dict]                        # main.invoices columns
    lines: list[dict]                           # main.invoice_lines columns
    known_customers: set[str]
    price_book: list[dict]                      # price_key, effective_from, value
    upfront_ledger: dict[str, int] = field(default_factory=dict)  # customer -> incidents


@dataclass
class GateResult:
    period: str
    success: bool
    suites: list[str]
    failed_checks: list[str]
    report: dict

    def summary(self) -> dict:
        """What goes into manifest.json: suite names and the result."""
        return {"suites": list(self.suites), "success": self.success}


def price_in_force(price_book: list[dict], key: str, on: date) -> Decimal | None:
    """The latest row of ``key`` with effective_from on or before ``on`` (section 2); the
    gate's SQL (``gate_sql.PRICES``) applies the same rule."""
    best = None
    for row in price_book:
        eff = row["effective_from"]
        eff = date.fromisoformat(str(eff)[:10]) if not isinstance(eff, date) else eff
        if row["price_key"] == key and eff <= on and (best is None or eff > best[0]):
            best = (eff, dec(row["value"]))
    return None if best is None else best[1]


# ---------------------------------------------------------------- suites
def suite_parameters(period: str) -> dict:
    """The expectation suite parameters of a month's run (R14: numbers and period)."""
    return {
        "period": period,
        "period_values": [period],
        "invoice_number_regex": f"^(?:INV|CN)-{periods.compact(period)}-[0-9]{{5}}$",
    }


def load_suite_dict(name: str, period: str | None = None, directory: Path | None = None) -> dict:
    """A suite file as stored: the period is not written into it but supplied at run time
    as suite parameters (``suite_parameters``); ``period`` is accepted for callers that
    name the month they validate."""
    raw = (Path(directory or EXPECTATIONS_DIR) / f"{name}.json").read_text(encoding="utf-8")
    return json.loads(raw)


# ---------------------------------------------------------------- Great Expectations
_preload_lock = threading.Lock()
_preload: threading.Thread | None = None


def _quiet_gx() -> None:
    """Import GX with no analytics and no INFO chatter (e.g. the ephemeral docs site)."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    import logging

    import great_expectations  # noqa: F401 - configures its loggers on import

    for name in ("great_expectations", "great_expectations.data_context.types.base"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _import_in_background() -> None:
    try:
        _quiet_gx()
    except Exception:  # noqa: BLE001 - the gate imports again and reports the error itself
        pass


def preload() -> None:
    """Start importing Great Expectations (~2 s) in a background thread so that the import
    overlaps the dbt build (``billing._bill``); the gate then waits for it. Idempotent.

    Safe against import-lock deadlocks: the modules that both GX and a dbt build import
    (measured with GX 1.24 / dbt 1.11: pandas, pyarrow, requests and what it imports,
    email.policy) are imported first, here in the calling thread. The background thread
    then only loads modules that the build does not (leaves like an ``encodings`` codec
    aside), so no two threads ever wait on each other's module locks (Python 3.11 raises
    ``_DeadlockError`` on a concurrent circular import). Nothing is printed: a failed
    background import is left to the gate, which imports again and reports it."""
    global _preload
    with _preload_lock:
        if _preload is None:
            import email.policy  # noqa: F401

            import pandas  # noqa: F401
            import pyarrow  # noqa: F401
            import requests  # noqa: F401

            _preload = threading.Thread(target=_import_in_background, name="gx-import",
                                        daemon=True)
            _preload.start()


def _gx():
    """The ``great_expectations`` module, once imported (waiting for a preload)."""
    with _preload_lock:
        thread = _preload
    if thread is not None:
        thread.join()
    _quiet_gx()
    import great_expectations as gx

    return gx


def _validate(frames: dict, period: str, directory: Path | None) -> dict[str, list[dict]]:
    """Per-suite check rows in an ephemeral context (``_run_checkpoints``)."""
    return _run_checkpoints(frames, period, directory)[0]


def _run_checkpoints(frames: dict, period: str, directory: Path | None,
                     store: dict | None = None) -> tuple[dict[str, list[dict]], dict[str, str]]:
    """Run each suite's checkpoint against its frame; per-suite check rows and the Data
    Docs pages ({suite: path relative to the reports folder}, empty without ``store``).

    ``frames``: {suite: (DataFrame, label column)}; a failed check lists the label of (up
    to 20 of) its failing rows. ``store``: {home, preview, data_time} keeps
    the results in ``HOME/gx`` and builds Data Docs (gate_gx.py); None: ephemeral."""
    from support_billing.billing import gate_gx
    gx = _gx()
    ctx = gate_gx.context(gx, Path(store["home"]) if store else None)
    run_id = gate_gx.run_id(period, bool(store and store.get("preview")),
                            gate_gx.run_time(period, (store or {}).get("data_time")))
    params = suite_parameters(period)
    out: dict[str, list[dict]] = {}
    keys = []
    for name, (frame, label_col) in frames.items():
        cp = gate_gx.checkpoint(gx, ctx, name, load_suite_dict(name, period, directory))
        run = cp.run(batch_parameters={"dataframe": frame}, expectation_parameters=params,
                     run_id=run_id)
        (key, result), = run.run_results.items()
        keys.append(key)
        out[name] = _check_rows(result, frame[label_col])
    pages = gate_gx.build_docs(ctx, keys, store.get("preview")) if store else {}
    return out, pages


def _check_rows(result, labels_of) -> list[dict]:
    checks = []
    for r in result.results:
        cfg = r.expectation_config
        kwargs = {k: v for k, v in cfg.kwargs.items() if k != "batch_id"}
        res = r.result or {}
        idx = res.get("partial_unexpected_index_list") or []
        labels = []
        for i in idx[:20]:
            try:
                label = labels_of.iloc[int(i)]
                labels.append("None" if label is None or label != label else str(label))
            except Exception:  # index shapes vary by expectation type
                labels.append(str(i))
        exc = (r.exception_info or {}) if isinstance(r.exception_info, dict) else {}
        checks.append({
            "check": (cfg.meta or {}).get("check", cfg.type),
            "rule": (cfg.meta or {}).get("rule"),
            "expectation": cfg.type,
            "kwargs": json.loads(json.dumps(kwargs, default=str)),
            "success": bool(r.success),
            "element_count": res.get("element_count"),
            "unexpected_count": res.get("unexpected_count"),
            "unexpected_rows": sorted(set(labels)),
            "error": exc.get("exception_message") if exc.get("raised_exception") else None,
        })
    return checks


def _result(period: str, frames: dict, directory: Path | None,
            store: dict | None = None) -> GateResult:
    checks, pages = _run_checkpoints(frames, period, directory, store)
    failed = []
    for suite, rows in checks.items():
        for c in rows:
            if not c["success"]:
                n = c["unexpected_count"]
                failed.append(f"{suite}: {c['check']}" + (f" ({n} rows)" if n else ""))
    success = not failed
    report = {
        "period": period,
        "success": success,
        "failed_checks": failed,
        "suites": [
            {"name": name, "success": all(c["success"] for c in rows), "checks": rows}
            for name, rows in checks.items()
        ],
        "counts": {
            "invoices": len(frames["invoices"][0]),
            "invoice_lines": len(frames["invoice_lines"][0]),
        },
    }
    if pages:  # R18: the review page links each suite's Data Docs page
        report["data_docs"] = pages
    return GateResult(period, success, list(checks), failed, report)


def run_gate_on(con, period: str, directory: Path | None = None,
                statements: bool = False, store: dict | None = None) -> GateResult:
    """Validate the month's documents as built in the warehouse (``con``: a connection to
    it, read-only is enough); ``statements``: also the customer statements' suites
    (``statement_totals``, ``statement_incidents``, section 5); ``store``: keep the
    results and build Data Docs (``_validate``). Never raises on failed checks."""
    return _result(period, gate_sql.warehouse_frames(con, period, statements), directory,
                   store)


def run_gate(inp: GateInputs, directory: Path | None = None) -> GateResult:
    """Validate hand-made rows (loaded into an in-memory DuckDB first, then the same SQL as
    ``run_gate_on``); never raises on failed checks."""
    return _result(inp.period, gate_sql.loaded_frames(inp), directory)


# ---------------------------------------------------------------- reports
def render_markdown(report: dict) -> str:
    lines = [f"# Quality report {report['period']}", ""]
    lines.append(f"Quality gate: **{'passed' if report['success'] else 'FAILED'}**")
    lines.append("")
    if report.get("data_time"):  # R20: the data the report shows is that of the last ingest
        lines.append(f"Data as of {report['data_time']} (last ingest).")
        lines.append("")
    for suite in report.get("suites", []):
        lines.append(f"## Suite `{suite['name']}`: {'passed' if suite['success'] else 'FAILED'}")
        lines.append("")
        for c in suite["checks"]:
            mark = "ok  " if c["success"] else "FAIL"
            extra = ""
            if not c["success"]:
                extra = f" - {c['unexpected_count'] or 0} rows"
                if c["unexpected_rows"]:
                    extra += ": " + ", ".join(c["unexpected_rows"][:10])
                if c.get("error"):
                    extra += f" (error: {c['error']})"
            lines.append(f"- {mark} {c['check']} ({c['rule']}){extra}")
        lines.append("")
    findings = report.get("findings") or {}
    if findings:
        lines.append("## Findings (not part of the gate)")
        lines.append("")
        hw = findings.get("hourly_work_without_hours", [])
        lines.append(f"### hourly_work tickets with no billable hours: {len(hw)}")
        for t in hw:
            lines.append(f"- {t['ticket_id']} ({t['customer_id']}, opened {t['opened_date']}, "
                         f"{t['category']})")
        held = findings.get("held_rows", [])
        lines.append("")
        lines.append(f"### held ingest rows (R-IN5): {len(held)}")
        for h in held:
            lines.append(f"- {h['kind']} {h['row_key']} from {h['file_name']} line "
                         f"{h['line_number']}: {h['reason']}")
        lines.append("")
    return "\n".join(lines) + "\n"


def write_reports(report: dict, reports_dir: Path, period: str) -> tuple[Path, Path]:
    """``quality_YYYY-MM.json`` and ``quality_YYYY-MM.md`` under ``reports_dir``."""
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for suffix, data in (
        ("json", json.dumps(report, sort_keys=True, indent=2, default=str) + "\n"),
        ("md", render_markdown(report)),
    ):
        path = reports_dir / f"quality_{period}.{suffix}"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(data, encoding="utf-8", newline="\n")
        os.replace(tmp, path)
        out.append(path)
    return out[0], out[1]


__all__ = [
    "EXPECTATIONS_DIR", "GateInputs", "GateResult", "SUITES", "load_suite_dict", "preload",
    "price_in_force", "run_gate", "run_gate_on", "render_markdown", "suite_parameters",
    "write_reports",
]
