"""What the terminal shows when a command runs (SPEC section 6: one clear line, never a bare
traceback).

A failure prints one line on stderr; its traceback goes to a file under ``HOME/logs/`` that
the line names, or to stderr as well with the global ``--debug`` option
(``SUPPORT_BILLING_DEBUG=1``).
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path

DEBUG_ENV = "SUPPORT_BILLING_DEBUG"
LOGS_DIR = "logs"


def debug_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0", "false")


def quiet_prefect_console() -> None:
    """The CLI prints its own progress and its own one-line errors; Prefect's console lines
    (INFO progress, and the ERROR tracebacks it logs for a failed task or flow run, still
    sent to the API so the run log in the UI is complete) stay off the terminal unless
    PREFECT_LOGGING_LEVEL is set or ``--debug`` is given. The temporary server's telemetry
    stays off too."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if os.environ.get("PREFECT_LOGGING_LEVEL") or debug_enabled():
        return
    import prefect  # noqa: F401  (sets up Prefect's logging handlers)

    for name in ("", "prefect"):
        for handler in logging.getLogger(name).handlers:
            if type(handler).__name__ == "PrefectConsoleHandler":
                handler.setLevel(logging.CRITICAL + 1)


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message (its type when it has none)."""
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()
    return type(exc).__name__


def write_traceback(home: Path | None, command: str, text: str) -> Path | None:
    """Save a traceback under ``HOME/logs/``; None when that cannot be written (a full or
    read-only disk), in which case the one line stands alone."""
    if home is None:
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = Path(home) / LOGS_DIR / f"{command}-{stamp}-{os.getpid()}.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError:
        return None
    return path


def failure_line(home: Path | None, command: str, exc: BaseException,
                 prefix: str = "") -> str:
    """One line for stderr about ``exc``, naming the log file that holds its traceback;
    with ``--debug`` the traceback is printed to stderr too."""
    text = "".join(traceback.format_exception(exc))
    if debug_enabled():
        sys.stderr.write(text)
    path = write_traceback(home, command, text)
    detail = f" (details: {path})" if path else ""
    return f"{prefix}{first_line(exc)}{detail}"
