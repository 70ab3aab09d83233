"""The analysts' notebooks run top to bottom through the real kernel (papermill, as an
analyst or a schedule would run them) against a freshly built warehouse, each with two
parameter sets, and their figures are checked against values computed independently
from the known dataset (test_analytics_marts.py).

Each notebook ends with a cell tagged ``summary`` that prints its key figures as one JSON
line; the tests read that line from the executed notebook (issue 16).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
papermill = pytest.importorskip("papermill")

# the shared dataset and warehouse (pytest puts tests/ on sys.path)
from test_analytics_marts import (  # noqa: E402
    ALLOTMENT,
    TICKETS_2031,
    YEAR,
    expected_billable_by_customer,
    expected_response_times,
    shared_analytics_home,
    tickets,
)

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOK_NAMES = ["incident_usage.ipynb", "response_times.ipynb", "customer.ipynb"]
SUMMARY_PREFIX = "summary: "
DATA_TIME = "data as of the last ingest, 2026-12-31 11:30 MST"  # the dataset's ingest (R20)


@pytest.fixture(scope="module")
def notebook_home(tmp_path_factory) -> Path:
    """A freshly built warehouse with the known dataset (shared with
    test_analytics_marts.py when both run in one session: the notebooks only read)."""
    return shared_analytics_home(tmp_path_factory)


def summary_of(nb) -> dict:
    """The JSON line printed by the notebook's cell tagged ``summary``."""
    for cell in nb.cells:
        if "summary" in cell.get("metadata", {}).get("tags", []):
            for output in cell.get("outputs", []):
                text = output.get("text", "")
                if text.startswith(SUMMARY_PREFIX):
                    return json.loads(text[len(SUMMARY_PREFIX) :])
    raise AssertionError("no summary line in the executed notebook")


def run_papermill(name: str, params: dict, tmp_path: Path) -> tuple[dict, object]:
    """Execute notebooks/NAME with papermill and PARAMS; return (summary, executed nb)."""
    out = tmp_path / f"executed_{name}"
    papermill.execute_notebook(
        str(NOTEBOOKS / name),
        str(out),
        parameters=params,
        kernel_name="python3",
        cwd=str(tmp_path),
        progress_bar=False,
        execution_timeout=300,
    )
    nb = nbformat.read(out, as_version=4)
    return summary_of(nb), nb


def html_outputs(nb) -> str:
    return "\n".join(
        str(o.get("data", {}).get("text/html", ""))
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
    )


PLOTLY_BUNDLE = re.compile(r"<script[^>]*>\s*/\*\*\s*\* plotly\.js v.*?</script>", re.S)
REMOTE_SOURCE = re.compile(r"""(src|href)\s*=\s*["']?(https?:)?//""")


def without_plotly_bundle(html: str) -> str:
    """HTML with the inlined plotly.js removed (its code mentions URLs it never loads)."""
    assert PLOTLY_BUNDLE.search(html), "plotly.js is not inlined"
    return PLOTLY_BUNDLE.sub("", html)


