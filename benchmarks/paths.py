"""The benchmark's comparison steps, used by run_benchmark.py: how a bill compares with a
plain-Python pass and with a cold start (targets in benchmarks/README.md).

- `reference`: the plain-Python pass (plain_python_reference.py) over the generated inbox;
- `cold`: an empty home, the year's exports in its inbox, `bill --period YYYY-11`;
- `monthly`: the exports split by month (monthly_exports.py), billed month by month from
  `--monthly-from` (earlier months arrive in one drop and only the month before is billed:
  R15 lets the first finalized month be any month), then November's exports and
  `bill --period YYYY-11`, then the same again (the R15 no-op);
- where the time of a bill goes, and the table of ratios against the targets.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path

from monthly_exports import split_by_month

HERE = Path(__file__).resolve().parent
PATH_STEPS = ["reference", "cold", "monthly"]
TARGET_MONTH = 11
GIB = 1024.0
FIRST_LINE = "support-billing bill:"
DBT_START = re.compile(r"(\d\d):(\d\d):(\d\d\.\d+) .*running dbt with arguments")
# the end of a parse: the project loaded ("Found N models"), or a `dbt parse` command done
# (dbt_runner parses once per process and hands the manifest to the build)
DBT_FOUND = re.compile(r"(\d\d):(\d\d):(\d\d\.\d+) .*(\] ?: Found \d+ models|"
                       r"Command `cli parse` (succeeded|failed) at)")
BILLED = re.compile(r"invoices: (\d+)\s+credit notes: (\d+)\s+total billed: (-?[\d.]+) USD")

START_PROBE = """
import json, sys, time
t0 = time.perf_counter()
import prefect  # noqa: F401
t1 = time.perf_counter()
import support_billing.billing.flow  # noqa: F401
t2 = time.perf_counter()
print("PROBE " + json.dumps({"prefect_s": t1 - t0, "billing_s": t2 - t1}))
"""


def link_inbox(src: Path, dest: Path) -> None:
    """The generated files into another inbox (hard links: the product never writes them)."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.glob("*.csv")):
        try:
            os.link(f, dest / f.name)
        except OSError:
            shutil.copy2(f, dest / f.name)


def _secs(m: re.Match) -> float:
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))


def dbt_parse_seconds(log_text: str) -> tuple[float, int]:
    """dbt's parse time in a piece of dbt.log: start of each invocation to its `Found N
    models` line, summed over the invocations; and how many there were."""
    total, count, start = 0.0, 0, None
    for line in log_text.splitlines():
        if (m := DBT_START.search(line)) is not None:
            start, count = _secs(m), count + 1
        elif start is not None and (m := DBT_FOUND.search(line)) is not None:
            total += (_secs(m) - start) % 86400
            start = None
    return total, count


def dbt_results(home: Path, since: float = 0.0) -> dict:
    """The last dbt invocation's run_results.json: each model's seconds, tests, seeds
    (empty when the command ran no dbt: the file is older than `since`)."""
    path = home / ".dbt" / "target" / "run_results.json"
    try:
        if path.stat().st_mtime < since:
            return {}
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    out = {"which": data.get("args", {}).get("which"), "elapsed_s": data.get("elapsed_time"),
           "models": {}, "tests_s": 0.0, "tests": 0, "seeds_s": 0.0, "other_s": 0.0}
    for r in data.get("results", []):
        kind, _, name = r["unique_id"].partition(".")
        secs = float(r.get("execution_time") or 0.0)
        if kind == "model":
            out["models"][name.split(".", 1)[-1]] = round(secs, 3)
        elif kind in ("test", "unit_test"):
            out["tests_s"] += secs
            out["tests"] += 1
        elif kind == "seed":
            out["seeds_s"] += secs
        else:
            out["other_s"] += secs
    return out


def where_time_goes(run, home: Path, log_offset: int, start: dict, since: float) -> dict:
    """Process start, imports, Prefect (to the flow's first line), dbt parse, each model,
    gate, export: from the probes, the stamped output, dbt.log and run_results.json."""
    log = home / ".dbt" / "logs" / "dbt.log"
    try:
        text = log.read_bytes()
        text = (text[log_offset:] if len(text) >= log_offset else text).decode("utf-8", "replace")
    except OSError:
        text = ""
    parse_s, invocations = dbt_parse_seconds(text)
    first = next((t for t, line in run.line_times if line.startswith(FIRST_LINE)), None)
    imports = None
    if start.get("prefect_s") is not None:
        imports = start["prefect_s"] + start["billing_s"]
    prefect = None
    if first is not None and imports is not None and start.get("python_s") is not None:
        prefect = max(0.0, first - start["python_s"] - imports)
    stages = {k: v["wall_s"] for k, v in run.stages.items()}
    return {"process start": start.get("python_s"), "imports": imports,
            "prefect (server, flow start)": prefect, "to first flow line": first,
            "ingest": stages.get("ingest"), "dbt build": stages.get("dbt build"),
            "dbt parse": parse_s, "dbt invocations": invocations,
            "gate": stages.get("quality gate"), "export": stages.get("export"),
            "finalize": stages.get("finalize"), "dbt": dbt_results(home, since)}


