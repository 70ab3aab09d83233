"""`dbt_runner.build` rebuilds only what changed since the last successful build (issue 7),
and what it leaves gives the same marts, to the cent, as a full build.

The hand scenarios of tests/oracle (every rule R5-R15) are written into one warehouse.
Each step builds incrementally, reads the marts, then forgets the build state and builds
everything again: both must be equal.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from oracle import scenario_db as sc
from support_billing.storage import dbt_runner

pytestmark = pytest.mark.slow


def full_rebuild_marts(home, period):
    """The marts after a build from scratch (no state: everything is rebuilt)."""
    dbt_runner._state_file(home).unlink()
    res = dbt_runner.build(home, period)
    assert res.success, res.failures
    assert res.selected is None
    return sc.read_marts(home)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    home = tmp_path_factory.mktemp("incremental")
    sc.write_scenario(home, sc.all_hand_scenarios())
    res = dbt_runner.build(home, "2026-03")
    assert res.success, res.failures
    assert res.selected is None  # nothing built yet: everything
    return home


def test_unchanged_inputs_build_nothing(built):
    res = dbt_runner.build(built, "2026-03")
    assert res.success and res.skipped


def test_another_month_rebuilds_only_the_period_models(built):
    res = dbt_runner.build(built, "2026-06")
    assert res.success, res.failures
    assert res.selected == ["tag:billing_period+"]
    partial = sc.read_marts(built)
    assert {r["period"] for r in partial["invoices"]} == {"2026-06"}
    assert partial == full_rebuild_marts(built, "2026-06")


def test_a_new_ticket_rebuilds_what_reads_tickets(built):
    dbt_runner.build(built, "2026-06")
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
    res = dbt_runner.build(built, "2026-06")
    assert res.success, res.failures
    assert res.selected == ["source:raw.tickets+"]
    partial = sc.read_marts(built)
    assert "INCR-1" in {r["ticket_id"] for r in partial["fct_ticket_classification"]}
    assert partial != before
    assert partial == full_rebuild_marts(built, "2026-06")


def test_a_built_table_changed_outside_dbt_rebuilds_everything(built):
    dbt_runner.build(built, "2026-06")
    con = sc._connect(built)
    try:
        con.execute("update main.invoice_lines set amount = amount + 1")
    finally:
        con.close()
    res = dbt_runner.build(built, "2026-06")
    assert res.success and res.selected is None


def test_plan_build():
    sources = {t: "1:1" for t in dbt_runner.SOURCE_TABLES}
    last = {"period": "2026-05", "project": "p", "year": 2026, "sources": sources,
            "built": {"b": "1"}}
    now = {**last, "sources": dict(sources)}
    del now["built"]
    assert dbt_runner.plan_build(last, now, {"b": "1"}) == []
    assert dbt_runner.plan_build(last, {**now, "period": "2026-06"}, {"b": "1"}) == [
        "tag:billing_period+"]
    changed = {**sources, "raw.timesheets": "2:5", "billing.finalized_months": "0:0"}
    assert dbt_runner.plan_build(last, {**now, "sources": changed}, {"b": "1"}) == [
        "source:raw.timesheets+", "source:billing.finalized_months+"]
    assert dbt_runner.plan_build(last, {**now, "project": "q"}, {"b": "1"}) is None
    assert dbt_runner.plan_build(last, {**now, "year": 2027}, {"b": "1"}) is None
    assert dbt_runner.plan_build(last, now, {"b": "2"}) is None
    assert dbt_runner.plan_build({}, now, {"b": "1"}) is None
    assert dbt_runner.plan_build(last, {**now, "sources": None}, {"b": "1"}) is None


def test_every_model_reading_the_period_is_tagged():
    """A model that reads var('period') but is not tagged would keep last month's rows."""
    for path in (dbt_runner.DBT_PROJECT_DIR / "models").rglob("*.sql"):
        text = path.read_text()
        if "var('period'" in text or 'var("period"' in text:
            assert f"tags=['{dbt_runner.PERIOD_TAG}']" in text, path.name


def test_every_dbt_source_is_watched():
    """A source missing from SOURCE_TABLES could change without anything being rebuilt."""
    import yaml

    spec = yaml.safe_load(
        (dbt_runner.DBT_PROJECT_DIR / "models" / "staging" / "_sources.yml").read_text())
    declared = {f"{s.get('schema', s['name'])}.{t['name']}"
                for s in spec["sources"] for t in s["tables"]}
    assert declared == set(dbt_runner.SOURCE_TABLES)
