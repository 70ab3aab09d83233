"""The billing flow's hand-computed scenario (tests/test_billing_flow.py) as export files for
the inbox: the real ingest loads them and the real dbt models compute the month.

May 2026, by hand (SPEC section 4):
- A (policy subscription): remote_payroll 8 (S-A1) + pay_stubs blank = minimum 2 (S-A2),
  all year: tier total 10, rate 10.00 (R6) -> 80.00 + 20.00 (R7). TS-A1, 1.50 implementation
  hours on 2026-05-04, before block PB-A1 was bought (2026-05-10): billed 1.50 x 250.00 =
  375.00. TS-A2, 2.00 training hours on 2026-05-12, all from PB-A1 (10.00 h): a zero
  deduction line, 8.00 h left, no training line (R13). Invoice 475.00, 4 lines.
  T-A7 is an `implementation` ticket without hours (quality report); T-A8 (`training`) has
  TS-A2's hours.
- B (policy upfront): field_reports 2 (S-B1) from 2026-05-16: 2 x 12.50 x 16/31 = 12.903 ->
  12.90 (R2, R7). T-B9 (`sync_support`, 2026-05-04) is billable while B is not active yet:
  overage, billed up front whatever the policy (R10, R12): 1 x 150.00. Invoice 162.90.
- C: no subscription; TS-C1, 3.00 implementation hours on 2026-05-11, all from PB-C1
  (3.00 h): only a zero deduction line, so no invoice (R14), and prepaid_2026-05.csv lists
  PB-C1 with a blank invoice number.
- E (policy subscription): pay_stubs 2 (S-E1), all year: rate 12.50 -> 25.00.
- T-Z1 names an unknown customer Z: held (R-IN5). T-X1's opened_at 05/05/2026 is not a
  timestamp: rejected (R-IN1).
May total: 475.00 + 162.90 + 25.00 = 662.90 in 3 invoices, 7 lines.
"""

from __future__ import annotations

from pathlib import Path

FILES = {
    "customers.csv": """customer_id,customer_name,overage_policy,accounting_ref,email
A,Acme Builders,subscription,"Acme Builders, Inc.",ap@acme.test
B,Beta Paving,upfront,,
C,Cedar Roofing,subscription,,
E,Echo Electric,subscription,Echo Electric LLC,billing@echo.test
""",
    "subscriptions.csv": """subscription_id,customer_id,module,annual_incidents,start_date,end_date
S-A1,A,remote_payroll,8,2026-01-01,2026-12-31
S-A2,A,hh2 Pay Stubs,,2026-01-01,2026-12-31
S-B1,B,field_reports,2,2026-05-16,
S-E1,E,pay_stubs,2,2026-01-01,
""",
    "tickets.csv": """ticket_id,customer_id,opened_at,category,time_sensitive,status
T-A7,A,2026-05-06 09:00,implementation,,closed
T-A8,A,2026-05-12 09:00,training,,closed
T-B9,B,2026-05-04 09:00,sync_support,,closed
T-X1,A,05/05/2026,sync_support,,closed
T-Z1,Z,2026-05-07 09:00,sync_support,,closed
""",
    "timesheets.csv": """entry_id,customer_id,work_date,hours,activity,ticket_id,employee
TS-A1,A,2026-05-04,1.50,implementation,,kim
TS-A2,A,2026-05-12,2.00,training,T-A8,kim
TS-C1,C,2026-05-11,3.00,implementation,,lee
""",
    "prepaid_hours.csv": """block_id,customer_id,hours,purchased_on
PB-A1,A,10.00,2026-05-10
PB-C1,C,3.00,2026-04-01
""",
}

TIMESHEET_HEADER = "entry_id,customer_id,work_date,hours,activity,ticket_id,employee\n"


def write_inbox(home: Path) -> None:
    for name, text in FILES.items():
        (home / "inbox" / name).write_text(text, encoding="utf-8")


def add_timesheet(home: Path, name: str, *rows: str) -> None:
    """A later timesheets export in the inbox; the next `bill` ingests it (R-IN4 upserts)."""
    (home / "inbox" / name).write_text(TIMESHEET_HEADER + "".join(r + "\n" for r in rows),
                                       encoding="utf-8")