def log_size(home: Path) -> int:
    try:
        return (home / ".dbt" / "logs" / "dbt.log").stat().st_size
    except OSError:
        return 0


def billed_figures(stdout: str) -> dict | None:
    m = BILLED.search(stdout)
    if m is None:
        return None
    return {"invoices": int(m.group(1)) + int(m.group(2)), "total": m.group(3)}


# ----------------------------------------------------------------------------- steps
def run_paths(ctx: dict, steps: list[str], result: dict) -> None:
    """Run the chosen comparison steps; add their runs to result["paths"]."""
    m = ctx["measure"]
    home, year, env = ctx["home"], ctx["year"], ctx["env"]
    period = f"{year}-{TARGET_MONTH:02d}"
    paths: dict = {"period": period, "monthly_from": ctx["monthly_from"], "runs": {}}
    result["paths"] = paths
    start = {}
    if "cold" in steps or "monthly" in steps:
        py = m("python start", [sys.executable, "-c", "pass"], env, ctx["timeout"])
        imp = ctx["probe"]("imports: prefect, support_billing.billing.flow", START_PROBE, [], env,
                           ctx["timeout"])
        start = {"python_s": py.wall_s, **(imp.values or {})}
        paths["start"] = start
    if "reference" in steps:
        run = m("plain-Python reference", [sys.executable, str(HERE / "plain_python_reference.py"),
                                           str(home / "inbox"), "--period", period],
                env, ctx["timeout"])
        for line in run.stdout.splitlines():
            if line.startswith("REFERENCE "):
                run.values = json.loads(line[10:])
        paths["runs"]["reference"] = asdict(run)
    if "cold" in steps:
        cold = home / "cold"
        link_inbox(home / "inbox", cold / "inbox")
        paths["runs"]["cold"] = _bill(ctx, cold, period, f"cold bill {period} (empty home)",
                                      start)
    if "monthly" in steps:
        _monthly(ctx, paths, start)


def _bill(ctx: dict, home: Path, period: str, label: str, start: dict) -> dict:
    offset, since = log_size(home), time.time()
    run = ctx["measure"](label, [*ctx["cli"], "--home", str(home), "bill", "--period", period],
                         {**ctx["env"], "SUPPORT_BILLING_HOME": str(home)}, ctx["timeout"])
    run.stages = ctx["parse_stages"](run.stdout + "\n" + run.stderr)
    run.where = where_time_goes(run, home, offset, start, since)
    run.values = billed_figures(run.stdout) or {}
    return asdict(run)


def _drop(folder: Path, inbox: Path) -> None:
    inbox.mkdir(parents=True, exist_ok=True)
    for f in sorted(folder.glob("*.csv")):
        shutil.copy2(f, inbox / f.name)


def _monthly(ctx: dict, paths: dict, start: dict) -> None:
    home, year = ctx["home"] / "monthly", ctx["year"]
    drops = split_by_month(ctx["home"] / "inbox", ctx["home"] / "drops", year, TARGET_MONTH)
    runs = paths["runs"]
    runs["months"] = []
    first = max(1, min(ctx["monthly_from"], TARGET_MONTH))
    for month in range(1, first):  # the months before --monthly-from arrive at once
        _drop(drops[month], home / "inbox")
    for month in range(first - 1 if first > 1 else 1, TARGET_MONTH):
        if month >= first:
            _drop(drops[month], home / "inbox")
        period = f"{year}-{month:02d}"
        runs["months"].append(_bill(ctx, home, period, f"monthly: bill {period}", start))
    _drop(drops[TARGET_MONTH], home / "inbox")
    period = f"{year}-{TARGET_MONTH:02d}"
    runs["monthly"] = _bill(ctx, home, period,
                            f"monthly: bill {period} (its exports just arrived)", start)
    runs["noop"] = _bill(ctx, home, period, f"monthly: bill {period} again (R15 no-op)", start)
