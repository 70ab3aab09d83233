"""The review page's numbers and flags (SPEC R18) on a hand-made warehouse: the marts the
review models read are created by hand and the models (models/marts/review) laid over
them as dbt renders them, so each flag and its thresholds are checked exactly."""

from __future__ import annotations

import csv
import html as html_lib
import json
from pathlib import Path

import duckdb
import pytest
from helpers import add_review_models
from review_dom import ReviewDom
from support_billing.reporting.review import render_review, review_page_path, write_review_page
from support_billing.storage.warehouse import init_warehouse

MARTS_DDL = """
create table main.invoices (period varchar, invoice_number varchar, document_type varchar,
    customer_id varchar, customer_name varchar, total decimal(18, 2));
create table main.invoice_lines (period varchar, invoice_number varchar, customer_id varchar,
    line_number integer, line_type varchar, description varchar, quantity decimal(18, 2),
    unit_price decimal(18, 2), amount decimal(18, 2), source_ref varchar, rule varchar,
    adjusts_period varchar, adjusts_line_type varchar);
create table main.fct_invoice_lines_computed (period varchar, customer_id varchar,
    line_type varchar, amount decimal(18, 2));
create table main.fct_incidents (customer_id varchar, ticket_id varchar, incident_date date,
    seq_in_year integer, coverage varchar, reason_code varchar, category varchar,
    overage_treatment varchar, period varchar);
create table main.stg_exports__customers (customer_id varchar, customer_name varchar);
create table main.int_calendar_months (period varchar, year integer);
"""

# 2026-09, finalized: A 200.00, B 100.00, D 50.00, E 150.00, G 1000.00 (total 1500.00)
SEPTEMBER = [
    ("A", "INV-202609-00001", "support_subscription", 8, "25.00", "200.00", "S-A1"),
    ("B", "INV-202609-00002", "support_subscription", 8, "25.00", "100.00", "S-B1"),
    ("D", "INV-202609-00003", "support_subscription", 2, "25.00", "50.00", "S-D1"),
    ("E", "INV-202609-00004", "support_subscription", 6, "25.00", "150.00", "S-E1"),
    ("G", "INV-202609-00005", "support_subscription", 40, "25.00", "1000.00", "S-G1"),
]
# 2026-10, reviewed: A +150.00 (75%), B +100.00 (exactly: no flag), C new, D a credit
# note, E not invoiced, G +400.00 (40%: no flag), F only held rows
OCTOBER = [
    ("A", "INV-202610-00001", "support_subscription", 8, "25.00", "200.00", "S-A1"),
    ("A", "INV-202610-00001", "additional_incident_upfront", 1, "150.00", "150.00", ""),
    ("B", "INV-202610-00002", "support_subscription", 8, "25.00", "200.00", "S-B1"),
    ("C", "INV-202610-00003", "support_subscription", 2, "12.50", "12.90", "S-C1"),
    ("C", "INV-202610-00003", "implementation_hours", "0.16", "250.00", "40.00", ""),
    ("D", "CN-202610-00001", "support_subscription", 2, "25.00", "50.00", "S-D1"),
    ("D", "CN-202610-00001", "prior_period_adjustment", 1, "-70.00", "-70.00",
     "2026-09:INV-202609-00003:support_subscription"),
    ("G", "INV-202610-00004", "support_subscription", 56, "25.00", "1400.00", "S-G1"),
]
SEEDS = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"


