"""``support-billing verify PATH`` (SPEC section 5, 6): an export folder against its
manifest, with seeded defects (a changed byte, a missing part, an extra file, a line amount
edited) each named on a line of its own, exit 1; intact exit 0."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from support_billing.cli import app
from support_billing.exports import writers as exporters
from support_billing.exports.verify import verify_folder
from support_billing.exports.writers import ExportConfig
from test_exporters import GATE, INVOICES, LINES, _many
from typer.testing import CliRunner

SPLIT = ExportConfig(xero_max_invoices=2)


@pytest.fixture
def folder(tmp_path) -> Path:
    """A month of 5 invoices plus the sample's (credit note included), Xero split in 3+."""
    invoices, lines = _many(5)
    invoices = [{**i, "invoice_number": i["invoice_number"].replace("-0000", "-0001")}
                for i in invoices]
    lines = [{**ln, "invoice_number": ln["invoice_number"].replace("-0000", "-0001")}
             for ln in lines]
    out = tmp_path / "2026-05"
    out.mkdir()
    exporters.write_export(out, "2026-05", [*INVOICES, *invoices], [*LINES, *lines], GATE,
                           SPLIT)
    return out


def manifest_of(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def rewrite_listed(folder: Path, name: str, data: bytes) -> None:
    """Change a file and its manifest entry together (only the totals check can see it)."""
    (folder / name).write_bytes(data)
    manifest = manifest_of(folder)
    for entry in manifest["files"]:
        if entry["name"] == name:
            entry["sha256"] = hashlib.sha256(data).hexdigest()
    (folder / "manifest.json").write_bytes(exporters.render_json(manifest))


def test_an_intact_folder_passes(folder):
    names = [f["name"] for f in manifest_of(folder)["files"]]
    assert "xero_invoices_part-004.csv" in names and "xero_invoices.csv" not in names
    assert verify_folder(folder) == []
    result = CliRunner().invoke(app, ["verify", str(folder)])
    assert result.exit_code == 0, result.output
    assert "intact, 9 files match manifest.json (month 2026-05" in result.output


def test_a_changed_byte_is_named(folder):
    data = bytearray((folder / "xero_credit_notes.csv").read_bytes())
    data[-2:-1] = b"X"  # USD -> USX
    (folder / "xero_credit_notes.csv").write_bytes(bytes(data))
    assert verify_folder(folder) == [
        "xero_credit_notes.csv: sha256 differs from the manifest (the file was changed)"]
    result = CliRunner().invoke(app, ["verify", str(folder)])
    assert result.exit_code == 1


def test_a_missing_part_is_named(folder):
    (folder / "xero_invoices_part-002.csv").unlink()
    assert verify_folder(folder) == ["xero_invoices_part-002.csv: missing (listed in the manifest)"]
    manifest = manifest_of(folder)
    manifest["files"] = [f for f in manifest["files"]
                         if f["name"] != "xero_invoices_part-002.csv"]
    (folder / "manifest.json").write_bytes(exporters.render_json(manifest))
    assert verify_folder(folder) == [
        "xero_invoices.csv: part 2 of 4 missing from the manifest",
        "xero_invoices.csv: INV-202605-00011 sums to 0, invoices.csv says 30.00",
        "xero_invoices.csv: INV-202605-00012 sums to 0, invoices.csv says 30.00",
    ]


def test_an_extra_file_is_named(folder):
    (folder / "statements").mkdir()
    (folder / "statements" / "INV-1.html").write_text("<p>not listed</p>")
    (folder / "xero_invoices (1).csv").write_text("copy")
    assert verify_folder(folder) == [
        "statements/INV-1.html: extra file, not in the manifest",
        "xero_invoices (1).csv: extra file, not in the manifest",
    ]


def test_a_listed_statement_in_a_subfolder_is_checked(folder):
    (folder / "statements").mkdir()
    page = folder / "statements" / "INV-202605-00001.html"
    page.write_text("<p>statement</p>")
    manifest = manifest_of(folder)
    manifest["files"].append({"name": "statements/INV-202605-00001.html",
                              "sha256": hashlib.sha256(page.read_bytes()).hexdigest()})
    (folder / "manifest.json").write_bytes(exporters.render_json(manifest))
    assert verify_folder(folder) == []
    page.write_text("<p>edited</p>")
    assert verify_folder(folder) == [
        "statements/INV-202605-00001.html: sha256 differs from the manifest (the file was "
        "changed)"]


def test_a_line_amount_edited_is_named(folder):
    lines = (folder / "invoice_lines.csv").read_bytes()
    edited = lines.replace(b",field_reports 16/31 days,2,12.50,12.90,",
                           b",field_reports 16/31 days,2,12.50,12.99,")
    assert edited != lines
    (folder / "invoice_lines.csv").write_bytes(edited)
    assert verify_folder(folder) == [
        "invoice_lines.csv: sha256 differs from the manifest (the file was changed)",
        "invoices.csv: INV-202605-00002 total 162.90, its lines in invoice_lines.csv sum to "
        "162.99",
    ]
    rewrite_listed(folder, "invoice_lines.csv", edited)  # even with a forged manifest
    assert verify_folder(folder) == [
        "invoices.csv: INV-202605-00002 total 162.90, its lines in invoice_lines.csv sum to "
        "162.99"]


def test_an_accounting_amount_edited_is_named(folder):
    data = (folder / "quickbooks_invoices.csv").read_bytes()
    edited = data.replace(b",1 incident,1,150.00,150.00,", b",1 incident,1,150.00,15.00,")
    assert edited != data
    rewrite_listed(folder, "quickbooks_invoices.csv", edited)
    assert verify_folder(folder) == [
        "quickbooks_invoices.csv: INV-202605-00002 sums to 27.90, invoices.csv says 162.90"]


def test_a_row_of_another_document_is_named(folder):
    data = (folder / "xero_credit_notes.csv").read_bytes()
    rewrite_listed(folder, "xero_credit_notes.csv", data.replace(b"CN-202605-00001,",
                                                                 b"CN-202605-00009,", 1))
    assert verify_folder(folder) == [
        "xero_credit_notes.csv: CN-202605-00001 sums to -500.00, invoices.csv says -475.00",
        "xero_credit_notes.csv: rows of CN-202605-00009, which is not a credit note in "
        "invoices.csv",
    ]


def test_a_row_count_that_differs_is_named(folder):
    manifest = manifest_of(folder)
    manifest["files"][0]["rows"] = 99
    (folder / "manifest.json").write_bytes(exporters.render_json(manifest))
    assert verify_folder(folder) == ["invoices.csv: 8 rows, the manifest says 99"]


def test_a_path_under_home(folder, monkeypatch, tmp_path):
    """``support-billing --home H verify exports/2026-05`` (section 5's example)."""
    home = tmp_path / "home"
    (home / "exports").mkdir(parents=True)
    folder.rename(home / "exports" / "2026-05")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["--home", str(home), "verify", "exports/2026-05"])
    assert result.exit_code == 0, result.output


def test_no_manifest_and_not_a_folder(tmp_path):
    assert verify_folder(tmp_path) == ["manifest.json: missing"]
    result = CliRunner().invoke(app, ["verify", str(tmp_path)])
    assert result.exit_code == 1
    result = CliRunner().invoke(app, ["verify", str(tmp_path / "nope")])
    assert result.exit_code == 2
