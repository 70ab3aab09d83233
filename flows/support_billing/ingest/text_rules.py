"""Text that reaches the exported files (SPEC R-IN6), as SQL for the ingest validation.

- Every key and id (customer_id, subscription_id, ticket_id, entry_id, block_id and the
  customer_id / ticket_id references), ``customer_name`` and ``accounting_ref``: a value
  that holds a control character (U+0000-U+001F, U+007F: tab, CR and LF too) or begins
  with ``=``, ``+``, ``-`` or ``@`` is a rejected row (R-IN1) whose reason says why and what
  to do. ``customer_name`` and ``accounting_ref`` longer than the accounting systems accept
  are rejected the same way. Nothing is silently altered.
- Other free text (``subject``, ``override_reason``, ``employee``, ``email``) is kept as it
  is, except that a NUL character rejects the row.

A reason quotes a value shortened to ``SHOWN_MAX`` characters, its control characters
drawn as their Unicode control pictures (U+2400..U+241F, U+2421), so every reason is one
printable line however hostile the value (never a 1 MB name, never a raw CR).
"""

from __future__ import annotations

# RE2 character class of the R-IN6 control characters.
CONTROL_CLASS = r"[\x00-\x1f\x7f]"
# A leading character a spreadsheet takes as the start of a formula (R-IN6).
FORMULA_CHARS = ("=", "+", "-", "@")
# The shortest name limit among the accounting import files written (SPEC section 5):
# Xero's contact Name holds at most 255 characters, QuickBooks Online's customer
# DisplayName at most 500 (sources in docs/decisions.md, "Ingest safety").
NAME_MAX_CHARS = 255
NAME_LIMIT_TEXT = (
    "Xero accepts at most 255 characters in a contact name "
    "(QuickBooks Online 500 in a customer display name)"
)
SHOWN_MAX = 40

_CONTROLS_SQL = "concat(" + ", ".join(f"chr({i})" for i in [*range(32), 127]) + ")"
_PICTURES = "".join(chr(0x2400 + i) for i in range(32)) + "\u2421"
_CHAR_NAMES = {0: "NUL", 9: "tab", 10: "line feed", 13: "carriage return", 127: "delete"}


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def display_sql(expr: str) -> str:
    """SQL: ``expr`` as a reason shows it (at most SHOWN_MAX characters, then '...';
    control characters as control pictures)."""
    cut = (
        f"CASE WHEN length({expr}) > {SHOWN_MAX} THEN left({expr}, {SHOWN_MAX}) || '...' "
        f"ELSE {expr} END"
    )
    return f"translate({cut}, {_CONTROLS_SQL}, {_lit(_PICTURES)})"


def quoted_sql(expr: str) -> str:
    """SQL: the shown value between single quotes, as reasons quote values."""
    return f"'''' || {display_sql(expr)} || ''''"


def control_name_sql(expr: str) -> str:
    """SQL: the name and code point of the first control character in ``expr``."""
    code = f"unicode(regexp_extract({expr}, {_lit(CONTROL_CLASS)}))"
    whens = " ".join(
        f"WHEN {c} THEN {_lit(f'{name}, U+{c:04X}')}" for c, name in _CHAR_NAMES.items()
    )
    return f"CASE {code} {whens} ELSE printf('U+%04X', {code}) END"


def exported_text_whens(column: str, raw: str, max_chars: int | None = None) -> list[str]:
    """CASE branches (R-IN6) for a key, id or name column that reaches the exported files:
    a control character, a leading formula character, a name too long to import."""
    head = f"{_lit(column + ' ')} || {quoted_sql(raw)}"
    formula = ", ".join(_lit(c) for c in FORMULA_CHARS)
    whens = [
        f"WHEN regexp_matches({raw}, {_lit(CONTROL_CLASS)}) THEN {head} || "
        f"' contains a control character (' || {control_name_sql(raw)} || '), which breaks "
        "the rows of the exported files; correct it in the source system'",
        f"WHEN left({raw}, 1) IN ({formula}) THEN {head} || ' begins with ''' || "
        f"left({raw}, 1) || ''', which a spreadsheet runs as a formula; correct it in the "
        "source system'",
    ]
    if max_chars:
        whens.append(
            f"WHEN length({raw}) > {max_chars} THEN {head} || ' is ' || length({raw}) || "
            f"' characters long; {NAME_LIMIT_TEXT}; shorten it in the source system'"
        )
    return whens


def free_text_whens(column: str, raw: str) -> list[str]:
    """CASE branch (R-IN6) for other free text: kept as it is, except a NUL character."""
    return [
        f"WHEN contains({raw}, chr(0)) THEN {_lit(column + ' ')} || {quoted_sql(raw)} || "
        "' contains a NUL character (U+0000), which the exported files cannot hold; "
        "correct it in the source system'"
    ]