def assert_offline(nb, output_dir: Path) -> None:
    """Interactive charts carry plotly.js themselves and load nothing from the network
    (issue 16), in the executed notebook and in the saved HTML charts."""
    html = html_outputs(nb)
    assert "Plotly.newPlot" in html
    assert not REMOTE_SOURCE.search(without_plotly_bundle(html))
    saved = sorted(output_dir.glob("*.html"))
    assert saved, "no interactive chart saved"
    for path in saved:
        assert not REMOTE_SOURCE.search(without_plotly_bundle(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_notebooks_are_committed_clean_with_parameters_first(name):
    """Outputs cleared; the first code cell is the papermill ``parameters`` cell with home,
    year, customer and months; a ``summary`` cell last."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert "parameters" in code[0].metadata.get("tags", [])
    for param in ("home = None", "year = None", "customer = None", "months = None"):
        assert param in code[0].source
    assert "summary" in code[-1].metadata.get("tags", [])
    source = "\n".join(c.source for c in code)
    assert "an.data_time_label(home)" in source  # R20: every notebook says its data's time
    assert "duckdb.connect" not in source and "select " not in source.lower()


@pytest.mark.slow  # executes a notebook in a new Jupyter kernel
def test_incident_usage_whole_year(notebook_home, tmp_path):
    out = tmp_path / "charts"
    params = {"home": str(notebook_home), "year": YEAR, "as_of": "2026-12-31",
              "output_dir": str(out)}
    summary, nb = run_papermill("incident_usage.ipynb", params, tmp_path)
    billable = expected_billable_by_customer()
    assert summary["year"] == YEAR and summary["data_time"] == DATA_TIME
    assert summary["top_customer"] == "A"
    assert summary["billable"] == billable == {"A": 14, "B": 5, "C": 3, "D": 7}
    assert summary["allotment"] == ALLOTMENT
    assert summary["closest"] == ["D", "C"]  # A and B have none left
    assert summary["exhausted"] == 2
    # B's 5th incident up front (150.00, October) + A's 2 added incidents at 10.00 a month
    # July-December (R12)
    assert summary["overage_revenue"] == 150.0 + 2 * 10.0 * 6
    assert summary["monthly_billable"] == 29
    # on Dec 31 what is forecast to expire is what expires (R11): C 5, D 1
    assert summary["expiring_total"] == 6
    assert Path(summary["png"]) == out / f"incident_usage_{YEAR}.png"
    assert Path(summary["png"]).stat().st_size > 10_000
    assert_offline(nb, out)


@pytest.mark.slow  # executes a notebook in a new Jupyter kernel
def test_incident_usage_one_customer_some_months(notebook_home, tmp_path):
    out = tmp_path / "charts"
    params = {"home": str(notebook_home), "year": None, "customer": "B", "months": "8-12",
              "as_of": "2026-12-31", "output_dir": str(out)}
    summary, _nb = run_papermill("incident_usage.ipynb", params, tmp_path)
    assert summary["year"] == YEAR  # None: the year with the most tickets
    assert summary["periods"] == ["2026-08", "2026-12"]
    assert summary["billable"] == {"B": 5} and summary["customers"] == 1
    assert summary["closest"] == []  # B has nothing left
    assert summary["monthly_billable"] == 2  # August and October
    # all customers' overage revenue, August-December: 150.00 + 5 x 20.00
    assert summary["overage_revenue"] == 250.0
    assert summary["expiring_total"] == 0


@pytest.mark.slow  # executes a notebook in a new Jupyter kernel
def test_response_times_default_year(notebook_home, tmp_path):
    out = tmp_path / "charts"
    params = {"home": str(notebook_home), "year": None, "output_dir": str(out)}
    summary, nb = run_papermill("response_times.ipynb", params, tmp_path)
    expected = expected_response_times()
    promise = 24 * 3600
    assert summary["year"] == YEAR and summary["data_time"] == DATA_TIME
    assert summary["business_seconds"] == expected
    assert summary["within_promise"] == sum(s <= promise for s in expected.values())
    march = [
        expected[t["ticket_id"]]
        for t in tickets()
        if t["ticket_id"] in expected and t["opened_local"].strftime("%Y-%m") == "2026-03"
    ]
    assert summary["monthly"]["2026-03"] == [len(march), sum(s <= promise for s in march)]
    slowest_id = max(expected.items(), key=lambda kv: (kv[1], kv[0]))[0]
    assert summary["slowest"][0] == slowest_id
    assert Path(summary["png"]) == out / f"response_times_{YEAR}.png"
    assert_offline(nb, out)


@pytest.mark.slow  # executes a notebook in a new Jupyter kernel
def test_response_times_2031_one_customer_some_months(notebook_home, tmp_path):
    """2031's holidays (from the library) are not business hours: Jul 4 and Thanksgiving."""
    params = {"home": str(notebook_home), "year": 2031, "customer": "A", "months": "7-11",
              "output_dir": str(tmp_path / "charts")}
    summary, _nb = run_papermill("response_times.ipynb", params, tmp_path)
    assert summary["year"] == 2031 and summary["customer"] == "A"
    assert summary["business_seconds"] == {"T2031A": 7200, "T2031B": 7200}
    assert {t: s for t, o, _a, s in TICKETS_2031 if 7 <= o.month <= 11} == {
        "T2031A": 7200, "T2031B": 7200,
    }
    assert summary["monthly"] == {"2031-07": [1, 1], "2031-11": [1, 1]}


@pytest.mark.slow  # executes a notebook in a new Jupyter kernel
def test_customer_default_is_the_busiest(notebook_home, tmp_path):
    out = tmp_path / "charts"
    params = {"home": str(notebook_home), "year": YEAR, "output_dir": str(out)}
    summary, nb = run_papermill("customer.ipynb", params, tmp_path)
    assert summary["customer"] == "A" and summary["policy"] == "subscription"
    assert summary["data_time"] == DATA_TIME
    assert summary["allotment"] == 12 and summary["expiring"] == 0
    assert len(summary["incidents"]) == 14 and summary["overage"] == 2
    # 2 covered incidents a month from 12: 10, 8, 6, 4, 2, 0, then nothing left (R10)
    assert summary["remaining_by_month"] == [10, 8, 6, 4, 2] + [0] * 7
    # the 2 July overage incidents: 2 x 150.00 up front, or 2 x 10.00 July-December added
    assert (summary["cost_upfront"], summary["cost_subscription"]) == (300.0, 120.0)
    assert summary["cost_actual"] == 120.0
    answered = [
        t for t in tickets()
        if t["customer_id"] == "A" and t["response_local"] and t["status"] != "void"
    ]
    assert summary["answered"] == len(answered)
    expected = expected_response_times()
    assert summary["within_promise"] == sum(
        expected[t["ticket_id"]] <= 24 * 3600 for t in answered
    )
    assert Path(summary["png"]) == out / f"customer_A_{YEAR}.png"
    assert_offline(nb, out)


@pytest.mark.slow  # executes a notebook in a new Jupyter kernel
def test_customer_upfront_some_months(notebook_home, tmp_path):
    params = {"home": str(notebook_home), "year": YEAR, "customer": "B", "months": "9-12",
              "output_dir": str(tmp_path / "charts")}
    summary, _nb = run_papermill("customer.ipynb", params, tmp_path)
    assert summary["customer"] == "B" and summary["policy"] == "upfront"
    assert summary["allotment"] == 4 and summary["expiring"] == 0
    assert summary["overage"] == 1 and len(summary["incidents"]) == 1  # October only
    assert summary["remaining_by_month"] == [0, 0, 0, 0]
    # 150.00 up front; added October-December at 10.00 (tier total 2 + 1 = 3, R6)
    assert (summary["cost_upfront"], summary["cost_subscription"]) == (150.0, 30.0)
    assert summary["cost_actual"] == 150.0


@pytest.mark.slow  # executes a notebook in a new Jupyter kernel
def test_run_from_notebooks_folder_finds_the_project_data(notebook_home, tmp_path, monkeypatch):
    """As `jupyter nbconvert --execute notebooks/x.ipynb` or JupyterLab run it: the kernel
    works in notebooks/, no home given and no SUPPORT_BILLING_HOME: ./data of the project
    root is read."""
    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    (project / "data").symlink_to(notebook_home, target_is_directory=True)
    shutil.copy(NOTEBOOKS / "customer.ipynb", project / "notebooks")
    monkeypatch.delenv("SUPPORT_BILLING_HOME", raising=False)
    nb = nbformat.read(project / "notebooks" / "customer.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=300,
        resources={"metadata": {"path": str(project / "notebooks")}},
    )
    client.execute()
    summary = summary_of(nb)
    assert summary["customer"] == "A" and summary["year"] == YEAR
    assert summary["data_time"] == DATA_TIME
    assert (project / "notebooks" / "output" / f"customer_A_{YEAR}.png").exists()
