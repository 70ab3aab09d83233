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

