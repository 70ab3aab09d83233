"""Safe bytes (SPEC section 5, RFC 4180; issue 13): with arbitrary Unicode in every text
that reaches a file (customer_name, accounting_ref, email, ids, descriptions, item names,
account code, tax type), each exported CSV reads back with Python's csv, pandas and
DuckDB's ``read_csv`` to exactly the rows the manifest counts and the values written (the
oracle's fields, tests/oracle/export_oracle.py)."""

from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path

import duckdb
import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from oracle import export_oracle
from support_billing.exports import writers as exporters
from support_billing.exports.writers import ExportConfig
from test_export_property import CONFIGS, GATE, PERIOD, month

# The characters a strict reader trips on, first among equals.
HARD = (
    [{"period": PERIOD, "invoice_number": "INV-202605-00001", "document_type": "invoice",
      "customer_id": "C\r", "customer_name": "Name ending in CR\r",
      "accounting_ref": 'quote " comma , LF \n CRLF \r\n', "email": "\r",
      "invoice_date": "2026-05-31", "due_date": "2026-06-30", "currency": "USD",
      "total": "10.00", "line_count": 1}],
    [{"period": PERIOD, "invoice_number": "INV-202605-00001", "customer_id": "C\r",
      "line_number": 1, "line_type": "training_hours", "description": "\r",
      "quantity": "0.04", "unit_price": "250.00", "amount": "10.00", "source_ref": '"',
      "rule": ",", "adjusts_period": None, "adjusts_line_type": None}],
    [],
)


def read_python(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh, strict=True))


def read_pandas(path: Path) -> list[list[str]]:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False,
                        encoding="utf-8", skip_blank_lines=False)
    return [list(frame.columns), *frame.values.tolist()]


def read_duckdb(path: Path, header: list[str]) -> list[list[str]]:
    columns = "{" + ", ".join(f"'{h}': 'VARCHAR'" for h in header) + "}"
    with duckdb.connect() as con:
        rows = con.execute(
            f"select * from read_csv(?, header = true, auto_detect = false, delim = ',', "
            f"quote = '\"', escape = '\"', new_line = '\\n', strict_mode = true, "
            f"columns = {columns})", [str(path)]).fetchall()
    return [header, *[["" if v is None else v for v in row] for row in rows]]


def check_folder(folder: Path, expected: dict) -> None:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(f["name"] for f in manifest["files"]) == sorted(expected)
    for entry in manifest["files"]:
        header, rows = expected[entry["name"]]
        path = folder / entry["name"]
        assert len(rows) == entry["rows"]
        assert read_python(path) == [header, *rows]
        assert read_pandas(path) == [header, *rows]
        assert read_duckdb(path, header) == [header, *rows]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=month(), config=CONFIGS)
@example(data=HARD, config=ExportConfig())
def test_every_file_reads_back_exactly(data, config):
    invoices, lines, _ = data
    expected = export_oracle.exported_rows(PERIOD, invoices, lines, config)
    with tempfile.TemporaryDirectory() as tmp:
        exporters.write_export(Path(tmp), PERIOD, invoices, lines, GATE, config)
        check_folder(Path(tmp), expected)


@settings(max_examples=15, deadline=None)
@given(name=st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
                    min_size=1, max_size=12))
def test_any_customer_name_keeps_the_row_count(name):
    """Any single text (here customer_name and accounting_ref) keeps 1 invoice = 1 row."""
    invoices = [{**HARD[0][0], "customer_name": name, "accounting_ref": name}]
    expected = export_oracle.exported_rows(PERIOD, invoices, HARD[1], ExportConfig())
    with tempfile.TemporaryDirectory() as tmp:
        exporters.write_export(Path(tmp), PERIOD, invoices, HARD[1], GATE, ExportConfig())
        check_folder(Path(tmp), expected)
        assert read_python(Path(tmp) / "invoices.csv")[1][3] == name
