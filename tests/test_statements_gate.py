"""The quality gate's customer-statement checks (SPEC section 5) on hand-made model rows:
a statement's total equals its invoice's total, and every billable incident of the month
appears on its customer's statement exactly once. Each check gets a seeded defect."""

from __future__ import annotations

import duckdb
import pytest
from support_billing.billing import gate, gate_sql

PERIOD = "2026-03"

TABLES = {
    "invoices": "period varchar, invoice_number varchar, customer_id varchar, "
                "total decimal(18, 2), line_count integer",
    "stmt_documents": "period varchar, invoice_number varchar, customer_id varchar, "
                      "statement_total decimal(18, 2), statement_line_count integer",
    "stmt_lines": "period varchar, invoice_number varchar, line_number integer, "
                  "line_type varchar",
    "stmt_tickets": "customer_id varchar, period varchar, ticket_id varchar, "
                    "opened_at timestamptz, is_billable_incident boolean, "
                    "charged_line_type varchar",
    "fct_incidents": "period varchar, ticket_id varchar, customer_id varchar",
}


def good() -> dict[str, list[tuple]]:
    """P: 40.00 in 2 lines, T-1 covered, T-2 overage (line 2), T-3 free; R: 150.00."""
    return {
        "invoices": [(PERIOD, "INV-202603-00001", "P", "40.00", 2),
                     (PERIOD, "INV-202603-00002", "R", "150.00", 5)],
        "stmt_documents": [(PERIOD, "INV-202603-00001", "P", "40.00", 2),
                           (PERIOD, "INV-202603-00002", "R", "150.00", 5)],
        "stmt_lines": [(PERIOD, "INV-202603-00001", 1, "support_subscription"),
                       (PERIOD, "INV-202603-00001", 2, "additional_incident_subscription")],
        "stmt_tickets": [
            ("P", PERIOD, "T-1", "2026-03-04 16:00:00+00", True, None),
            ("P", PERIOD, "T-2", "2026-03-05 16:00:00+00", True,
             "additional_incident_subscription"),
            ("P", PERIOD, "T-3", "2026-03-06 16:00:00+00", False, None),
            ("P", "2026-02", "T-0", "2026-02-04 16:00:00+00", True, None),
        ],
        "fct_incidents": [(PERIOD, "T-1", "P"), (PERIOD, "T-2", "P"), ("2026-02", "T-0", "P")],
    }


def failed(rows: dict) -> list[str]:
    con = duckdb.connect(":memory:")
    for table, columns in TABLES.items():
        con.execute(f"create table main.{table} ({columns})")
        for row in rows[table]:
            con.execute(f"insert into main.{table} values ({', '.join('?' * len(row))})",
                        list(row))
    frames = gate_sql.statement_frames(con, PERIOD)
    checks = gate._validate(frames, PERIOD, None)
    return sorted(f"{suite}: {c['check']} {c['unexpected_rows']}"
                  for suite, rows_ in checks.items() for c in rows_ if not c["success"])


def test_good_month_passes():
    assert failed(good()) == []


def test_statement_total_differs_from_invoice_total():
    rows = good()
    rows["stmt_documents"][1] = (PERIOD, "INV-202603-00002", "R", "149.99", 5)
    assert failed(rows) == [
        "statement_totals: statement total equals its invoice total ['INV-202603-00002']"]


def test_statement_missing_a_line():
    rows = good()
    rows["stmt_documents"][0] = (PERIOD, "INV-202603-00001", "P", "40.00", 1)
    assert failed(rows) == [
        "statement_totals: statement shows every line of its invoice ['INV-202603-00001']"]


def test_invoice_without_statement():
    rows = good()
    del rows["stmt_documents"][1]
    assert failed(rows) == [
        "statement_totals: every invoice has exactly one statement and every statement an "
        "invoice ['INV-202603-00002']",
        "statement_totals: statement shows every line of its invoice ['INV-202603-00002']",
        "statement_totals: statement total equals its invoice total ['INV-202603-00002']",
    ]


def test_billable_incident_missing_from_statement():
    rows = good()
    del rows["stmt_tickets"][0]
    assert failed(rows) == [
        "statement_incidents: every billable incident appears on its customer's statement "
        "exactly once ['T-1']"]


def test_billable_incident_shown_twice():
    # two additional_incident_subscription lines would list T-2 twice (the join)
    rows = good()
    rows["stmt_lines"].append((PERIOD, "INV-202603-00001", 3, "additional_incident_subscription"))
    assert failed(rows) == [
        "statement_incidents: every billable incident appears on its customer's statement "
        "exactly once ['T-2']"]


def test_billable_ticket_on_statement_not_in_ledger():
    rows = good()
    rows["stmt_tickets"].append(("P", PERIOD, "T-9", "2026-03-09 16:00:00+00", True, None))
    assert failed(rows) == [
        "statement_incidents: every billable ticket on a statement is in the incident ledger "
        "['T-9']"]


def test_incident_of_a_customer_without_statement():
    rows = good()
    rows["fct_incidents"].append((PERIOD, "T-X", "X"))
    assert failed(rows) == [
        "statement_incidents: every billable incident appears on its customer's statement "
        "exactly once ['T-X']"]


@pytest.mark.parametrize("suite", ["statement_totals", "statement_incidents"])
def test_suite_files_name_their_rule(suite):
    spec = gate.load_suite_dict(suite, PERIOD)
    assert spec["name"] == suite
    assert all("section 5" in e["meta"]["rule"] for e in spec["expectations"])
