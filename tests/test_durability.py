"""Durability on the real commands (SPEC R15a, R19, section 6).

Every case runs the real CLI on the real ingest and dbt models. What only a process shows
runs in a subprocess: a ``bill`` SIGKILLed mid-run, and the exit status with the one line on
stderr of a failure (section 6). The steps around them, which only need the command to do its
job, run the same Typer app in this process (``inprocess_cli.run_cli``), sparing a new
interpreter's imports of Prefect, dbt and Great Expectations per command:
- a ``bill`` killed (SIGKILL) at each step, a late row added before the rerun: no number
  is published twice with other content, numbers stay gapless, late rows published over
  become R15 adjustments of the next month (R15a);
- a damaged warehouse is one line naming ``rebuild``; ``rebuild`` restores the finalized
  history from the ledger and the inbox (R19).

Hand-computed: K and L each have pay_stubs 2 all year: tier 2, rate 12.50, 25.00 a month
(R6, R7). A late training row of 1.00 h for K is 250.00 (R13).
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from inprocess_cli import run_cli

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
KILL_AT = REPO / "tests" / "kill_at.py"

FILES = {
    "customers.csv": "customer_id,customer_name,overage_policy\nK,Kilo Co,subscription\n"
                     "L,Lima Co,upfront\n",
    "subscriptions.csv": "subscription_id,customer_id,module,annual_incidents,start_date\n"
                         "S-K1,K,pay_stubs,2,2026-01-01\nS-L1,L,pay_stubs,2,2026-01-01\n",
}


# Extra environment of every command run here: the session's Prefect API (conftest.py).
SHARED_ENV: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _shared_prefect_api(prefect_api_url, monkeypatch):
    """Commands run their flows on the session's Prefect server rather than each starting
    the temporary one (the crash and lock behaviour checked here is the warehouse's and the
    export folder's, the same with either server)."""
    monkeypatch.setitem(SHARED_ENV, "PREFECT_API_URL", prefect_api_url)


def env() -> dict:
    out = dict(os.environ)
    out["PYTHONPATH"] = str(REPO / "flows")
    out.pop("SUPPORT_BILLING_DEBUG", None)
    out.update(SHARED_ENV)
    return out


def run(args: list[str], timeout: float = 900, extra_env: dict | None = None
        ) -> subprocess.CompletedProcess:
    """Run a command in its own process group; whatever it leaves running (a temporary
    Prefect server of a killed run) is ended with it. Output goes to files: a child left
    running would keep a pipe open."""
    import tempfile

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(args, stdout=out, stderr=err, text=True,
                                env={**env(), **(extra_env or {})}, start_new_session=True,
                                cwd=REPO)
        try:
            proc.wait(timeout=timeout)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(args, proc.returncode, out.read(), err.read())


def cli(home: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "support_billing.cli", "--home", str(home), *args], **kw)


def killed(home: Path, step: str, *args: str) -> subprocess.CompletedProcess:
    return run([sys.executable, str(KILL_AT), step, "--home", str(home), *args])


def new_home(tmp_path: Path, name: str = "home") -> Path:
    home = tmp_path / name
    (home / "inbox").mkdir(parents=True)
    for file_name, text in FILES.items():
        (home / "inbox" / file_name).write_text(text, encoding="utf-8")
    return home


def late_row(home: Path, period: str, entry: str) -> None:
    (home / "inbox" / f"timesheets_{entry}.csv").write_text(
        "entry_id,customer_id,work_date,hours,activity\n"
        f"{entry},K,{period}-10,1.00,training\n", encoding="utf-8")


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def published_numbers(home: Path) -> dict[str, list[tuple]]:
    """Every number in every published folder with its content (customer, total, lines)."""
    out: dict[str, list[tuple]] = {}
    for folder in sorted((home / "exports").glob("2026-*")):
        lines = read_csv(folder / "invoice_lines.csv")
        for inv in read_csv(folder / "invoices.csv"):
            own = tuple((ln["line_type"], ln["amount"], ln["source_ref"]) for ln in lines
                        if ln["invoice_number"] == inv["invoice_number"])
            out.setdefault(inv["invoice_number"], []).append(
                (folder.name, inv["customer_id"], inv["total"], own))
    return out


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stderr[-2000:]
    return result


