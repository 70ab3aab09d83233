"""Ingest (SPEC section 3, R-IN1..R-IN5): parsing, type rules, upserts, held rows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from ingest_helpers import (
    CUSTOMERS,
    PREPAID,
    SUBSCRIPTIONS,
    TICKETS,
    TIMESHEETS,
    customers_file,
    ingest,
    log,
    rejected,
    rows,
    scan_later,
    ticket,
    write,
)

UTC = UTC


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ---------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------


def test_bom_header_case_spaces_unknown_columns_and_customer_defaults(home):
    text = (
        "\ufeff Customer_ID , CUSTOMER_NAME,Overage_Policy ,extra column,accounting_ref,email\n"
        "  C1 ,  Acme Corp ,,whatever,,\n"
        "C2,Beta,UPFRONT,x,BETA-REF, b@example.com \n"
        "c2,Lower-case key is another customer,Subscription,,,\n"
    )
    s = ingest(home, write(home / "inbox", "customers.csv", text))
    assert s.exit_code == 0
    assert rows(home, "SELECT customer_id, customer_name, overage_policy, accounting_ref, email, "
                      "source_file, source_line, ingest_id FROM raw.customers "
                      "ORDER BY source_line") == [
        ("C1", "Acme Corp", "subscription", "Acme Corp", None, "customers.csv", 2, 1),
        ("C2", "Beta", "upfront", "BETA-REF", "b@example.com", "customers.csv", 3, 1),
        ("c2", "Lower-case key is another customer", "subscription",
         "Lower-case key is another customer", None, "customers.csv", 4, 1),
    ]
    assert rejected(home) == []


def test_quoted_commas_quotes_and_newlines_keep_line_numbers(home):
    customers_file(home / "inbox", "C1")
    text = (
        TICKETS
        + ticket("T1", subject='"Printer, scanner and ""the other one"""')
        + ticket("T2", subject='"first line\nsecond line\r\nthird, line"')
        + ticket("T3", category="nonsense")
        + ticket("T4", subject='"ends with newline\n"')
        + ticket("T5", opened="yesterday")
    )
    write(home / "inbox", "tickets.csv", text)
    s = ingest(home)
    assert [f.parser for f in s.files] == ["duckdb", "duckdb"]  # the fast path counted lines
    assert rows(home, "SELECT ticket_id, subject, source_line FROM raw.tickets "
                      "ORDER BY ticket_id") == [
        ("T1", 'Printer, scanner and "the other one"', 2),
        ("T2", "first line\nsecond line\r\nthird, line", 3),
        ("T4", "ends with newline\n", 7),
    ]
    assert [(f, ln, c) for f, ln, c, _v, _r in rejected(home)] == [
        ("tickets.csv", 6, "category"),
        ("tickets.csv", 9, "opened_at"),
    ]


def test_crlf_line_ends(home):
    customers_file(home / "inbox", "C1")
    text = (TICKETS + ticket("T1", subject='"two\r\nlines"') + ticket("T2", category="bad")
            + ticket("T3")).replace("\n", "\r\n").replace("\r\r\n", "\r\n")
    write(home / "inbox", "tickets.csv", text)
    s = ingest(home)
    assert s.files[1].parser == "duckdb"
    assert rows(home, "SELECT ticket_id, subject, source_line FROM raw.tickets ORDER BY 1") == [
        ("T1", "two\r\nlines", 2), ("T3", None, 5),
    ]
    assert [ln for _f, ln, *_x in rejected(home)] == [4]


def test_repeated_header_line_mid_file_is_rejected(home):
    text = CUSTOMERS + "C1,One,,,\n" + CUSTOMERS.upper() + "C2,Two,,,\n"
    s = ingest(home, write(home / "inbox", "customers.csv", text))
    assert rows(home, "SELECT customer_id FROM raw.customers ORDER BY 1") == [("C1",), ("C2",)]
    assert rejected(home) == [
        ("customers.csv", 3, None, None, "repeated header line; it is not a data row"),
    ]
    assert [(f.rows_read, f.rows_loaded, f.rows_rejected) for f in s.files] == [(3, 2, 1)]


