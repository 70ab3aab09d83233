"""The quality gate (GX 1.x suites in expectations/, R2, R6, R7, R12-R15) on hand-made rows."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal as D

import pytest
from support_billing import gate
from support_billing.gate import GateInputs, price_in_force, run_gate

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
    assert len(checks) == 33 and all(c["success"] for c in checks)


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
    text = json.dumps(gate.load_suite_dict("invoices", "2026-05"))
    assert "202605" in text and "{{" not in text


def test_price_in_force_takes_the_latest_row_on_or_before_the_day():
    book = PRICE_BOOK + [{"price_key": "hourly_rate", "effective_from": date(2026, 6, 1),
                          "value": D("275.00")}]
    assert price_in_force(book, "hourly_rate", date(2026, 5, 31)) == D("250.00")
    assert price_in_force(book, "hourly_rate", date(2026, 6, 1)) == D("275.00")
    assert price_in_force(book, "nope", date(2026, 6, 1)) is None
