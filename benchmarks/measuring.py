"""Measuring commands for the benchmark: wall time, peak memory, stamped output lines, the
stage lines of `bill`, and the fixed-cost probes (Prefect, dbt, GX) run in fresh
interpreters."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
TIME_BIN = "/usr/bin/time"


@dataclass
class Run:
    label: str
    cmd: list[str]
    rc: int | None = None
    wall_s: float | None = None
    peak_mb: float | None = None
    cpu_s: float | None = None  # user + system CPU of the command and its children
    stdout: str = ""
    stderr: str = ""
    stages: dict = field(default_factory=dict)  # name -> {"wall_s", "peak_mb"}
    values: dict = field(default_factory=dict)  # JSON printed by a probe
    line_times: list = field(default_factory=list)  # [seconds after start, stdout line]
    where: dict = field(default_factory=dict)  # where the time goes (bills of the paths)


# ----------------------------------------------------------------------------- measuring
def _poll_peak(proc: subprocess.Popen, box: list) -> None:
    """Peak RSS (MB) of a process and its children, polled (when /usr/bin/time is absent)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover
        return
    try:
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            rss = 0
            for p in [root, *root.children(recursive=True)]:
                try:
                    rss += p.memory_info().rss
                except psutil.Error:
                    pass
            box[0] = max(box[0], rss / 2**20)
            time.sleep(0.05)
    except psutil.Error:
        pass


def measure(label: str, cmd: list[str], env: dict, timeout: float) -> Run:
    """Run cmd; its wall time, peak RSS and output."""
    run = Run(label, cmd)
    use_time = os.path.exists(TIME_BIN) and os.access(TIME_BIN, os.X_OK)
    with tempfile.NamedTemporaryFile("r", suffix=".time", delete=False) as tf:
        time_file = tf.name
    # peak RSS (KB), user and system CPU seconds of the command and the children it waited
    # for (the statement workers); CPU is the figure that machine noise (disk writeback, a
    # busy neighbour) moves least
    full = [TIME_BIN, "-f", "%M %U %S", "-o", time_file, *cmd] if use_time else cmd
    box = [0.0]
    started = time.perf_counter()
    proc = subprocess.Popen(full, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=str(REPO_ROOT))
    poller = None
    if not use_time:
        poller = threading.Thread(target=_poll_peak, args=(proc, box), daemon=True)
        poller.start()
    out_lines: list[str] = []
    err_lines: list[str] = []

    def pump(stream, sink: list, stamp: bool) -> None:
        for line in stream:
            sink.append(line)
            if stamp:
                run.line_times.append([round(time.perf_counter() - started, 3),
                                       line.rstrip("\n")])

    readers = [threading.Thread(target=pump, args=(proc.stdout, out_lines, True), daemon=True),
               threading.Thread(target=pump, args=(proc.stderr, err_lines, False), daemon=True)]
    for t in readers:
        t.start()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        err_lines.append(f"\nbenchmark: timed out after {timeout:.0f}s")
    for t in readers:
        t.join(timeout=10)
    out, err = "".join(out_lines), "".join(err_lines)
    run.wall_s = time.perf_counter() - started
    run.rc = proc.returncode
    run.stdout, run.stderr = out, err
    if use_time:
        try:
            lines = [x for x in Path(time_file).read_text().splitlines() if x.strip()]
            peak_kb, user, system = lines[-1].split()
            run.peak_mb = int(peak_kb) / 1024
            run.cpu_s = float(user) + float(system)
        except (OSError, ValueError, IndexError):
            run.peak_mb = None
    elif box[0]:
        run.peak_mb = box[0]
    Path(time_file).unlink(missing_ok=True)
    return run


# `stage ingest 1.23s [peak 512 MB]` or `  ingest done in 1.5 s` (what `bill` prints).
STAGE_LINES = [
    re.compile(r"stage[\s:]+(?P<name>[A-Za-z][\w /.&-]*?)\s*[:=]?\s*"
               r"(?P<secs>\d+(?:\.\d+)?)\s*s\b(?P<rest>.*)", re.IGNORECASE),
    re.compile(r"^\s*(?P<name>[A-Za-z][\w /.&-]*?)\s+(?:done|finished|took)\s+(?:in\s+)?"
               r"(?P<secs>\d+(?:\.\d+)?)\s*s\b(?P<rest>.*)$", re.IGNORECASE),
]
MEM = re.compile(r"(\d+(?:\.\d+)?)\s*(MB|MiB|GB|GiB)\b", re.IGNORECASE)


def stage_key(name: str) -> str | None:
    n = name.lower()
    if "gate" in n or "quality" in n or "expect" in n or n.startswith("gx"):
        return "quality gate"
    if "dbt" in n or "build" in n or "model" in n:
        return "dbt build"
    if "ingest" in n or "load" in n:
        return "ingest"
    if "finaliz" in n:
        return "finalize"
    if "export" in n or "publish" in n:
        return "export"
    if "flow" in n or "overhead" in n or "orchestr" in n or "prefect" in n:
        return "flow/orchestration overhead"
    return None


def parse_stages(text: str) -> dict:
    """Stage lines of `bill` -> {stage: {"wall_s", "peak_mb"}}; unknown names are ignored."""
    stages: dict = {}
    for line in text.splitlines():
        m = next((m for rx in STAGE_LINES if (m := rx.search(line))), None)
        if m is None:
            continue
        key = stage_key(m.group("name"))
        if key is None:
            continue
        peak = None
        mm = MEM.search(m.group("rest") or "")
        if mm:
            peak = float(mm.group(1)) * (1024 if mm.group(2).lower().startswith("g") else 1)
        entry = stages.setdefault(key, {"wall_s": 0.0, "peak_mb": None})
        entry["wall_s"] += float(m.group("secs"))
        if peak is not None:
            entry["peak_mb"] = max(entry["peak_mb"] or 0.0, peak)
    return stages


# ----------------------------------------------------------------------------- probes
PREFECT_PROBE = """
import json, time
t0 = time.perf_counter()
from prefect import flow
t1 = time.perf_counter()
@flow(name="benchmark-trivial", log_prints=False)
def trivial():
    return 1
trivial()
t2 = time.perf_counter()
print("PROBE " + json.dumps({"import_s": t1 - t0, "flow_s": t2 - t1}))
"""

DBT_PROBE = """
import json, os, sys, time
t0 = time.perf_counter()
from dbt.cli.main import dbtRunner
t1 = time.perf_counter()
project = sys.argv[1]; target = sys.argv[2]
res = dbtRunner().invoke(["parse", "--project-dir", project, "--profiles-dir", project,
                          "--target-path", target + "/target", "--log-path", target + "/logs",
                          "--no-partial-parse", "--quiet"])
t2 = time.perf_counter()
print("PROBE " + json.dumps({"import_s": t1 - t0, "parse_s": t2 - t1, "ok": bool(res.success)}))
"""

GX_PROBE = """
import json, time
t0 = time.perf_counter()
import great_expectations as gx
t1 = time.perf_counter()
ctx = gx.get_context(mode="ephemeral")
t2 = time.perf_counter()
print("PROBE " + json.dumps({"import_s": t1 - t0, "context_s": t2 - t1}))
"""


def probe(label: str, code: str, args: list[str], env: dict, timeout: float) -> Run:
    run = measure(label, [sys.executable, "-c", code, *args], env, timeout)
    for line in run.stdout.splitlines():
        if line.startswith("PROBE "):
            run.values = json.loads(line[6:])
    return run