# ---------------------------------------------------------------- R15a
# month, step it is killed at, whether the folder was published before the kill
KILLS = [
    ("2026-03", "build", False),
    ("2026-04", "gate", False),
    ("2026-05", "export", False),
    ("2026-06", "published", True),
    ("2026-07", "finalizing", True),
    ("2026-08", "ledger", True),
]


def test_a_bill_killed_at_each_step_never_issues_a_number_twice(tmp_path):
    home = new_home(tmp_path)
    for n, (period, step, published) in enumerate(KILLS, start=1):
        res = killed(home, step, "bill", "--period", period)
        assert res.returncode == -signal.SIGKILL, (step, res.stderr[-2000:])
        assert (home / "exports" / period).is_dir() == published, step
        before = (home / "exports" / period / "invoices.csv").read_bytes() if published else None
        late_row(home, period, f"TS-LATE{n}")
        ok(run_cli(home, "bill", "--period", period))
        if published:  # R15a: the folder stands as published, the late row is not in it
            assert (home / "exports" / period / "invoices.csv").read_bytes() == before
        assert not list((home / "exports").glob(".tmp-*")), step
    ok(run_cli(home, "bill", "--period", "2026-09"))

    numbers = published_numbers(home)
    assert all(len(v) == 1 for v in numbers.values())  # no number in two folders
    for period in [p for p, _s, _ in KILLS] + ["2026-09"]:
        invoices = read_csv(home / "exports" / period / "invoices.csv")
        compact = period.replace("-", "")
        # R14: gapless, in customer order; K 25.00 + 250.00 (its own late row or the
        # adjustment for the month before), except June: published before its late row
        k_total = "25.00" if period == "2026-06" else "275.00"
        assert [(i["invoice_number"], i["customer_id"], i["total"]) for i in invoices] == [
            (f"INV-{compact}-00001", "K", k_total), (f"INV-{compact}-00002", "L", "25.00")]
    # months killed before publication include their late row; the others carry it to the
    # next month as an R15 adjustment (25.00 + 250.00 either way)
    for period, _step, _published in KILLS + [("2026-09", "", False)]:
        k_lines = [(ln["line_type"], ln["amount"], ln["source_ref"]) for ln in
                   read_csv(home / "exports" / period / "invoice_lines.csv")
                   if ln["customer_id"] == "K"]
        previous = {"2026-07": "2026-06", "2026-08": "2026-07", "2026-09": "2026-08"}
        if period in previous:
            p = previous[period]
            assert k_lines == [
                ("support_subscription", "25.00", "S-K1"),
                ("prior_period_adjustment", "250.00",
                 f"{p}:INV-{p.replace('-', '')}-00001:training_hours")], period
        elif period == "2026-06":
            assert k_lines == [("support_subscription", "25.00", "S-K1")]
        else:
            assert [(t, a) for t, a, _s in k_lines] == [
                ("support_subscription", "25.00"), ("training_hours", "250.00")], period
    # what the warehouse finalized is what was published; the ledger has every month
    for period in [p for p, _s, _ in KILLS] + ["2026-09"]:
        assert (home / "ledger" / "months" / f"{period}.jsonl").is_file()
        assert (home / "ledger" / "months" / f"{period}.jsonl.sha256").is_file()
    # re-billing a month published over a late row reports nothing left to carry
    res = ok(run_cli(home, "bill", "--period", "2026-08"))
    assert "the recomputation matches it, nothing to carry forward" in res.stdout