def test_ragged_rows_are_rejected_with_their_line(home):
    customers_file(home / "inbox", "C1")
    text = (
        TIMESHEETS
        + "E1,C1,2026-03-02,1.5,training,,Ann\n"
        + "E2,C1,2026-03-02,2\n"
        + "E3,C1,2026-03-02,2,training,,Ann,extra\n"
        + 'E4,C1,2026-03-03,3,support,,"Bob\nSmith"\n'
        + "E5,C1,2026-03-04,4,support,,\n"
    )
    write(home / "inbox", "timesheets.csv", text)
    s = ingest(home)
    assert rows(home, "SELECT entry_id, source_line, employee FROM raw.timesheets ORDER BY 1") == [
        ("E1", 2, "Ann"), ("E4", 5, "Bob\nSmith"), ("E5", 7, None),
    ]
    assert rejected(home, "timesheets.csv") == [
        ("timesheets.csv", 3, None, None, "the row has 4 fields but the header has 7; check "
         "the quoting of commas, quotes and line breaks"),
        ("timesheets.csv", 4, None, None, "the row has 8 fields but the header has 7; check "
         "the quoting of commas, quotes and line breaks"),
    ]
    ts = [f for f in s.files if f.kind == "timesheets"][0]
    assert ts.parser == "python"  # DuckDB refuses ragged rows: the exact fallback parsed it


def test_blank_lines_do_not_shift_line_numbers(home):
    text = CUSTOMERS + "C1,One,,,\n\nC2,,,,\n\n\nC3,Three,,,\n"
    s = ingest(home, write(home / "inbox", "customers.csv", text))
    assert s.files[0].parser == "python"  # DuckDB skips blank lines: not trusted
    assert rows(home, "SELECT customer_id, source_line FROM raw.customers ORDER BY 1") == [
        ("C1", 2), ("C3", 7),
    ]
    assert rejected(home) == [
        ("customers.csv", 4, "customer_name", "", "customer_name is blank; it is required"),
    ]


def test_empty_header_only_file_loads_zero_rows(home):
    s = ingest(home, write(home / "inbox", "customers.csv", CUSTOMERS))
    assert s.exit_code == 0
    assert log(home) == [(1, "customers.csv", "loaded", 0, 0, 0, 0)]


def test_latin1_file_is_refused_whole_and_earlier_data_kept(home):
    customers_file(home / "inbox", "C1")
    ingest(home)
    bad = (CUSTOMERS + "C1,Caf\xe9 renamed,,,\nC2,Two,,,\n").encode("latin-1")
    s = ingest(home, write(home / "other", "customers_2.csv", bad))
    assert s.exit_code == 1
    assert [(f.status, f.message) for f in s.files] == [
        ("refused", "not valid UTF-8 (byte 0xe9 at line 2); save the export as UTF-8"),
    ]
    assert rows(home, "SELECT customer_id, customer_name FROM raw.customers") == [
        ("C1", "Customer C1")
    ]
    assert log(home)[-1] == (2, "customers_2.csv", "refused", 0, 0, 0, 0)


def test_unterminated_quote_is_refused(home):
    text = CUSTOMERS + 'C1,"One,,,\nC2,Two,,,\n'
    s = ingest(home, write(home / "inbox", "customers.csv", text))
    assert s.exit_code == 1
    assert s.files[0].status == "refused"
    assert s.files[0].message.startswith("not parseable as CSV: unexpected end of data")
    assert rows(home, "SELECT count(*) FROM raw.customers") == [(0,)]


def test_missing_required_column_refused_next_to_a_good_file(home):
    customers_file(home / "inbox", "C1")
    write(home / "inbox", "tickets.csv",
          "ticket_id,customer_id,category\nT1,C1,how_to\n")
    write(home / "inbox", "notes.txt", "not an export")
    s = ingest(home)
    assert s.exit_code == 1
    assert [(f.file_name, f.status) for f in s.files] == [
        ("customers.csv", "loaded"), ("tickets.csv", "refused"),
    ]
    assert s.files[1].message == (
        "missing required column opened_at (header: ticket_id, customer_id, category)"
    )
    assert s.ignored == ["notes.txt"]
    assert rows(home, "SELECT customer_id FROM raw.customers") == [("C1",)]
    assert rows(home, "SELECT count(*) FROM raw.tickets") == [(0,)]


# ---------------------------------------------------------------------------------------
# Type rules
# ---------------------------------------------------------------------------------------


