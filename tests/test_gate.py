"""The quality gate (GX 1.x suites in expectations/, R2, R6, R7, R12-R15) on hand-made rows."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal as D

import duckdb
import pandas as pd
import pytest
from support_billing.billing import gate, gate_sql
from support_billing.billing.gate import GateInputs, price_in_force, run_gate

PRICE_BOOK = [
    {"price_key": k, "effective_from": date(2000, 1, 1), "value": D(v)}
    for k, v in [("incident_rate_tier_1_2", "12.50"), ("incident_rate_tier_3_plus", "10.00"),
                 ("upfront_incident", "150.00"), ("hourly_rate", "250.00"),
                 ("payment_terms_days", "30")]
]


def inv(number, doc, cust, total, count):
    return {"period": "2026-05", "invoice_number": number, "document_type": doc,
            "customer_id": cust, "customer_name": cust, "accounting_ref": cust, "email": None,
            "invoice_date": date(2026, 5, 31), "due_date": date(2026, 6, 30),
            "currency": "USD", "total": D(total), "line_count": count}


def ln(number, n, cust, t, q, p, a, src, rule, adj=(None, None)):
    return {"period": "2026-05", "invoice_number": number, "customer_id": cust,
            "line_number": n, "line_type": t, "description": t, "quantity": D(q),
            "unit_price": D(p), "amount": D(a), "source_ref": src, "rule": rule,
            "adjusts_period": adj[0], "adjusts_line_type": adj[1]}


def good() -> GateInputs:
    invoices = [
        inv("INV-202605-00001", "invoice", "A", "477.50", 3),
        inv("INV-202605-00002", "invoice", "B", "162.90", 2),
        inv("CN-202605-00001", "credit_note", "E", "-475.00", 2),
    ]
    lines = [
        ln("INV-202605-00001", 1, "A", "support_subscription", "8.00", "10.00", "80.00", "S-A1",
           "R7"),
        ln("INV-202605-00001", 2, "A", "training_hours", "1.59", "250.00", "397.50", "TS-1",
           "R13"),
        ln("INV-202605-00001", 3, "A", "prepaid_hours_deduction", "2.00", "0.00", "0.00",
           "PB-A1", "R13"),
        ln("INV-202605-00002", 1, "B", "support_subscription", "2.00", "12.50", "12.90", "S-B1",
           "R7"),
        ln("INV-202605-00002", 2, "B", "additional_incident_upfront", "1.00", "150.00",
           "150.00", "T-B9", "R12"),
        ln("CN-202605-00001", 1, "E", "support_subscription", "2.00", "12.50", "25.00", "S-E1",
           "R7"),
        ln("CN-202605-00001", 2, "E", "prior_period_adjustment", "1.00", "-500.00", "-500.00",
           "2026-04:INV-202604-00003:custom_development_hours", "R15",
           ("2026-04", "custom_development_hours")),
    ]
    return GateInputs("2026-05", invoices, lines, {"A", "B", "E"}, PRICE_BOOK, {"B": 1})


def failed(inputs: GateInputs) -> list[str]:
    result = run_gate(inputs)
    assert result.success is (not result.failed_checks)
    return result.failed_checks


def test_a_correct_month_passes():
    result = run_gate(good())
    assert result.success, result.failed_checks
    assert result.summary() == {
        "suites": ["invoices", "invoice_lines", "incident_reconciliation"], "success": True}
    checks = [c for s in result.report["suites"] for c in s["checks"]]
    assert len(checks) == 35 and all(c["success"] for c in checks)


def test_many_faults_are_each_named():
    inp = good()
    inp.invoices[0]["total"] = D("478.50")               # total != sum of lines
    inp.lines[1]["amount"] = D("397.505")                # 3 decimals
    inp.lines[3]["unit_price"] = D("11.00")              # not a price in force
    inp.lines[4]["rule"] = "R13"                         # wrong rule for the type
    inp.upfront_ledger = {"B": 2}                        # ledger says 2 up front
    assert failed(inp) == [
        "invoices: invoice total = sum of its lines (1 rows)",
        "invoice_lines: rule matches line type (1 rows)",
        "invoice_lines: line amounts have 2 decimals (1 rows)",
        "invoice_lines: unit prices are price-book prices in force (1 rows)",
        "invoice_lines: amount = quantity x unit price (support fee: at most, prorated) "
        "(1 rows)",
        "incident_reconciliation: up-front incident charges reconcile with the incident "
        "ledger (1 rows)",
    ]


@pytest.mark.parametrize(
    ("tamper", "check"),
    [
        (lambda i: i.invoices[1].update(invoice_number="INV-202605-00003"),
         "invoices: invoice numbers 1..n without gaps in customer_id order"),
        (lambda i: i.invoices[0].update(invoice_number="INV-202604-00001"),
         "invoices: invoice numbers match INV-/CN-YYYYMM-NNNNN for the period"),
        (lambda i: i.invoices[2].update(document_type="invoice"),
         "invoices: credit note exactly when total below 0.00"),
        (lambda i: i.known_customers.discard("B"),
         "invoices: every invoice's customer known"),
        (lambda i: i.invoices[0].update(due_date=date(2026, 6, 29)),
         "invoices: due date = invoice date + payment terms in force"),
        (lambda i: i.lines[3].update(quantity=D("0.00"), amount=D("0.00")),
         "invoice_lines: quantities > 0"),
        (lambda i: i.lines[4].update(quantity=D("1.50"), amount=D("225.00")),
         "invoice_lines: incident quantities whole numbers"),
        (lambda i: i.lines[5].update(line_type="support_fee"),
         "invoice_lines: line types from the accepted set"),
        (lambda i: i.lines[6].update(source_ref="2026-04::training_hours"),
         "invoice_lines: adjustment lines: quantity 1, unit price = amount, earlier month, "
         "source_ref M:<invoice>:T"),
        (lambda i: i.lines[2].update(line_number=4),
         "invoice_lines: line numbers 1..n per invoice"),
        (lambda i: i.upfront_ledger.update(B=0),
         "incident_reconciliation: up-front incident charges reconcile with the incident "
         "ledger"),
    ],
)
def test_each_check_catches_its_fault(tamper, check):
    inp = copy.deepcopy(good())
    tamper(inp)
    assert any(f.startswith(check) for f in failed(inp)), check


def test_one_rate_per_customer_and_month():
    """R6: all of a customer's support lines of a month carry one rate."""
    inp = good()
    inp.lines.insert(1, ln("INV-202605-00001", 2, "A", "support_subscription", "2.00",
                           "12.50", "25.00", "S-A2", "R7"))
    inp.lines[2]["line_number"] = 3
    inp.lines[3]["line_number"] = 4
    inp.invoices[0].update(total=D("502.50"), line_count=4)
    assert failed(inp) == [
        "invoice_lines: one incident rate per customer and month (2 rows)"]


