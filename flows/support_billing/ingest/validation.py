"""The SQL that types and validates the rows of an export (SPEC section 3).

Every rule of the column table in SPEC section 3 is one SQL expression, evaluated by
DuckDB on the whole file at once (no per-row Python). For each row the first failing
rule, in column order, gives the reason of R-IN1; rows that pass every rule but name an
unknown customer are held (R-IN5).
"""

from __future__ import annotations

from support_billing.ingest.kinds import Column, Kind, ident, module_aliases, modules, q
from support_billing.ingest.mountain_time import denver_us_sql
from support_billing.ingest.text_rules import (
    display_sql,
    exported_text_whens,
    free_text_whens,
    quoted_sql,
)


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


def _typed_text(c: Column, r: str, t: str) -> str:
    if c.type == "text" and not c.required:
        return f"nullif({r}, '') AS {t}"
    return f"{r} AS {t}"  # keys and required text: a blank is rejected, never NULL


def _typed_accounting_ref(c: Column, r: str, t: str) -> str:
    return f"CASE WHEN {r} = '' THEN r_customer_name ELSE {r} END AS {t}"


def _typed_enum(c: Column, r: str, t: str) -> str:
    vals = ", ".join(q(v) for v in c.values)
    default = q(c.default) if c.default else "NULL"
    return (  # the exact spelling first: it avoids lower-casing most values
        f"CASE WHEN {r} = '' THEN {default} WHEN {r} IN ({vals}) THEN {r} "
        f"WHEN lower({r}) IN ({vals}) THEN lower({r}) END AS {t}"
    )


def _typed_bool(c: Column, r: str, t: str) -> str:
    return (
        f"CASE WHEN {r} IN ('', 'false', 'no', '0') THEN false "
        f"WHEN {r} IN ('true', 'yes', '1') THEN true "
        f"WHEN lower({r}) IN ('true', 'yes') THEN true "
        f"WHEN lower({r}) IN ('false', 'no') THEN false END AS {t}"
    )


def _typed_date(c: Column, r: str, t: str) -> str:
    return (
        f"CASE WHEN regexp_full_match({r}, {q(DATE_REGEX)}) AND {r} NOT LIKE '0000%' "
        f"THEN try_cast({r} AS DATE) END AS {t}"
    )


def _typed_decimal(c: Column, r: str, t: str) -> str:
    return (
        f"CASE WHEN regexp_full_match({r}, {q(DECIMAL_REGEX)}) AND "
        f"regexp_full_match({r}, {q(DECIMAL_2_REGEX)}) "
        f"THEN try_cast({r} AS DECIMAL(18, 2)) END AS {t}"
    )


def _typed_module(c: Column, r: str, t: str) -> str:
    norm = _module_norm_sql(r)
    whens = " ".join(
        f"WHEN {q(alias)} THEN {q(code)}" for alias, code in module_aliases().items()
    )
    return f"CASE {norm} {whens} END AS {t}"


_TYPED = {
    "key": _typed_text, "customer": _typed_text, "text": _typed_text,
    "accounting_ref": _typed_accounting_ref, "enum": _typed_enum, "bool": _typed_bool,
    "date": _typed_date, "decimal": _typed_decimal, "module": _typed_module,
}


def _typed_timestamp(c: Column, r: str, t: str) -> tuple[list[str], str]:
    """(step-1 columns, step-2 instant) of a timestamp column (R1)."""
    # Step 1: u_x = epoch microseconds of the value read by DuckDB (an offset or Z
    # applied; a naive value read as if UTC, i.e. its wall-clock time), NULL when the
    # text is not a valid timestamp; n_x = the value is naive (Mountain time, R1).
    u = ident("u_" + c.name)
    naive = ident("n_" + c.name)
    valid = f"regexp_full_match({r}, {q(TS_REGEX)}) AND {r} NOT LIKE '0000%'"
    step1 = [
        f"CASE WHEN {valid} THEN epoch_us(try_cast({r} AS TIMESTAMPTZ)) END AS {u}",
        f"NOT ({r} LIKE '%Z' OR substr({r}, -6, 1) IN ('+', '-')) AS {naive}",
    ]
    # Step 2: the instant.
    instant = (
        f"make_timestamptz(CASE WHEN {u} IS NULL THEN NULL WHEN NOT {naive} THEN {u} "
        f"ELSE {denver_us_sql(u, f'try_cast(left({r}, 4) AS INTEGER)')} END) AS {t}"
    )
    return step1, instant


