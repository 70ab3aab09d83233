"""The review page, ``reports/[_preview/]review_YYYY-MM.html`` (SPEC R18).

One self-contained HTML file (inline CSS, inline SVG charts, no script, no network),
rendered with Jinja2 from ``templates/review.html.j2`` and the rows of
``review_data.py`` (every number computed by the ``review_*`` dbt models). A draft's page (R17) is
marked DRAFT in its title, banner and ``data-status``. The gate's checks are read from
the gate report JSON the billing flow wrote for the same run. The page carries the time
of the data (the last ingest), never the time it was rendered (R20), so the same data
gives the same bytes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from support_billing.reporting.review_data import page_data

TEMPLATE = "review.html.j2"
CHART_W, CHART_H, PAD = 720, 240, 40
# The line types' colours, in the line_types seed's R14 order (r14_order 1, 2, ...); a
# type without one (not in the seed, or past the palette) is grey. The names shown beside
# the colours are the seed's labels (review_trend_line_types).
LINE_TYPE_PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
                     "#bab0ac", "#b07aa1")
OTHER_COLOUR = "#888888"
FLAG_LABELS = {
    "big_change": "change over 50% and over 100.00",
    "credit_note": "credit note",
    "new_customer": "new customer",
    "not_invoiced": "invoiced last month, not now",
    "held_rows": "held rows",
}


def review_page_path(home: Path, period: str, preview: bool) -> Path:
    base = Path(home) / "reports"
    return (base / "_preview" if preview else base) / f"review_{period}.html"


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("support_billing", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def line_type_colour(r14_order: int) -> str:
    """The chart colour of the line type at ``r14_order`` in the seed."""
    if 1 <= r14_order <= len(LINE_TYPE_PALETTE):
        return LINE_TYPE_PALETTE[r14_order - 1]
    return OTHER_COLOUR


def _scale(top: float, bottom: float):
    """Value -> y pixel, for a chart spanning ``bottom``..``top`` (0 always visible)."""
    top, bottom = max(top, 0.0), min(bottom, 0.0)
    span = (top - bottom) or 1.0
    return lambda v: PAD / 2 + (top - v) * (CHART_H - PAD) / span


def line_type_chart(months: list[str], monthly: list[dict], totals: list[dict]) -> dict:
    """Stacked bars (bases from SQL) as SVG rectangles."""
    y = _scale(max([t["up_f"] for t in totals] + [0.0]),
               min([t["down_f"] for t in totals] + [0.0]))
    step = (CHART_W - PAD) / max(len(months), 1)
    index = {m: i for i, m in enumerate(months)}
    rects = []
    for r in monthly:
        y0, y1 = y(r["base_f"]), y(r["base_f"] + r["amount_f"])
        rects.append({
            "x": round(PAD + index[r["period"]] * step + step * 0.15, 1),
            "y": round(min(y0, y1), 1), "w": round(step * 0.7, 1),
            "h": round(max(abs(y1 - y0), 0.5), 1),
            "fill": line_type_colour(r["r14_order"]),
            "title": f"{r['period']} {r['label']}: {r['amount']} ({r['source']})",
        })
    labels = [{"x": round(PAD + i * step + step / 2, 1), "text": m[2:]}
              for i, m in enumerate(months)]
    used = sorted({(r["r14_order"], r["line_type"], r["label"]) for r in monthly})
    legend = [{"label": label, "fill": line_type_colour(order)} for order, _t, label in used]
    tallest = max(totals, key=lambda t: t["up_f"], default=None)
    top = None
    if tallest is not None and tallest["up_f"] > 0:  # the y axis: its highest bar, in USD
        top = {"y": round(y(tallest["up_f"]), 1), "text": tallest["up"]}
    return {"rects": rects, "labels": labels, "legend": legend, "zero": round(y(0.0), 1),
            "top": top, "width": CHART_W, "height": CHART_H}


def overage_chart(totals: list[dict]) -> dict:
    y = _scale(float(max([t["overage_incidents"] for t in totals] + [1])), 0.0)
    step = (CHART_W - PAD) / max(len(totals), 1)
    bars = [{
        "x": round(PAD + i * step + step * 0.15, 1), "w": round(step * 0.7, 1),
        "y": round(y(float(t["overage_incidents"])), 1),
        "h": round(y(0.0) - y(float(t["overage_incidents"])), 1),
        "label_x": round(PAD + i * step + step / 2, 1), "period": t["period"],
        "value": t["overage_incidents"],
    } for i, t in enumerate(totals)]
    return {"bars": bars, "zero": round(y(0.0), 1), "width": CHART_W, "height": CHART_H}


def data_docs_links(report: dict, home: Path, period: str, preview: bool) -> dict:
    """{suite: link} to the month's GX Data Docs pages, relative to the page's folder so
    they open from disk (the report stores them relative to HOME/reports, gate_gx.py)."""
    folder = review_page_path(home, period, preview).parent
    reports = Path(home) / "reports"
    return {suite: Path(os.path.relpath(reports / page, folder)).as_posix()
            for suite, page in (report.get("data_docs") or {}).items()}


def gate_checks(report_json: Path | None, home: Path | None = None, period: str = "",
                preview: bool = False) -> dict:
    """Every check of the gate report the run wrote (gate.write_reports)."""
    if report_json is None or not Path(report_json).exists():
        return {"available": False, "success": None, "suites": [], "path": str(report_json),
                "data_docs": {}}
    report = json.loads(Path(report_json).read_text(encoding="utf-8"))
    return {"available": True, "success": report.get("success"),
            "suites": report.get("suites", []), "path": str(report_json),
            "data_docs": data_docs_links(report, home, period, preview) if home else {}}


def render_review(con, home: Path, period: str, preview: bool,
                  report_json: Path | None) -> str:
    data = page_data(con, period, preview)
    months = [t["period"] for t in data["month_totals"]]  # the charts' twelve months
    from support_billing.reporting.rejected import rejected_rows_path

    template = _environment().get_template(TEMPLATE)
    return template.render(
        period=period, draft=preview, flag_labels=FLAG_LABELS,
        line_chart=line_type_chart(months, data["monthly"], data["month_totals"]),
        overage=overage_chart(data["month_totals"]),
        gate=gate_checks(report_json, home, period, preview),
        rejected_file=str(rejected_rows_path(home)), **data)


def write_review_page(home: Path, con, period: str, preview: bool,
                      report_json: Path | None) -> Path:
    """Render and write the page atomically; returns its path."""
    path = review_page_path(home, period, preview)
    path.parent.mkdir(parents=True, exist_ok=True)
    html = render_review(con, home, period, preview, report_json)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(html, encoding="utf-8", newline="\n")
    os.replace(tmp, path)
    return path
