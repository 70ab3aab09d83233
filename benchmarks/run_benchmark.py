#!/usr/bin/env python
"""Benchmark the `support-billing` pipeline on generated data (see benchmarks/README.md).

    python benchmarks/run_benchmark.py --scale S|M|X|L [--customers N] [--keep]
                                       [--monthly-from MM] [--steps ...]
                                       [--prefect-server URL] [--json FILE]

Generates a year of exports into a temporary home and, in the same run:
- the comparison steps (paths.py): a plain-Python reference pass over the files, a cold
  `bill` of November on an empty home, and the monthly path (the exports split by month,
  billed month by month, then November's exports and `bill`, then the R15 no-op re-bill),
  with where the time goes and the ratios against the targets (README.md);
- the pipeline steps on one warehouse (ingest the year; bill December as a preview, the
  first build after the ingest; bill January; January again, the R15 no-op; December
  again; ingest 1,000 new tickets; bill February after them): wall seconds and peak
  memory of each command and of each stage inside `bill` (from its stage lines);
- direct measurements of the fixed costs: Prefect import and a trivial flow run on a
  temporary server (and on --prefect-server), dbt import and parse, GX import and context.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measuring import (  # noqa: E402
    DBT_PROBE,
    GX_PROBE,
    PREFECT_PROBE,
    measure,
    parse_stages,
    probe,
)
from paths import PATH_STEPS, run_paths  # noqa: E402
from paths_report import ratios, report_paths  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
SCALES = {"S": 1_000, "M": 10_000, "X": 20_000, "L": 100_000}
YEAR = 2025  # every month has ended (SPEC 6): the monthly path can finalize November
STAGES = ["ingest", "dbt build", "quality gate", "export", "finalize",
          "flow/orchestration overhead"]
KINDS = ["customers", "subscriptions", "tickets", "timesheets", "prepaid_hours"]
SMALL_TICKETS = 1_000


# ----------------------------------------------------------------------------- pipeline
def cli_command() -> list[str]:
    exe = Path(sys.executable).parent / "support-billing"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("support-billing")
    return [found] if found else [sys.executable, "-m", "support_billing.cli"]


STEPS = {
    "ingest": ("ingest", ["ingest"]),
    "bill12cold": (f"bill {YEAR}-12 --preview (first after ingest: full build)",
                   ["bill", "--period", f"{YEAR}-12", "--preview"]),
    "bill1": (f"bill {YEAR}-01 (month 1)", ["bill", "--period", f"{YEAR}-01"]),
    "bill1again": (f"bill {YEAR}-01 again (R15 no-op)", ["bill", "--period", f"{YEAR}-01"]),
    "bill12": (f"bill {YEAR}-12 --preview (month 12)",
               ["bill", "--period", f"{YEAR}-12", "--preview"]),
    "ingestsmall": (f"ingest {SMALL_TICKETS:,} new tickets (small file)",
                    ["ingest", "{home}/small"]),
    "bill2": (f"bill {YEAR}-02 (after the small ingest)", ["bill", "--period", f"{YEAR}-02"]),
}


def write_small_export(folder: Path, inbox: Path) -> Path:
    """A tickets export of SMALL_TICKETS new billable tickets in February, spread over the
    generated customers, for the incremental ingest and the bill after it."""
    import csv

    with open(inbox / "customers.csv", newline="", encoding="utf-8-sig") as fh:
        customers = [row[0] for row in list(csv.reader(fh))[1:] if row]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tickets_new.csv"
    rows = ["ticket_id,customer_id,opened_at,category,time_sensitive,status"]
    for i in range(SMALL_TICKETS):
        cust = customers[(i * 97) % len(customers)]
        rows.append(f"BENCH-T{i:06d},{cust},{YEAR}-02-{i % 27 + 1:02d} 10:{i % 60:02d},"
                    "sync_support,,closed")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _bench_env(home: Path) -> dict:
    """The environment of every command: Prefect and the home inside the temporary home."""
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)
    env["PREFECT_HOME"] = str(home / ".prefect")  # isolated: no shared ~/.prefect database
    env.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # A fresh PREFECT_HOME migrates its database on first use; on a busy machine that can
    # pass Prefect's default 20 s limit for the temporary server to come up.
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    env["SUPPORT_BILLING_HOME"] = str(home)
    return env


def _run_probes(env: dict, home: Path, prefect_server: str | None, timeout: float) -> list:
    """The fixed costs measured directly, each in a fresh interpreter (Prefect, dbt, GX)."""
    probes = [
        probe("prefect: trivial flow, temporary server (cold)", PREFECT_PROBE, [], env,
              timeout),
        probe("prefect: trivial flow, temporary server (warm)", PREFECT_PROBE, [], env,
              timeout),
    ]
    if prefect_server:
        probes.append(probe("prefect: trivial flow, running server", PREFECT_PROBE, [],
                            {**env, "PREFECT_API_URL": prefect_server}, timeout))
    probes.append(probe("dbt: import + parse", DBT_PROBE,
                        [str(REPO_ROOT / "dbt_project"), str(home / ".bench-dbt")], env,
                        timeout))
    probes.append(probe("gx: import + ephemeral context", GX_PROBE, [], env, timeout))
    return [asdict(p) for p in probes]


def run_benchmark(scale: str, customers: int, seed: int, home: Path, prefect_server: str | None,
                  timeout: float, skip_probes: bool = False, steps: list[str] | None = None,
                  cli: list[str] | None = None, monthly_from: int = 1) -> dict:
    env = _bench_env(home)
    for sub in ("inbox", "exports", "reports"):
        (home / sub).mkdir(parents=True, exist_ok=True)

    result: dict = {"scale": scale, "customers": customers, "seed": seed, "home": str(home),
                    "rows": {}, "runs": [], "probes": []}
    gen = measure("generate sample data",
                  [sys.executable, "-m", "sample_exports.generator", "--customers",
                   str(customers), "--year", str(YEAR), "--seed", str(seed), "--out",
                   str(home / "inbox")], env, timeout)
    for line in gen.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] in KINDS and parts[2] == "rows":
            result["rows"][parts[0]] = int(parts[1].replace(",", ""))
    result["generate"] = asdict(gen)

    if not skip_probes:
        result["probes"] = _run_probes(env, home, prefect_server, timeout)

    cli_env = dict(env)
    if prefect_server:
        cli_env["PREFECT_API_URL"] = prefect_server
    base = [*(cli or cli_command()), "--home", str(home)]
    steps = steps or [*PATH_STEPS, *STEPS]
    ctx = {"measure": measure, "probe": probe, "parse_stages": parse_stages, "home": home,
           "year": YEAR, "env": cli_env, "cli": cli or cli_command(), "timeout": timeout,
           "monthly_from": monthly_from}
    run_paths(ctx, [s for s in steps if s in PATH_STEPS], result)
    steps = [s for s in steps if s in STEPS]
    if "ingestsmall" in steps:
        write_small_export(home / "small", home / "inbox")
    for label, args in (STEPS[name] for name in steps):
        args = [a.replace("{home}", str(home)) for a in args]
        run = measure(label, [*base, *args], cli_env, timeout)
        run.stages = parse_stages(run.stdout + "\n" + run.stderr)
        result["runs"].append(asdict(run))
    return result


# ----------------------------------------------------------------------------- report
def _f(x, fmt="{:.2f}") -> str:
    return "n/a" if x is None else fmt.format(x)


def _err(run: dict) -> str:
    lines = [x for x in (run["stderr"] or "").splitlines() if x.strip()]
    return lines[-1].strip()[:70] if lines and run["rc"] else ""


def _report_commands(result: dict, add) -> None:
    """Rows per export, then each command's exit status, wall seconds and peak memory."""
    add("Rows per export")
    for kind in KINDS:
        add(f"  {kind:<44} {result['rows'].get(kind, 0):>12,}")
    add("")
    add(f"  {'Command':<44} {'exit':>5} {'wall s':>9} {'peak MB':>9}")
    for run in [result["generate"], *result["runs"]]:
        add(f"  {run['label']:<44} {_f(run['rc'], '{}'):>5} {_f(run['wall_s']):>9} "
            f"{_f(run['peak_mb'], '{:.0f}'):>9}  {_err(run)}")


