"""Render time and size of customer statements (SPEC section 5), extrapolated to a month of
N invoices: HTML from the template (the contexts of an already billed month, rendered
``--pages`` times in turn) and PDF through one headless Chromium (``--pdf-pages`` pages).

    python benchmarks/statements_benchmark.py --home HOME --period YYYY-MM \\
        [--pages 2000] [--pdf-pages 30] [--invoices 20000]

Reads the warehouse read-only; writes only into a temporary folder.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from itertools import cycle, islice
from pathlib import Path

from support_billing.exports import statements
from support_billing.exports.statements_pdf import html_files_to_pdf
from support_billing.storage.warehouse import connect


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True)
    ap.add_argument("--period", required=True)
    ap.add_argument("--pages", type=int, default=2000)
    ap.add_argument("--pdf-pages", type=int, default=30)
    ap.add_argument("--invoices", type=int, default=20000)
    args = ap.parse_args()
    start = time.perf_counter()
    with connect(Path(args.home), read_only=True) as con:
        contexts = list(statements.document_contexts(con, args.period))
    query_s = time.perf_counter() - start
    template = statements._environment().get_template("statement.html.j2")
    start = time.perf_counter()
    pages = [template.render(**c).encode() for c in islice(cycle(contexts), args.pages)]
    html_s = (time.perf_counter() - start) / args.pages
    html_kb = sum(map(len, pages)) / len(pages) / 1024
    n = args.invoices
    print(f"queries for {len(contexts)} statements: {query_s:.2f} s")
    print(f"HTML: {html_s * 1000:.2f} ms and {html_kb:.1f} KiB a page -> {n} invoices: "
          f"{html_s * n:.0f} s, {html_kb * n / 1024:.0f} MiB")
    if args.pdf_pages > 0:  # 0: HTML only (Chromium not needed)
        pdf_s, pdf_kb = _pdf(pages[:len(contexts)], args.pdf_pages)
        print(f"PDF:  {pdf_s * 1000:.0f} ms and {pdf_kb:.1f} KiB a page -> {n} invoices: "
              f"{pdf_s * n / 60:.0f} min, {pdf_kb * n / 1024:.0f} MiB")


def _pdf(pages: list[bytes], count: int) -> tuple[float, float]:
    """Seconds and KiB per page of ``count`` pages printed by one headless Chromium."""
    with tempfile.TemporaryDirectory() as tmp:
        pairs = []
        for i, page in enumerate(islice(cycle(pages), count)):
            html = Path(tmp) / f"{i}.html"
            html.write_bytes(page)
            pairs.append((html, html.with_suffix(".pdf")))
        start = time.perf_counter()
        html_files_to_pdf(pairs)
        seconds = (time.perf_counter() - start) / count
        return seconds, sum(p.stat().st_size for _, p in pairs) / len(pairs) / 1024


if __name__ == "__main__":
    main()
