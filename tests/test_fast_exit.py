"""The command line's quick exit (``fast_start.exit_now``): it skips Python's teardown of
the imported modules, never what a normal exit does that a run depends on: the exit status,
the output, ``atexit`` handlers (Prefect's log drain, ``logging``'s files) and unfinished
threads. Each case runs in a new interpreter, since the function ends its process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PROGRAM = textwrap.dedent(
    """
    import atexit, logging, sys, threading, time
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    from support_billing.fast_start import exit_now

    out = Path(sys.argv[1])
    handler = logging.FileHandler(out / "run.log")
    logging.getLogger("probe").addHandler(handler)
    logging.getLogger("probe").warning("logged before the exit")
    atexit.register(lambda: (out / "atexit").write_text("ran"))

    def slow():
        time.sleep(0.5)
        (out / "thread").write_text("finished")

    threading.Thread(target=slow).start()
    pool = ThreadPoolExecutor(1)  # left open, as a run that forgets it would
    pool.submit(lambda: (time.sleep(0.3), (out / "pool").write_text("finished")))
    sys.stdout.write("no newline at the end")  # still in the buffer
    code = eval(sys.argv[2])
    {exit}(code)
    """
)


def run(tmp_path: Path, code: str, exit_call: str = "exit_now"):
    script = tmp_path / "probe.py"
    script.write_text(PROGRAM.replace("{exit}", exit_call))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # buffered
    return subprocess.run([sys.executable, str(script), str(tmp_path), code],
                          capture_output=True, text=True, timeout=60, env=env)


@pytest.mark.parametrize(("code", "status"), [("None", 0), ("0", 0), ("3", 3)])
def test_status_output_atexit_logs_and_threads_are_kept(tmp_path, code, status):
    proc = run(tmp_path, code)
    assert proc.returncode == status, proc.stderr
    assert proc.stdout == "no newline at the end"
    assert (tmp_path / "atexit").read_text() == "ran"
    assert (tmp_path / "thread").read_text() == "finished"
    assert (tmp_path / "pool").read_text() == "finished"
    assert (tmp_path / "run.log").read_text() == "logged before the exit\n"


def test_a_message_goes_to_stderr_with_status_1(tmp_path):
    proc = run(tmp_path, "'error: the warehouse is locked'")
    assert proc.returncode == 1
    assert proc.stderr == "error: the warehouse is locked\n"


def test_seeded_defect_a_bare_os_exit_loses_what_the_test_checks(tmp_path):
    """The same program ended by ``os._exit`` alone: the checks above would fail."""
    proc = run(tmp_path, "0", exit_call="__import__('os')._exit")
    assert proc.returncode == 0
    assert proc.stdout == ""
    assert not (tmp_path / "atexit").exists()
    assert not (tmp_path / "thread").exists()


def test_the_command_line_exits_with_its_status(tmp_path):
    """``python -m support_billing.cli`` ends through ``cli.entry``: a usage error is 2 and
    ``--help`` 0 with the whole text (a whole bill ending this way: test_demo.py)."""
    home = ["--home", str(tmp_path / "home")]
    cli = [sys.executable, "-m", "support_billing.cli"]
    usage = subprocess.run([*cli, *home, "no-such-command"], capture_output=True, text=True,
                           timeout=120)
    assert usage.returncode == 2 and "No such command" in usage.stderr
    helped = subprocess.run([*cli, "--help"], capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and "bill" in helped.stdout
    assert helped.stdout.rstrip().endswith("╯")
