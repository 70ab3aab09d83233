"""Run ``support-billing`` and SIGKILL the process at a named step (R15a crash tests).

    python tests/kill_at.py STEP support-billing-args...

STEP is one of:
- ``build``: while dbt builds (a timer fires 1.5 s into the `dbt build` command),
- ``gate``: when the quality gate starts,
- ``export``: after the export folder was written, before it is renamed into place,
- ``published``: after the rename, before the finalization starts,
- ``finalizing``: inside the finalization transaction (documents and lines inserted),
- ``ledger``: after the finalization committed, before the ledger is written.

Test-only code: it patches the product's functions in this process, then runs the CLI.
"""

from __future__ import annotations

import os
import signal
import sys
import threading


def die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def after(module, name: str) -> None:
    real = getattr(module, name)

    def wrapper(*args, **kwargs):
        result = real(*args, **kwargs)
        die()
        return result

    setattr(module, name, wrapper)


def before(module, name: str) -> None:
    def wrapper(*args, **kwargs):
        die()

    setattr(module, name, wrapper)


def during_dbt() -> None:
    """1.5 s into the `dbt build` command itself (after the process's `dbt parse`)."""
    from dbt.cli.main import dbtRunner

    real = dbtRunner.invoke

    def wrapper(self, args, **kwargs):
        if args and args[0] == "build":
            threading.Timer(1.5, die).start()
        return real(self, args, **kwargs)

    dbtRunner.invoke = wrapper


def main() -> None:
    step, argv = sys.argv[1], sys.argv[2:]
    from support_billing.billing import finalize, gate
    from support_billing.exports import writers as exporters
    from support_billing.storage import ledger
    if step == "build":
        during_dbt()
    elif step == "gate":
        before(gate, "run_gate_on")
    elif step == "export":
        after(exporters, "write_export_from")
    elif step == "published":
        before(finalize, "finalize_published")
    elif step == "finalizing":
        before(finalize, "_insert_policies")
    elif step == "ledger":
        before(ledger, "write_month")
    else:
        raise SystemExit(f"unknown step {step}")
    from support_billing.cli import entry

    sys.argv = ["support-billing", *argv]
    entry()  # the command's own ending, as a run that is not killed ends


if __name__ == "__main__":
    main()