def test_failed_report_names_rows_and_is_saved(tmp_path):
    inp = good()
    inp.lines[0]["amount"] = D("81.00")
    result = run_gate(inp)
    assert not result.success
    assert "invoices: invoice total = sum of its lines (1 rows)" in result.failed_checks
    by_check = {c["check"]: c for s in result.report["suites"] for c in s["checks"]}
    assert by_check["invoice total = sum of its lines"]["unexpected_rows"] == [
        "INV-202605-00001"]
    assert by_check["amount = quantity x unit price (support fee: at most, prorated)"][
        "unexpected_rows"] == ["INV-202605-00001#1"]
    json_path, md_path = gate.write_reports(result.report, tmp_path, "2026-05")
    assert json.loads(json_path.read_text())["success"] is False
    md = md_path.read_text()
    assert md.startswith("# Quality report 2026-05\n")
    assert "- FAIL invoice total = sum of its lines (R2) - 1 rows: INV-202605-00001" in md
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quality_2026-05.json",
                                                           "quality_2026-05.md"]


def test_an_empty_month_passes():
    assert run_gate(GateInputs("2026-05", [], [], set(), PRICE_BOOK, {})).success


def test_suite_files_and_placeholders():
    for name in gate.SUITES:
        suite = gate.load_suite_dict(name, "2026-05")
        assert suite["name"] == name and suite["expectations"]
        for e in suite["expectations"]:
            assert e["meta"]["check"] and e["meta"]["rule"].startswith("R")
    # issue 14 item 5: the period is a suite parameter supplied at run time, never text
    # replaced in the suite files
    text = json.dumps(gate.load_suite_dict("invoices", "2026-05"))
    assert "{{" not in text and "202605" not in text
    assert '{"$PARAMETER": "invoice_number_regex"}' in text
    assert '{"$PARAMETER": "period_values"}' in text
    assert gate.suite_parameters("2026-05") == {
        "period": "2026-05", "period_values": ["2026-05"],
        "invoice_number_regex": "^(?:INV|CN)-202605-[0-9]{5}$"}


