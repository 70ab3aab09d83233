"""R-IN7: a file still being written is never half loaded, a racily clean file is read
again, links out of the inbox and non-regular files are reported and never read; the
command reports failures in one line and `--period` takes ASCII digits only."""

from __future__ import annotations

import os
import sys
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_helpers import (
    CUSTOMERS,
    TIMESHEETS,
    customers_file,
    ingest,
    log,
    rows,
    scan_later,
    write,
)

SECRET = "root:x:0:0:secret-first-line:/root:/bin/bash\n"


def test_a_file_cut_inside_its_last_field_is_refused_whole(home):
    """The issue's case: `...,training,7` with no final newline must not load 7.00 hours,
    nor any other row of the file; once the export is finished it loads."""
    inbox = home / "inbox"
    customers_file(inbox, "C1")
    done = TIMESHEETS + "E1,C1,2026-03-02,1.25,implementation,,\n"
    path = write(inbox, "timesheets.csv", done + "E2,C1,2026-03-03,7")
    s = ingest(home)
    assert s.exit_code == 1
    [f] = [f for f in s.files if f.file_name == "timesheets.csv"]
    assert (f.status, f.rows_read) == ("refused", 0)
    assert f.message.startswith("the last line has no line ending, so the export may still be")
    assert rows(home, "SELECT count(*) FROM raw.timesheets") == [(0,)]

    write(inbox, path.name, done + "E2,C1,2026-03-03,7.5,training,,\n")
    s = ingest(home)
    assert s.exit_code == 0
    assert rows(home, "SELECT entry_id, hours::VARCHAR FROM raw.timesheets ORDER BY 1") == [
        ("E1", "1.25"), ("E2", "7.50")]


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_a_last_line_with_any_line_ending_is_complete(home, ending):
    data = CUSTOMERS.encode().replace(b"\n", ending) + b"C1,One,,," + ending
    s = ingest(home, write(home / "inbox", "customers.csv", data))
    assert [f.status for f in s.files] == ["loaded"]
    assert rows(home, "SELECT customer_id FROM raw.customers") == [("C1",)]


def test_a_header_cut_before_its_line_ending_is_refused(home):
    s = ingest(home, write(home / "inbox", "customers.csv", "customer_id,customer_na"))
    assert [f.status for f in s.files] == ["refused"]
    assert "no line ending" in s.files[0].message


def test_a_file_written_to_while_it_is_read_is_refused_then_loaded(home, monkeypatch):
    """The writer appends a row after the ingest hashed the file: nothing of the file loads
    (its bytes are no longer the ones hashed); the next ingest loads all of it."""
    from support_billing.ingest import load as ingest_load
    path = customers_file(home / "inbox", "C1")
    real_scan = ingest_load.scan_bytes

    def scan_then_append(p):
        result = real_scan(p)
        with open(p, "ab") as fh:
            fh.write(b"C2,Customer C2,,,\n")
        return result

    monkeypatch.setattr(ingest_load, "scan_bytes", scan_then_append)
    s = ingest(home)
    assert [(f.status, f.message.split(";")[0]) for f in s.files] == [
        ("refused", "the file changed while it was being read (still being written?)")]
    assert rows(home, "SELECT count(*) FROM raw.customers") == [(0,)]
    monkeypatch.setattr(ingest_load, "scan_bytes", real_scan)
    ingest(home)
    assert rows(home, "SELECT customer_id FROM raw.customers ORDER BY 1") == [("C1",), ("C2",)]
    assert path.read_text().count("\n") == 3


def rewrite_in_place(path, text: str) -> None:
    """Same size, same inode, same mtime (restored): what an editor or a sync tool can do."""
    before = os.stat(path)
    assert len(text.encode()) == before.st_size
    with open(path, "r+b") as fh:
        fh.write(text.encode())
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size, before.st_mtime_ns, before.st_ino)


