"""Export writers (SPEC section 5, R14): exact bytes, accounting formats, determinism."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import date
from decimal import Decimal as D

import pytest
from helpers import write_export, write_prepaid_report
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import export_oracle
from support_billing.exports import writers as exporters
from support_billing.exports.formatting import money
from support_billing.exports.writers import ExportConfig, split_parts


def invoice(number, doc, cust, name, ref, total, count, email=None):
    return {"period": "2026-05", "invoice_number": number, "document_type": doc,
            "customer_id": cust, "customer_name": name, "accounting_ref": ref, "email": email,
            "invoice_date": date(2026, 5, 31), "due_date": date(2026, 6, 30),
            "currency": "USD", "total": D(total), "line_count": count}


def line(number, n, cust, t, desc, q, p, a, src, rule):
    return {"period": "2026-05", "invoice_number": number, "customer_id": cust,
            "line_number": n, "line_type": t, "description": desc, "quantity": D(q),
            "unit_price": D(p), "amount": D(a), "source_ref": src, "rule": rule,
            "adjusts_period": None, "adjusts_line_type": None}


INVOICES = [
    invoice("CN-202605-00001", "credit_note", "E", "Echo", "Echo LLC", "-475.00", 2,
            "b@echo.test"),
    invoice("INV-202605-00002", "invoice", "B", "Beta", "Beta Paving", "162.90", 2),
    invoice("INV-202605-00001", "invoice", "A", "Acme", "Acme, Inc.", "477.50", 3,
            "ap@acme.test"),
]
LINES = [
    line("INV-202605-00001", 3, "A", "prepaid_hours_deduction", "Block PB-A1: 6.00 h left",
         "2.00", "0.00", "0.00", "PB-A1", "R13"),
    line("INV-202605-00001", 1, "A", "support_subscription", 'remote_payroll "8", x 10.00',
         "8.00", "10.00", "80.00", "S-A1", "R7"),
    line("INV-202605-00001", 2, "A", "training_hours", "Training\nsecond line", "1.59",
         "250.00", "397.50", "TS-1", "R13"),
    line("INV-202605-00002", 1, "B", "support_subscription", "field_reports 16/31 days",
         "2.00", "12.50", "12.90", "S-B1", "R7"),
    line("INV-202605-00002", 2, "B", "additional_incident_upfront", "1 incident", "1.00",
         "150.00", "150.00", "T-B9", "R12"),
    line("CN-202605-00001", 1, "E", "support_subscription", "pay_stubs", "2.00", "12.50",
         "25.00", "S-E1", "R7"),
    {**line("CN-202605-00001", 2, "E", "prior_period_adjustment", "Correction 2026-04",
            "1.00", "-500.00", "-500.00", "2026-04:INV-202604-00003:custom_development_hours",
            "R15"),
     "adjusts_period": "2026-04", "adjusts_line_type": "custom_development_hours"},
]
GATE = {"suites": ["invoices", "invoice_lines", "incident_reconciliation"], "success": True}


def test_formatting():
    assert money(D("12.5")) == "12.50"
    assert money(D("0.005")) == "0.01"  # half up (R2)
    assert money(D("-0.00")) == "0.00"
    assert money(D("-500")) == "-500.00"
    # the oracle's formatting (the product formats in SQL, export_sql.py)
    assert export_oracle.quantity("support_subscription", D("3.00")) == "3"
    assert export_oracle.quantity("prior_period_adjustment", D("1.00")) == "1"
    assert export_oracle.quantity("training_hours", D("1.5")) == "1.50"
    assert export_oracle.quantity("prepaid_hours_deduction", D("2")) == "2.00"
    with pytest.raises(ValueError):
        export_oracle.quantity("additional_incident_upfront", D("1.50"))
    assert export_oracle.us_date(date(2026, 5, 31)) == "05/31/2026"
    assert export_oracle.uk_date(date(2026, 5, 31)) == "31/05/2026"


def test_section5_files_exact_bytes(tmp_path):
    manifest = write_export(tmp_path, "2026-05", INVOICES, LINES, GATE,
                                      ExportConfig())
    assert (tmp_path / "invoices.csv").read_text() == (
        "invoice_number,document_type,customer_id,customer_name,accounting_ref,period,"
        "invoice_date,due_date,currency,total,line_count\n"
        'INV-202605-00001,invoice,A,Acme,"Acme, Inc.",2026-05,2026-05-31,2026-06-30,USD,477.50,3\n'
        "INV-202605-00002,invoice,B,Beta,Beta Paving,2026-05,2026-05-31,2026-06-30,USD,162.90,2\n"
        "CN-202605-00001,credit_note,E,Echo,Echo LLC,2026-05,2026-05-31,2026-06-30,USD,-475.00,2\n"
    )
    assert (tmp_path / "invoice_lines.csv").read_text() == (
        "invoice_number,line_number,customer_id,line_type,description,quantity,unit_price,"
        "amount,source_ref,rule\n"
        'INV-202605-00001,1,A,support_subscription,"remote_payroll ""8"", x 10.00",8,10.00,'
        "80.00,S-A1,R7\n"
        'INV-202605-00001,2,A,training_hours,"Training\nsecond line",1.59,250.00,397.50,TS-1,R13\n'
        "INV-202605-00001,3,A,prepaid_hours_deduction,Block PB-A1: 6.00 h left,2.00,0.00,0.00,"
        "PB-A1,R13\n"
        "INV-202605-00002,1,B,support_subscription,field_reports 16/31 days,2,12.50,12.90,S-B1,R7\n"
        "INV-202605-00002,2,B,additional_incident_upfront,1 incident,1,150.00,150.00,T-B9,R12\n"
        "CN-202605-00001,1,E,support_subscription,pay_stubs,2,12.50,25.00,S-E1,R7\n"
        "CN-202605-00001,2,E,prior_period_adjustment,Correction 2026-04,1,-500.00,-500.00,"
        "2026-04:INV-202604-00003:custom_development_hours,R15\n"
    )
    assert b"\r" not in b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert manifest == json.loads((tmp_path / "manifest.json").read_text())
    assert {k: v for k, v in manifest.items() if k not in ("files", "notes")} == {
        "month": "2026-05", "period": "2026-05", "invoice_count": 2, "credit_note_count": 1, "document_count": 3,
        "first_invoice_number": "INV-202605-00001", "last_invoice_number": "INV-202605-00002",
        "first_credit_note_number": "CN-202605-00001",
        "last_credit_note_number": "CN-202605-00001",
        "grand_total": "165.40", "invoiced_total": "640.40", "credited_total": "475.00",
        "currency": "USD", "quality_gate": GATE}
    assert [(f["name"], f["rows"]) for f in manifest["files"]] == [
        ("invoices.csv", 3), ("invoice_lines.csv", 7), ("quickbooks_invoices.csv", 4),
        ("quickbooks_credit_memos.csv", 2), ("xero_invoices.csv", 4),
        ("xero_credit_notes.csv", 2)]
    for f in manifest["files"]:
        assert f["sha256"] == hashlib.sha256((tmp_path / f["name"]).read_bytes()).hexdigest()
    text = (tmp_path / "manifest.json").read_text()
    assert text.endswith("}\n") and text == json.dumps(manifest, sort_keys=True, indent=2) + "\n"


QBO_HEAD = ("InvoiceNo,Customer,InvoiceDate,DueDate,Terms,Memo,Item(Product/Service),"
            "ItemDescription,ItemQuantity,ItemRate,ItemAmount,ItemTaxCode,ServiceDate\n")
XERO_HEAD = ("ContactName,EmailAddress,InvoiceNumber,Reference,InvoiceDate,DueDate,"
             "InventoryItemCode,Description,Quantity,UnitAmount,AccountCode,TaxType,Currency\n")


def test_quickbooks_files(tmp_path):
    """QuickBooks Online (section 5, 8): US dates, terms, the period as memo and service
    date (an R15 adjustment's own month), credit memos as a by-hand sheet, positive."""
    manifest = write_export(tmp_path, "2026-05", INVOICES, LINES, GATE,
                                      ExportConfig())
    assert (tmp_path / "quickbooks_invoices.csv").read_text() == QBO_HEAD + (
        'INV-202605-00001,"Acme, Inc.",05/31/2026,06/30/2026,Net 30,Support 2026-05,'
        'Support subscription,"remote_payroll ""8"", x 10.00",8,10.00,80.00,,05/31/2026\n'
        'INV-202605-00001,"Acme, Inc.",05/31/2026,06/30/2026,Net 30,Support 2026-05,'
        'Training hours,"Training\nsecond line",1.59,250.00,397.50,,05/31/2026\n'
        "INV-202605-00002,Beta Paving,05/31/2026,06/30/2026,Net 30,Support 2026-05,"
        "Support subscription,field_reports 16/31 days (prorated: 2 x 12.50 = 25.00 for the "
        "full month; billed 12.90),1,12.90,12.90,,05/31/2026\n"
        "INV-202605-00002,Beta Paving,05/31/2026,06/30/2026,Net 30,Support 2026-05,"
        "Additional incidents (up front),1 incident,1,150.00,150.00,,05/31/2026\n"
    )
    assert (tmp_path / "quickbooks_credit_memos.csv").read_text() == (
        "CreditMemoNo,Customer,CreditMemoDate,Memo,Item(Product/Service),ItemDescription,"
        "ItemQuantity,ItemRate,ItemAmount,ItemTaxCode,ServiceDate\n"
        "CN-202605-00001,Echo LLC,05/31/2026,Support 2026-05,Support subscription,pay_stubs,2,"
        "-12.50,-25.00,,05/31/2026\n"
        "CN-202605-00001,Echo LLC,05/31/2026,Support 2026-05,Prior period adjustment,"
        "Correction 2026-04,1,500.00,500.00,,04/30/2026\n"
    )
    assert manifest["notes"] == [
        "QuickBooks Online imports no credit memos from a file: enter the 1 credit memo(s) "
        "of quickbooks_credit_memos.csv by hand (docs/accounting.md)"]


def test_xero_files_us_default(tmp_path):
    """Xero (section 8): MM/DD/YYYY by default (a US organisation), the period in
    Reference, the credit note in the sales template with its own negative total."""
    write_export(tmp_path, "2026-05", INVOICES, LINES, GATE, ExportConfig())
    assert (tmp_path / "xero_invoices.csv").read_text() == XERO_HEAD + (
        '"Acme, Inc.",ap@acme.test,INV-202605-00001,Support 2026-05,05/31/2026,06/30/2026,,'
        '"remote_payroll ""8"", x 10.00",8,10.00,400,Tax Exempt,USD\n'
        '"Acme, Inc.",ap@acme.test,INV-202605-00001,Support 2026-05,05/31/2026,06/30/2026,,'
        '"Training\nsecond line",1.59,250.00,400,Tax Exempt,USD\n'
        "Beta Paving,,INV-202605-00002,Support 2026-05,05/31/2026,06/30/2026,,field_reports "
        "16/31 days (prorated: 2 x 12.50 = 25.00 for the full month; billed 12.90),1,12.90,"
        "400,Tax Exempt,USD\n"
        "Beta Paving,,INV-202605-00002,Support 2026-05,05/31/2026,06/30/2026,,1 incident,1,"
        "150.00,400,Tax Exempt,USD\n"
    )
    assert (tmp_path / "xero_credit_notes.csv").read_text() == XERO_HEAD + (
        "Echo LLC,b@echo.test,CN-202605-00001,Support 2026-05,05/31/2026,06/30/2026,,"
        "pay_stubs,2,12.50,400,Tax Exempt,USD\n"
        "Echo LLC,b@echo.test,CN-202605-00001,Support 2026-05,05/31/2026,06/30/2026,,"
        "Correction 2026-04,1,-500.00,400,Tax Exempt,USD\n"
    )
    notes = list(csv.DictReader(io.StringIO((tmp_path / "xero_credit_notes.csv").read_text())))
    assert sum(D(n["Quantity"]) * D(n["UnitAmount"]) for n in notes) == D("-475.00")


def test_non_us_profile_from_settings(tmp_path, monkeypatch):
    """A non-US organisation (section 8): DD/MM/YYYY, its own account code, tax type,
    items and terms label from settings.toml and the environment; QuickBooks switched off
    writes no QuickBooks file."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "settings.toml").write_text(
        '[billing]\npayment_terms_label = "{days} days"\n'
        '[quickbooks]\nenabled = false\n'
        '[xero]\ndate_format = "DD/MM/YYYY"\naccount_code = "200"\n'
        '[xero.items]\ntraining_hours = "TRN"\n')
    monkeypatch.setenv("SUPPORT_BILLING_XERO__TAX_TYPE", "No VAT")
    out = tmp_path / "out"
    out.mkdir()
    manifest = write_export(out, "2026-05", INVOICES, LINES, GATE,
                                      ExportConfig.from_home(home))
    assert [f["name"] for f in manifest["files"]] == [
        "invoices.csv", "invoice_lines.csv", "xero_invoices.csv", "xero_credit_notes.csv"]
    assert manifest["notes"] == []
    assert (out / "xero_credit_notes.csv").read_text() == XERO_HEAD + (
        "Echo LLC,b@echo.test,CN-202605-00001,Support 2026-05,31/05/2026,30/06/2026,,"
        "pay_stubs,2,12.50,200,No VAT,USD\n"
        "Echo LLC,b@echo.test,CN-202605-00001,Support 2026-05,31/05/2026,30/06/2026,,"
        "Correction 2026-04,1,-500.00,200,No VAT,USD\n"
    )
    assert (out / "xero_invoices.csv").read_text() == XERO_HEAD + (
        '"Acme, Inc.",ap@acme.test,INV-202605-00001,Support 2026-05,31/05/2026,30/06/2026,,'
        '"remote_payroll ""8"", x 10.00",8,10.00,200,No VAT,USD\n'
        '"Acme, Inc.",ap@acme.test,INV-202605-00001,Support 2026-05,31/05/2026,30/06/2026,TRN,'
        '"Training\nsecond line",1.59,250.00,200,No VAT,USD\n'
        "Beta Paving,,INV-202605-00002,Support 2026-05,31/05/2026,30/06/2026,,field_reports "
        "16/31 days (prorated: 2 x 12.50 = 25.00 for the full month; billed 12.90),1,12.90,"
        "200,No VAT,USD\n"
        "Beta Paving,,INV-202605-00002,Support 2026-05,31/05/2026,30/06/2026,,1 incident,1,"
        "150.00,200,No VAT,USD\n"
    )


def test_quickbooks_non_us_dates_terms_and_tax_code(tmp_path):
    """QuickBooks with DD/MM/YYYY, a terms label and a tax code from settings (section 8);
    the adjustment's service date is the month it corrects."""
    config = ExportConfig(quickbooks_date_format="DD/MM/YYYY", terms_label="{days} days",
                          quickbooks_tax_type="NON", xero=False)
    write_export(tmp_path, "2026-05", INVOICES, LINES, GATE, config)
    assert (tmp_path / "quickbooks_invoices.csv").read_text().split("\n")[5] == (
        "INV-202605-00002,Beta Paving,31/05/2026,30/06/2026,30 days,Support 2026-05,"
        "Additional incidents (up front),1 incident,1,150.00,150.00,NON,31/05/2026")
    assert (tmp_path / "quickbooks_credit_memos.csv").read_text().split("\n")[2] == (
        "CN-202605-00001,Echo LLC,31/05/2026,Support 2026-05,Prior period adjustment,"
        "Correction 2026-04,1,500.00,500.00,NON,30/04/2026")
    assert not (tmp_path / "xero_invoices.csv").exists()


def test_legacy_env_vars_still_set_xero(tmp_path, monkeypatch):
    """The variables of earlier versions keep working (section 8)."""
    monkeypatch.setenv("SUPPORT_BILLING_HOME", str(tmp_path))
    monkeypatch.setenv("SUPPORT_BILLING_XERO_ACCOUNT_CODE", "4100")
    monkeypatch.setenv("SUPPORT_BILLING_XERO_TAX_TYPE", "No VAT")
    config = ExportConfig.from_env()
    assert (config.xero_account_code, config.xero_tax_type) == ("4100", "No VAT")


def _many(n: int) -> tuple[list[dict], list[dict]]:
    """n invoices of 2 lines each."""
    invoices, lines = [], []
    for i in range(1, n + 1):
        number = f"INV-202605-{i:05d}"
        invoices.append(invoice(number, "invoice", f"C{i}", f"C{i}", f"C{i}", "30.00", 2))
        lines += [line(number, 1, f"C{i}", "support_subscription", "s", "2.00", "10.00",
                       "20.00", "S", "R7"),
                  line(number, 2, f"C{i}", "support_subscription", "t", "1.00", "10.00",
                       "10.00", "S2", "R7")]
    return invoices, lines


def test_split_into_parts_never_splitting_an_invoice(tmp_path):
    """Section 5, 8: over the per-import limit a file is split into numbered parts, each
    in the manifest; an invoice's lines stay in one part."""
    invoices, lines = _many(5)
    config = ExportConfig(xero_max_invoices=2, quickbooks_max_invoices=100,
                          quickbooks_max_rows=5)
    manifest = write_export(tmp_path, "2026-05", invoices, lines, GATE, config)
    entries = {f["name"]: f for f in manifest["files"]}
    assert [(n, e["rows"], e.get("part"), e.get("parts")) for n, e in entries.items()
            if n.startswith(("xero_inv", "quickbooks_inv"))] == [
        ("quickbooks_invoices_part-001.csv", 4, 1, 3),
        ("quickbooks_invoices_part-002.csv", 4, 2, 3),
        ("quickbooks_invoices_part-003.csv", 2, 3, 3),
        ("xero_invoices_part-001.csv", 4, 1, 3),
        ("xero_invoices_part-002.csv", 4, 2, 3),
        ("xero_invoices_part-003.csv", 2, 3, 3),
    ]
    assert not (tmp_path / "xero_invoices.csv").exists()
    assert (tmp_path / "xero_invoices_part-003.csv").read_text() == XERO_HEAD + (
        "C5,,INV-202605-00005,Support 2026-05,05/31/2026,06/30/2026,,s,2,10.00,400,"
        "Tax Exempt,USD\n"
        "C5,,INV-202605-00005,Support 2026-05,05/31/2026,06/30/2026,,t,1,10.00,400,"
        "Tax Exempt,USD\n")
    for e in entries.values():
        assert e["sha256"] == hashlib.sha256((tmp_path / e["name"]).read_bytes()).hexdigest()
    assert "xero_credit_notes.csv" in entries  # under the limit: one file, no part


def test_defaults_and_determinism(tmp_path, monkeypatch):
    monkeypatch.setenv("SUPPORT_BILLING_HOME", str(tmp_path / "nohome"))
    monkeypatch.delenv("SUPPORT_BILLING_XERO_ACCOUNT_CODE", raising=False)
    monkeypatch.delenv("SUPPORT_BILLING_XERO_TAX_TYPE", raising=False)
    assert ExportConfig.from_env() == ExportConfig()
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    write_export(a, "2026-05", INVOICES, LINES, GATE)
    write_export(b, "2026-05", list(reversed(INVOICES)), list(reversed(LINES)), GATE)
    assert exporters.folders_match(a, b) == []
    assert ",400,Tax Exempt,USD\n" in (a / "xero_invoices.csv").read_text()
    (b / "invoices.csv").write_text("changed")
    assert exporters.folders_match(a, b) == ["invoices.csv"]


def test_a_lone_cr_is_quoted(tmp_path):
    """Section 5 (RFC 4180): a customer name ending in CR is quoted, so a strict reader
    finds the rows the manifest counts."""
    invoices = [{**INVOICES[1], "customer_name": "Beta\r", "accounting_ref": "Beta\r"}]
    lines = [ln for ln in LINES if ln["invoice_number"] == "INV-202605-00002"]
    manifest = write_export(tmp_path, "2026-05", invoices, lines, GATE,
                                      ExportConfig())
    assert (tmp_path / "invoices.csv").read_bytes().split(b"\n")[1] == (
        b'INV-202605-00002,invoice,B,"Beta\r","Beta\r",2026-05,2026-05-31,2026-06-30,USD,'
        b"162.90,2")
    for f in manifest["files"]:
        with open(tmp_path / f["name"], newline="", encoding="utf-8") as fh:
            assert len(list(csv.reader(fh))) - 1 == f["rows"]


def test_empty_month_has_headers_only(tmp_path):
    manifest = write_export(tmp_path, "2026-05", [], [], GATE, ExportConfig())
    assert (tmp_path / "quickbooks_credit_memos.csv").read_text() == ",".join(
        exporters.QBO_CREDIT_MEMO_HEADER) + "\n"
    assert manifest["grand_total"] == "0.00" and manifest["first_invoice_number"] is None


def test_prepaid_report(tmp_path):
    path = write_prepaid_report(tmp_path / "reports" / "prepaid_2026-05.csv", [
        {"period": "2026-05", "customer_id": "D", "block_id": "PB-D1", "hours_taken": D("2"),
         "hours_left": D("3.00"), "invoice_number": None},
        {"period": "2026-05", "customer_id": "A", "block_id": "PB-A2", "hours_taken": D("1.25"),
         "hours_left": D("0.00"), "invoice_number": "INV-202605-00001"},
    ])
    assert path.read_text() == (
        "period,customer_id,block_id,hours_taken,hours_left,invoice_number\n"
        "2026-05,A,PB-A2,1.25,0.00,INV-202605-00001\n"
        "2026-05,D,PB-D1,2.00,3.00,\n")
    assert [p.name for p in path.parent.iterdir()] == ["prepaid_2026-05.csv"]


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.integers(1, 6), max_size=30), max_docs=st.integers(1, 8),
       max_rows=st.none() | st.integers(1, 10))
