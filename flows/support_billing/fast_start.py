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
from contextlib import contextmanager


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


@contextmanager
def foreground_flow_runs():
    """Flow runs of a command in the foreground (``bill``, ``ingest``, ``refresh``, ``serve
    --run-once``) without Prefect's run heartbeats.

    A heartbeat thread sleeps in steps of one second, and the end of every flow run waits
    for it to wake: 0-1 s per run, about 1 s of a ``bill`` (its run and the ingest subflow).
    Heartbeats let a server notice a run whose process died without a word; a command in
    the foreground reports its own end (its exit status, SPEC section 6), and a run killed
    mid-way is found by the next one (R15a). The schedules of ``serve`` keep them."""
    try:
        from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    except ImportError:  # a Prefect without the setting has no heartbeat to wait for
        yield
        return
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def warm_billing_imports(quiet_gx) -> None:
    """Import what a billing run needs later (dbt, Great Expectations), in this thread.
    ``quiet_gx`` is the gate's own import of GX (analytics off), handed in by the caller so
    that this module stays below the stages it speeds up."""
    try:
        import dbt.cli.main  # noqa: F401

        quiet_gx()
    except Exception:  # noqa: BLE001 - the build and the gate import (and report) again
        pass


def exit_now(code) -> None:
    """End the command-line process with ``code`` (a ``SystemExit`` code) without Python's
    teardown of every imported module.

    What a normal exit does that matters still runs, in the same order: the interpreter's
    thread shutdown (thread pools told to stop, every non-daemon thread joined), then the
    ``atexit`` handlers (Prefect drains its log and event workers and stops a temporary
    server, ``logging`` flushes and closes its files), then stdout and stderr are flushed.
    What is skipped is freeing the objects of Prefect, dbt and Great Expectations one by
    one: about 2 s of every run (docs/decisions.md, "Scale"). Every file and database
    connection of the run is closed before the command returns, so nothing waits on that
    teardown. Where the interpreter lacks the hooks used here, the exit is the normal one."""
    import atexit
    import os
    import sys

    shutdown = getattr(threading, "_shutdown", None)
    run_exitfuncs = getattr(atexit, "_run_exitfuncs", None)
    if shutdown is None or run_exitfuncs is None:
        sys.exit(code)
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): the message on stderr and status 1, as Python does
        print(code, file=sys.stderr)
        status = 1
    shutdown()
    run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a closed pipe: nothing more can be written
            pass
    os._exit(status)
