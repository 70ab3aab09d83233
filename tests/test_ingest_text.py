"""R-IN6: text that reaches the exported files is safe and exact, or the row is rejected.

Keys, ids, references, customer_name and accounting_ref: a control character or a leading
=, +, - or @ rejects the row with a reason saying why and what to do; names longer than
Xero's 255 characters are rejected the same way. Other free text is kept as it is, NUL
aside. Nothing is silently altered.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_helpers import (
    CUSTOMERS,
    PREPAID,
    SUBSCRIPTIONS,
    TICKETS,
    TIMESHEETS,
    customers_file,
    ingest,
    rejected,
    rows,
    ticket,
    write,
)

FIX = "; correct it in the source system"
CONTROL = {chr(c) for c in [*range(32), 127]}


def csv_text(header: str, *records: list[str]) -> str:
    """A CSV export, LF line ends, RFC 4180 quoting: a field holding a comma, a quote, CR
    or LF is quoted (Python's csv writer leaves a lone CR bare when lines end in LF)."""

    def field(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\r\n') else v

    return header + "".join(",".join(field(v) for v in r) + "\n" for r in records)


def test_formula_prefixes_and_control_characters_in_names_are_rejected(home):
    long_name = "A" * 1_000_000
    text = csv_text(
        CUSTOMERS,
        ["C1", '=HYPERLINK("http://example.com/x","click")', "", "", ""],
        ["C2", "+1 Plumbing", "", "", ""],
        ["C3", "-Minus Corp", "", "", ""],
        ["C4", "@Everyone LLC", "", "", ""],
        ["C5", "Ends in CR\r", "", "", ""],
        ["C6", "Tab\tInside", "", "", ""],
        ["C7", "Line\nbreak", "", "", ""],
        ["C8", "Nul\x00Byte", "", "", ""],
        ["C9", "Del\x7f", "", "", ""],
        ["C10", long_name, "", "", ""],
        ["C11", "Good Name", "", "=SUM(A1)", ""],
        ["-C12", "Minus key", "", "", ""],
        ["C13", "  =spaces first", "", "", ""],
        ["C14", "Plain, Inc. (a-b) x=y @home +1", "", "", ""],
        ["C15", "Bell\x07", "", "", ""],
    )
    s = ingest(home, write(home / "inbox", "customers.csv", text))
    assert s.exit_code == 0  # rejected rows are not a failure (R-IN1)
    assert rows(home, "SELECT customer_id, customer_name, accounting_ref FROM raw.customers") == [
        ("C14", "Plain, Inc. (a-b) x=y @home +1", "Plain, Inc. (a-b) x=y @home +1"),
    ]
    got = [(line, col, reason) for _f, line, col, _v, reason in rejected(home)]
    assert got == [
        (2, "customer_name", "customer_name '=HYPERLINK(\"http://example.com/x\",\"click...' "
         "begins with '=', which a spreadsheet runs as a formula" + FIX),
        (3, "customer_name", "customer_name '+1 Plumbing' begins with '+', which a spreadsheet "
         "runs as a formula" + FIX),
        (4, "customer_name", "customer_name '-Minus Corp' begins with '-', which a spreadsheet "
         "runs as a formula" + FIX),
        (5, "customer_name", "customer_name '@Everyone LLC' begins with '@', which a "
         "spreadsheet runs as a formula" + FIX),
        (6, "customer_name", "customer_name 'Ends in CR\u240d' contains a control character "
         "(carriage return, U+000D), which breaks the rows of the exported files" + FIX),
        (7, "customer_name", "customer_name 'Tab\u2409Inside' contains a control character "
         "(tab, U+0009), which breaks the rows of the exported files" + FIX),
        (8, "customer_name", "customer_name 'Line\u240abreak' contains a control character "
         "(line feed, U+000A), which breaks the rows of the exported files" + FIX),
        (10, "customer_name", "customer_name 'Nul\u2400Byte' contains a control character "
         "(NUL, U+0000), which breaks the rows of the exported files" + FIX),
        (11, "customer_name", "customer_name 'Del\u2421' contains a control character "
         "(delete, U+007F), which breaks the rows of the exported files" + FIX),
        (12, "customer_name", f"customer_name '{'A' * 40}...' is 1000000 characters long; "
         "Xero accepts at most 255 characters in a contact name (QuickBooks Online 500 in a "
         "customer display name); shorten it in the source system"),
        (13, "accounting_ref", "accounting_ref '=SUM(A1)' begins with '=', which a spreadsheet "
         "runs as a formula" + FIX),
        (14, "customer_id", "customer_id '-C12' begins with '-', which a spreadsheet runs as a "
         "formula" + FIX),
        (15, "customer_name", "customer_name '=spaces first' begins with '=', which a "
         "spreadsheet runs as a formula" + FIX),
        (17, "customer_name", "customer_name 'Bell\u2407' contains a control character "
         "(U+0007), which breaks the rows of the exported files" + FIX),
    ]


def test_name_length_limit_is_xeros_255_characters(home):
    ok, too_long = "N" * 254 + "é", "N" * 256
    ingest(home, write(home / "inbox", "customers.csv", csv_text(
        CUSTOMERS, ["C1", ok, "", "", ""], ["C2", too_long, "", "", ""],
        ["C3", "Short", "", "R" * 256, ""], ["C4", "Short", "", "R" * 255, ""])))
    assert rows(home, "SELECT customer_id, length(customer_name), length(accounting_ref) "
                      "FROM raw.customers ORDER BY 1") == [("C1", 255, 255), ("C4", 5, 255)]
    assert [(ln, col) for _f, ln, col, _v, _r in rejected(home)] == [
        (3, "customer_name"), (4, "accounting_ref")]


def test_ids_and_references_of_every_kind(home):
    inbox = home / "inbox"
    customers_file(inbox, "C1")
    write(inbox, "subscriptions.csv", csv_text(
        SUBSCRIPTIONS, ["S1\t", "C1", "pay_stubs", "", "2026-01-01", ""],
        ["S2", "=C1", "pay_stubs", "", "2026-01-01", ""],
        ["S3", "C1", "pay_stubs", "", "2026-01-01", ""]))
    write(inbox, "tickets.csv", TICKETS + ticket("@T1") + ticket("T2", cust="+C1")
          + ticket("T3"))
    write(inbox, "timesheets.csv", csv_text(
        TIMESHEETS, ["=E1", "C1", "2026-03-02", "1", "training", "", ""],
        ["E2", "C1", "2026-03-02", "1", "training", "-T3", ""],
        ["E3", "C1", "2026-03-02", "1", "training", "T\r3", ""],
        ["E4", "C1", "2026-03-02", "1", "training", "T3", "=Dana"]))
    write(inbox, "prepaid_hours.csv", csv_text(
        PREPAID, ["-B1", "C1", "5", "2026-01-01"], ["B2", "C1\n", "5", "2026-01-01"],
        ["B3", "C1", "5", "2026-01-01"]))
    ingest(home)
    got = {(f, ln, col, r.split(" ")[0]) for f, ln, col, _v, r in rejected(home)}
    assert got == {
        ("subscriptions.csv", 2, "subscription_id", "subscription_id"),
        ("subscriptions.csv", 3, "customer_id", "customer_id"),
        ("tickets.csv", 2, "ticket_id", "ticket_id"),
        ("tickets.csv", 3, "customer_id", "customer_id"),
        ("timesheets.csv", 2, "entry_id", "entry_id"),
        ("timesheets.csv", 3, "ticket_id", "ticket_id"),
        ("timesheets.csv", 4, "ticket_id", "ticket_id"),
        ("prepaid_hours.csv", 2, "block_id", "block_id"),
        ("prepaid_hours.csv", 3, "customer_id", "customer_id"),
    }
    assert rows(home, "SELECT subscription_id FROM raw.subscriptions") == [("S3",)]
    assert rows(home, "SELECT ticket_id FROM raw.tickets") == [("T3",)]
    # employee is free text: a leading = is kept as it is (the exports never carry it)
    assert rows(home, "SELECT entry_id, ticket_id, employee FROM raw.timesheets") == [
        ("E4", "T3", "=Dana")]
    assert rows(home, "SELECT block_id FROM raw.prepaid_hours") == [("B3",)]
    assert rows(home, "SELECT count(*) FROM raw.held_rows") == [(0,)]  # rejected, not held


def test_free_text_is_kept_as_it_is_except_nul(home):
    inbox = home / "inbox"
    write(inbox, "customers.csv", csv_text(
        CUSTOMERS, ["C1", "One", "", "", "=a@example.com"],
        ["C2", "Two", "", "", "b\x00@example.com"]))
    subject = "=cmd|' /C calc'!A0\r\nsecond\tline"
    write(inbox, "tickets.csv", csv_text(
        TICKETS,
        ["T1", "C1", "2026-03-02 10:00", "how_to", "", "", "no", "-per manager", "", "", "",
         subject],
        ["T2", "C1", "2026-03-02 10:00", "how_to", "", "", "", "", "", "", "", "a\x00b"],
        ["T3", "C1", "2026-03-02 10:00", "how_to", "", "", "no", "x\x00", "", "", "", ""]))
    write(inbox, "timesheets.csv", csv_text(
        TIMESHEETS, ["E1", "C1", "2026-03-02", "1", "training", "", "Ann\x00"]))
    ingest(home)
    assert rows(home, "SELECT customer_id, email FROM raw.customers") == [
        ("C1", "=a@example.com")]
    assert rows(home, "SELECT ticket_id, override_reason, subject FROM raw.tickets") == [
        ("T1", "-per manager", subject)]
    assert [(f, ln, col, r) for f, ln, col, _v, r in rejected(home)] == [
        ("customers.csv", 3, "email", "email 'b\u2400@example.com' contains a NUL character "
         "(U+0000), which the exported files cannot hold" + FIX),
        ("tickets.csv", 4, "subject", "subject 'a\u2400b' contains a NUL character (U+0000), "
         "which the exported files cannot hold" + FIX),
        ("tickets.csv", 5, "override_reason", "override_reason 'x\u2400' contains a NUL "
         "character (U+0000), which the exported files cannot hold" + FIX),
        ("timesheets.csv", 2, "employee", "employee 'Ann\u2400' contains a NUL character "
         "(U+0000), which the exported files cannot hold" + FIX),
    ]


def test_reasons_quote_short_printable_values(home):
    """Any reason quoting a value (here an enum and a date) shows at most 40 characters and
    no raw control character, so the summary stays one line per row."""
    customers_file(home / "inbox", "C1")
    write(home / "inbox", "tickets.csv", csv_text(
        TICKETS, ["T1", "C1", "2026-03-02 10:00", "x" * 5000, "", "", "", "", "", "", "", ""],
        ["T2", "C1", "2026-03-02 10:00", "how_to\r", "", "", "", "", "", "", "", ""]))
    ingest(home)
    reasons = [r for _f, _ln, _c, _v, r in rejected(home)]
    assert reasons[0].startswith(f"category '{'x' * 40}...' is not one of: ")
    assert reasons[1].startswith("category 'how_to\u240d' is not one of: ")


def test_sample_data_has_nothing_r_in6_rejects(home):
    """The bundled sample (data/sample, the demo's generator) loads without a rejection."""
    from sample_exports.generator import FILES, generate

    result = generate(home / "inbox", customers=60, year=2026, seed=11)
    s = ingest(home)
    assert s.rejected_total == 0
    for kind in FILES:
        assert rows(home, f"SELECT count(*) FROM raw.{kind}") == [(result[kind]["rows"],)]


NAME = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1,
    max_size=12,
) | st.sampled_from(["=1+1", "@x", "-", "+", "a\rb", "\t", "N" * 256, "N" * 255, " x "])


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(names=st.lists(NAME, min_size=1, max_size=15))
def test_property_a_name_loads_exactly_or_is_rejected(tmp_path_factory, names):
    """Invariant (R-IN6): a customer_name either loads exactly as exported (trimmed of
    surrounding spaces, never otherwise altered) or its row is rejected, and it is rejected
    exactly when it is blank, holds a control character, begins with =, +, - or @, or is
    longer than 255 characters."""
    from support_billing.storage.warehouse import ensure_home

    home = ensure_home(tmp_path_factory.mktemp("prop") / "home")
    records = [[f"K{i}", n, "", "", ""] for i, n in enumerate(names)]
    ingest(home, write(home / "inbox", "customers.csv", csv_text(CUSTOMERS, *records)))
    loaded = dict(rows(home, "SELECT customer_id, customer_name FROM raw.customers"))
    rejected_ids = {v for _f, _ln, col, v, _r in rejected(home) if col == "customer_id"}
    for i, n in enumerate(names):
        value = n.strip(" ")
        bad = (value == "" or bool(CONTROL & set(value)) or value[0] in "=+-@"
               or len(value) > 255)
        key = f"K{i}"
        assert (key not in loaded) == bad, (n, loaded.get(key))
        if not bad:
            assert loaded[key] == value
    assert rejected_ids == set()  # every key here is safe: only the name decides
