"""PDF post-processing for byte-identical statements (SPEC section 5, R20)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support_billing.exports import statements_pdf
from support_billing.exports.statements_pdf import PdfError, fix_dates

PDF = (b"%%PDF-1.4\n1 0 obj\n<</Creator (x)\n/CreationDate (D:%s)\n/ModDate (D:%s)>>\n"
       b"endobj\nxref\n0 2\ntrailer\n")

zones = st.sampled_from(["", "Z", "+00'00'", "-07'00'", "+05'30'"])
stamp = st.builds(lambda digits, zone: (digits + zone).encode(),
                  st.text("0123456789", min_size=14, max_size=14), zones)


@given(stamp, stamp)
def test_prints_differing_only_in_time_become_equal(a, b):
    one, two = PDF % (a, a), PDF % (b, b)
    fixed_one, fixed_two = fix_dates(one), fix_dates(two)
    # every byte offset is kept, so the xref table stays valid ...
    assert len(fixed_one) == len(one) and len(fixed_two) == len(two)
    # ... the stamped time is gone ...
    assert a not in fixed_one and b"D:20000101000000" in fixed_one
    # ... and two prints with stamps of one length are equal
    if len(a) == len(b):
        assert fixed_one == fixed_two


def test_chromium_stamp_becomes_utc_and_other_bytes_stay():
    data = PDF % (b"20261130103711+00'00'", b"20261130103711+00'00'")
    fixed = fix_dates(data)
    assert b"/CreationDate (D:20000101000000Z)      \n" in fixed
    assert fixed.replace(b"(D:20000101000000Z)      ", b"(D:20261130103711+00'00')") == data


def test_missing_chromium_is_one_clear_error(monkeypatch):
    monkeypatch.setattr(statements_pdf.shutil, "which", lambda name: None)
    with pytest.raises(PdfError, match="chromium not found"):
        statements_pdf.chromium()
