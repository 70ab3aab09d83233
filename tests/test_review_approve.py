"""Drafts, `approve` and the review page end to end (SPEC R17, R18), through the real
command line, the real ingest, dbt models, quality gate and exports.

Hand-computed scenario:
- A (subscription): remote_payroll 8 all of 2026, rate 10.00 (tier 8) -> 80.00 a month;
  2.00 implementation hours on 2026-04-10 -> 500.00 in April.
- B (upfront): field_reports 2 from 2026-03-16, rate 12.50 -> March 2 x 12.50 x 16/31 =
  12.90, then 25.00 a month.
- C (upfront): pay_stubs 2 from Jan 1 to 2026-03-31 -> 25.00 in March, nothing after.
  A late ticket opened 2026-05-12, while C is not active: an overage incident billed up
  front whatever the policy (R10, R12) -> 150.00 on May's invoice.
- A ticket for unknown customer Z is held (R-IN5).

Steps: bill March; preview April (draft 1); approve April (equal: exit 0); preview May;
the late ticket arrives; approve May (differs: exit 1, nothing finalized, a new draft);
approve May (equal: exit 0).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from review_dom import CHROMIUM, ReviewDom, dump_dom, screenshot
from support_billing.cli import app
from support_billing.storage.warehouse import ensure_home, open_warehouse
from typer.testing import CliRunner

MARTS = Path(__file__).resolve().parents[1] / "dbt_project" / "models" / "marts"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (MARTS / "invoices.sql").exists(), reason="no dbt marts"),
]

FILES = {
    "customers.csv": """customer_id,customer_name,overage_policy
A,Acme Builders,subscription
B,Beta Paving,upfront
C,Cedar Roofing,upfront
""",
    "subscriptions.csv": """subscription_id,customer_id,module,annual_incidents,start_date,end_date
S-A1,A,remote_payroll,8,2026-01-01,2026-12-31
S-B1,B,field_reports,2,2026-03-16,
S-C1,C,pay_stubs,2,2026-01-01,2026-03-31
""",
    "tickets.csv": """ticket_id,customer_id,opened_at,category
T-B1,B,2026-03-17 09:00,sync_support
T-Z1,Z,2026-04-02 09:00,sync_support
""",
    "timesheets.csv": """entry_id,customer_id,work_date,hours,activity
TS-A1,A,2026-04-10,2.00,implementation
""",
}
LATE_TICKET = "ticket_id,customer_id,opened_at,category\nT-C1,C,2026-05-12 10:00,sync_support\n"


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def finalized(home: Path) -> list[tuple]:
    with open_warehouse(home) as con:
        return con.execute("select period, invoice_count, cast(grand_total as varchar) "
                           "from billing.finalized_months order by period").fetchall()


@pytest.fixture(scope="module")
def story(prefect_server, tmp_path_factory):
    """Run the scenario once; keep each step's exit code, output and pages."""
    home = ensure_home(tmp_path_factory.mktemp("review") / "home")
    for name, text in FILES.items():
        (home / "inbox" / name).write_text(text, encoding="utf-8")
    runner = CliRunner()
    steps: dict = {"home": home}

    def run(key, *args):
        result = runner.invoke(app, ["--home", str(home), *args])
        steps[key] = result
        return result

    run("bill_march", "bill", "--period", "2026-03")
    run("no_draft", "approve", "--period", "2026-04")
    run("preview_april", "bill", "--period", "2026-04", "--preview")
    steps["april_draft_page"] = (home / "reports/_preview/review_2026-04.html").read_text()
    run("approve_april", "approve", "--period", "2026-04")
    run("preview_may", "bill", "--period", "2026-05", "--preview")
    (home / "inbox" / "tickets_late.csv").write_text(LATE_TICKET, encoding="utf-8")
    run("approve_may_refused", "approve", "--period", "2026-05")
    steps["finalized_after_refusal"] = finalized(home)
    run("approve_may", "approve", "--period", "2026-05")
    run("bill_february", "bill", "--period", "2026-02")
    steps["finalized_after_february"] = finalized(home)
    run("bill_february_yes", "bill", "--period", "2026-02", "--yes")
    run("bad_period", "approve", "--period", "2026-13")
    return steps


