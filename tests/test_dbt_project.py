"""The dbt project builds from a pytest fixture, generates docs, and documents every
model and column (issue: billing rules in dbt)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from support_billing.storage.dbt_runner import run_dbt
from support_billing.storage.warehouse import open_warehouse


@pytest.fixture(scope="module")
def built_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("dbt_home")
    with open_warehouse(home):
        pass
    result = run_dbt(home, ["build"], vars={"period": "2026-03"})
    assert result.success, result.failures
    return home


def test_build_runs_unit_tests_and_data_tests(built_home: Path) -> None:
    results = json.loads((built_home / ".dbt" / "target" / "run_results.json").read_text())
    statuses = {r["unique_id"]: r["status"] for r in results["results"]}
    unit = [k for k in statuses if k.startswith("unit_test.")]
    assert len(unit) >= 10
    assert all(statuses[k] == "pass" for k in unit)
    assert statuses["test.support_billing.assert_money_is_decimal"] == "pass"


def test_docs_generate_and_every_model_and_column_documented(built_home: Path) -> None:
    result = run_dbt(built_home, ["docs", "generate"], vars={"period": "2026-03"})
    assert result.success, result.failures
    target = built_home / ".dbt" / "target"
    manifest = json.loads((target / "manifest.json").read_text())
    con = duckdb.connect(str(built_home / "warehouse.duckdb"), read_only=True)
    try:
        undocumented = []
        for node in manifest["nodes"].values():
            if node["resource_type"] != "model" or node["package_name"] != "support_billing":
                continue
            if not node["description"].strip():
                undocumented.append(node["name"])
            if node["name"].startswith("int_"):
                continue  # intermediate models document their key columns only
            actual = {
                row[0]
                for row in con.execute(
                    "select column_name from information_schema.columns where table_name = ?",
                    [node["name"]],
                ).fetchall()
            }
            documented = {c for c, spec in node["columns"].items() if spec["description"].strip()}
            missing = actual - documented
            if missing:
                undocumented.append(f"{node['name']}: {sorted(missing)}")
        assert undocumented == []
    finally:
        con.close()
    assert (target / "catalog.json").exists()


def test_money_columns_of_marts_are_decimal_18_2(built_home: Path) -> None:
    con = duckdb.connect(str(built_home / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute(
            """
            select table_name, column_name, data_type from information_schema.columns
            where table_name in ('invoice_lines', 'invoices', 'fct_invoice_lines_computed')
              and column_name in ('amount', 'unit_price', 'total', 'quantity')
            order by all
            """
        ).fetchall()
    finally:
        con.close()
    assert rows and all(r[2] == "DECIMAL(18,2)" for r in rows), rows
