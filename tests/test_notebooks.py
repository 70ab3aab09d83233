"""The analysts' notebooks run top to bottom, headless, against a freshly built warehouse.

Each notebook is executed with nbclient (kernel ``python3``) with its parameters injected
after the cell tagged ``parameters`` (as papermill does). A last cell, appended by the
test, reports what the notebook computed as JSON; the figures are checked against values
the test computes independently from the known dataset (test_analytics_marts.py), and the
notebook's PNG must exist.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

# the shared dataset and warehouse (pytest puts tests/ on sys.path)
from test_analytics_marts import (  # noqa: E402
    ALLOTMENT,
    YEAR,
    expected_billable_by_customer,
    expected_response_times,
    shared_analytics_home,
    tickets,
)

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
REPORT_MARKER = "@@notebook-report@@"


@pytest.fixture(scope="module")
def notebook_home(tmp_path_factory) -> Path:
    """A freshly built warehouse with the known dataset (shared with
    test_analytics_marts.py when both run in one session: the notebooks only read)."""
    return shared_analytics_home(tmp_path_factory)


def run_notebook(name: str, params: dict, report_expr: str, workdir: Path) -> dict:
    """Execute notebooks/NAME with PARAMS injected; return the JSON of REPORT_EXPR
    evaluated in the notebook's namespace after its last cell."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    for cell in nb.cells:  # committed with outputs cleared
        if cell.cell_type == "code":
            assert not cell.get("outputs"), f"{name}: commit the notebook with outputs cleared"
    index = next(
        i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])
    )
    injected = "\n".join(f"{key} = {value!r}" for key, value in params.items())
    cell = nbformat.v4.new_code_cell(injected)
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(index + 1, cell)
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "import json as _json\n"
            f"print({REPORT_MARKER!r} + _json.dumps({report_expr}, default=str))"
        )
    )
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(workdir)}}
    )
    client.execute()
    for output in nb.cells[-1].outputs:
        text = output.get("text", "")
        if REPORT_MARKER in text:
            return json.loads(text.split(REPORT_MARKER, 1)[1])
    raise AssertionError(f"{name}: no report from the last cell")


def test_incident_usage_notebook(notebook_home, tmp_path):
    out = tmp_path / "charts"
    report = run_notebook(
        "incident_usage.ipynb",
        {"home": str(notebook_home), "year": YEAR, "as_of": "2026-12-31", "output_dir": str(out)},
        "{'year': year, 'top_customer': top_customer, 'usage': usage.to_dict('records'),"
        " 'closest': list(closest['customer_id']), 'exhausted': exhausted,"
        " 'overage_total': float(overage['revenue'].sum()),"
        " 'upfront_by_month': revenue['upfront'].to_dict(), 'expiring_total': expiring_total,"
        " 'png': str(png)}",
        tmp_path,
    )
    billable = expected_billable_by_customer()
    assert report["year"] == YEAR
    assert report["top_customer"] == max(billable, key=billable.get) == "A"
    usage = {r["customer_id"]: r for r in report["usage"]}
    assert {c: usage[c]["billable_incidents"] for c in billable} == billable
    assert {c: usage[c]["allotment"] for c in ALLOTMENT} == ALLOTMENT
    assert report["closest"] == ["D", "C"]  # A and B have none left
    assert report["exhausted"] == 2
    # up front: B's 5th incident, October, 150.00; subscription: A's 2 added incidents at
    # 10.00 a month, July-December (R12)
    assert report["upfront_by_month"]["2026-10"] == pytest.approx(150.0)
    assert report["overage_total"] == pytest.approx(150.0 + 2 * 10.0 * 6)
    # on Dec 31 what is forecast to expire is what expires (R11): sum of unused allotment
    assert report["expiring_total"] == sum(
        max(0, a - billable.get(c, 0)) for c, a in ALLOTMENT.items()
    )
    png = Path(report["png"])
    assert png == out / f"incident_usage_{YEAR}.png"
    assert png.exists() and png.stat().st_size > 10_000


def test_response_times_notebook(notebook_home, tmp_path):
    out = tmp_path / "charts"
    report = run_notebook(
        "response_times.ipynb",
        {"home": str(notebook_home), "year": None, "output_dir": str(out)},
        "{'year': year, 'share_within': float(share_within), 'answered': len(rt),"
        " 'monthly': monthly.to_dict('records'), 'slowest': slowest.to_dict('records'),"
        " 'png': str(png)}",
        tmp_path,
    )
    expected = expected_response_times()
    assert report["year"] == YEAR  # year None: the year with the most tickets
    assert report["answered"] == len(expected)
    promise = 24 * 3600
    assert report["share_within"] == pytest.approx(
        sum(s <= promise for s in expected.values()) / len(expected)
    )
    # one month, computed independently: March
    march = [
        expected[t["ticket_id"]]
        for t in tickets()
        if t["ticket_id"] in expected and t["opened_local"].strftime("%Y-%m") == "2026-03"
    ]
    row = next(r for r in report["monthly"] if r["period"] == "2026-03")
    assert row["tickets"] == len(march)
    assert row["share_within_promise"] == pytest.approx(
        sum(s <= promise for s in march) / len(march)
    )
    slowest_id, slowest_secs = max(expected.items(), key=lambda kv: (kv[1], kv[0]))
    top = report["slowest"][0]
    assert top["business_hours"] == pytest.approx(round(slowest_secs / 3600, 2))
    assert expected[top["ticket_id"]] == slowest_secs
    assert isinstance(datetime.fromisoformat(str(top["opened_at_local"])), datetime)
    png = Path(report["png"])
    assert png == out / f"response_times_{YEAR}.png"
    assert png.exists() and png.stat().st_size > 10_000
