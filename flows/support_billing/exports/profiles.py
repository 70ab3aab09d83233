"""The accounting profiles (SPEC section 8) as the export uses them, and how a file over a
system's per-import limit is cut into numbered parts (section 5)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_ITEMS = {
    "support_subscription": "Support subscription",
    "additional_incident_subscription": "Additional incidents (subscription)",
    "additional_incident_upfront": "Additional incidents (up front)",
    "implementation_hours": "Implementation hours",
    "training_hours": "Training hours",
    "custom_development_hours": "Custom development hours",
    "prepaid_hours_deduction": "Prepaid hours",
    "prior_period_adjustment": "Prior period adjustment",
}


@dataclass(frozen=True)
class ExportConfig:
    """The accounting profiles (section 8), from ``settings.load_settings``. ``items`` are
    QuickBooks' item names, ``xero_items`` Xero's item codes (blank: none written)."""

    xero_account_code: str = "400"
    xero_tax_type: str = "Tax Exempt"
    items: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ITEMS))
    xero_items: dict[str, str] = field(default_factory=dict)
    quickbooks: bool = True
    xero: bool = True
    quickbooks_date_format: str = "MM/DD/YYYY"
    xero_date_format: str = "MM/DD/YYYY"
    terms_label: str = "Net {days}"
    quickbooks_tax_type: str = ""
    quickbooks_max_invoices: int = 100
    quickbooks_max_rows: int = 999
    xero_max_invoices: int = 500
    statement_pdf: bool = False

    @classmethod
    def from_settings(cls, s) -> ExportConfig:
        """From a ``settings.Settings``."""
        return cls(
            xero_account_code=s.xero.account_code, xero_tax_type=s.xero.tax_type,
            items=s.quickbooks.items.model_dump(),
            xero_items={k: v for k, v in s.xero.items.model_dump().items() if v},
            quickbooks=s.quickbooks.enabled, xero=s.xero.enabled,
            quickbooks_date_format=s.quickbooks.date_format,
            xero_date_format=s.xero.date_format,
            terms_label=s.billing.payment_terms_label,
            quickbooks_tax_type=s.quickbooks.tax_type,
            quickbooks_max_invoices=s.quickbooks.max_invoices_per_file,
            quickbooks_max_rows=s.quickbooks.max_rows_per_file,
            xero_max_invoices=s.xero.max_invoices_per_file,
            statement_pdf=s.statements.pdf,
        )

    @classmethod
    def from_home(cls, home: Path) -> ExportConfig:
        """``HOME/settings.toml`` and the environment (``settings.SettingsError`` when
        invalid)."""
        from support_billing.settings import load_settings

        return cls.from_settings(load_settings(Path(home)))

    @classmethod
    def from_env(cls) -> ExportConfig:
        """The settings of ``$SUPPORT_BILLING_HOME`` (default ``./data``)."""
        from support_billing.storage.warehouse import resolve_home

        return cls.from_home(resolve_home(None))

    def limits(self, name: str) -> tuple[int | None, int | None]:
        """(documents, rows) per part of an accounting file (section 5, 8)."""
        if name.startswith("quickbooks_"):
            return self.quickbooks_max_invoices, self.quickbooks_max_rows
        if name.startswith("xero_"):
            return self.xero_max_invoices, None
        return None, None


def split_parts(rows: list[tuple], max_docs: int | None, max_rows: int | None) -> list[list]:
    """Rows cut into parts of at most ``max_docs`` documents and ``max_rows`` rows, a
    document's rows (consecutive, same group) never split (section 5). A document with more
    rows than ``max_rows`` gets a part of its own."""
    parts: list[list] = [[]]
    docs = 0
    for start, end in _groups(rows):
        full = (max_docs is not None and docs >= max_docs) or (
            max_rows is not None and parts[-1] and len(parts[-1]) + end - start > max_rows)
        if full:
            parts.append([])
            docs = 0
        parts[-1].extend(rows[start:end])
        docs += 1
    return parts


def _groups(rows: list[tuple]):
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i][1] != rows[start][1]:
            yield start, i
            start = i


def part_name(name: str, part: int) -> str:
    """``xero_invoices.csv`` part 1 is ``xero_invoices_part-001.csv``."""
    stem, dot, ext = name.rpartition(".")
    return f"{stem}_part-{part:03d}{dot}{ext}"