def seed(name: str) -> list[dict]:
    with (SEEDS / f"{name}.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def words(kind: str) -> dict[str, str]:
    """The plain_reasons seed's sentences of one kind, by code (issue 15 item 2)."""
    return {r["code"]: r["sentence"] for r in seed("plain_reasons") if r["kind"] == kind}


LABELS = {r["line_type"]: r["label"] for r in seed("line_types")}
NAMES = {"A": "Acme", "B": "Beta", "C": "Cedar", "D": "Delta", "E": "Echo", "G": "Gamma"}


def insert_lines(con, table: str, period: str, lines: list[tuple]) -> None:
    for n, (cust, number, line_type, qty, price, amount, ref) in enumerate(lines, start=1):
        con.execute(f"insert into {table} (period, invoice_number, customer_id, line_number, "
                    "line_type, description, quantity, unit_price, amount, source_ref, rule) "
                    "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'R7')",
                    [period, number, cust, n, line_type, line_type, qty, price, amount, ref])


@pytest.fixture
def warehouse(home: Path):
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    init_warehouse(con)
    con.execute(MARTS_DDL)
    for name in ("line_types", "plain_reasons"):  # the seeds as dbt loads them
        con.execute(f"create table main.{name} as select * from read_csv(?)",
                    [str(SEEDS / f"{name}.csv")])
    add_review_models(con)
    con.executemany("insert into main.stg_exports__customers values (?, ?)", NAMES.items())
    insert_lines(con, "billing.finalized_invoice_lines", "2026-09", SEPTEMBER)
    con.execute("""insert into billing.finalized_invoices
        select period, invoice_number, 'invoice', customer_id, customer_id, customer_id,
               date '2026-09-30', date '2026-10-30', 'USD', sum(amount), count(*)
        from billing.finalized_invoice_lines group by all""")
    con.execute("insert into billing.finalized_months values "
                "('2026-09', now(), 5, 1500.00, null)")
    insert_lines(con, "main.invoice_lines", "2026-10", OCTOBER)
    con.execute("update main.invoice_lines set adjusts_period = '2026-09', "
                "adjusts_line_type = 'support_subscription' "
                "where line_type = 'prior_period_adjustment'")
    con.execute("""insert into main.invoices
        select period, invoice_number,
               case when sum(amount) < 0 then 'credit_note' else 'invoice' end, customer_id,
               customer_id, sum(amount)
        from main.invoice_lines group by all""")
    con.execute("insert into main.fct_invoice_lines_computed values "
                "('2026-08', 'A', 'support_subscription', 200.00), "
                "('2026-09', 'A', 'support_subscription', 999.00)")  # finalized: not used
    con.execute("insert into main.fct_incidents values "
                "('A', 'T-1', '2026-10-05', 13, 'overage', 'billable_category', "
                "'sync_support', 'upfront', '2026-10')")
    con.execute("insert into raw.held_rows values (1, 'tickets', 'T-F1', 'F', 'tickets.csv', "
                "4, 1, '{}', 'customer_id F is not a known customer')")
    yield con
    con.close()


def gate_report(home: Path) -> Path:
    path = home / "reports" / "quality_2026-10.json"
    path.write_text(json.dumps({"success": False, "suites": [{"name": "invoices", "checks": [
        {"check": "totals_equal_lines", "rule": "R2", "success": True, "unexpected_count": 0},
        {"check": "numbers_without_gaps", "rule": "R14", "success": False,
         "unexpected_count": 2}]}]}))
    return path


def test_totals_counts_and_change_from_the_last_finalized_month(home, warehouse):
    dom = ReviewDom(render_review(warehouse, home, "2026-10", True, gate_report(home)))
    assert dom.by_id["grand-total"] == "1982.90"   # 350 + 200 + 52.90 - 20 + 1400
    assert (dom.by_id["invoice-count"], dom.by_id["credit-note-count"]) == ("4", "1")
    assert (dom.by_id["prev-total"], dom.by_id["total-change"]) == ("1500.00", "+482.90")
    assert (dom.by_id["rejected-count"], dom.by_id["held-count"]) == ("0", "1")


def test_each_flag_and_its_thresholds(home, warehouse):
    dom = ReviewDom(render_review(warehouse, home, "2026-10", False, gate_report(home)))
    rows = {c: (r["cells"]["now-total"], r["cells"]["prev-total"], r["cells"]["change"],
                r["flags"]) for c, r in dom.customers.items()}
    assert rows == {
        "A": ("350.00", "200.00", "+150.00", ["big_change"]),
        "B": ("200.00", "100.00", "+100.00", []),                 # not more than 100.00
        "C": ("52.90", "", "+52.90", ["new_customer"]),
        "D": ("-20.00", "50.00", "-70.00", ["credit_note"]),
        "E": ("", "150.00", "-150.00", ["big_change", "not_invoiced"]),
        "F": ("", "", "0.00", ["held_rows"]),
        "G": ("1400.00", "1000.00", "+400.00", []),               # 40%: not more than 50%
    }


def test_causes_name_what_moved(home, warehouse):
    html = html_lib.unescape(render_review(warehouse, home, "2026-10", False, gate_report(home)))
    # line types by their short name from the line_types seed (issue 15 item 2)
    assert LABELS["additional_incident_upfront"] == "Additional incidents billed up front"
    assert f"{LABELS['additional_incident_upfront']}: 0.00 -> 150.00 (+150.00)" in html
    assert "new overage incidents: 1" in html
    assert f"{LABELS['support_subscription']}: 100.00 -> 200.00 (+100.00)" in html
    assert f"{LABELS['prior_period_adjustment']}: 1 line(s), -70.00" in html
    assert "hours billed: 0.16 h" in html
    assert "prorated subscriptions: S-C1" in html
    assert "additional_incident_upfront:" not in html and "support_subscription:" not in html


def section(html: str, anchor: int) -> str:
    start = html.index(f'id="customer-{anchor}"')
    end = html.find('<section class="customer"', start + 1)
    return html[start:end if end > 0 else len(html)]


def test_lines_and_incidents_are_worded_by_the_seeds(home, warehouse):
    """Issue 15 item 2: every line type name and sentence, adjustment cause, R9 reason and
    coverage the page shows is the seed's text, read here from the seed files."""
    html = html_lib.unescape(render_review(warehouse, home, "2026-10", False, gate_report(home)))
    acme, delta = section(html, 1), section(html, 4)
    line = words("line_type")["additional_incident_upfront"]
    assert (f'data-line-type="additional_incident_upfront" title="{line}">'
            f'{LABELS["additional_incident_upfront"]}</td>') in acme
    assert f'data-reason="billable_category">{words("reason")["billable_category"]}</td>' in acme
    assert words("coverage")["overage_upfront"] in acme
    assert f'2026-09: {words("adjustment")["support_subscription"]}' in delta
    assert f'>{LABELS["prior_period_adjustment"]}</td>' in delta
    legend = html[html.index('class="legend"'):html.index('id="month-totals"')]
    # R14 order: the monthly fee, incidents up front, hours, adjustments
    assert [LABELS[t] for t in ("support_subscription", "additional_incident_upfront",
                                "implementation_hours", "prior_period_adjustment")] == [
        part.split("</span>")[0] for part in legend.split("</i>")[1:]]
    assert "billable_category<" not in html and ">overage<" not in html


def test_twelve_months_gate_checks_and_anchors(home, warehouse):
    html = render_review(warehouse, home, "2026-10", False, gate_report(home))
    dom = ReviewDom(html)
    start = html.index('id="month-totals"')
    table = html[start:html.index("</table>", start)]
    assert table.count("<tr><td>") == 12  # 2025-11 .. 2026-10
    assert "<tr><td>2026-08</td><td class=\"num\">200.00</td>" in table      # computed
    assert "<tr><td>2026-09</td><td class=\"num\">1500.00</td>" in table     # finalized
    assert "<tr><td>2026-10</td><td class=\"num\">1982.90</td>" in table     # reviewed
    # one bar segment per month and line type with an amount (2026-08: 1, 09: 1, 10: 4)
    chart = html[html.index('id="chart-line-types"'):html.index("</svg>")]
    assert chart.count("<rect") == 6
    assert dom.by_id["gate-result"] == "FAILED"
    assert html.count('class="gate-check" data-success="true"') == 1
    assert html.count('class="gate-check" data-success="false"') == 1
    for n in range(1, 8):  # every row links to its own section of lines and incidents
        assert f'href="#customer-{n}"' in html and f'id="customer-{n}"' in html
    assert "T-1" in html[html.index('id="customer-1"'):html.index('id="customer-2"')]


def test_the_same_data_gives_the_same_bytes(home, warehouse):
    report = gate_report(home)
    path = write_review_page(home, warehouse, "2026-10", True, report)
    assert path == review_page_path(home, "2026-10", True) == (
        home / "reports" / "_preview" / "review_2026-10.html")
    first = path.read_bytes()
    write_review_page(home, warehouse, "2026-10", True, report)
    assert path.read_bytes() == first


def test_a_large_month_lists_only_the_flagged_customers(home, warehouse, monkeypatch):
    from support_billing.reporting import review_data
    monkeypatch.setattr(review_data, "FULL_LIST_LIMIT", 6)  # 7 customers here
    html = render_review(warehouse, home, "2026-10", False, gate_report(home))
    dom = ReviewDom(html)
    assert sorted(dom.customers) == ["A", "C", "D", "E", "F"]  # B and G have no flag
    assert dom.by_id["customers-not-listed"].startswith(
        "More than 6 customers this month: the 2 customers without a flag are not listed")
    assert "S-G1" not in html and "S-B1" not in html  # nor their lines
    assert dom.by_id["grand-total"] == "1982.90"     # the totals still cover everyone


def test_chart_colours_follow_the_seeds_r14_order(home, warehouse):
    """Each line type's colour is the palette's entry at its r14_order in the line_types
    seed (no code in Python); a type the seed does not know is grey."""
    from support_billing.reporting.review import LINE_TYPE_PALETTE, line_type_colour

    order = {r["line_type"]: int(r["r14_order"]) for r in seed("line_types")}
    assert [line_type_colour(o) for o in sorted(order.values())] == list(LINE_TYPE_PALETTE)
    assert line_type_colour(99) == line_type_colour(0) == "#888888"
    warehouse.execute("update main.line_types set r14_order = 9 "
                      "where line_type = 'prior_period_adjustment'")
    html = render_review(warehouse, home, "2026-10", False, gate_report(home))
    legend = html[html.index('class="legend"'):html.index('id="month-totals"')]
    assert (f'<i style="background: {LINE_TYPE_PALETTE[0]}"></i>'
            f'{LABELS["support_subscription"]}') in legend
    assert f'<i style="background: #888888"></i>{LABELS["prior_period_adjustment"]}' in legend


def test_the_page_selects_one_period_of_the_review_models():
    """R18's figures are computed once, by the review_* dbt models; the module only reads
    a period of them (no aggregate, join or arithmetic of its own)."""
    from support_billing.reporting import review_data

    queries = [review_data.SUMMARY_SQL, review_data.CUSTOMERS_SQL, review_data.CAUSES_SQL,
               review_data.LINES_SQL, review_data.INCIDENTS_SQL, review_data.MONTHLY_SQL,
               review_data.MONTH_TOTALS_SQL]
    for sql in queries:
        text = " ".join(sql.lower().split())
        assert "from main.review_" in text and "where period = $period" in text
        assert not any(word in text for word in (" join ", "sum(", "count(", "group by",
                                                 " over ", "with "))


def test_a_month_outside_the_review_models_is_named(home, warehouse):
    """review_months spans the year before the data and finalized months to the year after
    the later of their last month and today; beyond that the page is refused in one line."""
    from support_billing.reporting.review_data import ReviewPeriodError

    with pytest.raises(ReviewPeriodError, match="1990-01 is outside the months"):
        render_review(warehouse, home, "1990-01", True, None)
    dom = ReviewDom(render_review(warehouse, home, "2025-01", True, None))
    assert dom.by_id["grand-total"] == "0.00"