def _typed_incidents(r: str, t: str) -> tuple[str, str]:
    """(helper min_incidents, typed value): a blank annual_incidents is the module minimum
    (R4), so the minimum of the row's module is computed first."""
    minimum = {code: m for code, _d, m in modules()}
    whens = " ".join(
        f"WHEN {q(alias)} THEN {minimum[code]}" for alias, code in module_aliases().items()
    )
    norm = _module_norm_sql(ident("r_module"))
    helper = f"CASE {norm} {whens} END AS min_incidents"
    typed = (
        f"CASE WHEN {r} = '' THEN min_incidents WHEN regexp_full_match({r}, '\\d+') "
        f"THEN try_cast({r} AS INTEGER) END AS {t}"
    )
    return helper, typed


def typed_sql(kind: Kind) -> tuple[list[str], list[str], list[str]]:
    """SQL over the raw r_* columns: (helpers, step-1 typed t_*, step-2 typed t_*).

    Step 1 is materialized, so step 2 and the reasons read its columns without
    recomputing them; the timestamps are finished in step 2 from their step-1 parts."""
    helpers: list[str] = []
    typed: list[str] = []
    step2: list[str] = []
    for c in kind.columns:
        r = ident("r_" + c.name)
        t = ident("t_" + c.name)
        if c.type == "timestamp":
            step1, instant = _typed_timestamp(c, r, t)
            typed += step1
            step2.append(instant)
        elif c.type == "int":
            helper, value = _typed_incidents(r, t)
            helpers.append(helper)
            typed.append(value)
        elif c.type in _TYPED:
            typed.append(_TYPED[c.type](c, r, t))
        else:  # pragma: no cover - programming error
            raise ValueError(f"unknown column type {c.type}")
    return helpers, typed, step2


def _reason_text(c: Column, r: str, t: str, blank: str) -> str:
    n = c.name
    whens = (exported_text_whens(n, r, c.max_chars) if c.exported_text
             else free_text_whens(n, r))
    return f"CASE {blank} {' '.join(whens)} END"


def _reason_enum(c: Column, r: str, t: str, blank: str) -> str:
    n = c.name
    allowed = ", ".join(c.values)
    return (
        f"CASE {blank} WHEN {t} IS NULL AND {r} <> '' THEN {q(n + ' ')} || {_val(n)} || "
        f"{q(' is not one of: ' + allowed + (' (or blank)' if not c.required else ''))} END"
    )


def _reason_bool(c: Column, r: str, t: str, blank: str) -> str:
    n = c.name
    return (
        f"CASE WHEN {t} IS NULL THEN {q(n + ' ')} || {_val(n)} || "
        f"{q(' is not a boolean; use true/false, yes/no, 1/0 or blank')} END"
    )


def _reason_date(c: Column, r: str, t: str, blank: str) -> str:
    n = c.name
    return (
        f"CASE {blank} WHEN {t} IS NULL AND {r} <> '' THEN {q(n + ' ')} || {_val(n)} || "
        f"{q(' is not a valid date; expected YYYY-MM-DD')} END"
    )


def _reason_timestamp(c: Column, r: str, t: str, blank: str) -> str:
    n = c.name
    u = ident("u_" + c.name)
    return (
        f"CASE {blank} WHEN {u} IS NULL AND {r} <> '' THEN {q(n + ' ')} || {_val(n)} || "
        f"{q(TS_HINT)} END"
    )


