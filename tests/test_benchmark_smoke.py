"""benchmarks/run_benchmark.py at a tiny scale: the table has the expected rows.

No timing assertions. The first test runs the script against a stub CLI (fast: it checks
the measuring, the stage parsing and the table); the second runs the real pipeline (a cold
bill, bills month after month, the R15 re-bill) on 30 generated customers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPT = REPO_ROOT / "benchmarks" / "run_benchmark.py"
KINDS = ["customers", "subscriptions", "tickets", "timesheets", "prepaid_hours"]
STAGES = ["ingest", "dbt build", "quality gate", "export", "flow/orchestration overhead"]
DIRECT = ["prefect import", "prefect trivial flow, temporary server (cold)",
          "prefect temporary-server overhead", "dbt parse", "gx import",
          "gx ephemeral context creation"]

STUB = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    args = sys.argv[1:]
    assert args[0] == "--home", args
    home, command = Path(args[1]), args[2]
    if command == "bill":
        print("support-billing bill: " + args[4])
        print("  ingest ...")
        print("  ingest done in 0.5 s")
        print("stage dbt build 1.25s peak 300 MB")
        print("  gate done in 0.75 s")
        print("  export done in 0.1 s")
        print("  invoices: 7   credit notes: 1   total billed: 123.45 USD")
        target, logs = home / ".dbt" / "target", home / ".dbt" / "logs"
        target.mkdir(parents=True, exist_ok=True)
        logs.mkdir(parents=True, exist_ok=True)
        results = [{"unique_id": "model.support_billing.invoices", "execution_time": 0.5},
                   {"unique_id": "model.support_billing.fct_incidents", "execution_time": 0.25},
                   {"unique_id": "test.support_billing.not_null_x", "execution_time": 0.125}]
        (target / "run_results.json").write_text(json.dumps(
            {"elapsed_time": 1.0, "args": {"which": "build"}, "results": results}))
        with open(logs / "dbt.log", "a") as fh:
            fh.write("10:00:00.000000 [debug] [MainThread]: running dbt with arguments {}\\n")
            fh.write("10:00:02.500000 [info ] [MainThread]: Found 33 models, 5 seeds\\n")
    print("ok", command)
    """
)

def run(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                          text=True, timeout=timeout, cwd=str(REPO_ROOT))


def check_table(out: str) -> None:
    for kind in KINDS:
        assert f"  {kind} " in out, kind
    for label in ("generate sample data", "ingest"):
        assert label in out
    for stage in STAGES:
        assert f"  {stage} " in out, stage
    for label in DIRECT:
        assert label in out, label


PATH_LABELS = ["plain-Python reference", "cold bill 2025-11 (empty home)",
               "monthly: bill 2025-11 (its exports just arrived)",
               "monthly: bill 2025-11 again (R15 no-op)"]
WHERE = ["process start", "imports", "prefect (server, flow start)", "dbt parse",
         "dbt models (sum)", "gate", "export", "Each model of the monthly-path bill"]
RATIOS = ["cold bill / plain Python", "monthly-path bill / cold bill",
          "R15 no-op re-bill / cold bill", "peak memory of any command (MB)"]
CPU_RATIOS = ["cold bill / plain Python, CPU", "monthly-path bill / cold bill, CPU",
              "R15 no-op re-bill / cold bill, CPU"]


def check_paths(out: str, result: dict, months: list[str]) -> None:
    """The comparison steps' commands, reference figures, time split and ratio table."""
    for label in [*PATH_LABELS, *(f"monthly: bill {m}" for m in months)]:
        assert f"  {label} " in out, label
    labels = [r["label"] for r in result["paths"]["runs"]["months"]]
    assert labels == [f"monthly: bill {m}" for m in months]
    for label in WHERE + RATIOS + CPU_RATIOS:
        assert label in out, label
    if Path("/usr/bin/time").exists():  # CPU seconds come from GNU time, as the peak does
        for r in [result["paths"]["runs"]["reference"], result["paths"]["runs"]["cold"]]:
            assert r["cpu_s"] is not None and r["cpu_s"] >= 0, r
    assert "Plain-Python reference (csv module" in out
    assert [r["figure"] for r in result["ratios"]] == RATIOS
    assert [r["target"] for r in result["ratios"]][1:] == [0.4, 0.25, 3072.0]
    ref = result["paths"]["runs"]["reference"]
    assert ref["rc"] == 0, ref["stderr"]
    assert ref["values"]["rows_rejected"] == 0 and ref["values"]["rows_held"] == 0