def test_timesheet_hours_rules(home):
    customers_file(home / "inbox", "C1")
    lines = ["0", "24.01", "1.234", "1.500", "24", "1,5", "two", "-1", ".5", "2.", "0.001",
             "24.000"]
    text = TIMESHEETS + "".join(
        f"E{i:02d},C1,2026-03-02,{h},Implementation,,\n" if "," not in h
        else f'E{i:02d},C1,2026-03-02,"{h}",implementation,,\n'
        for i, h in enumerate(lines)
    )
    write(home / "inbox", "timesheets.csv", text)
    ingest(home)
    assert rows(home, "SELECT entry_id, hours, activity FROM raw.timesheets ORDER BY 1") == [
        ("E03", Decimal("1.50"), "implementation"),
        ("E04", Decimal("24.00"), "implementation"),
        ("E08", Decimal("0.50"), "implementation"),
        ("E09", Decimal("2.00"), "implementation"),
        ("E11", Decimal("24.00"), "implementation"),
    ]
    hint = "is not a decimal number; expected digits with an optional point, like 1.50"
    assert [(ln, c, v, r) for _f, ln, c, v, r in rejected(home)] == [
        (2, "hours", "0", "hours 0 must be more than 0"),
        (3, "hours", "24.01", "hours 24.01 is more than the maximum 24"),
        (4, "hours", "1.234", "hours 1.234 has more than 2 decimals"),
        (7, "hours", "1,5", f"hours '1,5' {hint}"),
        (8, "hours", "two", f"hours 'two' {hint}"),
        (9, "hours", "-1", f"hours '-1' {hint}"),
        (12, "hours", "0.001", "hours 0.001 has more than 2 decimals"),
    ]


def test_timesheet_other_columns(home):
    customers_file(home / "inbox", "C1")
    text = (
        TIMESHEETS
        + "E1,C1,05/05/2026,1,training,,\n"
        + "E2,C1,2026-02-30,1,training,,\n"
        + "E3,C1,2026-03-02,1,consulting,,\n"
        + "E4,C1,2026-03-02,1,CUSTOM_DEVELOPMENT,T9,Ann\n"
        + "E5,C1,,1,training,,\n"
        + "E6,,2026-03-02,1,training,,\n"
    )
    write(home / "inbox", "timesheets.csv", text)
    ingest(home)
    assert rows(home, "SELECT entry_id, work_date, activity, ticket_id, employee "
                      "FROM raw.timesheets") == [
        ("E4", date(2026, 3, 2), "custom_development", "T9", "Ann"),
    ]
    assert [(ln, c, r) for _f, ln, c, _v, r in rejected(home)] == [
        (2, "work_date", "work_date '05/05/2026' is not a valid date; expected YYYY-MM-DD"),
        (3, "work_date", "work_date '2026-02-30' is not a valid date; expected YYYY-MM-DD"),
        (4, "activity", "activity 'consulting' is not one of: implementation, training, "
                        "custom_development, support"),
        (6, "work_date", "work_date is blank; it is required"),
        (7, "customer_id", "customer_id is blank; it is required"),
    ]
    assert rows(home, "SELECT count(*) FROM raw.held_rows") == [(0,)]  # blank is not held


def test_prepaid_hours_rules(home):
    customers_file(home / "inbox", "C1")
    text = PREPAID + "B1,C1,100.5,2026-01-15\nB2,C1,0,2026-01-15\nB3,C1,10.125,2026-01-15\n"
    write(home / "inbox", "prepaid_hours.csv", text)
    ingest(home)
    assert rows(home, "SELECT block_id, customer_id, hours, purchased_on "
                      "FROM raw.prepaid_hours") == [
        ("B1", "C1", Decimal("100.50"), date(2026, 1, 15)),
    ]
    assert [r for *_x, r in rejected(home)] == [
        "hours 0 must be more than 0", "hours 10.125 has more than 2 decimals",
    ]


def test_subscription_rules_modules_and_minimums(home):
    customers_file(home / "inbox", "C1")
    text = (
        SUBSCRIPTIONS
        + "S1,C1,remote_payroll,,2026-01-01,\n"
        + "S2,C1,hh2 Remote Payroll,10,2026-01-01,2026-12-31\n"
        + "S3,C1,Remote Payroll,8,2026-01-01,\n"
        + "S4,C1,REMOTE_PAYROLL,9,2026-01-01,\n"
        + "S5,C1,HH2  pay   STUBS,,2026-01-01,\n"
        + "S6,C1,remote_payroll,4,2026-01-01,\n"
        + "S7,C1,Payroll,8,2026-01-01,\n"
        + "S8,C1,field_reports,2,2026-03-01,2026-02-28\n"
        + "S9,C1,field_reports,two,2026-03-01,\n"
        + "S10,C1,field_reports,2,2026-03-01,2026-03-01\n"
        + "S11,C1,,2,2026-03-01,\n"
        + "S12,C1,data_drop,6,2026/03/01,\n"
    )
    write(home / "inbox", "subscriptions.csv", text)
    ingest(home)
    assert rows(home, "SELECT subscription_id, module, annual_incidents, start_date, end_date "
                      "FROM raw.subscriptions ORDER BY source_line") == [
        ("S1", "remote_payroll", 8, date(2026, 1, 1), None),
        ("S2", "remote_payroll", 10, date(2026, 1, 1), date(2026, 12, 31)),
        ("S3", "remote_payroll", 8, date(2026, 1, 1), None),
        ("S4", "remote_payroll", 9, date(2026, 1, 1), None),
        ("S5", "pay_stubs", 2, date(2026, 1, 1), None),
        ("S10", "field_reports", 2, date(2026, 3, 1), date(2026, 3, 1)),
    ]
    modules = ("remote_payroll, human_resources, field_service, document_flow, data_drop, "
               "pay_stubs, field_reports")
    assert [(ln, c, r) for _f, ln, c, _v, r in rejected(home)] == [
        (7, "annual_incidents", "annual_incidents 4 is below the minimum 8 for remote_payroll"),
        (8, "module", f"module 'Payroll' is not a known module; expected one of: {modules}"),
        (9, "end_date", "end_date 2026-02-28 is before start_date 2026-03-01"),
        (10, "annual_incidents", "annual_incidents 'two' is not a whole number"),
        (12, "module", "module is blank; it is required"),
        (13, "start_date", "start_date '2026/03/01' is not a valid date; expected YYYY-MM-DD"),
    ]