def test_every_step_exits_as_r17_says(story):
    codes = {k: v.exit_code for k, v in story.items() if hasattr(v, "exit_code")}
    assert codes == {"bill_march": 0, "no_draft": 1, "preview_april": 0, "approve_april": 0,
                     "preview_may": 0, "approve_may_refused": 1, "approve_may": 0,
                     "bill_february": 1, "bill_february_yes": 0, "bad_period": 2}, {k: v.output[-2000:] for k, v in story.items()
                                          if hasattr(v, "output")}


def test_approve_without_a_draft_says_to_preview_first(story):
    assert story["no_draft"].stderr == (
        "error: 2026-04 has no draft to approve: preview it first with "
        "'support-billing bill --period 2026-04 --preview' and review its page\n")


def test_a_preview_records_the_draft_with_every_invoice_and_line(story):
    home = story["home"]
    draft = json.loads((home / "drafts/2026-04/draft-0001.json").read_text())
    assert draft["period"] == "2026-04" and draft["draft"] == 1
    assert draft["amounts"] == [
        {"customer_id": "A", "line_type": "implementation_hours", "amount": "500.00"},
        {"customer_id": "A", "line_type": "support_subscription", "amount": "80.00"},
        {"customer_id": "B", "line_type": "support_subscription", "amount": "25.00"},
    ]
    assert [(i["invoice_number"], i["customer_id"], i["total"]) for i in draft["invoices"]] == [
        ("INV-202604-00001", "A", "580.00"), ("INV-202604-00002", "B", "25.00")]
    assert len(draft["lines"]) == 3
    assert "draft: " in story["preview_april"].stdout


def test_approving_an_equal_month_publishes_exactly_the_draft(story):
    home = story["home"]
    assert "2026-04 equals its latest draft: publishing it" in story["approve_april"].stdout
    preview = home / "exports/_preview/2026-04"
    final = home / "exports/2026-04"
    def files(folder):  # the statements sit in a sub-folder (section 5)
        return {str(p.relative_to(folder)): p.read_bytes()
                for p in sorted(folder.rglob("*")) if p.is_file()}

    assert files(preview) == files(final)
    assert any(name.startswith("statements/") for name in files(final))
    assert (home / "reports/quality_2026-04.json").exists()


def test_a_changed_month_is_refused_nothing_finalized_and_a_new_draft_written(story):
    home = story["home"]
    out = story["approve_may_refused"]
    assert "C additional_incident_upfront: draft 0.00, new 150.00" in out.stdout
    assert out.stderr.startswith("error: 2026-05 differs from its latest draft; nothing "
                                 "finalized.")
    assert story["finalized_after_refusal"] == [
        ("2026-03", 3, "117.90"), ("2026-04", 2, "605.00")]
    drafts = sorted(p.name for p in (home / "drafts/2026-05").iterdir())
    assert drafts == ["draft-0001.json", "draft-0002.json"]
    second = json.loads((home / "drafts/2026-05/draft-0002.json").read_text())
    assert {"customer_id": "C", "line_type": "additional_incident_upfront",
            "amount": "150.00"} in second["amounts"]


def test_the_second_approval_finalizes_may_with_the_late_ticket(story):
    home = story["home"]
    assert finalized(home)[1:] == [  # [0] is February, billed later with --yes
        ("2026-03", 3, "117.90"), ("2026-04", 2, "605.00"), ("2026-05", 3, "255.00")]
    may = read_csv(home / "exports/2026-05/invoices.csv")
    assert [(i["customer_id"], i["total"]) for i in may] == [
        ("A", "80.00"), ("B", "25.00"), ("C", "150.00")]


def test_billing_a_month_before_the_last_finalized_one_needs_yes(story):
    err = story["bill_february"].stderr
    assert err.startswith("error: 2026-02 comes before 2026-05, which is already finalized")
    assert err.rstrip().endswith("run again with --yes")
    assert [p for p, *_ in story["finalized_after_february"]] == [
        "2026-03", "2026-04", "2026-05"]
    # with --yes it is billed: A 80.00 and C 25.00 (B starts in March)
    assert finalized(story["home"])[0] == ("2026-02", 2, "105.00")


