"""Money as every file and page writes it (R2): exact decimals, two places, half up.

One definition for the export writers, the statements and the run summary."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def dec(value) -> Decimal:
    if value is None:
        return Decimal("0")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):  # never expected: amounts are DECIMAL in the warehouse
        return Decimal(repr(value))
    return Decimal(str(value))


def money(value) -> str:
    """Exactly 2 decimals, half up (R2); ``-0.00`` is written ``0.00``."""
    q = dec(value).quantize(CENT, rounding=ROUND_HALF_UP)
    if q == 0:
        q = Decimal("0.00")
    return f"{q:.2f}"
