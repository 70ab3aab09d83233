"""What the sample exports say and how often: categories, subjects, names, spellings,
modules and their popularity, and the two sampling helpers every file uses."""

from __future__ import annotations

import numpy as np

# R9 categories and how often they occur (fractions of all tickets).
CATEGORIES = [
    ("implementation", 0.020), ("training", 0.020), ("custom_development", 0.015),
    ("server_migration", 0.015), ("key_code_change", 0.015), ("extended_help", 0.080),
    ("sync_support", 0.120), ("sync_customization", 0.040), ("admin_task", 0.080),
    ("unsupported_environment", 0.025), ("bug_report", 0.150), ("how_to", 0.200),
    ("basic_question", 0.170), ("feature_request", 0.050),
]
HOURLY = ("implementation", "training", "custom_development")
ACTIVITIES = ("implementation", "training", "custom_development", "support")

SUBJECTS = {
    "implementation": ["Go-live for the second company", "Set up hh2 for the new division"],
    "training": ["Training for new payroll clerks", "Refresher session, approvals"],
    "custom_development": ["Custom export to the union report", "Custom field on time cards"],
    "server_migration": ["Move to the new accounting server", "Server migration, Sage 300"],
    "key_code_change": ["New key code after license renewal", "Key code change"],
    "extended_help": ["Approvals stuck, walked through setup", "Cost codes missing on jobs"],
    "sync_support": ["Sync fails with error \"0x80004005\"", "Sync stopped, firewall?"],
    "sync_customization": ["Redo sync mapping after update 2.14", "Custom sync of equipment"],
    "admin_task": ["Password reset for jdoe", "Add users, roles: foremen"],
    "unsupported_environment": ["Install behind proxy server", "Terminal server, no internet"],
    "bug_report": ["Pay stub shows wrong YTD, \"Overtime\" line", "Crash when opening timesheet"],
    "how_to": ["How do I approve a timesheet?", "How to export,\nthen re-import"],
    "basic_question": ["Where is the PTO balance?", "Question about the \"Field\" app"],
    "feature_request": ["Please add dark mode", "Wish: bulk edit, like Excel"],
}
TRICKY_SUBJECTS = [
    "Re: \"urgent\" - payroll won't post, 3 jobs",
    "Line one\nline two, with a comma",
    "Customer says: \"it just says \"\"error\"\"\"",
    "  spaces around, trimmed  ",
]
OVERRIDE_REASONS = {
    "yes": ["Customer asked for same-day help by phone", "Agreed with CFO: billable, \"rush\""],
    "no": ["Goodwill: outage on our side", "Duplicate of an earlier ticket, not void"],
}
EMPLOYEES = ["Ana Ruiz", "Ben Cho", "O'Neil, Pat", "Dana Smith", "Eli Moss", "Farah Khan",
             "Gus Lind", "Hana Ito", "Ivan Petrov", "Jo Park", ""]
NAME_A = ["Summit", "Red Rock", "Front Range", "Pikes", "Granite", "Blue Sky", "Canyon",
          "Aspen", "Prairie", "Timberline", "Mesa", "Cedar", "Iron Horse", "Silverton"]
NAME_B = ["Builders", "Concrete", "Electric", "Mechanical", "Paving", "Plumbing", "Roofing",
          "Excavating", "Steel", "Framing", "Drywall", "Civil"]
NAME_S = ["", ", Inc.", " LLC", " Co.", ", Ltd.", " & Sons", " \"The Pros\""]
# (module index weights): how popular each module is.
MODULE_WEIGHTS = {"remote_payroll": 5, "human_resources": 2, "field_service": 2,
                  "document_flow": 1.5, "data_drop": 1, "pay_stubs": 3, "field_reports": 2}

# Subscription patterns: (name, weight). Each (customer, module) line gets one.
PATTERNS = [("full", 62), ("mid_start", 8), ("cancel", 7), ("upgrade", 8), ("renewal", 8),
            ("downgrade", 3), ("short", 2), ("lapsed", 2)]

TICKETS_PER_INCIDENT = 3.3  # tickets a year per subscribed incident (~50 per customer)
STATUS = (["closed", "open", "", "void", "Closed", "VOID"], [66, 12, 5, 2.5, 4, 0.5])
TIME_SENSITIVE = (["", "false", "no", "0", "true", "yes", "1", "TRUE", "Yes", "False"],
                  [60, 10, 5, 3, 6, 4, 2, 1, 1, 1])
OVERRIDE = (["", "yes", "no", "Yes", "NO"], [96.5, 1.2, 1.3, 0.5, 0.5])
SEVERITY = (["", "normal", "low", "high", "urgent", "High", "LOW"], [20, 30, 15, 12, 3, 1, 1])


def choice(rng: np.random.Generator, n: int, weights) -> np.ndarray:
    """n codes (indexes into weights), each drawn with its weight's share."""
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum()).astype(np.int8)


def ensure(rng: np.random.Generator, arr: np.ndarray, values) -> None:
    """Put each of values at a random distinct position (so small samples show them all)."""
    values = np.asarray(values)
    if len(arr) >= len(values):
        arr[rng.choice(len(arr), size=len(values), replace=False)] = values


def read_modules() -> list[tuple[str, str, int]]:
    """(code, display name, minimum annual incidents) of each module, from the seed (R3, R4)."""
    try:
        from support_billing.storage.dbt_runner import read_seed

        rows = read_seed("modules")
        return [(r["module_code"], r["display_name"], int(r["minimum_annual_incidents"]))
                for r in rows]
    except Exception:  # pragma: no cover - seeds missing: the SPEC section 2 table
        return [("remote_payroll", "hh2 Remote Payroll", 8),
                ("human_resources", "hh2 Human Resources", 6),
                ("field_service", "hh2 Field Service", 6),
                ("document_flow", "hh2 Document Flow", 8), ("data_drop", "hh2 Data Drop", 6),
                ("pay_stubs", "hh2 Pay Stubs", 2), ("field_reports", "hh2 Field Reports", 2)]