def test_ticket_enums_booleans_and_defaults(home):
    customers_file(home / "inbox", "C1")
    text = (
        TICKETS
        + ticket("T1", category="HOW_TO", time_sensitive="Yes", status="", severity="")
        + ticket("T2", category="Server_Migration", time_sensitive="0", status="CLOSED",
                 billable_override="No", override_reason="goodwill", severity="URGENT")
        + ticket("T3", category="unknown_stuff")
        + ticket("T4", time_sensitive="maybe")
        + ticket("T5", billable_override="perhaps")
        + ticket("T6", status="pending")
        + ticket("T7", severity="critical")
        + ticket("T8", category="")
        + ticket("T9", time_sensitive="TRUE", billable_override="yes")
        + ticket("T10", time_sensitive="1")
        + ticket("T11", time_sensitive="false")
    )
    write(home / "inbox", "tickets.csv", text)
    ingest(home)
    assert rows(home, "SELECT ticket_id, category, time_sensitive, status, billable_override, "
                      "override_reason, severity FROM raw.tickets ORDER BY source_line") == [
        ("T1", "how_to", True, "open", None, None, "normal"),
        ("T2", "server_migration", False, "closed", "no", "goodwill", "urgent"),
        ("T9", "how_to", True, "open", "yes", None, "normal"),
        ("T10", "how_to", True, "open", None, None, "normal"),
        ("T11", "how_to", False, "open", None, None, "normal"),
    ]
    got = [(ln, c, r) for _f, ln, c, _v, r in rejected(home)]
    assert [(ln, c) for ln, c, _r in got] == [
        (4, "category"), (5, "time_sensitive"), (6, "billable_override"), (7, "status"),
        (8, "severity"), (9, "category"),
    ]
    assert got[0][2].startswith("category 'unknown_stuff' is not one of: implementation, training")
    assert got[1][2] == ("time_sensitive 'maybe' is not a boolean; use true/false, yes/no, 1/0 "
                         "or blank")
    assert got[2][2] == "billable_override 'perhaps' is not one of: yes, no (or blank)"
    assert got[3][2] == "status 'pending' is not one of: open, closed, void (or blank)"
    assert got[5][2] == "category is blank; it is required"