def test_price_in_force_takes_the_latest_row_on_or_before_the_day():
    book = PRICE_BOOK + [{"price_key": "hourly_rate", "effective_from": date(2026, 6, 1),
                          "value": D("275.00")}]
    assert price_in_force(book, "hourly_rate", date(2026, 5, 31)) == D("250.00")
    assert price_in_force(book, "hourly_rate", date(2026, 6, 1)) == D("275.00")
    assert price_in_force(book, "nope", date(2026, 6, 1)) is None


# ---------------------------------------------------------------- the warehouse entry point
# The tables gate.run_gate_on reads, with the warehouse's column types (dbt models).
WAREHOUSE_DDL = """
create table main.invoices (
    period varchar, invoice_number varchar, document_type varchar, customer_id varchar,
    customer_name varchar, accounting_ref varchar, email varchar, invoice_date date,
    due_date date, currency varchar, total decimal(18, 2), line_count integer);
create table main.invoice_lines (
    period varchar, invoice_number varchar, document_type varchar, customer_id varchar,
    line_number integer, line_type varchar, description varchar, quantity decimal(18, 2),
    unit_price decimal(18, 2), amount decimal(18, 2), source_ref varchar, rule varchar,
    adjusts_period varchar, adjusts_line_type varchar);
create table main.price_book (
    price_key varchar, effective_from date, value decimal(18, 2), description varchar);
create table main.stg_exports__customers (
    customer_id varchar, customer_name varchar, overage_policy varchar,
    accounting_ref varchar, email varchar);
create table main.fct_incidents (
    ticket_id varchar, customer_id varchar, period varchar, coverage varchar,
    overage_treatment varchar, charged_period varchar);
"""


def warehouse(inp: GateInputs):
    """An in-memory warehouse holding ``inp``'s rows (the ledger as up-front incidents)."""
    con = duckdb.connect()
    con.execute(WAREHOUSE_DDL)
    for table, rows in (("invoices", inp.invoices), ("invoice_lines", inp.lines),
                        ("price_book", inp.price_book)):
        for r in rows:
            con.execute(f"insert into main.{table} ({', '.join(r)}) "
                        f"values ({', '.join('?' * len(r))})", list(r.values()))
    for c in inp.known_customers:
        con.execute("insert into main.stg_exports__customers (customer_id) values (?)", [c])
    for c, n in inp.upfront_ledger.items():
        for k in range(n):
            con.execute("insert into main.fct_incidents values (?, ?, ?, 'overage', 'upfront', ?)",
                        [f"T-{c}{k}", c, inp.period, inp.period])
    return con


def gate_inputs(con, period: str) -> GateInputs:
    """The warehouse's month read back as hand-made rows (the dict entry point's input)."""
    def rows(sql, params=()):
        cur = con.execute(sql, list(params))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    invoices = rows("select period, invoice_number, document_type, customer_id, customer_name,"
                    " accounting_ref, email, invoice_date, due_date, currency, total, line_count"
                    " from main.invoices where period = ? order by invoice_number", [period])
    lines = rows("select period, invoice_number, customer_id, line_number, line_type,"
                 " description, quantity, unit_price, amount, source_ref, rule, adjusts_period,"
                 " adjusts_line_type from main.invoice_lines where period = ?"
                 " order by invoice_number, line_number", [period])
    known = {r[0] for r in con.execute(
        "select customer_id from main.stg_exports__customers").fetchall()}
    price_book = rows("select price_key, effective_from, value from main.price_book")
    ledger = dict(con.execute(gate_sql.UPFRONT_LEDGER_SQL, {"period": period}).fetchall())
    return GateInputs(period, invoices, lines, known, price_book, ledger)


def failing_rows(result) -> dict[str, list[str]]:
    return {c["check"]: c["unexpected_rows"]
            for s in result.report["suites"] for c in s["checks"] if not c["success"]}


