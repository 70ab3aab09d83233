"""The R19 ledger files: written once, append-only, checked against their checksum."""

from __future__ import annotations

import pytest


def test_ledger_files_are_append_only_and_checked(tmp_path):
    from support_billing.storage import ledger
    path = tmp_path / "ledger" / "months" / "2026-01.jsonl"
    assert ledger.write_once(path, b'{"a":1}\n') is True
    assert ledger.write_once(path, b'{"a":1}\n') is False  # same records: a no-op
    with pytest.raises(ledger.LedgerError, match="already exists with other content"):
        ledger.write_once(path, b'{"a":2}\n')
    assert ledger.read_verified(path) == [{"a": 1}]
    path.write_bytes(b'{"a":3}\n')                          # tampered
    with pytest.raises(ledger.LedgerError, match="does not match its checksum"):
        ledger.read_verified(path)



def test_a_record_is_one_line_of_exact_text():
    """R19: decimals as exact strings, dates and timestamps in ISO 8601, text as written
    (no ASCII escapes), keys in the record's order, one line per record."""
    from datetime import date, datetime
    from decimal import Decimal

    from support_billing.storage import ledger
    records = [
        {"record": "line", "amount": Decimal("-12.50"), "quantity": Decimal("3.00"),
         "invoice_date": date(2026, 1, 31), "description": 'Café "Nord", 2 h',
         "source_ref": None, "line_number": 2},
        {"record": "month", "finalized_at": datetime(2026, 2, 1, 7, 5, 0, 120000),
         "invoice_count": 0, "grand_total": Decimal("0.00")},
    ]
    assert ledger._encode(records) == (
        '{"record":"line","amount":"-12.50","quantity":"3.00","invoice_date":"2026-01-31",'
        '"description":"Café \\"Nord\\", 2 h","source_ref":null,"line_number":2}\n'
        '{"record":"month","finalized_at":"2026-02-01T07:05:00.120000","invoice_count":0,'
        '"grand_total":"0.00"}\n').encode()
    with pytest.raises(TypeError, match="a ledger record holds a bytes"):
        ledger._encode([{"record": "line", "raw": b"\x00"}])