def _reason_decimal(c: Column, r: str, t: str, blank: str) -> str:
    n = c.name
    shown = display_sql(r)  # digits only here, but maybe very many
    upper = (
        f"WHEN {t} > {c.max_value} THEN {q(n + ' ')} || {shown} || "
        f"{q(f' is more than the maximum {c.max_value}')}"
        if c.max_value
        else ""
    )
    return (
        f"CASE {blank} "
        f"WHEN NOT regexp_full_match({r}, {q(DECIMAL_REGEX)}) THEN {q(n + ' ')} || "
        f"{_val(n)} || {q(DEC_HINT)} "
        f"WHEN NOT regexp_full_match({r}, {q(DECIMAL_2_REGEX)}) THEN {q(n + ' ')} || "
        f"{shown} || {q(' has more than 2 decimals')} "
        f"WHEN {t} IS NULL THEN {q(n + ' ')} || {shown} || {q(' is too large')} "
        f"WHEN {t} <= 0 THEN {q(n + ' ')} || {shown} || {q(' must be more than 0')} "
        f"{upper} END"
    )


def _reason_module(c: Column, r: str, t: str, blank: str) -> str:
    n = c.name
    allowed = ", ".join(code for code, _d, _m in modules())
    return (
        f"CASE {blank} WHEN {t} IS NULL THEN {q(n + ' ')} || {_val(n)} || "
        f"{q(' is not a known module; expected one of: ' + allowed)} END"
    )


def _reason_int(c: Column, r: str, t: str, blank: str) -> str:
    n = c.name
    shown = display_sql(r)  # digits only here, but maybe very many
    return (
        f"CASE WHEN {r} <> '' AND NOT regexp_full_match({r}, '\\d+') THEN "
        f"{q(n + ' ')} || {_val(n)} || {q(' is not a whole number')} "
        f"WHEN {t} IS NULL AND {r} <> '' THEN {q(n + ' ')} || {shown} || "
        f"{q(' is too large')} "
        f"WHEN {t} < min_incidents THEN {q(n + ' ')} || {t} || ' is below the minimum ' "
        f"|| min_incidents || ' for ' || t_module END"
    )


_REASON = {
    "key": _reason_text, "customer": _reason_text, "text": _reason_text,
    "accounting_ref": _reason_text, "enum": _reason_enum, "bool": _reason_bool,
    "date": _reason_date, "timestamp": _reason_timestamp, "decimal": _reason_decimal,
    "module": _reason_module, "int": _reason_int,
}


def reason_sql(kind: Kind) -> list[tuple[str, str, str]]:
    """(column name, reason expression or NULL, raw value column) in rule order."""
    out: list[tuple[str, str, str]] = []
    for c in kind.columns:
        r = ident("r_" + c.name)
        t = ident("t_" + c.name)
        n = c.name
        blank = f"WHEN {r} = '' THEN {q(f'{n} is blank; it is required')}" if c.required else ""
        if c.type not in _REASON:  # pragma: no cover
            raise ValueError(c.type)
        out.append((n, _REASON[c.type](c, r, t, blank), "r_" + n))
    if "end_before_start" in kind.extra_rules:
        out.append((
            "end_date",
            "CASE WHEN t_end_date < t_start_date THEN 'end_date ' || t_end_date || "
            "' is before start_date ' || t_start_date END",
            "r_end_date",
        ))
    return out


def _header_test(header_names: list[str]) -> str:
    """SQL: the row repeats the header line (R-IN1 rejects it as not a data row)."""
    full_header = " AND ".join(
        f"coalesce(lower(trim(c{i})), '') = {q(name)}" for i, name in enumerate(header_names)
    )
    # cheap pre-filter on the first field (case-insensitive containment), then the full test
    first = header_names[0].replace("\\", "").replace("%", "")
    return (
        f"CASE WHEN c0 ILIKE {q('%' + first + '%')} THEN ({full_header}) ELSE false END"
        if first else f"({full_header})"
    )