def test_the_warehouse_and_the_dict_entry_points_agree():
    """Same SQL over both sources: the same frames (dtypes too) and the same report."""
    con = warehouse(good())
    from_warehouse = gate.run_gate_on(con, "2026-05")
    assert from_warehouse.success, from_warehouse.failed_checks
    assert from_warehouse.report == run_gate(good()).report
    assert from_warehouse.report == run_gate(gate_inputs(con, "2026-05")).report
    assert from_warehouse.report["counts"] == {"invoices": 3, "invoice_lines": 7}
    loaded, built = gate_sql.loaded_frames(good()), gate_sql.warehouse_frames(con, "2026-05")
    for name in gate.SUITES:  # the warehouse's rows come in number order, the dicts as listed
        label = built[name][1]
        pd.testing.assert_frame_equal(
            loaded[name][0].sort_values(label, ignore_index=True), built[name][0])


def test_frames_are_typed_never_float_or_object():
    """Booleans, integers (cents as BIGINT from DECIMAL, R2) and strings; the one Decimal
    column is the informational up-front quantity."""
    frames = gate_sql.warehouse_frames(warehouse(good()), "2026-05")
    kinds = {name: {c: str(t) for c, t in frame.dtypes.items() if str(t) not in ("str",)}
             for name, (frame, _) in frames.items()}
    assert kinds["invoices"] == {
        "customer_known": "bool", "total_minus_sum_of_lines_cents": "int64",
        "line_count_minus_lines": "int64", "has_non_zero_line": "bool",
        "text_cells_formula_safe": "bool"}
    assert kinds["invoice_lines"] == {
        "invoice_known": "bool", "line_number": "int64", "expected_line_number": "int64",
        "customer_matches_invoice": "bool", "quantity_cents": "int64",
        "incident_quantity_whole": "boolean", "non_adjustment_amount_cents": "Int64",
        "unit_price_in_force": "boolean", "one_rate_per_customer": "boolean",
        "amount_consistent": "boolean", "adjustment_well_formed": "boolean",
        "text_cells_formula_safe": "bool"}
    assert kinds["incident_reconciliation"] == {
        "upfront_quantity_invoiced": "object", "upfront_incidents_in_ledger": "int64",
        "invoiced_minus_ledger": "int64"}
    lines = frames["invoice_lines"][0]  # in (invoice_number, line_number) order: CN- first
    assert lines["line_id"].tolist()[:3] == ["CN-202605-00001#1", "CN-202605-00001#2",
                                             "INV-202605-00001#1"]
    assert lines["quantity_cents"].tolist() == [200, 100, 800, 159, 200, 200, 100]
    assert lines["non_adjustment_amount_cents"].tolist() == [2500, pd.NA, 8000, 39750, 0, 1290,
                                                             15000]


def _zero_only_invoice(i: GateInputs) -> None:
    i.invoices.append(inv("INV-202605-00003", "invoice", "F", "0.00", 1))
    i.lines.append(ln("INV-202605-00003", 1, "F", "prepaid_hours_deduction", "1.00", "0.00",
                      "0.00", "PB-F1", "R13"))
    i.known_customers.add("F")


def _second_rate(i: GateInputs) -> None:
    i.lines.insert(1, ln("INV-202605-00001", 2, "A", "support_subscription", "2.00", "12.50",
                         "25.00", "S-A2", "R7"))
    i.lines[2]["line_number"] = 3
    i.lines[3]["line_number"] = 4
    i.invoices[0].update(total=D("502.50"), line_count=4)


