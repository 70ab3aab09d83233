"""What each export kind looks like (SPEC section 3) and the SQL that validates it.

Every rule of the column table in SPEC section 3 is one SQL expression, evaluated by
DuckDB on the whole file at once (no per-row Python). For each row the first failing
rule, in column order, gives the reason of R-IN1; rows that pass every rule but name an
unknown customer are held (R-IN5).

Reference data (modules with their minimums, R3/R4; ticket categories, R9) comes from the
dbt seeds, never from this file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from support_billing.ingest.mountain_time import denver_us_sql
from support_billing.ingest.text_rules import (
    NAME_MAX_CHARS,
    display_sql,
    exported_text_whens,
    free_text_whens,
    quoted_sql,
)
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


@lru_cache(maxsize=1)
def kinds() -> dict[str, Kind]:
    cats = ticket_categories()
    return {
        "customers": Kind(
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
        ),
        "subscriptions": Kind(
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
        ),
        "tickets": Kind(
            "tickets", "raw.tickets", "ticket_id",
            (
                Column("ticket_id", "key", required=True),
                Column("customer_id", "customer", required=True),
                Column("opened_at", "timestamp", required=True, sql_type="TIMESTAMPTZ"),
                Column("category", "enum", required=True, values=cats),
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
        ),
        "timesheets": Kind(
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
        ),
        "prepaid_hours": Kind(
            "prepaid_hours", "raw.prepaid_hours", "block_id",
            (
                Column("block_id", "key", required=True),
                Column("customer_id", "customer", required=True),
                Column("hours", "decimal", required=True, sql_type="DECIMAL(18, 2)"),
                Column("purchased_on", "date", required=True, sql_type="DATE"),
            ),
        ),
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


def _val(col: str) -> str:
    """SQL showing a raw value inside a reason: 'value', shortened and printable (R-IN6)."""
    return quoted_sql(ident("r_" + col))


TS_REGEX = (
    r"\d{4}-\d{2}-\d{2}[T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?"
    r"(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?"
)
DATE_REGEX = r"\d{4}-\d{2}-\d{2}"
DECIMAL_REGEX = r"\d+(\.\d*)?|\.\d+"
DECIMAL_2_REGEX = r"\d*(\.\d{0,2}0*)?"
TS_HINT = (
    " is not a valid timestamp; expected YYYY-MM-DD HH:MM[:SS[.ffffff]]"
    " with an optional Z or +HH:MM/-HH:MM"
)
DEC_HINT = " is not a decimal number; expected digits with an optional point, like 1.50"


def _module_norm_sql(r: str) -> str:
    return (
        f"regexp_replace(regexp_replace(lower({r}), '\\s+', ' ', 'g'), '^hh2 ', '')"
    )


def typed_sql(kind: Kind) -> tuple[list[str], list[str], list[str]]:
    """SQL over the raw r_* columns: (helpers, step-1 typed t_*, step-2 typed t_*).

    Step 1 is materialized, so step 2 and the reasons read its columns without
    recomputing them; the timestamps are finished in step 2 from their step-1 parts."""
    helpers: list[str] = []
    typed: list[str] = []
    step2: list[str] = []
    mods = modules()
    for c in kind.columns:
        r = ident("r_" + c.name)
        t = ident("t_" + c.name)
        if c.type in ("key", "customer") or (c.type == "text" and c.required):
            typed.append(f"{r} AS {t}")
        elif c.type == "text":
            typed.append(f"nullif({r}, '') AS {t}")
        elif c.type == "accounting_ref":
            typed.append(f"CASE WHEN {r} = '' THEN r_customer_name ELSE {r} END AS {t}")
        elif c.type == "enum":
            vals = ", ".join(q(v) for v in c.values)
            default = q(c.default) if c.default else "NULL"
            typed.append(  # the exact spelling first: it avoids lower-casing most values
                f"CASE WHEN {r} = '' THEN {default} WHEN {r} IN ({vals}) THEN {r} "
                f"WHEN lower({r}) IN ({vals}) THEN lower({r}) END AS {t}"
            )
        elif c.type == "bool":
            typed.append(
                f"CASE WHEN {r} IN ('', 'false', 'no', '0') THEN false "
                f"WHEN {r} IN ('true', 'yes', '1') THEN true "
                f"WHEN lower({r}) IN ('true', 'yes') THEN true "
                f"WHEN lower({r}) IN ('false', 'no') THEN false END AS {t}"
            )
        elif c.type == "date":
            typed.append(
                f"CASE WHEN regexp_full_match({r}, {q(DATE_REGEX)}) AND {r} NOT LIKE '0000%' "
                f"THEN try_cast({r} AS DATE) END AS {t}"
            )
        elif c.type == "timestamp":
            # Step 1: u_x = epoch microseconds of the value read by DuckDB (an offset or Z
            # applied; a naive value read as if UTC, i.e. its wall-clock time), NULL when the
            # text is not a valid timestamp; n_x = the value is naive (Mountain time, R1).
            u = ident("u_" + c.name)
            naive = ident("n_" + c.name)
            valid = f"regexp_full_match({r}, {q(TS_REGEX)}) AND {r} NOT LIKE '0000%'"
            typed.append(
                f"CASE WHEN {valid} THEN epoch_us(try_cast({r} AS TIMESTAMPTZ)) END AS {u}"
            )
            typed.append(
                f"NOT ({r} LIKE '%Z' OR substr({r}, -6, 1) IN ('+', '-')) AS {naive}"
            )
            # Step 2: the instant.
            step2.append(
                f"make_timestamptz(CASE WHEN {u} IS NULL THEN NULL WHEN NOT {naive} THEN {u} "
                f"ELSE {denver_us_sql(u, f'try_cast(left({r}, 4) AS INTEGER)')} END) AS {t}"
            )
        elif c.type == "decimal":
            typed.append(
                f"CASE WHEN regexp_full_match({r}, {q(DECIMAL_REGEX)}) AND "
                f"regexp_full_match({r}, {q(DECIMAL_2_REGEX)}) "
                f"THEN try_cast({r} AS DECIMAL(18, 2)) END AS {t}"
            )
        elif c.type == "module":
            norm = _module_norm_sql(r)
            whens = " ".join(
                f"WHEN {q(alias)} THEN {q(code)}" for alias, code in module_aliases().items()
            )
            typed.append(f"CASE {norm} {whens} END AS {t}")
        elif c.type == "int":
            minimum = {code: m for code, _d, m in mods}
            whens = " ".join(
                f"WHEN {q(alias)} THEN {minimum[code]}" for alias, code in module_aliases().items()
            )
            norm = _module_norm_sql(ident("r_module"))
            helpers.append(f"CASE {norm} {whens} END AS min_incidents")
            typed.append(
                f"CASE WHEN {r} = '' THEN min_incidents WHEN regexp_full_match({r}, '\\d+') "
                f"THEN try_cast({r} AS INTEGER) END AS {t}"
            )
        else:  # pragma: no cover - programming error
            raise ValueError(f"unknown column type {c.type}")
    return helpers, typed, step2


def reason_sql(kind: Kind) -> list[tuple[str, str, str]]:
    """(column name, reason expression or NULL, raw value column) in rule order."""
    out: list[tuple[str, str, str]] = []
    for c in kind.columns:
        r = ident("r_" + c.name)
        t = ident("t_" + c.name)
        n = c.name
        shown = display_sql(r)  # digits only here, but maybe very many
        blank = f"WHEN {r} = '' THEN {q(f'{n} is blank; it is required')}" if c.required else ""
        if c.type in ("key", "customer", "text", "accounting_ref"):
            whens = (exported_text_whens(n, r, c.max_chars) if c.exported_text
                     else free_text_whens(n, r))
            expr = f"CASE {blank} {' '.join(whens)} END"
        elif c.type == "enum":
            allowed = ", ".join(c.values)
            expr = (
                f"CASE {blank} WHEN {t} IS NULL AND {r} <> '' THEN {q(n + ' ')} || {_val(n)} || "
                f"{q(' is not one of: ' + allowed + (' (or blank)' if not c.required else ''))} END"
            )
        elif c.type == "bool":
            expr = (
                f"CASE WHEN {t} IS NULL THEN {q(n + ' ')} || {_val(n)} || "
                f"{q(' is not a boolean; use true/false, yes/no, 1/0 or blank')} END"
            )
        elif c.type == "date":
            expr = (
                f"CASE {blank} WHEN {t} IS NULL AND {r} <> '' THEN {q(n + ' ')} || {_val(n)} || "
                f"{q(' is not a valid date; expected YYYY-MM-DD')} END"
            )
        elif c.type == "timestamp":
            u = ident("u_" + c.name)
            expr = (
                f"CASE {blank} WHEN {u} IS NULL AND {r} <> '' THEN {q(n + ' ')} || {_val(n)} || "
                f"{q(TS_HINT)} END"
            )
        elif c.type == "decimal":
            upper = (
                f"WHEN {t} > {c.max_value} THEN {q(n + ' ')} || {shown} || "
                f"{q(f' is more than the maximum {c.max_value}')}"
                if c.max_value
                else ""
            )
            expr = (
                f"CASE {blank} "
                f"WHEN NOT regexp_full_match({r}, {q(DECIMAL_REGEX)}) THEN {q(n + ' ')} || "
                f"{_val(n)} || {q(DEC_HINT)} "
                f"WHEN NOT regexp_full_match({r}, {q(DECIMAL_2_REGEX)}) THEN {q(n + ' ')} || "
                f"{shown} || {q(' has more than 2 decimals')} "
                f"WHEN {t} IS NULL THEN {q(n + ' ')} || {shown} || {q(' is too large')} "
                f"WHEN {t} <= 0 THEN {q(n + ' ')} || {shown} || {q(' must be more than 0')} "
                f"{upper} END"
            )
        elif c.type == "module":
            allowed = ", ".join(code for code, _d, _m in modules())
            expr = (
                f"CASE {blank} WHEN {t} IS NULL THEN {q(n + ' ')} || {_val(n)} || "
                f"{q(' is not a known module; expected one of: ' + allowed)} END"
            )
        elif c.type == "int":
            expr = (
                f"CASE WHEN {r} <> '' AND NOT regexp_full_match({r}, '\\d+') THEN "
                f"{q(n + ' ')} || {_val(n)} || {q(' is not a whole number')} "
                f"WHEN {t} IS NULL AND {r} <> '' THEN {q(n + ' ')} || {shown} || "
                f"{q(' is too large')} "
                f"WHEN {t} < min_incidents THEN {q(n + ' ')} || {t} || ' is below the minimum ' "
                f"|| min_incidents || ' for ' || t_module END"
            )
        else:  # pragma: no cover
            raise ValueError(c.type)
        if expr:
            out.append((n, expr, "r_" + n))
    if "end_before_start" in kind.extra_rules:
        out.append((
            "end_date",
            "CASE WHEN t_end_date < t_start_date THEN 'end_date ' || t_end_date || "
            "' is before start_date ' || t_start_date END",
            "r_end_date",
        ))
    return out
