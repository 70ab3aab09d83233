"""Settings (SPEC section 8): ``HOME/settings.toml`` (optional), validated with pydantic.

Every key has a default (``docs/settings.md``); an environment variable
``SUPPORT_BILLING_<SECTION>__<KEY>`` (``__`` between the parts of a dotted key, any case)
overrides the file: ``SUPPORT_BILLING_BILLING__APPROVAL=auto``,
``SUPPORT_BILLING_XERO__DATE_FORMAT=DD/MM/YYYY``,
``SUPPORT_BILLING_QUICKBOOKS__ITEMS__TRAINING_HOURS=Training``. ``SUPPORT_BILLING_HOME``
(and other names without ``__``) are not settings keys. The two variables of earlier
versions, ``SUPPORT_BILLING_XERO_ACCOUNT_CODE`` and ``SUPPORT_BILLING_XERO_TAX_TYPE``, still
set ``xero.account_code`` and ``xero.tax_type`` (the ``__`` form wins when both are set).

An unknown key or a bad value raises ``SettingsError`` naming where it came from and the
key (``settings.toml: xero.date_format: ...``); the command line turns it into exit 2.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
)

FILE_NAME = "settings.toml"
ENV_PREFIX = "SUPPORT_BILLING_"
LEGACY_ENV = {
    "SUPPORT_BILLING_XERO_ACCOUNT_CODE": ("xero", "account_code"),
    "SUPPORT_BILLING_XERO_TAX_TYPE": ("xero", "tax_type"),
    "SUPPORT_BILLING_STATEMENT_PDF": ("statements", "pdf"),
}
# The date formats the accounting systems read (section 8), as strftime patterns.
DATE_FORMATS = {"MM/DD/YYYY": "%m/%d/%Y", "DD/MM/YYYY": "%d/%m/%Y", "YYYY-MM-DD": "%Y-%m-%d"}
FORMULA_START = ("=", "+", "-", "@")


class SettingsError(ValueError):
    """A settings.toml or environment problem: a usage error (exit 2)."""

    exit_code = 2  # cli.main exits with it when a command lets the error through


def _safe_text(value: str) -> str:
    """R-IN6 for text the settings put into the files: no control character, and no
    leading formula character (a spreadsheet would run it)."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("holds a control character")
    if value.startswith(FORMULA_START):
        raise ValueError(f"begins with {value[0]!r}, which a spreadsheet runs as a formula")
    return value


SafeText = Annotated[str, AfterValidator(_safe_text)]
DateFormat = Literal["MM/DD/YYYY", "DD/MM/YYYY", "YYYY-MM-DD"]


def _terms_label(value: str) -> str:
    _safe_text(value)
    if "{" in value.replace("{days}", "") or "}" in value.replace("{days}", ""):
        raise ValueError("may hold no braces other than the placeholder {days}")
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Company(_Section):
    country: str = Field("US", pattern=r"^[A-Z]{2}$", description="ISO 3166 country code")
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$", description="ISO 4217 currency")


def _lower(value):
    """Enum values are matched in any case (as SPEC section 3 does for the exports)."""
    return value.strip().lower() if isinstance(value, str) else value


class Billing(_Section):
    approval: Annotated[Literal["required", "auto"], BeforeValidator(_lower)] = "required"
    payment_terms_label: Annotated[str, AfterValidator(_terms_label)] = "Net {days}"


def _line_type_fields(default_of) -> dict:
    """One text field per line type of the ``line_types`` seed (R14), in its order: the
    seed is where the line types are defined; ``default_of(row)`` is the field's default."""
    from support_billing.storage.dbt_runner import read_seed

    return {row["line_type"]: (SafeText, default_of(row)) for row in read_seed("line_types")}


# The item (product/service) name per line type (R7, R12, R13, R15); the default is the
# seed's ``accounting_item``.
Items = create_model("Items", __base__=_Section,
                     **_line_type_fields(lambda row: row["accounting_item"]))
# Xero inventory item codes per line type; blank writes no item (an unknown code would
# make Xero refuse the import).
XeroItems = create_model("XeroItems", __base__=_Section, **_line_type_fields(lambda row: ""))


class QuickBooks(_Section):
    """QuickBooks Online (US): invoice import, credit memos entered by hand."""

    enabled: bool = True
    date_format: DateFormat = "MM/DD/YYYY"
    tax_type: SafeText = ""
    items: Items = Items()
    max_invoices_per_file: int = Field(100, ge=1, le=100)
    max_rows_per_file: int = Field(999, ge=1, le=999)


