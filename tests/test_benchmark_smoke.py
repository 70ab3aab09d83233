"""benchmarks/run_benchmark.py at a tiny scale: the table has the expected rows.

No timing assertions. The first test runs the script against a stub CLI (fast: it checks
the measuring, the stage parsing and the table); the second runs the real pipeline (ingest,
bill, re-bill) on 50 generated customers.
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
    import sys
    args = sys.argv[1:]
    assert args[0] == "--home", args
    command = args[2]
    if command == "bill":
        print("  ingest ...")
        print("  ingest done in 0.5 s")
        print("stage dbt build 1.25s peak 300 MB")
        print("  gate done in 0.75 s")
        print("  export done in 0.1 s")
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


def test_benchmark_table_with_a_stub_cli(tmp_path):
    stub = tmp_path / "stub.py"
    stub.write_text(STUB)
    result_file = tmp_path / "result.json"
    proc = run(["--scale", "S", "--customers", "50", "--skip-probes",
                "--cli", f"{sys.executable} {stub}", "--json", str(result_file)])
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    check_table(out)
    for label in ("bill 2026-12 --preview (first after ingest: full build)",
                  "bill 2026-12 --preview (month 12)", "bill 2026-01 (month 1)",
                  "bill 2026-01 again (R15 no-op)", "ingest 1,000 new tickets (small file)",
                  "bill 2026-02 (after the small ingest)"):
        assert label in out
    result = json.loads(result_file.read_text())
    assert result["rows"]["customers"] == 50
    assert all(result["rows"][k] > 0 for k in KINDS)
    bill = result["runs"][1]
    assert bill["rc"] == 0
    assert bill["stages"]["dbt build"] == {"wall_s": 1.25, "peak_mb": 300.0}
    assert bill["stages"]["quality gate"]["wall_s"] == 0.75
    assert "1.25 / 300" in out
    assert not Path(result["home"]).exists(), "the temporary home is removed"


@pytest.mark.slow
def test_benchmark_runs_the_real_pipeline(tmp_path):
    """The real CLI, as a user runs it (no PREFECT_API_URL: Prefect's temporary server,
    started early by `bill`): ingest, bill month 1, bill it again (the R15 no-op)."""
    result_file = tmp_path / "result.json"
    proc = run(["--scale", "S", "--customers", "50", "--skip-probes",
                "--steps", "ingest,bill1,bill1again", "--json", str(result_file)], timeout=600)
    assert proc.returncode == 0, proc.stderr
    check_table(proc.stdout)
    result = json.loads(result_file.read_text())
    assert result["generate"]["rc"] == 0
    assert [r["label"] for r in result["runs"]] == [
        "ingest", "bill 2026-01 (month 1)", "bill 2026-01 again (R15 no-op)"]
    for r in result["runs"]:
        assert r["rc"] == 0, r["stderr"][-2000:]
    first, again = result["runs"][1], result["runs"][2]
    assert "2026-01 published and finalized" in first["stdout"]
    assert set(first["stages"]) >= {"ingest", "dbt build", "quality gate", "export", "finalize"}
    assert "nothing changed since the last build" in again["stdout"]
    assert "2026-01 was already finalized: nothing changed" in again["stdout"]