def frozen_file_times(monkeypatch) -> None:
    """A file system whose timestamps do not move within a clock tick (coarse mtime and
    ctime, e.g. FAT's 2 s or a network share): every stat of a file shows the times of its
    first stat, so a rewrite of the same size looks unchanged by size, times and inode."""
    from types import SimpleNamespace

    from support_billing.ingest import load as ingest_load
    real = ingest_load.file_state
    first: dict[str, tuple[int, int]] = {}

    def coarse(path):
        info = real(path)
        mtime, ctime = first.setdefault(str(path), (info.st_mtime_ns, info.st_ctime_ns))
        return SimpleNamespace(st_size=info.st_size, st_mtime_ns=mtime, st_ctime_ns=ctime,
                               st_ino=info.st_ino, st_mode=info.st_mode)

    monkeypatch.setattr(ingest_load, "file_state", coarse)
    monkeypatch.setattr(ingest_load, "changed_since", lambda path, before: False)


def scan_soon_after_last_change(monkeypatch, path, ms: int = 500) -> None:
    """The next scans happen ``ms`` after the file's last change (however slow the test)."""
    from support_billing.ingest import load as ingest_load
    changed = max(os.stat(path).st_mtime_ns, os.stat(path).st_ctime_ns)
    monkeypatch.setattr(ingest_load, "scan_clock", lambda: changed + ms * 10**6)


def test_racily_clean_file_rewritten_in_the_scans_clock_tick_is_read_again(home, monkeypatch):
    """Scanned within seconds of its last change, a file may change again without its size,
    times or inode moving: its remembered hash is not trusted, the file is hashed again."""
    frozen_file_times(monkeypatch)
    path = write(home / "inbox", "customers.csv", CUSTOMERS + "C1,Old name,,,\n")
    scan_soon_after_last_change(monkeypatch, path)
    ingest(home)
    write(home / "inbox", path.name, CUSTOMERS + "C1,New name,,,\n")
    s = ingest(home)
    assert [f.status for f in s.files] == ["loaded"]
    assert rows(home, "SELECT customer_name, ingest_id FROM raw.customers") == [("New name", 2)]


def test_rewritten_in_place_with_old_size_and_mtime_soon_after_a_scan(home):
    path = write(home / "inbox", "customers.csv", CUSTOMERS + "C1,Old name,,,\n")
    ingest(home)
    rewrite_in_place(path, CUSTOMERS + "C1,New name,,,\n")
    assert [f.status for f in ingest(home).files] == ["loaded"]
    assert rows(home, "SELECT customer_name FROM raw.customers") == [("New name",)]


def test_old_file_rewritten_with_its_old_size_and_mtime_is_read_again(home, monkeypatch):
    """Long after its scan, a file rewritten in place with its size and mtime restored is
    still caught: its ctime moved (the kernel sets it; no tool can put it back)."""
    scan_later(monkeypatch)
    path = write(home / "inbox", "customers.csv", CUSTOMERS + "C1,Old name,,,\n")
    ingest(home)
    rewrite_in_place(path, CUSTOMERS + "C1,New name,,,\n")
    s = ingest(home)
    assert [f.status for f in s.files] == ["loaded"]
    assert rows(home, "SELECT customer_name FROM raw.customers") == [("New name",)]


def test_a_racy_scan_is_hashed_once_more_then_the_no_op_stays_cheap(home, monkeypatch):
    from support_billing.ingest import load as ingest_load
    path = customers_file(home / "inbox", "C1")
    scan_soon_after_last_change(monkeypatch, path)
    ingest(home)  # scanned half a second after the file was written: racily clean
    real_scan = ingest_load.scan_bytes
    scanned = []
    monkeypatch.setattr(ingest_load, "scan_bytes", lambda p: scanned.append(p) or real_scan(p))
    scan_later(monkeypatch)
    assert [f.status for f in ingest(home).files] == ["skipped"]
    assert len(scanned) == 1  # hashed again, this time safely after the file's last change
    assert [f.status for f in ingest(home).files] == ["skipped"]
    assert len(scanned) == 1  # trusted now: not read
    assert [r[2] for r in log(home)] == ["loaded", "skipped", "skipped"]