def _stage_cell(bill: dict, stage: str) -> str:
    """One stage of one bill; the orchestration overhead, when not printed, is the wall
    time minus the printed stages (marked *)."""
    st = bill["stages"].get(stage)
    if st is None and stage == "flow/orchestration overhead" and bill["stages"]:
        known = sum(v["wall_s"] for v in bill["stages"].values())
        if bill["wall_s"] is not None:
            return f"{bill['wall_s'] - known:.2f}* / n/a"
    return "n/a" if st is None else f"{st['wall_s']:.2f} / {_f(st['peak_mb'], '{:.0f}')}"


def _report_stages(result: dict, add) -> None:
    """A column per bill: the wall seconds and peak memory of each stage it printed."""
    bills = [r for r in result["runs"] if r["label"].startswith("bill")]

    def short(label: str) -> str:
        name = label.split(" (")[0].replace(" --preview", " prev")
        return name + (" cold" if "full build" in label else "")

    head = "".join(f" {short(b['label']):>22}" for b in bills)
    add(f"  {'Stage of bill (wall s / peak MB)':<44}{head}")
    for stage in STAGES:
        add(f"  {stage:<44}" + "".join(f" {_stage_cell(b, stage):>22}" for b in bills))
    add("  (* = command wall time minus the stages it printed: process start, imports, flow)")


