"""The quality gate: Great Expectations 1.x suites over the month's invoices and lines.

The suites are JSON files in ``expectations/`` (reviewed like code). They run in an
ephemeral GX context against pandas DataFrames built here from the warehouse rows. Checks
that span rows or tables (gaps in numbering, totals = sum of lines, prices in force, the
incident-ledger reconciliation) are computed here as plain columns (``expected_*``,
``*_minus_*``, booleans) that the suites then expect to be equal / 0 / true. GX does not
raise on failed expectations: the gate acts on ``success``.

Placeholders in the suite files: ``{{period}}`` (YYYY-MM) and ``{{yyyymm}}``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from . import periods
from .exporters import LINE_TYPE_ORDER, WHOLE_QUANTITY_TYPES, dec

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
SUITES = ("invoices", "invoice_lines", "incident_reconciliation")

RULE_OF_LINE_TYPE = {
    "support_subscription": "R7",
    "additional_incident_subscription": "R12",
    "additional_incident_upfront": "R12",
    "implementation_hours": "R13",
    "training_hours": "R13",
    "custom_development_hours": "R13",
    "prepaid_hours_deduction": "R13",
    "prior_period_adjustment": "R15",
}
RATE_LINE_TYPES = ("support_subscription", "additional_incident_subscription")
NORMAL_LINE_TYPES = tuple(t for t in LINE_TYPE_ORDER if t != "prior_period_adjustment")
CENT = Decimal("0.01")


@dataclass
class GateInputs:
    """Everything the gate looks at, as plain rows (Decimal amounts, dates)."""

    period: str
    invoices: list[dict]
    lines: list[dict]
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


# ---------------------------------------------------------------- price book
def price_in_force(price_book: list[dict], key: str, on: date) -> Decimal | None:
    """The latest row of ``key`` with effective_from on or before ``on``."""
    best = None
    for row in price_book:
        eff = row["effective_from"]
        eff = date.fromisoformat(str(eff)[:10]) if not isinstance(eff, date) else eff
        if row["price_key"] == key and eff <= on and (best is None or eff > best[0]):
            best = (eff, dec(row["value"]))
    return None if best is None else best[1]


def _text(d) -> str | None:
    if d is None:
        return None
    if isinstance(d, Decimal):
        return format(d, "f")
    return str(d)


def _round(d: Decimal) -> Decimal:
    return d.quantize(CENT, rounding=ROUND_HALF_UP)


# ---------------------------------------------------------------- computed frames
def invoice_frame(inp: GateInputs):
    import pandas as pd

    p = inp.period
    last = periods.last_day(p)
    terms = price_in_force(inp.price_book, "payment_terms_days", last)
    expected_due = (last + timedelta(days=int(terms))).isoformat() if terms is not None else None
    lines_by_inv: dict[str, list[dict]] = {}
    for ln in inp.lines:
        lines_by_inv.setdefault(ln["invoice_number"], []).append(ln)

    def expected_type(inv):
        return "credit_note" if dec(inv["total"]) < 0 else "invoice"

    expected_number: dict[int, str] = {}
    for doc_type, prefix in (("invoice", "INV"), ("credit_note", "CN")):
        members = sorted(
            (i for i, inv in enumerate(inp.invoices) if expected_type(inv) == doc_type),
            key=lambda i: (str(inp.invoices[i]["customer_id"]), i),
        )
        for n, i in enumerate(members, start=1):
            expected_number[i] = f"{prefix}-{periods.compact(p)}-{n:05d}"

    rows = []
    for i, inv in enumerate(inp.invoices):
        its = lines_by_inv.get(inv["invoice_number"], [])
        diff = dec(inv["total"]) - sum((dec(ln["amount"]) for ln in its), Decimal("0"))
        rows.append({
            "invoice_number": inv["invoice_number"],
            "expected_invoice_number": expected_number[i],
            "document_type": inv["document_type"],
            "expected_document_type": expected_type(inv),
            "customer_id": inv["customer_id"],
            "customer_known": inv["customer_id"] in inp.known_customers,
            "period": inv["period"],
            "total_text": _text(inv["total"]),
            "total_minus_sum_of_lines_cents": float(diff * 100),
            "line_count_minus_lines": int(inv["line_count"] or 0) - len(its),
            "has_non_zero_line": any(dec(ln["amount"]) != 0 for ln in its),
            "invoice_date_text": _text(inv["invoice_date"])[:10],
            "expected_invoice_date": last.isoformat(),
            "due_date_text": _text(inv["due_date"])[:10],
            "expected_due_date": expected_due,
            "currency": inv.get("currency"),
        })
    columns = list(rows[0]) if rows else [
        "invoice_number", "expected_invoice_number", "document_type", "expected_document_type",
        "customer_id", "customer_known", "period", "total_text", "total_minus_sum_of_lines_cents",
        "line_count_minus_lines", "has_non_zero_line", "invoice_date_text",
        "expected_invoice_date", "due_date_text", "expected_due_date", "currency",
    ]
    return pd.DataFrame(rows, columns=columns, dtype=object)


def _adjustment_ok(ln: dict, period: str) -> bool:
    q, p, a = dec(ln["quantity"]), dec(ln["unit_price"]), dec(ln["amount"])
    src = ln.get("source_ref") or ""
    m = re.match(r"^(\d{4}-\d{2}):([^:]*):([a-z_]+)$", src)
    if not m:
        return False
    adj_period = ln.get("adjusts_period") or m.group(1)
    adj_type = ln.get("adjusts_line_type") or m.group(3)
    return (
        q == 1 and p == a and a != 0
        and adj_period == m.group(1) and adj_type == m.group(3)
        and bool(periods.PERIOD_RE.match(adj_period)) and adj_period < period
        and adj_type in NORMAL_LINE_TYPES
    )


def line_frame(inp: GateInputs):
    import pandas as pd

    first = periods.first_day(inp.period)
    rates = {price_in_force(inp.price_book, k, first)
             for k in ("incident_rate_tier_1_2", "incident_rate_tier_3_plus")} - {None}
    upfront = price_in_force(inp.price_book, "upfront_incident", first)
    hourly = price_in_force(inp.price_book, "hourly_rate", first)
    invoices = {inv["invoice_number"]: inv for inv in inp.invoices}
    numbers_by_inv: dict[str, list[int]] = {}
    rate_by_customer: dict[str, set] = {}
    for ln in inp.lines:
        numbers_by_inv.setdefault(ln["invoice_number"], []).append(int(ln["line_number"]))
        if ln["line_type"] in RATE_LINE_TYPES:
            rate_by_customer.setdefault(ln["customer_id"], set()).add(dec(ln["unit_price"]))
    rank = {
        (num, n): i
        for num, ns in numbers_by_inv.items()
        for i, n in enumerate(sorted(ns), start=1)
    }

    rows = []
    for ln in inp.lines:
        t = ln["line_type"]
        q, p, a = dec(ln["quantity"]), dec(ln["unit_price"]), dec(ln["amount"])
        adj = t == "prior_period_adjustment"
        inv = invoices.get(ln["invoice_number"])
        if adj:
            price_ok = None
        elif t in RATE_LINE_TYPES:
            price_ok = p in rates
        elif t == "additional_incident_upfront":
            price_ok = p == upfront
        elif t in ("implementation_hours", "training_hours", "custom_development_hours"):
            price_ok = p == hourly
        elif t == "prepaid_hours_deduction":
            price_ok = p == 0
        else:
            price_ok = None  # an unknown type fails the line-type check
        if adj or t not in RULE_OF_LINE_TYPE:
            consistent = None
        elif t == "support_subscription":
            consistent = Decimal("0") <= a <= _round(q * p)
        elif t == "prepaid_hours_deduction":
            consistent = a == 0
        else:
            consistent = a == _round(q * p)
        rows.append({
            "line_id": f"{ln['invoice_number']}#{ln['line_number']}",
            "invoice_number": ln["invoice_number"],
            "invoice_known": inv is not None,
            "line_number": int(ln["line_number"]),
            "expected_line_number": rank[(ln["invoice_number"], int(ln["line_number"]))],
            "customer_matches_invoice": inv is not None and inv["customer_id"] == ln["customer_id"],
            "line_type": t,
            "rule": ln["rule"],
            "expected_rule": RULE_OF_LINE_TYPE.get(t),
            "amount_text": _text(ln["amount"]),
            "unit_price_text": _text(ln["unit_price"]),
            "quantity_cents": float(q * 100),
            "incident_quantity_whole": (q == q.to_integral_value())
            if t in WHOLE_QUANTITY_TYPES else None,
            "non_adjustment_amount_cents": None if adj else float(a * 100),
            "unit_price_in_force": price_ok,
            "one_rate_per_customer": len(rate_by_customer.get(ln["customer_id"], ())) == 1
            if t in RATE_LINE_TYPES else None,
            "amount_consistent": consistent,
            "adjustment_well_formed": _adjustment_ok(ln, inp.period) if adj else None,
        })
    columns = list(rows[0]) if rows else [
        "line_id", "invoice_number", "invoice_known", "line_number", "expected_line_number",
        "customer_matches_invoice", "line_type", "rule", "expected_rule", "amount_text",
        "unit_price_text", "quantity_cents", "incident_quantity_whole",
        "non_adjustment_amount_cents", "unit_price_in_force", "one_rate_per_customer",
        "amount_consistent", "adjustment_well_formed",
    ]
    df = pd.DataFrame(rows, columns=columns, dtype=object)
    for col in ("line_number", "expected_line_number"):
        df[col] = df[col].astype("int64")
    return df


def reconciliation_frame(inp: GateInputs):
    import pandas as pd

    invoiced: dict[str, Decimal] = {}
    for ln in inp.lines:
        if ln["line_type"] == "additional_incident_upfront":
            invoiced[ln["customer_id"]] = invoiced.get(ln["customer_id"], Decimal("0")) + dec(
                ln["quantity"])
    rows = []
    for cust in sorted(set(invoiced) | set(inp.upfront_ledger)):
        inv_q = invoiced.get(cust, Decimal("0"))
        led = int(inp.upfront_ledger.get(cust, 0))
        rows.append({
            "customer_id": cust,
            "upfront_quantity_invoiced": float(inv_q),
            "upfront_incidents_in_ledger": led,
            "invoiced_minus_ledger": float(inv_q - led),
        })
    columns = ["customer_id", "upfront_quantity_invoiced", "upfront_incidents_in_ledger",
               "invoiced_minus_ledger"]
    return pd.DataFrame(rows, columns=columns, dtype=object)


# ---------------------------------------------------------------- suites
def load_suite_dict(name: str, period: str, directory: Path | None = None) -> dict:
    """A suite file with its placeholders filled for the period."""
    raw = (Path(directory or EXPECTATIONS_DIR) / f"{name}.json").read_text(encoding="utf-8")
    raw = raw.replace("{{yyyymm}}", periods.compact(period)).replace("{{period}}", period)
    return json.loads(raw)


def _quiet_gx() -> None:
    """No analytics, no progress bars, no INFO chatter (e.g. the ephemeral docs site)."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    import logging

    import great_expectations  # noqa: F401 - configures its loggers on import

    for name in ("great_expectations", "great_expectations.data_context.types.base"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _validate(frames: dict, period: str, directory: Path | None) -> dict[str, list[dict]]:
    """Run each suite against its frame in an ephemeral context; per-suite check rows."""
    _quiet_gx()
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("billing_gate")
    out: dict[str, list[dict]] = {}
    for name, (frame, label_col) in frames.items():
        spec = load_suite_dict(name, period, directory)
        suite = context.suites.add(gx.ExpectationSuite(
            name=spec["name"], expectations=spec["expectations"], meta=spec.get("meta", {})))
        asset = source.add_dataframe_asset(name=name)
        batch_def = asset.add_batch_definition_whole_dataframe(f"{name}_month")
        vd = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{name}_{period}", data=batch_def, suite=suite))
        result = vd.run(batch_parameters={"dataframe": frame},
                        result_format={"result_format": "SUMMARY"})
        checks = []
        for r in result.results:
            cfg = r.expectation_config
            kwargs = {k: v for k, v in cfg.kwargs.items() if k != "batch_id"}
            res = r.result or {}
            idx = res.get("partial_unexpected_index_list") or []
            labels = []
            for i in idx[:20]:
                try:
                    labels.append(str(frame.iloc[int(i)][label_col]))
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
        out[name] = checks
    return out


def run_gate(inp: GateInputs, directory: Path | None = None) -> GateResult:
    """Validate the month's documents; never raises on failed checks."""
    frames = {
        "invoices": (invoice_frame(inp), "invoice_number"),
        "invoice_lines": (line_frame(inp), "line_id"),
        "incident_reconciliation": (reconciliation_frame(inp), "customer_id"),
    }
    checks = _validate(frames, inp.period, directory)
    failed = []
    for suite, rows in checks.items():
        for c in rows:
            if not c["success"]:
                n = c["unexpected_count"]
                failed.append(f"{suite}: {c['check']}" + (f" ({n} rows)" if n else ""))
    success = not failed
    report = {
        "period": inp.period,
        "success": success,
        "failed_checks": failed,
        "suites": [
            {"name": name, "success": all(c["success"] for c in rows), "checks": rows}
            for name, rows in checks.items()
        ],
        "counts": {
            "invoices": len(inp.invoices),
            "invoice_lines": len(inp.lines),
        },
    }
    return GateResult(inp.period, success, list(checks), failed, report)


# ---------------------------------------------------------------- reports
def render_markdown(report: dict) -> str:
    lines = [f"# Quality report {report['period']}", ""]
    lines.append(f"Quality gate: **{'passed' if report['success'] else 'FAILED'}**")
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
    "EXPECTATIONS_DIR", "GateInputs", "GateResult", "SUITES",
    "load_suite_dict", "price_in_force", "run_gate", "render_markdown", "write_reports",
]