def test_scan_record_of_an_older_warehouse_is_hashed_again(home, monkeypatch):
    """A warehouse made before R-IN7 has no scan time in raw.file_scans: not trusted."""
    from support_billing.ingest.flow import warehouse

    scan_later(monkeypatch)
    path = customers_file(home / "inbox", "C1")
    ingest(home)
    with warehouse(home) as con:
        con.execute("UPDATE raw.file_scans SET scanned_ns = NULL")
    rewrite_in_place(path, CUSTOMERS + "C1,Customer C9,,,\n")
    ingest(home)
    assert rows(home, "SELECT customer_name FROM raw.customers") == [("Customer C9",)]


# ---------------------------------------------------------------------------------------
# Links and non-regular files
# ---------------------------------------------------------------------------------------


@pytest.fixture
def odd_inbox(home, tmp_path):
    """An inbox with one good export and every odd entry named like an export."""
    inbox = home / "inbox"
    customers_file(inbox, "C1")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_text(SECRET)
    os.symlink(outside / "passwd", inbox / "tickets_x.csv")
    os.symlink(inbox / "gone.csv", inbox / "timesheets_dangling.csv")
    (inbox / "subscriptions_dir.csv").mkdir()
    os.mkfifo(inbox / "prepaid_hours_fifo.csv")
    os.symlink("customers.csv", inbox / "customers_link.csv")  # stays inside: read
    os.symlink("loop_b.csv", inbox / "customers_loop.csv")
    os.symlink("customers_loop.csv", inbox / "loop_b.csv")
    return inbox