class Xero(_Section):
    """Xero: sales invoice import, credit notes in the same template (negative)."""

    enabled: bool = True
    date_format: DateFormat = "MM/DD/YYYY"
    account_code: SafeText = "400"
    tax_type: SafeText = "Tax Exempt"
    items: XeroItems = XeroItems()
    max_invoices_per_file: int = Field(500, ge=1, le=500)


class Statements(_Section):
    """Customer statements (section 5): HTML always; PDF beside it when ``pdf`` is on
    (headless Chromium, about 0.2 s a page, so off by default)."""

    pdf: bool = False


class Settings(_Section):
    company: Company = Company()
    billing: Billing = Billing()
    statements: Statements = Statements()
    quickbooks: QuickBooks = QuickBooks()
    xero: Xero = Xero()


# ---------------------------------------------------------------- loading
def _set(tree: dict, path: tuple[str, ...], value) -> None:
    for part in path[:-1]:
        node = tree.setdefault(part, {})
        if not isinstance(node, dict):
            raise SettingsError(f"{'.'.join(path)}: {part} is not a table")
        tree = node
    tree[path[-1]] = value


def _leaves(tree: dict, prefix: tuple[str, ...] = ()):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _leaves(value, (*prefix, key))
        else:
            yield (*prefix, key), value


def env_overrides(environ=None) -> dict[tuple[str, ...], tuple[str, str]]:
    """{key path: (value, variable name)} of the environment's settings variables."""
    environ = os.environ if environ is None else environ
    out: dict[tuple[str, ...], tuple[str, str]] = {}
    for name, (section, key) in LEGACY_ENV.items():
        if name in environ:
            out[(section, key)] = (environ[name], name)
    for name, value in sorted(environ.items()):
        if name.upper().startswith(ENV_PREFIX) and "__" in name[len(ENV_PREFIX):]:
            path = tuple(p.lower() for p in name[len(ENV_PREFIX):].split("__"))
            if all(path):
                out[path] = (value, name)
    return out


def _read_file(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{FILE_NAME}: not valid TOML: {exc}") from exc


def load_with_sources(home: Path, environ=None) -> tuple[Settings, dict[str, str]]:
    """The settings in force and, per dotted key, where it came from: ``default``,
    ``settings.toml`` or the environment variable's name."""
    tree = _read_file(Path(home) / FILE_NAME)
    sources = {".".join(p): FILE_NAME for p, _ in _leaves(tree)}
    for path, (value, name) in env_overrides(environ).items():
        _set(tree, path, value)
        sources[".".join(path)] = name
    try:
        settings = Settings.model_validate(tree)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        origin = sources.get(key, FILE_NAME)
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        raise SettingsError(f"{origin}: {key}: {message}") from exc
    return settings, sources


def load_settings(home: Path, environ=None) -> Settings:
    """The settings of ``home`` (SPEC section 8); ``SettingsError`` when invalid."""
    return load_with_sources(home, environ)[0]


def rows_in_force(home: Path, environ=None) -> list[tuple[str, str, str]]:
    """(key, value as TOML writes it, source) for every key in the documented order; the
    source is ``default``, ``settings.toml`` or ``env <VARIABLE>``."""
    settings, sources = load_with_sources(home, environ)
    rows = []
    for path, value in _leaves(settings.model_dump()):
        key = ".".join(path)
        # as TOML writes it: "text", true, 100
        source = sources.get(key, "default")
        if source != FILE_NAME and source != "default":
            source = f"env {source}"
        rows.append((key, json.dumps(value, ensure_ascii=False), source))
    return rows


def cli_settings(home: Path) -> int:
    """``support-billing settings``: every key, its value and where it came from."""
    import sys

    try:
        rows = rows_in_force(home)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    key_width = max(len(k) for k, _, _ in rows)
    value_width = max(len(v) for _, v, _ in rows)
    path = Path(home) / FILE_NAME
    print(f"# settings in force: {path}{'' if path.is_file() else ' (no such file)'}, "
          f"then {ENV_PREFIX}<SECTION>__<KEY> variables")
    for key, value, source in rows:
        print(f"{key:<{key_width}} = {value:<{value_width}}  # {source}")
    return 0