def _raw_select(kind: Kind, header_names: list[str], positions: dict[str, int],
                source: str) -> str:
    """SELECT of the raw r_* columns (trimmed text, '' for a column the file lacks)."""
    n = len(header_names)

    def trimmed(i: int) -> str:  # trim only when needed: most values have no spaces
        c = f"c{i}"
        return f"coalesce(CASE WHEN {c} LIKE ' %' OR {c} LIKE '% ' THEN trim({c}) ELSE {c} END, '')"

    raw_cols = ", ".join(
        (f"{trimmed(positions[c])} AS {ident('r_' + c)}" if c in positions
         else f"'' AS {ident('r_' + c)}")
        for c in kind.column_names
    )
    return (
        f"SELECT rid, line, nf, nf <> {n} AS ragged, nf = {n} AND ({_header_test(header_names)}) "
        f"AS is_header, {raw_cols} FROM ({source})"
    )


def _typed_select(kind: Kind, raw: str) -> str:
    """SELECT adding the typed t_* columns, in the steps ``typed_sql`` describes."""
    helpers, typed, step2 = typed_sql(kind)
    b = f"SELECT *{''.join(', ' + h for h in helpers)} FROM ({raw})"
    b = f"SELECT *, {', '.join(typed)} FROM ({b})"
    if step2:
        b = f"SELECT *, {', '.join(step2)} FROM ({b})"
    return b


def _reason_select(kind: Kind, n: int, typed: str) -> str:
    """SELECT of one row per data row with its first broken rule (R-IN1): the reason, the
    column it names and the raw value, then the typed values."""
    reasons = reason_sql(kind)
    c = (
        f"SELECT *, {', '.join(f'{expr} AS _x{i}' for i, (_n, expr, _r) in enumerate(reasons))} "
        f"FROM ({typed})"
    )
    rk = ident("r_" + kind.key)
    reason = (
        f"CASE WHEN is_header THEN 'repeated header line; it is not a data row' "
        f"WHEN ragged THEN 'the row has ' || nf || ' fields but the header has {n}; "
        f"check the quoting of commas, quotes and line breaks' "
        f"ELSE coalesce({', '.join(f'_x{i}' for i in range(len(reasons)))}) END"
    )
    col_whens = " ".join(
        f"WHEN _x{i} IS NOT NULL THEN {q(nm)}" for i, (nm, _e, _r) in enumerate(reasons)
    )
    val_whens = " ".join(
        f"WHEN _x{i} IS NOT NULL THEN {ident(r)}" for i, (_nm, _e, r) in enumerate(reasons)
    )
    rcol = f"CASE WHEN is_header OR ragged THEN NULL {col_whens} END"
    rval = f"CASE WHEN is_header OR ragged THEN NULL {val_whens} END"
    typed_out = ", ".join(ident("t_" + cn) for cn in kind.column_names)
    return (
        f"SELECT rid, line, is_header, ragged, {rk} AS key, "
        f"{ident('r_customer_id') if kind.has_customer else 'NULL::VARCHAR'} AS customer, "
        f"{reason} AS reason, {rcol} AS rcol, {rval} AS rval, {typed_out} FROM ({c})"
    )


def validation_sql(kind: Kind, header_names: list[str], positions: dict[str, int],
                   source: str = "SELECT * FROM _ing_src") -> str:
    """The SELECT that turns a source relation (rid, line, nf, c0..) into one
    validated row per data row: status ok | held | rejected, the reason, the typed values.
    Duplicate keys (R-IN4) are marked afterwards, by ``load._mark_duplicates``."""
    raw = _raw_select(kind, header_names, positions, source)
    d = _reason_select(kind, len(header_names), _typed_select(kind, raw))
    if kind.has_customer:  # R-IN5: a valid row of an unknown customer waits (held)
        status = (
            "CASE WHEN reason IS NOT NULL THEN 'rejected' WHEN customer NOT IN "
            "(SELECT customer_id FROM raw.customers) THEN 'held' ELSE 'ok' END"
        )
    else:
        status = "CASE WHEN reason IS NOT NULL THEN 'rejected' ELSE 'ok' END"
    return f"SELECT *, {status} AS status FROM ({d})"
