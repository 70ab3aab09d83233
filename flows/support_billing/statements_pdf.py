"""PDF statements from the same HTML (SPEC section 5), by headless Chromium's print-to-PDF.

Chromium stamps the time of printing into the PDF's /CreationDate and /ModDate; nothing else
in its output changes between runs (checked with Chromium 156: two prints of one page are
equal byte for byte once these two dates are equal). The dates are replaced by a fixed one
of the same length, so the cross-reference offsets stay valid and a re-run writes the same
bytes (R20). The /Creator names the Chromium version: a new Chromium may change the bytes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-pdf-header-footer",
)
FIXED_PDF_DATE = b"D:20000101000000+00'00'"
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
    """The PDF with its creation and modification dates set to FIXED_PDF_DATE, padded to
    the original length so every byte offset stays where the xref table says."""
    def fixed(match: re.Match) -> bytes:
        new = b"/" + match.group(1) + b" (" + FIXED_PDF_DATE + b")"
        return new + b" " * (len(match.group(0)) - len(new))

    return _PDF_DATE.sub(fixed, pdf)


def html_file_to_pdf(html: Path, pdf: Path, timeout: float = 120) -> None:
    """Print one HTML file to ``pdf`` (written atomically) with fixed dates."""
    with tempfile.TemporaryDirectory(prefix="sb-chromium-") as profile:
        out = Path(profile) / "page.pdf"
        cmd = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}/p",
               f"--print-to-pdf={out}", Path(html).resolve().as_uri()]
        try:
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise PdfError(f"chromium did not print {html} within {timeout:.0f} s") from None
        if not out.is_file() or not out.read_bytes().startswith(b"%PDF"):
            raise PdfError(f"chromium did not print {html}")
        data = fix_dates(out.read_bytes())
    tmp = Path(pdf).with_name(f".{Path(pdf).name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, pdf)


def html_files_to_pdf(pairs: list[tuple[Path, Path]]) -> None:
    """Print each (html, pdf) pair."""
    for html, pdf in pairs:
        html_file_to_pdf(html, pdf)