def test_timestamps_offsets_naive_ambiguous_and_gap(home):
    customers_file(home / "inbox", "C1")
    cases = [
        ("T01", "2026-03-02T10:00:00Z", utc(2026, 3, 2, 10)),
        ("T02", "2026-03-02 10:00+02:00", utc(2026, 3, 2, 8)),
        ("T03", "2026-03-02T10:00:30.25-05:30", utc(2026, 3, 2, 15, 30, 30, 250000)),
        ("T04", "2026-07-01 12:00", utc(2026, 7, 1, 18)),  # MDT
        ("T05", "2026-01-15 12:00:00", utc(2026, 1, 15, 19)),  # MST
        ("T06", "2026-11-01 01:30", utc(2026, 11, 1, 7, 30)),  # ambiguous: earlier (MDT)
        ("T07", "2026-11-01 02:00", utc(2026, 11, 1, 9)),  # after the change: MST
        ("T08", "2026-03-08 02:30", utc(2026, 3, 8, 9, 30)),  # gap: 03:30 MDT
        ("T09", "2026-03-08 01:59:59", utc(2026, 3, 8, 8, 59, 59)),
        ("T10", "2026-03-08 03:00", utc(2026, 3, 8, 9)),
        ("T11", "2026-12-31T23:59:59.999999", utc(2027, 1, 1, 6, 59, 59, 999999)),
        ("T12", "2005-04-03 02:30", utc(2005, 4, 3, 9, 30)),  # gap under the pre-2007 rules
        ("T13", "1960-07-01 12:00", utc(1960, 7, 1, 19)),  # no DST in 1960 (ICU branch)
    ]
    bad = ["2026-03-02", "2026-03-02 25:00", "2026-13-02 10:00", "2026-3-2 10:00",
           "05/05/2026 10:00", "2026-03-02 10:00+2", "2026-03-02 10:00:00.1234567",
           "2026-02-29 10:00"]
    text = TICKETS + "".join(ticket(t, opened=v) for t, v, _ in cases) + "".join(
        ticket(f"B{i}", opened=v) for i, v in enumerate(bad)
    )
    text += ticket("F1", first_response_at="2026-03-02 11:00", closed_at="2026-03-03T00:00Z")
    write(home / "inbox", "tickets.csv", text)
    ingest(home)
    got = dict(rows(home, "SELECT ticket_id, opened_at FROM raw.tickets"))
    for tid, _v, expected in cases:
        assert got[tid] == expected, tid
    assert rows(home, "SELECT first_response_at, closed_at FROM raw.tickets "
                      "WHERE ticket_id = 'F1'") == [
        (utc(2026, 3, 2, 18), utc(2026, 3, 3))
    ]
    assert [v for _f, _ln, _c, v, _r in rejected(home)] == bad