def _report_probes(result: dict, add) -> None:
    """The fixed costs measured directly: Prefect, dbt and GX imports and start-up."""
    add(f"  {'Direct measurement':<44} {'wall s':>9}")
    probes = {p["label"]: p for p in result["probes"]}

    def val(label, key):
        p = probes.get(label)
        return None if p is None or p["rc"] != 0 else p["values"].get(key)

    cold = "prefect: trivial flow, temporary server (cold)"
    warm = "prefect: trivial flow, temporary server (warm)"
    srv = "prefect: trivial flow, running server"
    rows = [
        ("prefect import", val(warm, "import_s")),
        ("prefect trivial flow, temporary server (cold)", val(cold, "flow_s")),
        ("prefect trivial flow, temporary server (warm)", val(warm, "flow_s")),
        ("prefect trivial flow, running server", val(srv, "flow_s")),
    ]
    overhead = None
    if val(warm, "flow_s") is not None and val(srv, "flow_s") is not None:
        overhead = val(warm, "flow_s") - val(srv, "flow_s")
    rows += [
        ("prefect temporary-server overhead", overhead),
        ("dbt import", val("dbt: import + parse", "import_s")),
        ("dbt parse (no partial parse)", val("dbt: import + parse", "parse_s")),
        ("gx import", val("gx: import + ephemeral context", "import_s")),
        ("gx ephemeral context creation", val("gx: import + ephemeral context", "context_s")),
    ]
    for label, v in rows:
        add(f"  {label:<44} {_f(v):>9}")
    if not result["probes"]:
        add("  (probes skipped)")


def report(result: dict) -> str:
    out: list[str] = []
    add = out.append
    add(f"support-billing benchmark: scale {result['scale']} ({result['customers']:,} customers,"
        f" seed {result['seed']}, year {YEAR})")
    add(f"home: {result['home']}")
    add("")
    _report_commands(result, add)
    add("")
    _report_stages(result, add)
    add("")
    _report_probes(result, add)
    return "\n".join(out)


@contextlib.contextmanager
def started_prefect_server(home: Path, timeout: float = 180):
    """A Prefect server of the benchmark's own (``--prefect-server start``), as a deployment
    runs one for its schedules (docs/operations.md): every command then reports to it
    instead of starting Prefect's temporary server. Stopped afterwards."""
    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = _bench_env(home)
    log = open(home / "prefect-server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host",
                             "127.0.0.1", "--port", str(port)], env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"prefect server did not start; see {log.name}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="S",
                        help="S = 1,000, M = 10,000, L = 100,000 customers")
    parser.add_argument("--customers", type=int, help="override the scale's customer count")
    parser.add_argument("--seed", type=int, default=7, help="seed of the sample data")
    parser.add_argument("--keep", action="store_true", help="keep the temporary home")
    parser.add_argument("--home", type=Path, help="use this (empty) home instead of a temp one")
    parser.add_argument("--prefect-server", metavar="URL",
                        help="PREFECT_API_URL of a running server for every command, or "
                        "'start' to start one for the run (as a deployment has)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per command")
    parser.add_argument("--skip-probes", action="store_true",
                        help="skip the Prefect / dbt / GX fixed-cost measurements")
    parser.add_argument("--steps", default=",".join([*PATH_STEPS, *STEPS]),
                        help="comma-separated steps to run, of "
                        f"{', '.join([*PATH_STEPS, *STEPS])}")
    parser.add_argument("--monthly-from", type=int, default=1, metavar="MM",
                        help="monthly path: months before MM arrive in one drop and only "
                        "MM-1 is billed, then MM..10 one by one (default 1: every month)")
    parser.add_argument("--cli", help="command to run instead of `support-billing` "
                        "(e.g. a stub, for testing this script)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    customers = args.customers or SCALES[args.scale]
    if customers < 1:
        parser.error("--customers must be at least 1")
    steps = [x.strip() for x in args.steps.split(",") if x.strip()]
    unknown = [x for x in steps if x not in STEPS and x not in PATH_STEPS]
    if unknown:
        parser.error(f"unknown step(s) {', '.join(unknown)}; "
                     f"choose from {', '.join([*PATH_STEPS, *STEPS])}")
    if not 1 <= args.monthly_from <= 11:
        parser.error("--monthly-from must be a month from 1 to 11")
    made = args.home is None
    home = Path(tempfile.mkdtemp(prefix=f"sb-bench-{args.scale}-")) if made else args.home
    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    try:
        with contextlib.ExitStack() as stack:
            server = args.prefect_server
            if server == "start":
                server = stack.enter_context(started_prefect_server(home))
            result = run_benchmark(args.scale, customers, args.seed, home, server,
                                   args.timeout, args.skip_probes, steps,
                                   shlex.split(args.cli) if args.cli else None,
                                   args.monthly_from)
        result["prefect_server"] = args.prefect_server or "temporary (per command)"
        result["ratios"] = ratios(result)
        print(report(result))
        paths = report_paths(result)
        if paths:
            print("\n" + paths)
        if args.json:
            args.json.write_text(json.dumps(result, indent=2))
    finally:
        if made and not args.keep:
            shutil.rmtree(home, ignore_errors=True)
        elif made:
            print(f"kept: {home}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
