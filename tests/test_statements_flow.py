"""Customer statements end to end (SPEC section 5): the real ingest, dbt models, quality
gate and export for the hand-computed home of ``statements_scenario.py`` (February and
March 2026 billed, a correction between them). Each March statement is read field by field
from the DOM that headless Chromium builds, and a PDF is checked as PNG pages."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from statements_scenario import CORRECTION, FEBRUARY_FILES
from support_billing.billing import flow as billing
from support_billing.exports import statement_year as statements_cli
from support_billing.exports import statements
from support_billing.storage.warehouse import connect, ensure_home

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed"),
]
bs4 = pytest.importorskip("bs4")

P, R, Q = "INV-202603-00001", "INV-202603-00002", "CN-202603-00001"


@pytest.fixture(scope="module")
def home(prefect_server, tmp_path_factory) -> Path:
    home = ensure_home(tmp_path_factory.mktemp("statements") / "home")
    for name, text in FEBRUARY_FILES.items():
        (home / "inbox" / name).write_text(text, encoding="utf-8")
    assert billing.cli_bill(home, "2026-02", False) == 0
    for name, text in CORRECTION.items():
        (home / "inbox" / name).write_text(text, encoding="utf-8")
    assert billing.cli_bill(home, "2026-03", False) == 0
    return home


def dom(path: Path, tmp: Path):
    """The page as headless Chromium parsed it (its DOM, serialized), as soup."""
    out = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp}", "--dump-dom", path.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, check=True)
    return bs4.BeautifulSoup(out.stdout, "html.parser")


def text(soup, element_id: str) -> str:
    return " ".join(soup.find(id=element_id).get_text(" ").split())


def table(soup, element_id: str) -> list[list[str]]:
    return [[" ".join(td.get_text(" ").split()) for td in tr.find_all("td")]
            for tr in soup.find(id=element_id).find("tbody").find_all("tr")]


def page(home: Path, number: str, tmp_path: Path):
    return dom(home / "exports" / "2026-03" / "statements" / f"{number}.html", tmp_path)


def test_manifest_lists_every_statement(home):
    folder = home / "exports" / "2026-03"
    manifest = json.loads((folder / "manifest.json").read_text())
    listed = {f["name"]: f for f in manifest["files"] if f["name"].startswith("statements/")}
    assert sorted(listed) == [f"statements/{n}.html" for n in (Q, P, R)]
    # rows = the number of invoice lines the statement shows (= its invoice's line_count)
    assert {n: f["rows"] for n, f in listed.items()} == {
        f"statements/{Q}.html": 2, f"statements/{P}.html": 2, f"statements/{R}.html": 5}
    from support_billing.exports.writers import sha256_file

    assert all(sha256_file(folder / n) == f["sha256"] for n, f in listed.items())
    report = json.loads((home / "reports" / "quality_2026-03.json").read_text())
    suites = {s["name"]: s["success"] for s in report["suites"]}
    assert suites["statement_totals"] is True and suites["statement_incidents"] is True


def test_statement_at_the_end_of_its_allotment(home, tmp_path):
    soup = page(home, P, tmp_path)
    assert text(soup, "customer-name") == "Pine & Co <Builders>"
    assert (text(soup, "invoice-number"), text(soup, "period"), text(soup, "due-date"),
            text(soup, "total")) == (P, "2026-03", "2026-04-30", "40.00 USD")
    assert [text(soup, i) for i in ("allotment", "covered-used", "overage-used", "remaining",
                                    "expires-on", "next-overage-price")] == [
        "4", "4", "2", "0", "2026-12-31", "10.00"]
    assert "per month, from its month through December" in text(soup, "next-overage")
    assert "Added to your subscription" in text(soup, "policy")
    assert table(soup, "allotment-steps") == [["2026-01-01", "2", "2", "4"]]
    rows = table(soup, "incidents")
    # T-P3 (Feb 28 Mountain) is February's; T-P8 (Apr 1 03:00Z) is March 31 Mountain (R1)
    assert [(r[0], r[1], r[3], r[6]) for r in rows] == [
        ("2026-03-04", "T-P4", "how_to", "allotment"),
        ("2026-03-05", "T-P5", "sync_customization", "line 2"),
        ("2026-03-31", "T-P8", "extended_help", "line 2"),
    ]
    assert rows[1][2] == 'Sync <b>jobs</b> "again"'  # the subject as text, never as markup
    assert rows[0][4].startswith("You asked for an immediate or same-day answer")
    assert rows[0][5].startswith("covered Covered by your yearly allotment")
    assert rows[1][5].startswith("overage Beyond your allotment: added to your subscription")
    free = table(soup, "free-tickets")
    assert [(r[1], r[4].split(",")[0]) for r in free] == [
        ("T-P6", "Bug reports"), ("T-P7", "This ticket was closed as a duplicate")]
    lines = table(soup, "lines")
    assert [(r[0], r[3], r[4], r[5]) for r in lines] == [
        ("1", "2", "10.00", "20.00"), ("2", "2", "10.00", "20.00")]
    assert text(soup, "lines-total") == "40.00"


def test_statement_of_a_credit_note(home, tmp_path):
    soup = page(home, Q, tmp_path)
    assert text(soup, "customer-name") == "Quarry Works"
    assert text(soup, "total") == "-350.00 USD"
    assert soup.find("h1").get_text() == f"Statement for credit note {Q}"
    lines = table(soup, "lines")
    assert [(r[0], r[4], r[5]) for r in lines] == [("1", "12.50", "25.00"),
                                                  ("2", "-375.00", "-375.00")]
    assert lines[1][1] == ("Adjustment for 2026-02 implementation_hours (recomputed after "
                           "late or corrected data)")
    assert lines[1][2].startswith("February 2026: The implementation hours of that month "
                                  "changed after it was invoiced")
    assert text(soup, "lines-total") == "-350.00"
    assert [text(soup, i) for i in ("allotment", "covered-used", "remaining")] == [
        "4", "0", "4"]
    assert text(soup, "incidents") == "No billable incidents."


def test_statement_with_hours_across_prepaid_blocks(home, tmp_path):
    soup = page(home, R, tmp_path)
    assert text(soup, "customer-name") == "Ridge Roofing, LLC"
    assert text(soup, "total") == "150.00 USD"
    assert table(soup, "hours") == [
        ["implementation", "3.00", "3.00", "0.00"],
        ["training", "3.00", "3.00", "0.00"],
        ["custom_development", "1.50", "1.00", "0.50"],
        ["support", "1.00", "0.00", "0.00"],
    ]
    assert table(soup, "prepaid-blocks") == [
        ["PB-R1", "2026-01-05", "2.00", "2.00", "0.00"],
        ["PB-R2", "2026-02-01", "3.00", "3.00", "0.00"],
        ["PB-R3", "2026-03-25", "10.00", "2.00", "8.00"],
    ]
    assert [(r[1], r[3], r[6]) for r in table(soup, "incidents")] == [
        ("T-R2", "key_code_change", "allotment")]
    free = table(soup, "free-tickets")
    assert [(r[1], r[4]) for r in free] == [
        ("T-R1", "Your plan includes one free server migration or key code change each "
                 "year; this ticket used it.")]
    assert [text(soup, i) for i in ("allotment", "covered-used", "remaining",
                                    "next-overage-price")] == ["4", "1", "3", "150.00"]
    assert "Your next 3 billable incidents this year are covered" in text(soup, "next-overage")
    assert [(r[0], r[3], r[5]) for r in table(soup, "lines")] == [
        ("1", "2", "25.00"), ("2", "0.50", "125.00"), ("3", "2.00", "0.00"),
        ("4", "3.00", "0.00"), ("5", "2.00", "0.00")]


def test_statements_are_byte_identical_on_a_rerun(home, tmp_path):
    published = home / "exports" / "2026-03" / "statements"
    with connect(home, read_only=True) as con:
        entries = statements.write_statements(con, tmp_path, "2026-03", pdf=False)
    assert len(entries) == 3
    for e in entries:
        assert (tmp_path / e["name"]).read_bytes() == (published.parent / e["name"]).read_bytes()


_RENDER_PAGES = statements._render_pages


def _render_and_mark(target: str, contexts: list) -> list:
    """statements._render_pages, leaving a file named after the process that ran it."""
    (Path(target).parent / f"rendered-by-{os.getpid()}").touch()
    return _RENDER_PAGES(target, contexts)


def test_worker_processes_write_the_same_pages(home, tmp_path, monkeypatch):
    """A large month renders in worker processes, a chunk of pages each (section 5): forced
    here on three statements in chunks of two, the pages, names, rows and manifest entries
    are those of the published export, rendered in the process itself."""
    published = home / "exports" / "2026-03" / "statements"
    monkeypatch.setattr(statements, "PARALLEL_FROM", 1)
    monkeypatch.setattr(statements, "CHUNK", 2)
    monkeypatch.setattr(statements.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(statements, "_render_pages", _render_and_mark)
    with connect(home, read_only=True) as con:
        entries = statements.write_statements(con, tmp_path, "2026-03", pdf=False)
    renderers = {p.name for p in tmp_path.glob("rendered-by-*")}
    assert renderers and f"rendered-by-{os.getpid()}" not in renderers
    assert [e["name"] for e in entries] == [f"statements/{n}.html" for n in (Q, P, R)]
    assert sorted(p.name for p in (tmp_path / "statements").iterdir()) == sorted(
        p.name for p in published.iterdir() if p.suffix == ".html")
    for e in entries:
        data = (published.parent / e["name"]).read_bytes()
        assert (tmp_path / e["name"]).read_bytes() == data
        assert e["sha256"] == hashlib.sha256(data).hexdigest()


def test_pdf_is_byte_identical_and_prints_the_statement(home, tmp_path):
    if shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils not installed")
    from support_billing.exports.statements_pdf import html_file_to_pdf

    runs = []
    for name in ("a", "b"):
        with connect(home, read_only=True) as con:
            runs.append(statements.write_statements(con, tmp_path / name, "2026-03", pdf=True))
    assert runs[0] == runs[1]  # same names, rows and sha256: byte-identical PDFs (R20)
    assert [e["name"] for e in runs[0] if e["name"].endswith(".pdf")] == [
        f"statements/{n}.pdf" for n in (Q, P, R)]
    pdf = tmp_path / "a" / "statements" / f"{R}.pdf"
    data = pdf.read_bytes()
    assert b"/CreationDate (D:20000101000000Z)" in data
    # one page alone, printed by another browser, is the same bytes as in the batch
    html_file_to_pdf(pdf.with_suffix(".html"), tmp_path / "alone.pdf")
    assert (tmp_path / "alone.pdf").read_bytes() == data
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(pdf),
                    str(tmp_path / "page")], check=True, timeout=60)
    pngs = sorted(tmp_path.glob("page*.png"))
    assert pngs
    from PIL import Image

    with Image.open(pngs[0]) as img:
        lo, hi = img.convert("L").getextrema()
    assert lo < 100 and hi > 200  # ink on paper, not a blank page
    words = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                           text=True, check=True, timeout=60).stdout
    assert R in words and "150.00" in words and "PB-R3" in words


def test_year_statement_command(home, capsys):
    today = date(2026, 4, 15)
    assert statements_cli.cli_statement(home, "P", 2026, "json", "-", today=today) == 0
    out = json.loads(capsys.readouterr().out)
    s = out["statement"]
    assert out["as_of"] == "2026-04-15"
    assert (s["allotment"], s["covered_to_date"], s["overage_to_date"], s["remaining"],
            s["invoiced_to_date"]) == (4, 4, 2, 0, "65.00")
    assert [t["ticket_id"] for t in out["incidents"]] == [
        "T-P1", "T-P2", "T-P3", "T-P4", "T-P5", "T-P8"]
    assert [(ln["invoice_number"], ln["amount"]) for ln in out["lines"]] == [
        ("INV-202602-00001", "25.00"), (P, "20.00"), (P, "20.00")]
    assert statements_cli.cli_statement(home, "P", 2026, "html", today=today) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path == home / "reports" / "statements" / "statement_P_2026.html"
    page = path.read_text()
    assert "Statement for 2026 so far" in page
    assert page.count("invoice for 2026-03") == 2  # T-P5, T-P8: overage, charged in March
    assert statements_cli.cli_statement(home, "nobody", 2026, "html", today=today) == 1
    assert "unknown customer 'nobody'" in capsys.readouterr().err