INV_, LINES_, REC_ = "invoices: ", "invoice_lines: ", "incident_reconciliation: "
TOTAL = INV_ + "invoice total = sum of its lines (1 rows)"
COUNT = INV_ + "line_count = number of lines (1 rows)"
GAPS = INV_ + "invoice numbers 1..n without gaps in customer_id order (1 rows)"
NON_ZERO = INV_ + "every invoice has a non-zero line (1 rows)"
BELONGS = LINES_ + "every line belongs to an invoice of the month"
CUSTOMER = LINES_ + "line customer = invoice customer"
RULE = LINES_ + "rule matches line type (1 rows)"
AMOUNT = LINES_ + "amount = quantity x unit price (support fee: at most, prorated) (1 rows)"
LEDGER = REC_ + "up-front incident charges reconcile with the incident ledger (1 rows)"
FORMULA = "text cells: none begins with =, +, - or @, which a spreadsheet runs (1 rows)"
# A defect the warehouse's column types can hold, and every check it fails (in order).
SEEDED = [
    (lambda i: i.invoices[1].update(invoice_number=None),
     [INV_ + "invoice numbers present (1 rows)", GAPS, TOTAL, COUNT, NON_ZERO,
      BELONGS + " (2 rows)", CUSTOMER + " (2 rows)"]),
    (lambda i: i.invoices[1].update(invoice_number="INV-202605-00001"),
     [INV_ + "invoice numbers unique (2 rows)", GAPS, TOTAL, COUNT, BELONGS + " (2 rows)",
      CUSTOMER + " (5 rows)"]),
    (lambda i: i.invoices[0].update(invoice_number="INV-202604-00001"),
     [INV_ + "invoice numbers match INV-/CN-YYYYMM-NNNNN for the period (1 rows)", GAPS,
      TOTAL, COUNT, NON_ZERO, BELONGS + " (3 rows)", CUSTOMER + " (3 rows)"]),
    (lambda i: i.invoices[1].update(invoice_number="INV-202605-00003"),
     [GAPS, TOTAL, COUNT, NON_ZERO, BELONGS + " (2 rows)", CUSTOMER + " (2 rows)"]),
    (lambda i: i.invoices[0].update(document_type="bill"),
     [INV_ + "credit note exactly when total below 0.00 (1 rows)",
      INV_ + "document types known (1 rows)"]),
    (lambda i: i.invoices[2].update(document_type="invoice"),
     [INV_ + "credit note exactly when total below 0.00 (1 rows)"]),
    (lambda i: i.invoices[1].update(customer_id="A"),
     [INV_ + "one document per customer (2 rows)", CUSTOMER + " (2 rows)"]),
    (lambda i: i.known_customers.discard("B"),
     [INV_ + "every invoice's customer known (1 rows)"]),
    (lambda i: i.invoices[0].update(total=D("478.50")), [TOTAL]),
    (lambda i: i.invoices[0].update(line_count=4), [COUNT]),
    (_zero_only_invoice, [NON_ZERO]),
    (lambda i: i.invoices[0].update(invoice_date=date(2026, 5, 30)),
     [INV_ + "invoice date = last day of the month (1 rows)"]),
    (lambda i: i.invoices[0].update(due_date=date(2026, 6, 29)),
     [INV_ + "due date = invoice date + payment terms in force (1 rows)"]),
    (lambda i: i.invoices[0].update(currency="EUR"), [INV_ + "currency USD (1 rows)"]),
    (lambda i: i.lines[2].update(invoice_number="INV-202605-00009"),
     [COUNT, BELONGS + " (1 rows)", LINES_ + "line numbers 1..n per invoice (1 rows)",
      CUSTOMER + " (1 rows)"]),
    (lambda i: i.lines[2].update(line_number=2),
     [LINES_ + "line numbers unique per invoice (2 rows)",
      LINES_ + "line numbers 1..n per invoice (2 rows)"]),
    (lambda i: i.lines[2].update(line_number=4),
     [LINES_ + "line numbers 1..n per invoice (1 rows)"]),
    (lambda i: i.lines[2].update(customer_id="B"), [CUSTOMER + " (1 rows)"]),
    (lambda i: i.lines[5].update(line_type="support_fee"),
     [RULE, LINES_ + "line types from the accepted set (1 rows)"]),
    (lambda i: i.lines[2].update(rule="R99"),
     [RULE, LINES_ + "rules from the accepted set (1 rows)"]),
    (lambda i: i.lines[4].update(rule="R13"), [RULE]),
    (lambda i: i.lines[2].update(quantity=D("0.00")), [LINES_ + "quantities > 0 (1 rows)"]),
    (lambda i: i.lines[4].update(quantity=D("1.50"), amount=D("225.00")),
     [TOTAL, LINES_ + "incident quantities whole numbers (1 rows)", LEDGER]),
    (lambda i: i.lines[2].update(amount=D("-1.00")),
     [TOTAL, LINES_ + "non-adjustment amounts >= 0 (1 rows)", AMOUNT]),
    (lambda i: i.lines[3].update(unit_price=D("11.00")),
     [LINES_ + "unit prices are price-book prices in force (1 rows)"]),
    (_second_rate, [LINES_ + "one incident rate per customer and month (2 rows)"]),
    (lambda i: i.lines[0].update(amount=D("81.00")), [TOTAL, AMOUNT]),
    (lambda i: i.lines[6].update(source_ref="2026-04::training_hours"),
     [LINES_ + "adjustment lines: quantity 1, unit price = amount, earlier month, source_ref "
      "M:<invoice>:T (1 rows)"]),
    (lambda i: i.upfront_ledger.update(B=0), [LEDGER]),
    # R-IN6, section 5: text a spreadsheet would run as a formula (negative amounts such as
    # the credit note's -500.00 are numbers and pass)
    (lambda i: i.invoices[1].update(customer_name='=HYPERLINK("http://x","y")'),
     [INV_ + "invoice " + FORMULA]),
    (lambda i: i.invoices[0].update(accounting_ref="@SUM(A1)"),
     [INV_ + "invoice " + FORMULA]),
    (lambda i: i.lines[1].update(description="+1 training hour"),
     [LINES_ + "line " + FORMULA]),
    (lambda i: i.lines[6].update(description="-500.00 correction"),
     [LINES_ + "line " + FORMULA]),
]


