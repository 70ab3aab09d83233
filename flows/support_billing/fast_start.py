"""Fixed costs of a command-line run, overlapped, so a small month is not mostly waiting
(docs/decisions.md, "Scale").

Without ``PREFECT_API_URL`` the first flow run starts Prefect's temporary server, a
subprocess that takes ~4-5 s to answer, and waits for it doing nothing. ``bill`` instead
starts that same server (Prefect's ``SubprocessASGIServer``, the instance the flow run
reuses) from a helper thread that only spawns it and polls its health, while the main
thread imports dbt and Great Expectations (~4 s) which the run needs later anyway. The
flow starts once both are done. With a running server (``PREFECT_API_URL``) nothing
changes: the flow starts at once, dbt is imported by the build and GX during it. Any failure
here is left to Prefect's own start, which reports it in its usual way.
"""

from __future__ import annotations

import threading


class EarlyServer:
    """The temporary server being started in the background (or nothing to wait for)."""

    def __init__(self, thread: threading.Thread | None = None):
        self._thread = thread

    @property
    def starting(self) -> bool:
        return self._thread is not None

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()


def start_temporary_server() -> EarlyServer:
    """Start Prefect's temporary server now, in a helper thread, if a flow run would."""
    try:
        from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

        if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
            return EarlyServer()
        # Imported here, in the calling thread (with what polling the server's health
        # loads lazily): the helper thread then imports nothing, so it never holds a
        # module lock that the main thread's imports could wait on.
        import encodings.idna  # noqa: F401

        import httpx  # noqa: F401
        from prefect.server.api.server import SubprocessASGIServer

        server = SubprocessASGIServer()
    except Exception:  # noqa: BLE001 - Prefect starts (and reports) it the usual way
        return EarlyServer()

    def run() -> None:
        try:
            server.start()
        except Exception:  # noqa: BLE001 - the flow run's own start reports it
            pass

    thread = threading.Thread(target=run, name="prefect-server-start", daemon=True)
    thread.start()
    return EarlyServer(thread)


def warm_billing_imports() -> None:
    """Import what a billing run needs later (dbt, Great Expectations), in this thread."""
    try:
        import dbt.cli.main  # noqa: F401

        from support_billing.billing.gate import _quiet_gx

        _quiet_gx()  # imports great_expectations with its analytics off
    except Exception:  # noqa: BLE001 - the build and the gate import (and report) again
        pass
