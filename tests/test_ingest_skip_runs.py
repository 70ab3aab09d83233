"""Files loaded before are skipped a run at a time (R-IN3), in one warehouse connection and
one transaction per run, with the files still taken in name order (R-IN4)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ingest_helpers import (
    CUSTOMERS,
    TICKETS,
    customers_file,
    ingest,
    log,
    rows,
    scan_later,
    ticket,
    write,
)
from support_billing.ingest import flow as ingest_flow
from support_billing.ingest import load as ingest_load
from support_billing.ingest.load import FileResult


def _result(path: str, kind: str, status: str) -> FileResult:
    return FileResult(path, path, kind, status)


@given(st.lists(st.tuples(st.booleans(), st.booleans()), max_size=12))
def test_every_file_once_and_in_order(flags):
    """Whatever ``step_start`` guessed (known) and whatever a run's skip confirms (it stops
    at the first file it cannot skip), every file is taken exactly once, in order, and the
    only files loaded one by one are those not skipped."""
    files = [(f"f{i:02d}.csv", "tickets") for i in range(len(flags))]
    known = [k for k, _ in flags]
    skippable = {files[i][0] for i, (_, s) in enumerate(flags) if s}
    runs, loads = [], []

    def skip(run):
        runs.append([p for p, _ in run])
        done = []
        for path, kind in run:
            if path not in skippable:
                break
            done.append(_result(path, kind, "skipped"))
        return done

    def load(path, kind):
        loads.append(path)
        return _result(path, kind, "loaded")

    out = ingest_flow.each_file(files, known, skip, load)
    names = [p for p, _ in files]
    assert [r.path for r in out] == names
    skipped = [r.path for r in out if r.status == "skipped"]
    assert sorted(skipped + loads) == names  # each file taken once, one way or the other
    assert all(known[names.index(p)] and p in skippable for p in skipped)
    assert all(p in loads for p, k in zip(names, known, strict=True) if not k)
    assert all(known[names.index(p)] for run in runs for p in run)  # runs: guessed files


def test_a_run_of_loaded_files_between_new_ones(home, monkeypatch):
    """A second ingest of an inbox with a new file among loaded ones: the loaded files are
    skipped in two runs around the new file, one connection per run, and ingest_log lists
    every file in name order."""
    scan_later(monkeypatch)
    inbox = home / "inbox"
    customers_file(inbox, "C1", name="customers_1.csv")
    customers_file(inbox, "C2", name="customers_3.csv")
    write(inbox, "tickets_1.csv", TICKETS + ticket("T1"))
    ingest(home)
    customers_file(inbox, "C3", name="customers_2.csv")

    opened = []
    real_warehouse = ingest_flow.warehouse

    def counting(h):
        opened.append(1)
        return real_warehouse(h)

    monkeypatch.setattr(ingest_flow, "warehouse", counting)
    summary = ingest(home)
    monkeypatch.undo()
    assert [(f.file_name, f.status) for f in summary.files] == [
        ("customers_1.csv", "skipped"), ("customers_2.csv", "loaded"),
        ("customers_3.csv", "skipped"), ("tickets_1.csv", "skipped")]
    # start, a run of one, the new file, a run of two, the held rows, the summary
    assert len(opened) == 6
    assert [(name, status) for i, name, status, *_ in log(home) if i == summary.ingest_id] == [
        ("customers_1.csv", "skipped"), ("customers_2.csv", "loaded"),
        ("customers_3.csv", "skipped"), ("tickets_1.csv", "skipped")]
    assert rows(home, "SELECT customer_id FROM raw.customers ORDER BY 1") == [
        ("C1",), ("C2",), ("C3",)]


def test_a_file_changed_after_the_guess_is_read_again(home, monkeypatch):
    """A file rewritten between the start of the ingest and its run is not skipped by the
    run: it is read and loaded on its own (R-IN3 checks the bytes, not the guess)."""
    scan_later(monkeypatch)
    inbox = home / "inbox"
    customers_file(inbox, "C1", name="customers_1.csv")
    customers_file(inbox, "C2", name="customers_2.csv")
    ingest(home)

    real_start = ingest_flow.step_start

    def start_then_rewrite(h, files):
        started = real_start(h, files)
        path = inbox / "customers_1.csv"
        path.write_text(CUSTOMERS + "C1,Customer C1,,,\nC4,Customer C4,,,\n")
        stamp = path.stat().st_mtime_ns + 5 * 10**9
        os.utime(path, ns=(stamp, stamp))
        return started

    monkeypatch.setattr(ingest_flow, "step_start", start_then_rewrite)
    summary = ingest(home)
    assert [(f.file_name, f.status) for f in summary.files] == [
        ("customers_1.csv", "loaded"), ("customers_2.csv", "skipped")]
    assert summary.files[0].rows_loaded == 2
    assert rows(home, "SELECT customer_id FROM raw.customers ORDER BY 1") == [
        ("C1",), ("C2",), ("C4",)]


def test_seeded_defect_a_run_that_fails_logs_nothing(home, monkeypatch):
    """A run is one transaction: a failure while logging its second file leaves no skipped
    row of the first, so the task's retry logs each file once."""
    scan_later(monkeypatch)
    inbox = home / "inbox"
    customers_file(inbox, "C1", name="customers_1.csv")
    customers_file(inbox, "C2", name="customers_2.csv")
    ingest(home)
    files = [(str(inbox / "customers_1.csv"), "customers"),
             (str(inbox / "customers_2.csv"), "customers")]
    ingest_id, known = ingest_flow.step_start(home, files)
    assert known == [True, True]

    real_log = ingest_load._log
    calls = []

    def failing_second(con, ingest_id, res):
        calls.append(res.file_name)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        real_log(con, ingest_id, res)

    monkeypatch.setattr(ingest_load, "_log", failing_second)
    with pytest.raises(RuntimeError):
        ingest_flow.step_skip(home, files, ingest_id)
    assert rows(home, "SELECT count(*) FROM raw.ingest_log WHERE ingest_id = ?",
                [ingest_id]) == [(0,)]
    monkeypatch.setattr(ingest_load, "_log", real_log)
    done = ingest_flow.step_skip(home, files, ingest_id)  # the retry
    assert [(r.file_name, r.status) for r in done] == [
        ("customers_1.csv", "skipped"), ("customers_2.csv", "skipped")]
    assert rows(home, "SELECT file_name FROM raw.ingest_log WHERE ingest_id = ? "
                "ORDER BY rowid", [ingest_id]) == [("customers_1.csv",), ("customers_2.csv",)]