# ---------------------------------------------------------------- R19
def test_rebuild_restores_history_and_the_next_month_bills_as_it_would_have(tmp_path):
    home = new_home(tmp_path)
    (home / "inbox" / "timesheets.csv").write_text(
        "entry_id,customer_id,work_date,hours,activity\n"
        "TS-K1,K,2026-03-10,2.00,implementation\n", encoding="utf-8")
    ok(run_cli(home, "bill", "--period", "2026-03"))          # K 25.00 + 500.00
    (home / "inbox" / "timesheets_fix.csv").write_text(   # R-IN4 correction: 0.50 h
        "entry_id,customer_id,work_date,hours,activity\n"
        "TS-K1,K,2026-03-10,0.50,implementation\n", encoding="utf-8")
    late_row(home, "2026-03", "TS-LATE3")                 # late data for March
    ok(run_cli(home, "bill", "--period", "2026-04"))          # K 25.00 - 375.00 + 250.00
    assert [(i["invoice_number"], i["total"]) for i in
            read_csv(home / "exports" / "2026-04" / "invoices.csv")] == [
        ("INV-202604-00001", "25.00"), ("CN-202604-00001", "-100.00")]
    late_row(home, "2026-05", "TS-LATE5")                 # ingested, not billed yet
    ok(run_cli(home, "ingest"))
    usage_before = ok(run_cli(home, "usage", "--year", "2026", "--format", "csv")).stdout

    reference = tmp_path / "reference"                    # what the next month would be
    shutil.copytree(home, reference, symlinks=True)
    with open(home / "warehouse.duckdb", "r+b") as fh:
        fh.truncate(4096)

    res = cli(home, "bill", "--period", "2026-05")
    assert res.returncode == 1
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "support-billing rebuild" in res.stderr and "cannot be opened" in res.stderr

    res = ok(run_cli(home, "rebuild"))
    assert "2 finalized month(s)" in res.stdout and "3 ingest(s)" in res.stdout
    assert list(home.glob("warehouse.duckdb.replaced-*"))
    for period in ("2026-03", "2026-04"):
        res = ok(run_cli(home, "bill", "--period", period))
        assert "the recomputation matches it, nothing to carry forward" in res.stdout, period
    assert ok(run_cli(home, "usage", "--year", "2026", "--format", "csv")).stdout == usage_before

    ok(run_cli(home, "bill", "--period", "2026-05"))
    ok(run_cli(reference, "bill", "--period", "2026-05"))
    for name in ("invoices.csv", "invoice_lines.csv", "manifest.json"):
        assert ((home / "exports" / "2026-05" / name).read_bytes()
                == (reference / "exports" / "2026-05" / name).read_bytes()), name
    assert [(i["invoice_number"], i["total"]) for i in
            read_csv(home / "exports" / "2026-05" / "invoices.csv")] == [
        ("INV-202605-00001", "275.00"), ("INV-202605-00002", "25.00")]

    # a file the ingest log lists but the inbox lost is named
    (home / "inbox" / "timesheets_fix.csv").unlink()
    (home / "warehouse.duckdb").unlink()
    res = cli(home, "rebuild")
    assert res.returncode == 1
    assert "missing from the inbox: timesheets_fix.csv" in res.stderr


# ---------------------------------------------------------------- R19: readers and runs
READER = r"""
import json, pathlib, sys, time
import duckdb
path, stop = sys.argv[1], pathlib.Path(sys.argv[2])
ok = retried = 0
failed = []
while not stop.exists():
    try:
        con = duckdb.connect(path, read_only=True)
        try:
            con.execute("select count(*) from raw.ingest_log").fetchall()
            ok += 1
        finally:
            con.close()
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            retried += 1
        else:
            failed.append(str(exc)[:200])
    except Exception as exc:
        failed.append(str(exc)[:200])
    time.sleep(0.2)
print(json.dumps({"ok": ok, "retried": retried, "failed": failed}))
"""


def test_a_looping_reader_never_breaks_bill_ingest_or_refresh(tmp_path):
    """R19: a notebook re-running ``connect(read_only=True)``, one query, close, 0.2 s
    sleep, during three runs each of ingest, bill and refresh."""
    import json

    home = new_home(tmp_path)
    ok(run_cli(home, "ingest"))
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(home / "warehouse.duckdb"),
                               str(stop)], stdout=subprocess.PIPE, text=True, env=env())
    try:
        for n in range(3):
            late_row(home, f"2026-0{3 + n}", f"TS-R{n}")
            ok(run_cli(home, "ingest"))
        for period in ("2026-03", "2026-04", "2026-05"):
            ok(run_cli(home, "bill", "--period", period))
        for _ in range(3):
            ok(run_cli(home, "refresh", "--year", "2026"))
    finally:
        stop.touch()
        out, _ = reader.communicate(timeout=60)
    counts = json.loads(out)
    assert counts["failed"] == []
    assert counts["ok"] > 0


