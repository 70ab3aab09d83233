"""The command line run in the test's own process (Typer's ``CliRunner`` on
``support_billing.cli.app``), with the result shaped like a subprocess's.

For the steps of a test that only need "the command did its job" (exit 0, its output): the
same Typer app, options and ``cli_*`` functions as ``support-billing`` in a shell, without a
new interpreter importing Prefect, dbt and Great Expectations again (several seconds per
command). What only a process shows (SIGKILL mid-run, the exit status and the one line on
stderr that ``cli.main`` prints for an unexpected error, section 6) stays a subprocess.
"""

from __future__ import annotations

import subprocess
import traceback
from pathlib import Path


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    """``support-billing --home HOME ARGS`` in this process. The flows run on the Prefect
    API of the session (``prefect_server`` in conftest.py must be active). The variables
    the command sets for itself (the home, ``--debug``) are restored afterwards."""
    from support_billing.cli import app
    from typer.testing import CliRunner

    argv = ["--home", str(home), *args]
    result = CliRunner().invoke(app, argv, env={"SUPPORT_BILLING_HOME": str(home),
                                                "SUPPORT_BILLING_DEBUG": None})
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(["support-billing", *argv], result.exit_code,
                                       result.stdout, stderr)
