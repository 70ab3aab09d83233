"""The hand-computed home of the statement tests (SPEC section 5, R8-R15).

February and March 2026 are billed; between them a timesheet correction for Q arrives.

- P (policy subscription, "at the end of its allotment"): pay_stubs 2 all year. Allotment
  2 + 2 extras = 4 (R8). Billable incidents in (opened_at, ticket_id) order: T-P1 Jan 10,
  T-P2 Jan 20, T-P3 (2026-03-01T05:00Z = Feb 28 22:00 Mountain, so February, R1) covered 1-3;
  March: T-P4 (how_to, time_sensitive) covered 4 -> remaining 0; T-P5 (sync_customization)
  and T-P8 (2026-04-01T03:00Z = Mar 31 21:00 MDT, so March) overage, added to the
  subscription (R12). March tier total 2 + 2 = 4, rate 10.00 (R6): support_subscription
  2 x 10.00 = 20.00, additional_incident_subscription 2 x 10.00 = 20.00 -> 40.00.
  Free in March: T-P6 (how_to, free_category), T-P7 (void). Next overage: tier 5 -> 10.00
  per month.
- Q (policy subscription, "a credit note"): pay_stubs 2 all year -> 25.00 a month at 12.50.
  February: implementation 2.00 h -> 500.00, invoice 525.00. A corrected timesheet says
  0.50 h: d = 125.00 - 500.00 = -375.00 (R15); March 25.00 - 375.00 = -350.00, credit
  note CN-202603-00001.
- R (policy upfront, "hours across two prepaid blocks"): field_reports 2 all year ->
  25.00; blocks PB-R1 2.00 h (2026-01-05), PB-R2 3.00 h (2026-02-01), PB-R3 10.00 h
  (2026-03-25). March entries (R13): TS-R1 03-10 training 1.00 (PB-R1), TS-R2 03-16
  implementation 3.00 (PB-R1 1.00 + PB-R2 2.00: split), TS-R3 03-20 custom_development
  1.50 (PB-R2 1.00, 0.50 billed = 125.00), TS-R4 03-27 training 2.00 (PB-R3, 8.00 left),
  TS-R5 support 1.00 (never billed). Tickets: T-R1 server_migration 03-05 (free, plan
  benefit, R9 step 4), T-R2 key_code_change 03-09 (billable, covered 1 of 4, remaining 3).
  March: 25.00 + 125.00 = 150.00; lines support, custom_development_hours, three
  prepaid_hours_deduction lines. Next overage: 150.00 once.

March numbers: P INV-202603-00001, R INV-202603-00002, Q CN-202603-00001 (R14).
"""

FEBRUARY_FILES = {
    "customers.csv": """customer_id,customer_name,overage_policy
P,Pine & Co <Builders>,subscription
Q,Quarry Works,subscription
R,"Ridge Roofing, LLC",upfront
""",
    "subscriptions.csv": """subscription_id,customer_id,module,annual_incidents,start_date
S-P1,P,pay_stubs,2,2026-01-01
S-Q1,Q,pay_stubs,2,2026-01-01
S-R1,R,field_reports,2,2026-01-01
""",
    "tickets.csv": '''ticket_id,customer_id,opened_at,category,time_sensitive,status,subject
T-P1,P,2026-01-10 09:00,sync_support,,closed,Sync stopped
T-P2,P,2026-01-20 09:00,admin_task,,closed,New user
T-P3,P,2026-03-01T05:00:00Z,sync_support,,closed,Late-night sync
T-P4,P,2026-03-04 09:00,how_to,yes,closed,"Print stubs today, please"
T-P5,P,2026-03-05 09:00,sync_customization,,closed,"Sync <b>jobs</b> ""again"""
T-P6,P,2026-03-06 09:00,how_to,,closed,Where is the report?
T-P7,P,2026-03-07 09:00,sync_support,,void,Duplicate of T-P5
T-P8,P,2026-04-01T03:00:00Z,extended_help,,open,Month-end question
T-R1,R,2026-03-05 10:00,server_migration,,closed,Move to new server
T-R2,R,2026-03-09 10:00,key_code_change,,closed,New key code
''',
    "timesheets.csv": """entry_id,customer_id,work_date,hours,activity,ticket_id,employee
TS-Q1,Q,2026-02-10,2.00,implementation,,kim
TS-R1,R,2026-03-10,1.00,training,,lee
TS-R2,R,2026-03-16,3.00,implementation,,lee
TS-R3,R,2026-03-20,1.50,custom_development,,lee
TS-R4,R,2026-03-27,2.00,training,,lee
TS-R5,R,2026-03-27,1.00,support,,lee
""",
    "prepaid_hours.csv": """block_id,customer_id,hours,purchased_on
PB-R1,R,2.00,2026-01-05
PB-R2,R,3.00,2026-02-01
PB-R3,R,10.00,2026-03-25
""",
}

CORRECTION = {
    "timesheets_fix.csv": "entry_id,customer_id,work_date,hours,activity\n"
                          "TS-Q1,Q,2026-02-10,0.50,implementation\n",
}