# ---------------------------------------------------------------- section 6: one line
def one_line(result: subprocess.CompletedProcess, code: int = 1) -> str:
    assert result.returncode == code, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith("error: ")
    return lines[0]


def test_a_damaged_warehouse_is_one_line_naming_rebuild_for_every_command(tmp_path):
    home = new_home(tmp_path)
    (home / "warehouse.duckdb").write_bytes(b"not a database\n" * 300)
    for args in (["ingest"], ["bill", "--period", "2026-03"], ["usage", "--year", "2026"],
                 ["refresh", "--year", "2026"]):
        line = one_line(cli(home, *args))
        assert "cannot be opened" in line and "support-billing rebuild" in line, args
    # --debug: the traceback on stderr too; without it, in the log file the line names
    res = cli(home, "--debug", "usage", "--year", "2026")
    assert res.returncode == 1 and "Traceback (most recent call last)" in res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("error: ")
    logs = sorted((home / "logs").glob("usage-*.log"))
    assert logs and "Traceback" in logs[0].read_text()


def test_a_prefect_server_that_does_not_answer_is_one_line(tmp_path):
    home = new_home(tmp_path)
    line = one_line(cli(home, "bill", "--period", "2026-03",
                        extra_env={"PREFECT_API_URL": "http://127.0.0.1:9/api"}))
    assert "127.0.0.1:9" in line and "(details: " in line
    log = Path(line.split("(details: ")[1].rstrip(")"))
    assert log.parent == home / "logs" and "Traceback" in log.read_text()


def _root_can(command: list[str]) -> bool:
    return os.geteuid() == 0 and shutil.which(command[0]) is not None


@pytest.mark.skipif(not _root_can(["chattr"]), reason="needs root and chattr")
def test_an_immutable_warehouse_is_one_line(tmp_path):
    home = new_home(tmp_path)
    ok(run_cli(home, "ingest"))
    late_row(home, "2026-03", "TS-I1")
    warehouse = home / "warehouse.duckdb"
    if subprocess.run(["chattr", "+i", str(warehouse)]).returncode != 0:
        pytest.skip("the file system does not support chattr +i")
    try:
        line = one_line(cli(home, "ingest"))
        line_bill = one_line(cli(home, "bill", "--period", "2026-03"))
    finally:
        subprocess.run(["chattr", "-i", str(warehouse)], check=True)
    assert "Operation not permitted" in line and str(warehouse) in line
    assert "Operation not permitted" in line_bill
    ok(run_cli(home, "bill", "--period", "2026-03"))


@pytest.mark.skipif(not _root_can(["mount"]), reason="needs root to mount a small tmpfs")
def test_a_full_disk_is_one_line_and_loses_nothing(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(disk)]
                      ).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        home = new_home(disk)
        ok(run_cli(home, "bill", "--period", "2026-03"))
        late_row(home, "2026-04", "TS-D1")
        filler = disk / "filler"
        # Unbuffered, so closing the file has nothing left to write; the disk
        # may already be nearly full after the first bill, even for open().
        try:
            with open(filler, "wb", buffering=0) as fh:  # fill to the last byte
                while True:
                    fh.write(b"\0" * (1 << 16))
        except OSError:
            pass
        one_line(cli(home, "bill", "--period", "2026-04"))
        assert not (home / "exports" / "2026-04").exists()
        filler.unlink(missing_ok=True)
        ok(run_cli(home, "bill", "--period", "2026-04"))
        assert [(i["invoice_number"], i["total"]) for i in
                read_csv(home / "exports" / "2026-04" / "invoices.csv")] == [
            ("INV-202604-00001", "275.00"), ("INV-202604-00002", "25.00")]
    finally:
        subprocess.run(["umount", "-l", str(disk)])
