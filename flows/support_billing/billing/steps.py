"""What every step of a billing run shares (SPEC section 6): the run lock, the folders a
month is written to, progress lines and the one-line stop.

The tasks (``tasks.py``), the flow (``flow.py``) and the drafts (``drafts.py``) all stand on
this module and on nothing of each other's that they do not import from here."""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from prefect import get_run_logger

from support_billing.periods import Period

LOCK_FILE = ".bill.lock"
PREVIEW_DIR = "_preview"


class BillingStop(RuntimeError):
    """An expected stop (refusal, failed gate, ...): one line for stderr, exit 1."""


def log():
    try:
        return get_run_logger()
    except Exception:  # outside a flow run (unit tests calling .fn())
        return logging.getLogger("support_billing.billing.flow")


def say(message: str) -> None:
    """Progress for the person running ``bill`` (stdout) and the Prefect run log."""
    print(message, flush=True)
    try:
        log().info(message)
    except Exception:
        pass


@contextmanager
def billing_lock(home: Path):
    """Exclusive, non-blocking lock on ``HOME/.bill.lock``: two runs never both publish."""
    path = Path(home) / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BillingStop(
                f"another billing run is in progress (lock {path} is held); try again later"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        yield path
    finally:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        finally:
            fh.close()


def export_dir(home: Path, period: Period, preview: bool) -> Path:
    base = Path(home) / "exports"
    return base / PREVIEW_DIR / period if preview else base / period


def reports_dir(home: Path, preview: bool) -> Path:
    base = Path(home) / "reports"
    return base / PREVIEW_DIR if preview else base


def clean_stale(parent: Path, period: Period | None = None) -> list[Path]:
    """Remove temporary folders left by a crashed run (we hold the lock: none is live)."""
    removed = []
    if not parent.is_dir():
        return removed
    for child in sorted(parent.iterdir()):
        if child.name.startswith((".tmp-", ".old-")) and (
            period is None or child.name.startswith((f".tmp-{period}-", f".old-{period}-"))
        ):
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child)
    return removed


@contextmanager
def stage(name: str, timings: dict):
    start = time.perf_counter()
    say(f"  {name} ...")
    try:
        yield
    finally:
        timings[name] = round(time.perf_counter() - start, 1)
        say(f"  {name} done in {timings[name]:.1f} s")


def check(result: dict) -> dict:
    if result.get("error"):
        raise BillingStop(result["error"])
    return result


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