def test_denver_sql_conversion_matches_zoneinfo():
    """The SQL conversion of naive Mountain times (table and ICU branches) against zoneinfo
    with fold=0, every 30 minutes around each change and on sample days, 1965-2110."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    import duckdb
    from support_billing.ingest.mountain_time import denver_us_sql

    den = ZoneInfo("America/Denver")
    locals_: list[datetime] = []
    for year in (1965, 1970, 1974, 1975, 1986, 1987, 2000, 2006, 2007, 2026, 2037, 2100, 2110):
        for month, day in ((1, 1), (3, 8), (3, 14), (4, 2), (4, 30), (7, 4), (10, 28),
                           (11, 1), (11, 7), (12, 31)):
            start = datetime(year, month, day) - timedelta(days=7)
            locals_ += [start + timedelta(minutes=30 * k) for k in range(14 * 48)]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    import pyarrow as pa

    con.register("n", pa.table({"t": pa.array(sorted(set(locals_)), pa.timestamp("us"))}))
    got = con.execute(
        f"SELECT t, make_timestamptz({denver_us_sql('epoch_us(t)', 'year(t)')}) FROM n ORDER BY t"
    ).fetchall()
    assert len(got) > 50_000
    wrong = [(t, g) for t, g in got if g != t.replace(tzinfo=den, fold=0).astimezone(UTC)]
    assert wrong == []


# ---------------------------------------------------------------------------------------
# R-IN3 / R-IN4: skip, upsert, order
# ---------------------------------------------------------------------------------------


def test_duplicate_keys_within_a_file(home):
    customers_file(home / "inbox", "C1")
    write(home / "inbox", "tickets_1.csv", TICKETS + ticket("T2", subject="original"))
    ingest(home)
    text = (
        TICKETS
        + ticket("T1", subject="first")
        + ticket("T2", subject="replaced?")
        + ticket("T1", subject="second")
        + ticket("T2", category="wrong")
        + ticket("T1", subject="third")
    )
    ingest(home, write(home / "new", "tickets_2.csv", text))
    assert rows(home, "SELECT ticket_id, subject, source_file, source_line FROM raw.tickets "
                      "ORDER BY 1") == [
        ("T1", "third", "tickets_2.csv", 6),
        ("T2", "original", "tickets_1.csv", 2),  # the candidate broke a rule: old version stays
    ]
    assert [(ln, c, r) for _f, ln, c, _v, r in rejected(home, "tickets_2.csv")] == [
        (2, "ticket_id", "duplicate ticket_id T1: a later row at line 6 replaces it"),
        (3, "ticket_id", "duplicate ticket_id T2: a later row at line 5 replaces it"),
        (4, "ticket_id", "duplicate ticket_id T1: a later row at line 6 replaces it"),
        (5, "category", rejected(home, "tickets_2.csv")[3][4]),
    ]


def test_same_bytes_are_skipped(home):
    customers_file(home / "inbox", "C1")
    ingest(home)
    s = ingest(home)  # the same inbox again
    assert [(f.status, f.message) for f in s.files] == [
        ("skipped", "same bytes as customers.csv, loaded by ingest 1 (R-IN3)"),
    ]
    # the same bytes under another name are skipped too
    customers_file(home / "other", "C1", name="customers_copy.csv")
    s = ingest(home, home / "other")
    assert [f.status for f in s.files] == ["skipped"]
    assert rows(home, "SELECT count(*), min(ingest_id) FROM raw.customers") == [(1, 1)]


def test_an_unchanged_file_is_not_read_again(home, monkeypatch):
    """R-IN3 at scale: an old export left in the inbox is recognised by path, size,
    modification time and inode, without reading its bytes again; once it changes, it is
    read and loaded. (The scans run "later" than the file was written: a file changed
    within a few seconds of its scan is racily clean and read again, R-IN7.)"""
    from support_billing.ingest import load as ingest_load
    path = customers_file(home / "inbox", "C1")
    scan_later(monkeypatch)
    ingest(home)
    real_scan = ingest_load.scan_bytes
    scanned = []
    monkeypatch.setattr(ingest_load, "scan_bytes", lambda p: scanned.append(p) or real_scan(p))
    s = ingest(home)
    assert [(f.status, f.message) for f in s.files] == [
        ("skipped", "same bytes as customers.csv, loaded by ingest 1 (R-IN3)"),
    ]
    assert scanned == []
    write(home / "inbox", path.name, CUSTOMERS + "C1,Renamed,,,\n")
    s = ingest(home)
    assert [f.status for f in s.files] == ["loaded"]
    assert len(scanned) == 1
    assert rows(home, "SELECT customer_name, ingest_id FROM raw.customers") == [("Renamed", 3)]


def test_later_file_replaces_row(home):
    write(home / "inbox", "customers_1.csv", CUSTOMERS + "C1,Old name,,,\nC2,Two,,,\n")
    ingest(home)
    write(home / "next", "customers_2.csv", CUSTOMERS + "C1,New name,upfront,REF,\n")
    ingest(home, home / "next")
    assert rows(home, "SELECT customer_id, customer_name, overage_policy, accounting_ref, "
                      "source_file, ingest_id FROM raw.customers ORDER BY 1") == [
        ("C1", "New name", "upfront", "REF", "customers_2.csv", 2),
        ("C2", "Two", "subscription", "Two", "customers_1.csv", 1),
    ]


def test_files_taken_in_binary_name_order(home):
    customers_file(home / "inbox", "C1")
    # 'T' (0x54) sorts before 't' (0x74): Tickets_b.csv is taken first, tickets_a.csv wins
    write(home / "inbox", "tickets_a.csv", TICKETS + ticket("T1", subject="from a"))
    write(home / "inbox", "Tickets_b.csv", TICKETS + ticket("T1", subject="from b"))
    s = ingest(home)
    assert [f.file_name for f in s.files] == ["Tickets_b.csv", "customers.csv", "tickets_a.csv"]
    assert rows(home, "SELECT subject FROM raw.tickets") == [("from a",)]


def test_equal_names_follow_the_order_of_paths(home):
    customers_file(home / "inbox", "C1")
    ingest(home)
    a = write(home / "a", "tickets.csv", TICKETS + ticket("T1", subject="from a"))
    b = write(home / "b", "tickets.csv", TICKETS + ticket("T1", subject="from b"))
    ingest(home, b, a)
    assert rows(home, "SELECT subject FROM raw.tickets") == [("from a",)]


# ---------------------------------------------------------------------------------------
# R-IN5: held rows
# ---------------------------------------------------------------------------------------


def test_held_rows_load_when_the_customer_arrives_in_a_later_ingest(home):
    customers_file(home / "inbox", "C1")
    write(home / "inbox", "tickets.csv",
          TICKETS + ticket("T1") + ticket("T2", cust="C9", opened="2026-07-01 12:00")
          + ticket("T3", cust="C9"))
    s = ingest(home)
    assert (s.release.still_held, s.release.released) == (2, 0)
    assert s.release.held_samples[0] == {
        "file_name": "tickets.csv", "line_number": 3, "kind": "tickets", "row_key": "T2",
        "reason": "customer_id C9 is not a known customer; the row is held until the "
                  "customer is loaded",
    }
    assert rows(home, "SELECT ticket_id FROM raw.tickets") == [("T1",)]
    s = ingest(home, customers_file(home / "later", "C9", name="customers_2.csv"))
    assert (s.release.released, s.release.released_earlier, s.release.still_held) == (2, 2, 0)
    assert rows(home, "SELECT ticket_id, customer_id, opened_at, source_file, source_line, "
                      "ingest_id FROM raw.tickets ORDER BY 1") == [
        ("T1", "C1", utc(2026, 3, 2, 17), "tickets.csv", 2, 1),
        ("T2", "C9", utc(2026, 7, 1, 18), "tickets.csv", 3, 1),
        ("T3", "C9", utc(2026, 3, 2, 17), "tickets.csv", 4, 1),
    ]
    assert rows(home, "SELECT count(*) FROM raw.held_rows") == [(0,)]
    # the log of the file that held them now shows them loaded
    assert log(home) == [
        (1, "customers.csv", "loaded", 1, 1, 0, 0),
        (1, "tickets.csv", "loaded", 3, 3, 0, 0),
        (2, "customers_2.csv", "loaded", 1, 1, 0, 0),
    ]


def test_customers_sorting_after_tickets_in_one_ingest(home):
    write(home / "inbox", "Tickets.csv", TICKETS + ticket("T1", cust="C1"))
    write(home / "inbox", "customers.csv", CUSTOMERS + "C1,One,,,\n")
    s = ingest(home)
    assert [(f.file_name, f.rows_loaded, f.rows_held) for f in s.files] == [
        ("Tickets.csv", 1, 0), ("customers.csv", 1, 0),
    ]
    assert (s.release.released, s.release.released_earlier) == (1, 0)
    assert rows(home, "SELECT ticket_id FROM raw.tickets") == [("T1",)]


def test_held_subscriptions_timesheets_and_prepaid_hours(home):
    write(home / "inbox", "subscriptions.csv", SUBSCRIPTIONS + "S1,C1,pay stubs,,2026-01-01,\n")
    write(home / "inbox", "timesheets.csv", TIMESHEETS + "E1,C1,2026-03-02,1.25,training,T1,Ann\n")
    write(home / "inbox", "prepaid_hours.csv", PREPAID + "B1,C1,10,2026-01-01\n")
    s = ingest(home)
    assert s.release.still_held == 3
    ingest(home, customers_file(home / "x", "C1"))
    assert rows(home, "SELECT subscription_id, module, annual_incidents, start_date, end_date "
                      "FROM raw.subscriptions") == [("S1", "pay_stubs", 2, date(2026, 1, 1), None)]
    assert rows(home, "SELECT entry_id, hours, activity, ticket_id, employee "
                      "FROM raw.timesheets") == [
        ("E1", Decimal("1.25"), "training", "T1", "Ann")
    ]
    assert rows(home, "SELECT block_id, hours, purchased_on FROM raw.prepaid_hours") == [
        ("B1", Decimal("10.00"), date(2026, 1, 1))
    ]


def test_held_row_dropped_when_a_later_file_loads_its_key(home):
    customers_file(home / "inbox", "C1")
    write(home / "inbox", "tickets_1.csv", TICKETS + ticket("T1", cust="C9", subject="held"))
    ingest(home)
    s = ingest(home, write(home / "b", "tickets_2.csv", TICKETS + ticket("T1", subject="loaded")))
    assert s.files[0].dropped == [
        "tickets_1.csv:2: held row dropped: ticket_id T1 was loaded from tickets_2.csv line 2"
    ]
    assert rows(home, "SELECT count(*) FROM raw.held_rows") == [(0,)]
    ingest(home, customers_file(home / "c", "C9", name="customers_2.csv"))
    assert rows(home, "SELECT ticket_id, customer_id, subject FROM raw.tickets") == [
        ("T1", "C1", "loaded")
    ]
    assert rejected(home, "tickets_1.csv") == [
        ("tickets_1.csv", 2, "customer_id", "C9",
         "held row dropped: ticket_id T1 was loaded from tickets_2.csv line 2"),
    ]
    assert log(home)[1] == (1, "tickets_1.csv", "loaded", 1, 0, 1, 0)


def test_held_row_replaced_by_a_later_held_row(home):
    write(home / "inbox", "tickets_1.csv", TICKETS + ticket("T1", cust="C9", subject="first"))
    write(home / "inbox", "tickets_2.csv", TICKETS + ticket("T1", cust="C8", subject="second"))
    ingest(home)
    assert rows(home, "SELECT row_key, customer_id, file_name FROM raw.held_rows") == [
        ("T1", "C8", "tickets_2.csv")
    ]
    ingest(home, customers_file(home / "c", "C8", "C9"))
    assert rows(home, "SELECT subject FROM raw.tickets") == [("second",)]


# ---------------------------------------------------------------------------------------
# Reconciliation
# ---------------------------------------------------------------------------------------


def test_reconciliation_read_equals_loaded_rejected_held(home):
    inbox = home / "inbox"
    write(inbox, "customers.csv", CUSTOMERS + "C1,One,,,\nC2,,,,\nC1,One again,,,\n")
    write(inbox, "tickets.csv", TICKETS + ticket("T1") + ticket("T2", cust="C7")
          + ticket("T3", cust="C8") + ticket("T4", category="x") + ticket("T1", cust="C1"))
    write(inbox, "timesheets.csv",
          TIMESHEETS + "E1,C1,2026-03-02,1,training,,\nE2,C1,2026-03-02,0,training,,\n")
    write(inbox, "subscriptions.csv", SUBSCRIPTIONS + "S1,C1,remote_payroll,3,2026-01-01,\n")
    write(inbox, "prepaid_hours.csv", PREPAID + "B1,C7,5,2026-01-01\n")
    ingest(home)
    ingest(home, write(home / "b", "tickets_2.csv", TICKETS + ticket("T2", cust="C1")))
    ingest(home, customers_file(home / "c", "C7", name="customers_2.csv"))
    ingest(home, write(home / "d", "customers_3.csv", b"customer_id\nC1\n"))  # refused
    entries = rows(home, "SELECT ingest_id, file_name, status, rows_read, rows_loaded, "
                         "rows_rejected, rows_held FROM raw.ingest_log")
    assert len(entries) == 8
    for ing, name, _status, read, loaded, rej, held in entries:
        assert read == loaded + rej + held, name
        assert rows(home, "SELECT count(*) FROM raw.rejected_rows WHERE ingest_id = ? AND "
                          "file_name = ?", [ing, name]) == [(rej,)], name
        assert rows(home, "SELECT count(*) FROM raw.held_rows WHERE ingest_id = ? AND "
                          "file_name = ?", [ing, name]) == [(held,)], name
    assert {(n, r, lo, rj, h) for _i, n, _s, r, lo, rj, h in entries} == {
        ("customers.csv", 3, 1, 2, 0),
        ("prepaid_hours.csv", 1, 1, 0, 0),  # held, then released by customers_2.csv
        ("subscriptions.csv", 1, 0, 1, 0),
        ("tickets.csv", 5, 1, 3, 1),  # T2 held then dropped (rejected), T3 still held
        ("timesheets.csv", 2, 1, 1, 0),
        ("tickets_2.csv", 1, 1, 0, 0),
        ("customers_2.csv", 1, 1, 0, 0),
        ("customers_3.csv", 0, 0, 0, 0),
    }


def test_missing_path_is_an_error(home):
    s = ingest(home, home / "nope")
    assert s.exit_code == 1
    assert s.problems == [f"{home / 'nope'}: no such file or folder"]


@pytest.mark.parametrize("name,kind", [
    ("customers.csv", "customers"), ("CUSTOMERS_2026.CSV", "customers"),
    ("Prepaid_Hours-jan.csv", "prepaid_hours"), ("tickets.txt", None), ("my_tickets.csv", None),
    ("timesheets", None), ("Subscriptions.Csv", "subscriptions"),
])
def test_kind_from_name(name, kind):
    from support_billing.ingest.kinds import kind_of

    assert kind_of(name) == kind


def test_fast_path_line_numbers_match_the_csv_module(tmp_path):
    """DuckDB's reader with set-based line numbers gives the same rows and lines as Python's
    csv module on a file full of quoted commas, quotes and newlines (CRLF too)."""
    import random

    import duckdb
    from support_billing.ingest.parse import fast_source, python_source, read_header, scan_bytes

    rnd = random.Random(5)
    pieces = ["plain", '"comma, inside"', '"two\nlines"', '"crlf\r\nline"', '"""quoted"""',
              '"a\n\nb"', "", '"x,\n""y""\n"']
    text = TICKETS + "".join(
        ticket(f"T{i}", subject=rnd.choice(pieces)) for i in range(5000)
    )
    path = write(tmp_path, "tickets.csv", text)
    scan = scan_bytes(path)
    header = read_header(scan, "tickets")
    con = duckdb.connect()
    src = fast_source(con, scan, header)
    assert src is not None
    query = "SELECT rid, line, c0, coalesce(c11, '') FROM ({}) ORDER BY rid"
    fast = con.execute(query.format(src)).fetchall()
    slow = con.execute(query.format(python_source(con, scan, len(header.names)))).fetchall()
    assert len(fast) == 5000
    assert fast == slow