def test_split_parts_keeps_documents_whole_and_within_limits(sizes, max_docs, max_rows):
    """Section 5, 8: parts hold at most max_docs documents and max_rows rows (a document
    larger than max_rows alone in its part), in order, each document in one part."""
    rows = [(f"line {d}.{k}\n", f"DOC-{d}") for d, n in enumerate(sizes) for k in range(n)]
    parts = split_parts(rows, max_docs, max_rows)
    assert [r for part in parts for r in part] == rows
    for part in parts:
        docs = list(dict.fromkeys(group for _, group in part))
        assert len(docs) <= max_docs
        if max_rows is not None and len(part) > max_rows:
            assert len(docs) == 1
    owners = {}
    for i, part in enumerate(parts):
        for _, group in part:
            assert owners.setdefault(group, i) == i
    if rows:  # no part could take the next document's first rows
        for a, b in zip(parts, parts[1:], strict=False):
            first = [r for r in b if r[1] == b[0][1]]
            assert len({g for _, g in a}) == max_docs or (
                max_rows is not None and len(a) + len(first) > max_rows)


def test_run_summary_names_the_credit_memos_to_enter_by_hand(capsys):
    """Section 8: where a system cannot import credit notes, the run summary says so."""
    from support_billing.billing import flow as billing
    stats = {"invoices": 2, "credit_notes": 1, "total_billed": "165.40",
             "overage_incidents": 0, "hours_billed": "1.59", "rejected_rows_waiting": 0,
             "rows_held": 0}
    exported = {"status": "published", "stats": stats, "folder": "exports/2026-05",
                "prepaid_report": "reports/prepaid_2026-05.csv",
                "rejected_rows": "reports/rejected_rows.csv",
                "review_page": "reports/review_2026-05.html",
                "notes": [exporters.QBO_BY_HAND.format(n=1)]}
    billing._summary("2026-05", False, exported, {"hourly_work_without_hours": 0,
                                                  "report_md": "q.md"}, None)
    assert ("  note: QuickBooks Online imports no credit memos from a file: enter the 1 "
            "credit memo(s) of quickbooks_credit_memos.csv by hand (docs/accounting.md)\n"
            ) in capsys.readouterr().out