def test_benchmark_table_with_a_stub_cli(tmp_path):
    stub = tmp_path / "stub.py"
    stub.write_text(STUB)
    result_file = tmp_path / "result.json"
    proc = run(["--scale", "S", "--customers", "50", "--skip-probes", "--monthly-from", "9",
                "--cli", f"{sys.executable} {stub}", "--json", str(result_file)])
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    check_table(out)
    for label in ("bill 2025-12 --preview (first after ingest: full build)",
                  "bill 2025-12 --preview (month 12)", "bill 2025-01 (month 1)",
                  "bill 2025-01 again (R15 no-op)", "ingest 1,000 new tickets (small file)",
                  "bill 2025-02 (after the small ingest)"):
        assert label in out
    result = json.loads(result_file.read_text())
    assert result["rows"]["customers"] == 50
    assert all(result["rows"][k] > 0 for k in KINDS)
    check_paths(out, result, ["2025-08", "2025-09", "2025-10"])
    paths = result["paths"]["runs"]
    assert paths["reference"]["values"]["invoices"] > 0
    assert paths["cold"]["values"] == {"invoices": 8, "total": "123.45"}
    where = paths["monthly"]["where"]
    assert where["dbt parse"] == 2.5 and where["dbt invocations"] == 1, where
    assert where["dbt"]["models"] == {"invoices": 0.5, "fct_incidents": 0.25}
    assert where["dbt"]["tests"] == 1 and where["dbt"]["tests_s"] == 0.125
    assert where["gate"] == 0.75 and where["export"] == 0.1
    assert where["to first flow line"] is not None
    assert "    invoices                                         0.50" in out
    assert "same as the reference: NO" in out  # the stub's figures are not the reference's
    bill = result["runs"][1]
    assert bill["rc"] == 0
    assert bill["stages"]["dbt build"] == {"wall_s": 1.25, "peak_mb": 300.0}
    assert bill["stages"]["quality gate"]["wall_s"] == 0.75
    assert "1.25 / 300" in out
    assert not Path(result["home"]).exists(), "the temporary home is removed"


@pytest.mark.slow
def test_benchmark_comparison_steps_on_the_real_pipeline(tmp_path, prefect_api_url):
    """The real CLI on 30 customers: the plain-Python reference, the cold bill of November
    and the monthly path from October (`--monthly-from 11`: January to October arrive at
    once, October is billed, then November's exports, November, November again: the R15
    no-op). Every command runs its flows on the session's Prefect server
    (`--prefect-server URL`, as the documented deployment runs them); a user's first run,
    on Prefect's temporary server started early by `bill`, is the demo's test
    (test_demo.py). The pipeline steps (ingest, bill, re-bill) are the same commands; the
    stub test above covers their table."""
    result_file = tmp_path / "result.json"
    proc = run(["--customers", "30", "--skip-probes", "--monthly-from", "11",
                "--steps", "reference,cold,monthly", "--prefect-server", prefect_api_url,
                "--json", str(result_file)], timeout=1500)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    check_table(out)
    result = json.loads(result_file.read_text())
    assert result["generate"]["rc"] == 0
    check_paths(out, result, ["2025-10"])
    runs = result["paths"]["runs"]
    for r in [runs["cold"], *runs["months"], runs["monthly"], runs["noop"]]:
        assert r["rc"] == 0, r["stderr"][-2000:]
    assert set(runs["cold"]["stages"]) >= {"ingest", "dbt build", "quality gate", "export",
                                           "finalize"}
    # R15: November was finalized as computed, with no adjustment of its own, so the
    # re-bill right after it builds nothing
    assert "nothing changed since the last build" in runs["noop"]["stdout"]
    # The reference and the cold bill bill the same month from the same files: same numbers.
    assert runs["cold"]["values"] == {k: runs["reference"]["values"][k]
                                      for k in ("invoices", "total")}
    assert "(same as the reference: yes)" in out
    assert "2025-11 published and finalized" in runs["monthly"]["stdout"]
    assert "2025-11 was already finalized: nothing changed" in runs["noop"]["stdout"]
    monthly = runs["monthly"]["where"]
    assert monthly["dbt invocations"] >= 1 and monthly["dbt parse"] > 0
    assert "fct_invoice_lines_computed" in monthly["dbt"]["models"]
    assert all(r["value"] is not None for r in result["ratios"])


def test_cpu_ratios_compare_cpu_seconds_of_successful_runs():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from paths_report import cpu_ratios

    runs = {"reference": {"rc": 0, "cpu_s": 10.0}, "cold": {"rc": 0, "cpu_s": 25.0},
            "monthly": {"rc": 0, "cpu_s": 5.0}, "noop": {"rc": 1, "cpu_s": 1.0}}
    assert [(r["figure"], r["value"]) for r in cpu_ratios({"paths": {"runs": runs}})] == [
        ("cold bill / plain Python, CPU", 2.5), ("monthly-path bill / cold bill, CPU", 0.2),
        ("R15 no-op re-bill / cold bill, CPU", None)]  # a failed run gives no figure
