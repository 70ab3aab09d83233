"""PDF statements from the same HTML (SPEC section 5), by headless Chromium's print-to-PDF
(the DevTools protocol's ``Page.printToPDF``, one browser for all pages of a run).

Chromium stamps the time of printing into the PDF's /CreationDate and /ModDate, and a tagged
PDF names its elements by DOM node ids that depend on what the browser loaded before; with
tags off nothing else changes between runs (checked with Chromium 156: the same page printed
in another order, by another browser, is equal byte for byte once the two dates are
equal). The dates are replaced by a fixed one of the same length, so the cross-reference
offsets stay valid and a re-run writes the same bytes (R20). The /Creator names the Chromium
version: a new Chromium may change the bytes.
"""

from __future__ import annotations

import base64
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)
FIXED_PDF_DATE = b"D:20000101000000Z"
_PDF_DATE = re.compile(rb"/(CreationDate|ModDate) \(D:\d{14}[^)]{0,12}\)")


class PdfError(RuntimeError):
    """Chromium is missing or did not print a page."""


def chromium() -> str:
    for name in (os.environ.get("SUPPORT_BILLING_CHROMIUM"), *CHROMIUM_NAMES):
        if name and (path := shutil.which(name)):
            return path
    raise PdfError("chromium not found; install it (apt-get install -y chromium) or set "
                   "SUPPORT_BILLING_CHROMIUM")


def fix_dates(pdf: bytes) -> bytes:
    """The PDF with its creation and modification dates set to FIXED_PDF_DATE (UTC, so the
    machine's time zone leaves no trace either), padded with spaces to the original length
    so every byte offset stays where the xref table says."""
    def fixed(match: re.Match) -> bytes:
        size = len(match.group(0))
        for date in (FIXED_PDF_DATE, FIXED_PDF_DATE.rstrip(b"Z")):
            new = b"/" + match.group(1) + b" (" + date + b")"
            if len(new) <= size:
                return new + b" " * (size - len(new))
        return match.group(0)  # unreachable: the pattern holds at least 14 digits

    return _PDF_DATE.sub(fixed, pdf)


def html_file_to_pdf(html: Path, pdf: Path) -> None:
    """Print one HTML file to ``pdf`` (written atomically) with fixed dates."""
    html_files_to_pdf([(Path(html), Path(pdf))])


def html_files_to_pdf(pairs: list[tuple[Path, Path]]) -> None:
    """Print each (html, pdf) pair with one browser (``ChromiumPipe``)."""
    if not pairs:
        return
    with ChromiumPipe() as browser:
        for html, pdf in pairs:
            data = browser.print_pdf(html)
            tmp = Path(pdf).with_name(f".{Path(pdf).name}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, pdf)


# ---------------------------------------------------------------- many pages, one browser
class ChromiumPipe:
    """One headless Chromium driven over the DevTools protocol on a pipe
    (``--remote-debugging-pipe``: commands on its fd 3, replies on its fd 4, each a JSON
    message ended by NUL). Printing many pages this way costs one browser start, not one
    per page (a start is ~2 s here)."""

    def __init__(self, timeout: float = 120):
        self.timeout = timeout
        self._profile = tempfile.TemporaryDirectory(prefix="sb-chromium-",
                                                    ignore_cleanup_errors=True)
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def wire_fds():  # in the child: its fd 3 reads commands, fd 4 writes replies
            # copies first: a pipe end may itself be fd 3 or 4, and dup2(fd, fd) would
            # leave it close-on-exec
            read_end, write_end = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        self._proc = subprocess.Popen(
            [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={self._profile.name}/p",
             "--remote-debugging-pipe"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=False, preexec_fn=wire_fds)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._next_id = 0
        try:
            target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            self._session = self.call("Target.attachToTarget",
                                      {"targetId": target, "flatten": True})["sessionId"]
            self.call("Page.enable", session=True)
        except (OSError, PdfError) as exc:
            self.close()
            raise PdfError(f"chromium did not start its DevTools pipe ({exc})") from None

    def _read_message(self) -> dict:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from_child], [], [], self.timeout)
            chunk = os.read(self._from_child, 1 << 20) if ready else b""
            if not chunk:
                raise PdfError("chromium stopped answering")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, session: bool = False,
             wait_event: str | None = None) -> dict:
        """Send one command; return its result (after ``wait_event`` arrived, if given)."""
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self._session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        result, seen = None, wait_event is None
        while result is None or not seen:
            reply = self._read_message()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise PdfError(f"chromium {method}: {reply['error'].get('message')}")
                result = reply.get("result", {})
            elif wait_event and reply.get("method") == wait_event:
                seen = True
        return result

    def print_pdf(self, html: Path) -> bytes:
        self.call("Page.navigate", {"url": Path(html).resolve().as_uri()}, session=True,
                  wait_event="Page.loadEventFired")
        # untagged: a tagged PDF names each element by its DOM node id, which grows with
        # every page a browser loads, so the bytes would depend on the page's position
        data = self.call("Page.printToPDF", {"printBackground": True, "generateTaggedPDF": False},
                         session=True)["data"]
        return fix_dates(base64.b64decode(data))

    def close(self) -> None:
        try:
            os.close(self._to_child)  # Chromium exits when its pipe closes
            self._proc.wait(timeout=30)
        except Exception:  # noqa: BLE001 - a browser that will not stop is killed
            self._proc.kill()
            self._proc.wait()
        finally:
            os.close(self._from_child)
            self._profile.cleanup()

    def __enter__(self) -> ChromiumPipe:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