def run_with_timeout(fn, seconds: float = 120):
    """Run fn in a thread: a FIFO opened for reading would block it forever."""
    out: dict = {}
    t = threading.Thread(target=lambda: out.update(result=fn()), daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "the ingest blocked (a FIFO was opened?)"
    return out["result"]


def test_links_out_of_the_inbox_and_non_regular_files_are_reported_not_read(home, odd_inbox):
    s = run_with_timeout(lambda: ingest(home))
    inbox = odd_inbox
    assert s.reported == [
        f"{inbox / 'customers_loop.csv'}: is a symbolic link that cannot be followed "
        "(Too many levels of symbolic links); not read",
        f"{inbox / 'prepaid_hours_fifo.csv'}: is a FIFO (named pipe), not a regular file; "
        "not read",
        f"{inbox / 'subscriptions_dir.csv'}: is a folder, not an export file; not read",
        f"{inbox / 'tickets_x.csv'}: is a symbolic link that leads out of the inbox; not read",
        f"{inbox / 'timesheets_dangling.csv'}: is a symbolic link to nothing (dangling); "
        "not read",
    ]
    assert s.exit_code == 0  # reported, not a failure
    assert [(f.file_name, f.status) for f in s.files] == [
        ("customers.csv", "loaded"), ("customers_link.csv", "skipped")]
    assert [r[1] for r in log(home)] == ["customers.csv", "customers_link.csv"]
    assert rows(home, "SELECT count(*) FROM raw.tickets") == [(0,)]


def test_a_link_named_on_the_command_line_may_not_leave_its_folder(home, tmp_path):
    (tmp_path / "passwd").write_text(SECRET)
    folder = home / "drop"
    folder.mkdir()
    os.symlink(tmp_path / "passwd", folder / "tickets_sys.csv")
    os.mkfifo(folder / "customers_pipe.csv")
    s = run_with_timeout(lambda: ingest(home, folder / "tickets_sys.csv",
                                        folder / "customers_pipe.csv"))
    assert s.reported == [
        f"{folder / 'tickets_sys.csv'}: is a symbolic link that leads out of the inbox; "
        "not read",
        f"{folder / 'customers_pipe.csv'}: is a FIFO (named pipe), not a regular file; not read",
    ]
    assert s.files == [] and s.problems == []


def test_an_inbox_that_is_itself_a_link_is_read(home, tmp_path):
    """The inbox folder may live elsewhere (a shared drive): its files are inside it."""
    real = tmp_path / "shared"
    customers_file(real, "C1")
    os.rmdir(home / "inbox")
    os.symlink(real, home / "inbox")
    s = ingest(home)
    assert [(f.file_name, f.status) for f in s.files] == [("customers.csv", "loaded")]
    assert s.reported == []


def test_a_reported_name_stays_on_one_line(home):
    os.symlink("nowhere.csv", home / "inbox" / "tickets_a\nb.csv")
    s = ingest(home)
    assert s.reported == [
        f"{home / 'inbox'}/tickets_a\u240ab.csv: is a symbolic link to nothing (dangling); "
        "not read"]


def test_a_warehouse_from_before_r_in7_gets_the_scan_columns(home):
    from support_billing.ingest.flow import warehouse

    path = customers_file(home / "inbox", "C1")
    with warehouse(home) as con:  # the table as it was made before R-IN7
        con.execute("DROP TABLE raw.file_scans")
        con.execute("CREATE TABLE raw.file_scans (path VARCHAR PRIMARY KEY, size BIGINT NOT "
                    "NULL, mtime_ns BIGINT NOT NULL, inode BIGINT NOT NULL, sha256 VARCHAR "
                    "NOT NULL)")
        con.execute("INSERT INTO raw.file_scans VALUES (?, ?, ?, ?, 'stale')",
                    [str(path.resolve()), path.stat().st_size, path.stat().st_mtime_ns,
                     path.stat().st_ino])
    assert [f.status for f in ingest(home).files] == ["loaded"]  # the old row is not trusted
    assert rows(home, "SELECT sha256 <> 'stale', scanned_ns > 0 FROM raw.file_scans") == [
        (True, True)]


def test_no_message_echoes_a_files_content(home):
    """A regular file named like an export but holding something else is refused without
    quoting it: the header's unknown columns are counted, not shown."""
    write(home / "inbox", "tickets_sys.csv", SECRET)
    write(home / "inbox", "timesheets.csv", "entry_id,hours,Secret Col,x\n")
    s = ingest(home)
    assert [(f.file_name, f.message) for f in s.files] == [
        ("tickets_sys.csv", "missing required columns ticket_id, customer_id, opened_at, "
         "category (header: 1 other column)"),
        ("timesheets.csv", "missing required columns customer_id, work_date, activity "
         "(header: entry_id, hours, and 2 other columns)"),
    ]


@pytest.mark.slow  # an ingest through the flow, building the models (R20)
def test_cli_reports_odd_entries_one_line_each_and_never_their_content(
        home, odd_inbox, prefect_server, capfd):
    from support_billing.ingest.flow import cli_ingest

    code = run_with_timeout(lambda: cli_ingest(home, []))
    out, err = capfd.readouterr()
    assert code == 0
    lines = err.strip().splitlines()
    assert len(lines) == 5 and all(x.startswith("warning: ") for x in lines)
    for name in ("tickets_x.csv", "timesheets_dangling.csv", "subscriptions_dir.csv",
                 "prepaid_hours_fifo.csv", "customers_loop.csv"):
        assert sum(name in x for x in lines) == 1, name
    assert "secret-first-line" not in out + err


# ---------------------------------------------------------------------------------------
# The command line: one line for a failure, --period
# ---------------------------------------------------------------------------------------


def run_main(monkeypatch, *args: str) -> int:
    from support_billing import cli
    monkeypatch.setattr(sys, "argv", ["support-billing", *args])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    return exc.value.code


def test_a_warehouse_that_cannot_be_opened_is_one_line(home, prefect_server):
    """The real command in its own process (as a user's terminal sees it): the failed task's
    traceback that Prefect logs stays off the terminal; one line names the problem."""
    import subprocess

    from prefect.settings import PREFECT_API_URL

    (home / "warehouse.duckdb").write_bytes(b"not a database " * 100)
    customers_file(home / "inbox", "C1")
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_LOGGING_LEVEL"}
    env["PREFECT_API_URL"] = PREFECT_API_URL.value()
    proc = subprocess.run(
        [sys.executable, "-m", "support_billing.cli", "--home",
         str(home), "ingest"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: the warehouse {home / 'warehouse.duckdb'} cannot be "
                               "opened (IO Error: The file ")
    assert "run 'support-billing rebuild'" in lines[0]  # R19: the way back is named
    assert "Traceback" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("period", ["２０２６-05", "٢٠٢٦-٠٥", "2026-0５", "𝟚𝟘𝟚𝟞-05"])
def test_period_takes_ascii_digits_only(home, monkeypatch, capfd, period):
    from support_billing.periods import PeriodError, parse_period

    assert not period.isascii() and period.replace("-", "").isdigit()  # str.isdigit is lax
    with pytest.raises(PeriodError):
        parse_period(period)
    code = run_main(monkeypatch, "--home", str(home), "bill", "--period", period)
    _out, err = capfd.readouterr()
    assert code == 2
    assert err.strip().splitlines() == [
        f"error: --period must be a month written YYYY-MM with ASCII digits (e.g. 2026-05), "
        f"not {period!r}"]


@pytest.mark.slow  # an ingest through the flow, building the models (R20)
def test_cli_cut_file_and_formula_name(home, prefect_server, capfd):
    """Through the real flow: the cut file is one error line (exit 1), the formula name a
    rejected row listed with its reason, the good rows load."""
    from support_billing.ingest.flow import cli_ingest

    inbox = home / "inbox"
    write(inbox, "customers.csv", CUSTOMERS + "C1,One,,,\nC2,=HYPERLINK(\"x\"),,,\n")
    write(inbox, "timesheets.csv", TIMESHEETS + "E1,C1,2026-03-02,1,training,,\n"
          "E2,C1,2026-03-03,training,7")
    code = cli_ingest(home, [])
    out, err = capfd.readouterr()
    assert code == 1
    assert err.strip().splitlines() == [
        f"error: {inbox / 'timesheets.csv'}: the last line has no line ending, so the export "
        "may still be being written; nothing of the file was loaded. Ingest it again once "
        "the export is finished (a complete export ends with a line break) (R-IN7)"]
    assert ("customers.csv:3: customer_name '=HYPERLINK(\"x\")' begins with '=', which a "
            "spreadsheet runs as a formula; correct it in the source system") in out
    assert rows(home, "SELECT customer_id FROM raw.customers") == [("C1",)]
    assert rows(home, "SELECT count(*) FROM raw.timesheets") == [(0,)]


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_property_a_file_cut_anywhere_loads_all_its_lines_or_nothing(tmp_path_factory, data):
    """Invariant (R-IN7): an export cut at any byte loads nothing unless the cut falls on a
    line break, and then exactly the complete rows before it."""
    from support_billing.storage.warehouse import ensure_home

    home = ensure_home(tmp_path_factory.mktemp("cut") / "home")
    customers_file(home / "inbox", "C1")
    lines = [f"E{i},C1,2026-03-{i + 1:02d},{i + 1}.5,training,,\n" for i in range(6)]
    full = (TIMESHEETS + "".join(lines)).encode()
    cut = data.draw(st.integers(min_value=len(TIMESHEETS), max_value=len(full)))
    write(home / "inbox", "timesheets.csv", full[:cut])
    ingest(home)
    loaded = rows(home, "SELECT entry_id FROM raw.timesheets ORDER BY source_line")
    if full[:cut].endswith(b"\n"):
        complete = full[:cut].decode().count("\n") - 1
        assert loaded == [(f"E{i}",) for i in range(complete)]
    else:
        assert loaded == []
