"""The real Prefect flow behind `support-billing ingest` (a Prefect test server)."""

from __future__ import annotations

import pytest
from ingest_helpers import CUSTOMERS, TICKETS, customers_file, rows, ticket, write


@pytest.mark.slow  # two ingests, each building the models (R20)
def test_cli_ingest_runs_the_flow_and_reports(home, prefect_server, capsys):
    from support_billing.ingest.flow import cli_ingest

    inbox = home / "inbox"
    customers_file(inbox, "C1")
    write(inbox, "tickets.csv", TICKETS + ticket("T1") + ticket("T2", category="nope")
          + ticket("T3", cust="C9"))
    write(inbox, "timesheets_bad.csv", "entry_id,customer_id,hours\nE1,C1,1\n")

    code = cli_ingest(home, [])
    out, err = capsys.readouterr()
    assert code == 1  # a refused file
    assert err.strip().splitlines() == [
        f"error: {inbox / 'timesheets_bad.csv'}: missing required columns work_date, activity "
        "(header: entry_id, customer_id, hours)"
    ]
    for text in ("customers.csv", "tickets.csv", "timesheets_bad.csv", "refused",
                 "tickets.csv:3: category 'nope' is not one of",
                 "Rows still held (customer not known yet): 1",
                 "tickets.csv:4: customer_id C9 is not a known customer"):
        assert text in out, text
    assert rows(home, "SELECT ticket_id FROM raw.tickets") == [("T1",)]

    # the customer arrives: the held row loads, nothing refused -> exit 0
    customers_file(home / "more", "C9", name="customers_2.csv")
    assert cli_ingest(home, [home / "more"]) == 0
    out, _err = capsys.readouterr()
    assert "Held rows loaded now that their customer is known: 1 (1 from earlier ingests)" in out
    assert rows(home, "SELECT ticket_id FROM raw.tickets ORDER BY 1") == [("T1",), ("T3",)]


def test_ingest_flow_runs_as_a_subflow(home, prefect_server):
    from prefect import flow
    from support_billing.ingest.flow import ingest_flow

    write(home / "inbox", "customers.csv", CUSTOMERS + "C1,One,,,\n")

    @flow(name="parent")
    def parent(h: str) -> int:
        summary = ingest_flow(h, [])
        return summary.files[0].rows_loaded

    assert parent(str(home)) == 1
    assert rows(home, "SELECT customer_id FROM raw.customers") == [("C1",)]
