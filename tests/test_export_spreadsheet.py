"""Every CSV of a month opened in a real spreadsheet program (LibreOffice Calc, headless):
no cell is a formula and every value is the one written (SPEC section 5, R-IN6; issue
13). LibreOffice runs a CSV cell beginning with ``=`` as a formula, which the seeded
defect below shows; the export holds no such cell."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest
from oracle import export_oracle
from support_billing.exports import writers as exporters
from support_billing.exports.writers import ExportConfig
from test_exporters import GATE, INVOICES, LINES, invoice, line

openpyxl = pytest.importorskip("openpyxl")
SOFFICE = shutil.which("soffice")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) not installed")]

# Text a spreadsheet might misread: commas, quotes, line breaks, Unicode, a formula-like
# character inside (never first: R-IN6 rejects those at ingest, the gate checks again).
TRICKY_INVOICES = [
    *INVOICES,
    invoice("INV-202605-00003", "invoice", "F", 'Foxtrot "F" €, 😀', "Foxtrot\nAccounts",
            "30.00", 1, "f@x.test"),
]
TRICKY_LINES = [
    *LINES,
    line("INV-202605-00003", 1, "F", "additional_incident_upfront", "a = b + c @ 1; -2",
         "1.00", "30.00", "30.00", "T-F1, T-F2", "R12"),
]


def open_in_calc(paths: list[Path], out: Path, profile: Path) -> None:
    """Convert CSV files to .xlsx with LibreOffice's CSV import (comma, quote, UTF-8)."""
    subprocess.run(
        [SOFFICE, "--headless", "--norestore", f"-env:UserInstallation={profile.as_uri()}",
         "--infilter=CSV:44,34,76,1", "--convert-to", "xlsx", "--outdir", str(out),
         *map(str, paths)],
        check=True, capture_output=True, timeout=240)


def cells(xlsx: Path) -> list[list]:
    sheet = openpyxl.load_workbook(xlsx).active
    return [[(c.value, c.data_type) for c in row] for row in sheet.iter_rows()]


def same_value(cell, written: str) -> bool:
    """A cell equals the text written: text as is (Calc keeps line breaks as LF), a number
    equal as a decimal (Calc reads 10.00 as 10), a date Calc recognised as that date."""
    value, kind = cell
    if value is None:
        return written == ""
    if kind == "s":
        return value == written.replace("\r\n", "\n").replace("\r", "\n")
    if kind == "n":
        try:
            return Decimal(str(value)) == Decimal(written)
        except InvalidOperation:
            return False
    if kind == "d" and isinstance(value, datetime):
        return written in {value.strftime(f) for f in ("%m/%d/%Y", "%d/%m/%Y", "%Y-%m-%d")}
    return False


@pytest.mark.parametrize("config", [ExportConfig(), ExportConfig(xero_date_format="DD/MM/YYYY",
                                                                  xero_max_invoices=1)],
                         ids=["us", "non-us-split"])
def test_every_csv_opens_without_a_formula_and_with_the_values_written(tmp_path, config):
    folder = tmp_path / "export"
    folder.mkdir()
    manifest = exporters.write_export(folder, "2026-05", TRICKY_INVOICES, TRICKY_LINES, GATE,
                                      config)
    expected = export_oracle.exported_rows("2026-05", TRICKY_INVOICES, TRICKY_LINES, config)
    names = [f["name"] for f in manifest["files"]]
    assert any("_part-" in n for n in names) == (config.xero_max_invoices == 1)
    open_in_calc([folder / n for n in names], tmp_path / "calc", tmp_path / "profile")
    for name in names:
        header, rows = expected[name]
        sheet = cells(tmp_path / "calc" / name.replace(".csv", ".xlsx"))
        assert len(sheet) == 1 + len(rows), name
        formulas = [c for row in sheet for c in row if c[1] == "f"]
        assert formulas == [], (name, formulas)
        for got, want in zip(sheet, [header, *rows], strict=True):
            assert len(got) == len(want) and all(
                same_value(c, w) for c, w in zip(got, want, strict=True)), (name, got, want)


def test_seeded_defect_a_formula_cell_is_found(tmp_path):
    """The check can fail: a cell written as ``=HYPERLINK(...)`` opens as a formula."""
    bad = tmp_path / "bad.csv"
    bad.write_text('customer_name,total\n"=HYPERLINK(""http://x"",""y"")",-10.00\n',
                   encoding="utf-8")
    open_in_calc([bad], tmp_path / "calc", tmp_path / "profile")
    sheet = cells(tmp_path / "calc" / "bad.xlsx")
    assert [c[1] for c in sheet[1]] == ["f", "n"]  # the formula runs; -10.00 is a number