def test_rejected_rows_file_is_named_next_to_the_counts(story):
    home = story["home"]
    line = next(ln for ln in story["approve_may"].stdout.splitlines()
                if "rejected rows waiting" in ln)
    assert "rows held: 1" in line and f"(listed in {home}/reports/rejected_rows.csv)" in line
    rows = read_csv(home / "reports/rejected_rows.csv")
    assert [(r["file"], r["line"], r["key"], r["status"]) for r in rows] == [
        ("tickets.csv", "3", "T-Z1", "held")]


def test_the_review_page_is_self_contained(story):
    home = story["home"]
    for page in (home / "reports").rglob("review_*.html"):
        html = page.read_text()
        for needle in ("<script", "<link", "src=", "@import", "url(", "https://"):
            assert needle not in html, (page, needle)
        assert html.count("http://") == html.count('xmlns="http://www.w3.org/2000/svg"')


# ---------------------------------------------------------------- in a real browser
browser = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")


def page_of(story, period: str, preview: bool = False) -> Path:
    return story["home"] / "reports" / ("_preview" if preview else "") / f"review_{period}.html"


@browser
def test_the_billed_page_shows_the_invoices_csv_totals_and_flags(story, tmp_path):
    home = story["home"]
    page = page_of(story, "2026-04")
    dom = ReviewDom(dump_dom(page, tmp_path))
    png = screenshot(page, tmp_path, tmp_path / "review_2026-04.png")
    assert png.stat().st_size > 10_000

    invoices = read_csv(home / "exports/2026-04/invoices.csv")
    manifest = json.loads((home / "exports/2026-04/manifest.json").read_text())
    assert dom.html_attrs["data-status"] == "billed" and "DRAFT" not in dom.title
    assert dom.by_id["grand-total"] == manifest["grand_total"] == "605.00"
    assert dom.by_id["invoice-count"] == str(len(invoices))
    assert dom.by_id["credit-note-count"] == "0"
    assert dom.by_id["total-change"] == "+487.10"  # 605.00 - 117.90 (March)
    invoiced = {c: r["cells"]["now-total"] for c, r in dom.customers.items()
                if r["cells"]["now-total"]}
    assert invoiced == {i["customer_id"]: i["total"] for i in invoices}
    assert {c: r["flags"] for c, r in dom.customers.items()} == {
        "A": ["big_change"],         # 80.00 -> 580.00
        "B": [],                     # 12.90 -> 25.00
        "C": ["not_invoiced"],       # 25.00 in March, nothing in April
        "Z": ["held_rows"],          # T-Z1 waits for customer Z
    }
    assert (dom.by_id["rejected-count"], dom.by_id["held-count"]) == ("0", "1")
    assert dom.by_id["rejected-file"] == str(home / "reports/rejected_rows.csv")
    assert dom.by_id["gate-result"] == "passed"


@browser
def test_draft_and_final_page_of_a_month_agree_and_the_draft_says_draft(story, tmp_path):
    draft_file = tmp_path / "draft.html"
    draft_file.write_text(story["april_draft_page"], encoding="utf-8")
    draft = ReviewDom(dump_dom(draft_file, tmp_path))
    final = ReviewDom(dump_dom(page_of(story, "2026-04"), tmp_path))
    screenshot(draft_file, tmp_path, tmp_path / "draft_2026-04.png")
    assert draft.html_attrs["data-status"] == "draft"
    assert draft.title.startswith("DRAFT") and draft.by_id["status"] == "DRAFT"
    assert "approve --period 2026-04" in draft.by_id["draft-banner"]
    assert final.by_id["status"] == "BILLED" and "draft-banner" not in final.by_id
    for key in ("grand-total", "invoice-count", "credit-note-count", "total-change"):
        assert draft.by_id[key] == final.by_id[key]
    assert draft.customers == final.customers


@browser
def test_the_refused_approval_wrote_a_draft_page_with_the_late_ticket(story, tmp_path):
    dom = ReviewDom(dump_dom(page_of(story, "2026-05", preview=True), tmp_path))
    assert dom.html_attrs["data-status"] == "draft"
    assert dom.by_id["grand-total"] == "255.00"
    assert dom.customers["C"]["cells"]["now-total"] == "150.00"
    assert dom.customers["C"]["flags"] == ["big_change"]  # nothing in April, 150.00 now
