"""Each rule defined once, in the dbt project: the line types in their
seed (R14, section 5, 8), the prices in force in int_calendar_months (section 4), read by
the gate's check models rather than derived again."""

from __future__ import annotations

import copy
import inspect

import pytest
import test_gate as tg
from helpers import ACCOUNTING_ITEMS, LINE_TYPE_ORDER, gate_warehouse
from support_billing import settings
from support_billing.billing import finalize, gate, gate_sql
from support_billing.billing import flow as billing_flow
from support_billing.billing import month_data as billing_data
from support_billing.exports import profiles as export_profiles
from support_billing.exports import render_sql as export_sql
from support_billing.exports import statements
from support_billing.exports import writers as exporters
from support_billing.exports.profiles import ExportConfig
from support_billing.reporting import analysis, analysis_customer, review, review_data, usage


@pytest.mark.parametrize("module", [
    analysis, analysis_customer, billing_data, billing_flow, export_profiles, export_sql,
    exporters, finalize, gate, gate_sql, review, review_data, settings, statements, usage])
def test_no_line_type_code_is_written_in_python(module):
    """The consumers read main.line_types (or the seed file); none lists the codes."""
    source = inspect.getsource(module)
    assert [code for code in LINE_TYPE_ORDER if code in source] == []


def test_settings_and_export_items_default_to_the_seed():
    """Section 8: the item name of each line type defaults to the seed's accounting_item,
    in the seed's R14 order."""
    items = settings.Items().model_dump()
    assert list(items) == list(LINE_TYPE_ORDER)
    assert items == ACCOUNTING_ITEMS == ExportConfig().items
    assert items["training_hours"] == "Training hours"
    assert set(settings.XeroItems().model_dump().values()) == {""}


def failed_with(con, period="2026-05") -> list[str]:
    return gate.run_gate_on(con, period).failed_checks


def test_the_gate_reads_the_prices_in_force_from_the_calendar_model():
    """Section 4, R13, R14: the unit prices and payment terms the gate checks are the
    month's row of int_calendar_months; a different row there fails the same lines."""
    with gate_warehouse(copy.deepcopy(tg.good())) as con:
        assert failed_with(con) == []
        con.execute("update main.int_calendar_months set hourly_price = 275.00")
        assert failed_with(con) == [
            "invoice_lines: unit prices are price-book prices in force (1 rows)"]
        con.execute("update main.int_calendar_months set hourly_price = 250.00, "
                    "payment_terms_days = 45")
        assert failed_with(con) == [
            "invoices: due date = invoice date + payment terms in force (3 rows)"]


def test_the_gate_reads_rules_and_units_from_the_line_types_seed():
    """R14: the expected rule and whole-incident quantities come from main.line_types."""
    inp = copy.deepcopy(tg.good())  # its training line: 1.59 h, R13
    with gate_warehouse(inp) as con:
        con.execute("update main.line_types set rule = 'R99' where line_type = 'training_hours'")
        con.execute("update main.line_types set quantity_unit = 'incidents' "
                    "where line_type = 'training_hours'")
        assert failed_with(con) == [
            "invoice_lines: rule matches line type (1 rows)",
            "invoice_lines: incident quantities whole numbers (1 rows)",
        ]
