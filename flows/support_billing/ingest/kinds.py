"""What each export kind looks like (SPEC section 3): its table, key and typed columns.

The SQL that types and validates each column is in ``column_sql``.

Reference data (modules with their minimums, R3/R4; ticket categories, R9) comes from the
dbt seeds, never from this file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from support_billing.ingest.text_rules import NAME_MAX_CHARS
from support_billing.storage.dbt_runner import read_seed

# ---------------------------------------------------------------------------------------
# Kinds and their columns
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # text | key | customer | date | timestamp | decimal | int | bool | enum | module
    required: bool = False  # a blank value is rejected (and the header must have it)
    default: str | None = None  # enum default for a blank value
    values: tuple[str, ...] = ()  # enum values (lower case)
    max_value: str | None = None  # decimal upper bound (inclusive)
    sql_type: str = "VARCHAR"
    exported: bool = False  # text reaching the exported files as is (R-IN6); keys always
    max_chars: int | None = None  # longest name the accounting systems import (R-IN6)

    @property
    def exported_text(self) -> bool:
        return self.exported or self.type in ("key", "customer")


@dataclass(frozen=True)
class Kind:
    name: str
    table: str
    key: str
    columns: tuple[Column, ...]
    extra_rules: tuple[str, ...] = field(default_factory=tuple)

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def has_customer(self) -> bool:
        return any(c.type == "customer" for c in self.columns)


@lru_cache(maxsize=1)
def modules() -> tuple[tuple[str, str, int], ...]:
    """(code, display name, minimum annual incidents) from the modules seed (R3)."""
    return tuple(
        (r["module_code"].strip(), r["display_name"].strip(), int(r["minimum_annual_incidents"]))
        for r in read_seed("modules")
    )


@lru_cache(maxsize=1)
def ticket_categories() -> tuple[str, ...]:
    """The R9 categories from the ticket_categories seed."""
    return tuple(r["category"].strip().lower() for r in read_seed("ticket_categories"))


def module_aliases() -> dict[str, str]:
    """Normalized spelling -> module code: the code and the display name without `hh2 `."""
    out: dict[str, str] = {}
    for code, display, _minimum in modules():
        out[_normalize_module(code)] = code
        out[_normalize_module(display)] = code
    return out


def _normalize_module(value: str) -> str:
    """Python twin of the SQL normalization (lower case, no `hh2 ` prefix, single spaces)."""
    import re

    v = re.sub(r"\s+", " ", value.strip().lower())
    return re.sub(r"^hh2 ", "", v)


def _customers_kind() -> Kind:
    return Kind(
        "customers", "raw.customers", "customer_id",
        (
            Column("customer_id", "key", required=True),
            Column("customer_name", "text", required=True, exported=True,
                   max_chars=NAME_MAX_CHARS),
            Column("overage_policy", "enum", default="subscription",
                   values=("subscription", "upfront")),
            Column("accounting_ref", "accounting_ref", exported=True,
                   max_chars=NAME_MAX_CHARS),
            Column("email", "text"),
        ),
    )


def _subscriptions_kind() -> Kind:
    return Kind(
        "subscriptions", "raw.subscriptions", "subscription_id",
        (
            Column("subscription_id", "key", required=True),
            Column("customer_id", "customer", required=True),
            Column("module", "module", required=True),
            Column("annual_incidents", "int", sql_type="INTEGER"),
            Column("start_date", "date", required=True, sql_type="DATE"),
            Column("end_date", "date", sql_type="DATE"),
        ),
        extra_rules=("end_before_start",),
    )


def _tickets_kind() -> Kind:
    return Kind(
        "tickets", "raw.tickets", "ticket_id",
        (
            Column("ticket_id", "key", required=True),
            Column("customer_id", "customer", required=True),
            Column("opened_at", "timestamp", required=True, sql_type="TIMESTAMPTZ"),
            Column("category", "enum", required=True, values=ticket_categories()),
            Column("time_sensitive", "bool", sql_type="BOOLEAN"),
            Column("status", "enum", default="open", values=("open", "closed", "void")),
            Column("billable_override", "enum", values=("yes", "no")),
            Column("override_reason", "text"),
            Column("severity", "enum", default="normal",
                   values=("low", "normal", "high", "urgent")),
            Column("first_response_at", "timestamp", sql_type="TIMESTAMPTZ"),
            Column("closed_at", "timestamp", sql_type="TIMESTAMPTZ"),
            Column("subject", "text"),
        ),
    )


def _timesheets_kind() -> Kind:
    return Kind(
        "timesheets", "raw.timesheets", "entry_id",
        (
            Column("entry_id", "key", required=True),
            Column("customer_id", "customer", required=True),
            Column("work_date", "date", required=True, sql_type="DATE"),
            Column("hours", "decimal", required=True, max_value="24",
                   sql_type="DECIMAL(18, 2)"),
            Column("activity", "enum", required=True,
                   values=("implementation", "training", "custom_development", "support")),
            Column("ticket_id", "text", exported=True),  # a reference (R-IN6)
            Column("employee", "text"),
        ),
    )


def _prepaid_hours_kind() -> Kind:
    return Kind(
        "prepaid_hours", "raw.prepaid_hours", "block_id",
        (
            Column("block_id", "key", required=True),
            Column("customer_id", "customer", required=True),
            Column("hours", "decimal", required=True, sql_type="DECIMAL(18, 2)"),
            Column("purchased_on", "date", required=True, sql_type="DATE"),
        ),
    )


@lru_cache(maxsize=1)
def kinds() -> dict[str, Kind]:
    """The five export kinds of SPEC section 3 and their columns, by kind name."""
    return {
        "customers": _customers_kind(),
        "subscriptions": _subscriptions_kind(),
        "tickets": _tickets_kind(),
        "timesheets": _timesheets_kind(),
        "prepaid_hours": _prepaid_hours_kind(),
    }


def kind_of(file_name: str) -> str | None:
    """The kind of an export from its name: prefix in any case, `.csv` (SPEC section 3)."""
    low = file_name.lower()
    if not low.endswith(".csv"):
        return None
    for name in kinds():
        if low.startswith(name):
            return name
    return None


# ---------------------------------------------------------------------------------------
# SQL
# ---------------------------------------------------------------------------------------


def q(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
