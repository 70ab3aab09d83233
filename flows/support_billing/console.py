"""What the terminal shows when a flow runs from the command line."""

from __future__ import annotations

import logging
import os


def quiet_prefect_console() -> None:
    """The CLI prints its own progress; Prefect's INFO lines (still sent to the API, so the
    run log in the UI is complete) stay off the terminal unless PREFECT_LOGGING_LEVEL is
    set. The temporary server's telemetry stays off too."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if os.environ.get("PREFECT_LOGGING_LEVEL"):
        return
    import prefect  # noqa: F401  (sets up Prefect's logging handlers)

    for handler in logging.getLogger().handlers:
        if type(handler).__name__ == "PrefectConsoleHandler":
            handler.setLevel(logging.WARNING)
