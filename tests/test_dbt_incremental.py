"""`dbt_runner.build` rebuilds only what changed since the last successful build, and what
it leaves gives the same marts, to the cent, as a full build. The marts hold every month
(R14): billing another month builds nothing.

The hand scenarios of tests/oracle (every rule R5-R15) are written into one warehouse.
Each step builds incrementally, reads the marts, then forgets the build state and builds
everything again: both must be equal.
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from oracle import scenario_db as sc
from support_billing.storage import dbt_runner

pytestmark = pytest.mark.slow


def full_rebuild_marts(home):
    """The marts after a build from scratch (no state: everything is rebuilt)."""
    dbt_runner._state_file(home).unlink()
    res = dbt_runner.build(home)
    assert res.success, res.failures
    assert res.selected is None
    return sc.read_marts(home)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    home = tmp_path_factory.mktemp("incremental")
    sc.write_scenario(home, sc.all_hand_scenarios())
    res = dbt_runner.build(home)
    assert res.success, res.failures
    assert res.selected is None  # nothing built yet: everything
    return home


def test_unchanged_inputs_build_nothing(built):
    res = dbt_runner.build(built)
    assert res.success and res.skipped


def test_the_invoice_marts_hold_every_month(built):
    """R14: no build-time month; every month with a non-zero line has its invoices."""
    marts = sc.read_marts(built)
    months = {r["period"] for r in marts["invoices"]}
    assert {"2026-03", "2026-06", "2026-10"} <= months
    computed = {r["period"] for r in marts["fct_invoice_lines_computed"] if r["amount"] != 0}
    assert months == computed


def test_a_new_ticket_rebuilds_what_reads_tickets(built):
    dbt_runner.build(built)
    before = sc.read_marts(built)
    con = sc._connect(built)
    try:  # one more billable incident for the R10 worked example's customer, in May
        row = con.execute("select * from raw.tickets order by ticket_id limit 1").fetchone()
        cols = [d[0] for d in con.description]
        new = dict(zip(cols, row, strict=True))
        new.update(ticket_id="INCR-1", opened_at=datetime(2026, 5, 12, 16, 0),
                   category="sync_support", status="closed", billable_override=None)
        con.execute(f"insert into raw.tickets ({', '.join(new)}) values "
                    f"({', '.join('?' for _ in new)})", list(new.values()))
    finally:
        con.close()
    res = dbt_runner.build(built)
    assert res.success, res.failures
    assert res.selected == ["source:raw.tickets+"]
    ran = nodes_run(built)
    # the tables reading tickets and every data test below them ran, the views stayed:
    # fct_ticket_classification, a view, shows the new ticket all the same
    assert {"model.fct_incidents", "model.invoice_lines",
            "test.unique_stg_exports__tickets_ticket_id"} <= ran
    assert not ran & {f"model.{name}" for name in views(built)}
    partial = sc.read_marts(built)
    assert "INCR-1" in {r["ticket_id"] for r in partial["fct_ticket_classification"]}
    assert partial != before
    assert partial == full_rebuild_marts(built)


def nodes_run(home) -> set[str]:
    """The nodes the last dbt command ran, as "model.name" / "test.name"."""
    import json

    results = json.loads((home / ".dbt" / "target" / "run_results.json").read_text())
    return {".".join(r["unique_id"].split(".")[::2][:2]) for r in results["results"]}


def views(home) -> set[str]:
    return {r["view_name"] for r in sc.query(
        home, "select view_name from duckdb_views() where not internal")}


def finalize_from_marts(home, period):
    """What finalizing ``period`` writes to billing.* (R15), taken from the marts."""
    con = sc._connect(home)
    try:
        con.execute("insert into billing.finalized_months select ?, now(), count(*), "
                    "sum(total), null from main.invoices where period = ?", [period, period])
        con.execute("insert into billing.finalized_invoices select period, invoice_number, "
                    "document_type, customer_id, customer_name, accounting_ref, invoice_date, "
                    "due_date, currency, total, line_count from main.invoices "
                    "where period = ?", [period])
        con.execute("insert into billing.finalized_invoice_lines select period, "
                    "invoice_number, customer_id, line_number, line_type, description, "
                    "quantity, unit_price, amount, source_ref, rule, adjusts_period, "
                    "adjusts_line_type from main.invoice_lines where period = ?", [period])
        con.execute("insert into billing.finalized_policies select ?, customer_id, "
                    "overage_policy from main.stg_exports__customers", [period])
    finally:
        con.close()


def finalize_otherwise(home, period, change):
    """Finalize ``period`` from the marts, then change the amounts of its first (customer,
    line type) that is not an R15 adjustment by ``change``: a folder published before late
    data. Returns that customer and line type."""
    finalize_from_marts(home, period)
    con = sc._connect(home)
    try:
        customer, line_type = con.execute(
            "select customer_id, line_type from billing.finalized_invoice_lines "
            "where period = ? and rule <> 'R15' "
            "order by invoice_number, line_number limit 1", [period]).fetchone()
        con.execute("update billing.finalized_invoice_lines set amount = amount + "
                    "cast(? as decimal(18, 2)) "
                    "where period = ? and customer_id = ? and line_type = ?",
                    [change, period, customer, line_type])
    finally:
        con.close()
    return customer, line_type


def test_a_month_finalized_as_computed_rebuilds_nothing(built):
    """R15: finalizing a month as the rules compute it, with no adjustment of its own, adds
    no difference for a later month to carry: the next build builds nothing and the marts
    are those of a full build."""
    dbt_runner.build(built)
    before = sc.read_marts(built)
    finalize_from_marts(built, "2026-03")
    dbt_runner.note_finalized(built, "2026-03")
    res = dbt_runner.build(built)
    assert res.success and res.skipped
    assert sc.read_marts(built) == before
    assert before == full_rebuild_marts(built)


def test_a_month_finalized_otherwise_rebuilds_the_invoice_marts(built):
    """R15: a month finalized with other amounts than the rules compute now (a folder
    published before late data): the next build rebuilds the invoice marts, not the
    incidents, and every later month carries the difference."""
    dbt_runner.build(built)
    customer, line_type = finalize_otherwise(built, "2026-04", "-10")
    dbt_runner.note_finalized(built, "2026-04")
    res = dbt_runner.build(built)
    assert res.success, res.failures
    assert res.selected == sorted(dbt_runner.FINALIZED_SELECTORS)
    after = sc.read_marts(built)
    carried = [(r["customer_id"], r["amount"], r["adjusts_line_type"])
               for r in after["invoice_lines"]
               if r["period"] == "2026-05" and r["adjusts_period"] == "2026-04"]
    assert [(c, str(a), t) for c, a, t in carried] == [(customer, "10.00", line_type)]
    assert after == full_rebuild_marts(built)
    assert dbt_runner.build(built).skipped


def test_a_month_that_carried_adjustments_rebuilds_the_invoice_marts(built):
    """R15: finalizing a month that carried an adjustment changes what later months still
    have to carry: the invoice marts are rebuilt."""
    dbt_runner.build(built)
    finalize_from_marts(built, "2026-05")  # carries April's difference (test above)
    dbt_runner.note_finalized(built, "2026-05")
    res = dbt_runner.build(built)
    assert res.success, res.failures
    assert res.selected == sorted(dbt_runner.FINALIZED_SELECTORS)
    after = sc.read_marts(built)
    assert not [r for r in after["invoice_lines"]
                if r["period"] == "2026-06" and r["adjusts_period"] == "2026-04"]
    assert after == full_rebuild_marts(built)


def _differences(home, period):
    con = sc._connect(home)
    try:
        return con.execute("select customer_id, line_type, cast(difference as varchar) "
                           "from main.prior_period_differences where adjusts_period = ? "
                           "order by 1, 2", [period]).fetchall()
    finally:
        con.close()


def _carried(home, period, adjusts):
    return [(r["customer_id"], str(r["amount"]), r["adjusts_line_type"])
            for r in sc.read_marts(home)["invoice_lines"]
            if r["period"] == period and r["adjusts_period"] == adjusts]


def test_billing_a_finalized_month_again_builds_only_what_its_report_reads(built):
    """R15: billing a finalized month again reports the differences it would carry forward
    (prior_period_differences). After a finalization that changes them, that run builds
    what the report reads and leaves the invoice marts pending; the next build rebuilds
    them, and the marts are those of a full build. New rows are never left pending."""
    dbt_runner.build(built)
    customer, line_type = finalize_otherwise(built, "2026-06", "7")
    dbt_runner.note_finalized(built, "2026-06")

    res = dbt_runner.build(built, reads="prior_period_differences")
    assert res.success, res.failures
    assert res.narrowed_to == "prior_period_differences"
    assert res.selected == sorted(dbt_runner.FINALIZED_SELECTORS)
    assert _differences(built, "2026-06") == [(customer, line_type, "-7.00")]
    assert _carried(built, "2026-07", "2026-06") == []  # the invoice marts: still pending
    assert dbt_runner._read_state(built)["pending"] == sorted(dbt_runner.FINALIZED_SELECTORS)

    res = dbt_runner.build(built, reads="prior_period_differences")  # nothing new: same
    assert res.success and res.narrowed_to == "prior_period_differences"
    res = dbt_runner.build(built)  # the next month's bill
    assert res.success and res.narrowed_to is None
    assert res.selected == sorted(dbt_runner.FINALIZED_SELECTORS)
    assert _carried(built, "2026-07", "2026-06") == [(customer, "-7.00", line_type)]
    assert sc.read_marts(built) == full_rebuild_marts(built)
    assert dbt_runner.build(built).skipped


def test_new_rows_are_built_whole_even_for_a_report(built):
    """A finalized month's report after new rows: everything they reach is built (R20), the
    pending finalization included; nothing stays pending."""
    dbt_runner.build(built)
    finalize_from_marts(built, "2026-07")
    con = sc._connect(built)
    try:
        con.execute("update billing.finalized_invoice_lines set amount = amount + 1 "
                    "where period = '2026-07' and rule <> 'R15'")
        con.execute("update raw.timesheets set hours = hours + 1 where entry_id = "
                    "(select min(entry_id) from raw.timesheets)")
    finally:
        con.close()
    dbt_runner.note_finalized(built, "2026-07")
    res = dbt_runner.build(built, reads="prior_period_differences")
    assert res.success and res.narrowed_to is None
    assert res.selected == ["source:raw.timesheets+", *sorted(dbt_runner.FINALIZED_SELECTORS)]
    assert "pending" not in dbt_runner._read_state(built)
    assert sc.read_marts(built) == full_rebuild_marts(built)


def build_after_outside_change(home, sql: str):
    """Build, run ``sql`` on the warehouse outside dbt, build again: the second result."""
    dbt_runner.build(home)
    con = sc._connect(home)
    try:
        con.execute(sql)
    finally:
        con.close()
    return dbt_runner.build(home)


def test_a_built_table_changed_outside_dbt_rebuilds_everything(built):
    res = build_after_outside_change(built, "update main.invoice_lines set amount = amount + 1")
    assert res.success and res.selected is None


def test_a_view_dropped_outside_dbt_rebuilds_everything(built):
    """A build for new rows leaves the views as they are; one that is missing brings a
    whole build, which creates it again."""
    assert "stmt_documents" in views(built)
    res = build_after_outside_change(built, "drop view main.stmt_documents")
    assert res.success and not res.skipped and res.selected is None
    assert "stmt_documents" in views(built)


def test_every_model_is_a_view_or_in_a_data_driven_build():
    """A build for new rows selects DATA_DRIVEN_KINDS below the changed sources: any other
    materialization (incremental, materialized view) would be left out of it."""
    import yaml

    kinds = {k.split(":", 1)[1] for k in dbt_runner.DATA_DRIVEN_KINDS
             if k.startswith("config.materialized:")}
    project = yaml.safe_load((dbt_runner.DBT_PROJECT_DIR / "dbt_project.yml").read_text())

    def declared(tree):
        for key, value in tree.items():
            if key == "+materialized":
                yield value
            elif isinstance(value, dict):
                yield from declared(value)
    found = set(declared(project["models"]))
    for path in (dbt_runner.DBT_PROJECT_DIR / "models").rglob("*.*"):
        found |= set(re.findall(r"materialized\s*=\s*['\"](\w+)['\"]", path.read_text()))
    assert found == {"view", *kinds}


def test_plan_build():
    sources = {t: "1:1" for t in dbt_runner.SOURCE_TABLES}
    last = {"project": "p", "year": 2026, "sources": sources, "built": {"b": "1"}}
    now = {**last, "sources": dict(sources)}
    del now["built"]
    assert dbt_runner.plan_build(last, now, {"b": "1"}) == []
    changed = {**sources, "raw.timesheets": "2:5", "billing.finalized_months": "0:0"}
    assert dbt_runner.plan_build(last, {**now, "sources": changed}, {"b": "1"}) == [
        "source:raw.timesheets+", "source:billing.finalized_months+"]
    pending = {**last, "pending": ["source:billing.finalized_invoices+"]}
    assert dbt_runner.plan_build(pending, now, {"b": "1"}) == [
        "source:billing.finalized_invoices+"]
    assert dbt_runner.plan_build(last, {**now, "project": "q"}, {"b": "1"}) is None
    assert dbt_runner.plan_build(last, {**now, "year": 2027}, {"b": "1"}) is None
    assert dbt_runner.plan_build(last, now, {"b": "2"}) is None
    assert dbt_runner.plan_build({}, now, {"b": "1"}) is None
    assert dbt_runner.plan_build(last, {**now, "sources": None}, {"b": "1"}) is None


def test_no_model_reads_a_billing_month():
    """R14: the month billed is a filter of the readers; a model reading a month var or
    environment variable would hold one month only."""
    for path in (dbt_runner.DBT_PROJECT_DIR / "models").rglob("*.sql"):
        text = path.read_text()
        assert "var('period'" not in text and 'var("period"' not in text, path.name
        assert "env_var(" not in text, path.name


def test_every_dbt_source_is_watched():
    """A source missing from SOURCE_TABLES could change without anything being rebuilt."""
    import yaml

    spec = yaml.safe_load(
        (dbt_runner.DBT_PROJECT_DIR / "models" / "staging" / "_sources.yml").read_text())
    declared = {f"{s.get('schema', s['name'])}.{t['name']}"
                for s in spec["sources"] for t in s["tables"]}
    assert declared == set(dbt_runner.SOURCE_TABLES)