@pytest.mark.parametrize(("tamper", "expected"), SEEDED)
def test_each_check_fails_on_a_seeded_defect_through_both_entry_points(tamper, expected):
    inp = copy.deepcopy(good())
    tamper(inp)
    from_dicts = run_gate(inp)
    assert from_dicts.failed_checks == expected
    from_warehouse = gate.run_gate_on(warehouse(inp), "2026-05")
    assert from_warehouse.failed_checks == expected
    assert failing_rows(from_warehouse) == failing_rows(from_dicts)


# Defects that the warehouse's types cannot hold: its month is read by period, and its
# DECIMAL(18, 2) columns round a third decimal (half away from zero) on the way in.
UNREPRESENTABLE = [
    (lambda i: i.invoices[1].update(period="2026-04"),
     [INV_ + "invoices belong to the period (1 rows)"],
     [BELONGS + " (2 rows)", CUSTOMER + " (2 rows)"]),
    (lambda i: i.invoices[0].update(total=D("477.504")),
     [INV_ + "invoice totals have 2 decimals (1 rows)", TOTAL], []),
    (lambda i: i.lines[1].update(amount=D("397.505")),
     [TOTAL, LINES_ + "line amounts have 2 decimals (1 rows)", AMOUNT], [TOTAL, AMOUNT]),
    (lambda i: i.lines[2].update(unit_price=D("0.001")),
     [LINES_ + "unit prices have 2 decimals (1 rows)",
      LINES_ + "unit prices are price-book prices in force (1 rows)"], []),
]


@pytest.mark.parametrize(("tamper", "from_dicts", "from_warehouse"), UNREPRESENTABLE)
def test_defects_only_hand_made_rows_can_hold(tamper, from_dicts, from_warehouse):
    inp = copy.deepcopy(good())
    tamper(inp)
    assert run_gate(inp).failed_checks == from_dicts
    assert gate.run_gate_on(warehouse(inp), "2026-05").failed_checks == from_warehouse


def test_every_check_has_a_seeded_defect():
    named = {f.split(": ", 1)[1].split(" (")[0]
             for _, expected, *_ in SEEDED + UNREPRESENTABLE for f in expected}
    checks = {e["meta"]["check"].split(" (")[0] for name in gate.SUITES
              for e in gate.load_suite_dict(name, "2026-05")["expectations"]}
    assert len(checks) == 35 and checks <= named


def test_a_sub_cent_difference_is_never_rounded_into_a_pass():
    """Cents columns are BIGINT from DECIMAL: floor for lower bounds, away from zero for
    "= 0", so 0.004 is neither a cent's difference of 0 nor a quantity of 0.00 (R2)."""
    inp = good()
    inp.invoices[0]["total"] = D("477.504")
    inp.lines[2]["quantity"] = D("0.004")
    assert failed(inp) == [
        "invoices: invoice totals have 2 decimals (1 rows)",
        "invoices: invoice total = sum of its lines (1 rows)",
        "invoice_lines: quantities > 0 (1 rows)",
    ]
