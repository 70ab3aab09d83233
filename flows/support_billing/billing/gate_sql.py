"""The quality gate's computed frames, in DuckDB SQL: one implementation for two sources.

The gate's suites (``expectations/*.json``) check one pandas frame each. Checks that span
rows or tables (numbering without gaps, total = sum of lines, prices in force, the incident
ledger) are computed here as plain columns that the suites then expect to be equal, 0 or
true. The same three queries run over

- the warehouse (``warehouse_frames``): ``main.invoices``, ``main.invoice_lines``,
  ``main.price_book``, ``main.stg_exports__customers`` and ``main.fct_incidents``;
- hand-made rows (``loaded_frames``, for ``gate.run_gate(GateInputs)``): the dicts are
  loaded into an in-memory DuckDB first, amounts and dates as their exact text so that a
  badly scaled value (``397.505``) reaches the checks as it was given.

Only the ``src_*`` CTEs differ between the two. Money stays DECIMAL (R2): never DOUBLE.
Cents columns are BIGINT computed from DECIMAL, rounded so that no sub-cent value can pass
a check it would fail exactly (floor for "at least" bounds, away from zero for "= 0").
"""

from __future__ import annotations

from support_billing import periods
from support_billing.exports.writers import LINE_TYPE_ORDER, WHOLE_QUANTITY_TYPES

RULE_OF_LINE_TYPE = {
    "support_subscription": "R7",
    "additional_incident_subscription": "R12",
    "additional_incident_upfront": "R12",
    "implementation_hours": "R13",
    "training_hours": "R13",
    "custom_development_hours": "R13",
    "prepaid_hours_deduction": "R13",
    "prior_period_adjustment": "R15",
}
RATE_LINE_TYPES = ("support_subscription", "additional_incident_subscription")
HOUR_LINE_TYPES = ("implementation_hours", "training_hours", "custom_development_hours")
# amount = round_half_up(quantity x unit price, 2) exactly (R2, R12, R13)
PRICED_LINE_TYPES = ("additional_incident_subscription", "additional_incident_upfront",
                     *HOUR_LINE_TYPES)
NORMAL_LINE_TYPES = tuple(t for t in LINE_TYPE_ORDER if t != "prior_period_adjustment")
# R15 source_ref ``M:<invoice or blank>:T``; ``\n?`` because Python's ``$`` (the gate's
# former regex) also matched before a final newline, RE2's does not.
SOURCE_REF_RE = r"^([0-9]{4}-[0-9]{2}):([^:]*):([a-z_]+)\n?$"
PERIOD_RE = r"^[0-9]{4}-(0[1-9]|1[0-2])$"


def _in(values) -> str:
    """A SQL list of string literals (the constants above, no user input)."""
    return "(" + ", ".join(f"'{v}'" for v in sorted(values)) + ")"


def _cents_floor(x: str) -> str:
    """Cents for an "at least" check: floor(x * 100) >= k exactly when x * 100 >= k."""
    return f"cast(floor(({x}) * 100) as bigint)"


def _away_from_zero(x: str) -> str:
    """A whole number for a "= 0" check, rounded away from zero: 0 exactly when x = 0."""
    return f"cast(sign({x}) * ceil(abs({x})) as bigint)"


def _cents_nonzero(x: str) -> str:
    """Cents for a "= 0" check (see ``_away_from_zero``)."""
    return _away_from_zero(f"({x}) * 100")


def _formula_safe(*columns: str) -> str:
    """R-IN6, section 5: no text cell begins with a character a spreadsheet runs as a
    formula (``=``, ``+``, ``-``, ``@``). Only text columns: a negative amount such as
    ``-10.00`` is a number, not text."""
    return "(" + " and ".join(
        f"left(coalesce({c}, ''), 1) not in ('=', '+', '-', '@')" for c in columns) + ")"

EXPECTED_RULE = "case line_type " + " ".join(
    f"when '{t}' then '{r}'" for t, r in RULE_OF_LINE_TYPE.items()) + " end"

# ---------------------------------------------------------------- sources
# R10, R12: per customer, the overage incidents charged up front on the month's invoices.
UPFRONT_LEDGER_SQL = """
    select customer_id, count(*) as incidents
    from main.fct_incidents
    where coverage = 'overage' and overage_treatment = 'upfront'
      and coalesce(charged_period, period) = $period
    group by customer_id
"""

# Every src_* CTE has the same columns in both versions. Amounts are DECIMAL, ``*_text``
# the value as stored. ``seq`` is a row's position as the gate reads it: hand-made rows in
# list order; warehouse invoices in invoice_number order (it breaks customer_id ties in the
# numbering check), warehouse lines in (invoice_number, line_number) order.
WAREHOUSE_SOURCES = f"""
src_invoices as (
    select row_number() over (order by invoice_number) as seq,
           invoice_number, document_type, customer_id, period, currency,
           total, cast(total as varchar) as total_text, line_count,
           cast(invoice_date as varchar) as invoice_date_text,
           cast(due_date as varchar) as due_date_text,
           customer_name, accounting_ref, email
    from main.invoices
    where period = $period
),
src_lines as (
    select null::bigint as seq,  -- read in (invoice_number, line_number) order
           invoice_number, customer_id, line_number, line_type, rule, source_ref,
           adjusts_period, adjusts_line_type, quantity, unit_price, amount,
           cast(amount as varchar) as amount_text,
           cast(unit_price as varchar) as unit_price_text,
           description
    from main.invoice_lines
    where period = $period
),
src_price_book as (
    select price_key, effective_from, value from main.price_book
),
src_customers as (
    select distinct customer_id from main.stg_exports__customers
),
src_ledger as ({UPFRONT_LEDGER_SQL})"""

LOADED_SOURCES = """
src_invoices as (
    select seq, invoice_number, document_type, customer_id, period, currency,
           cast(total as decimal(38, 10)) as total, total as total_text,
           cast(line_count as bigint) as line_count,
           invoice_date as invoice_date_text, due_date as due_date_text,
           customer_name, accounting_ref, email
    from gate_invoices
),
src_lines as (
    select seq, invoice_number, customer_id, cast(line_number as bigint) as line_number,
           line_type, rule, source_ref, adjusts_period, adjusts_line_type,
           cast(quantity as decimal(38, 10)) as quantity,
           cast(unit_price as decimal(38, 10)) as unit_price,
           cast(amount as decimal(38, 10)) as amount,
           amount as amount_text, unit_price as unit_price_text,
           description
    from gate_lines
),
src_price_book as (
    select price_key, cast(left(effective_from, 10) as date) as effective_from,
           cast(value as decimal(38, 10)) as value
    from gate_price_book
),
src_customers as (
    select distinct customer_id from gate_customers
),
src_ledger as (
    select customer_id, incidents from gate_ledger
)"""

# ---------------------------------------------------------------- prices in force
# The price book row in force on a day is the latest effective_from on or before it (sec. 2).
PRICES = """
prices as (
    select
        arg_max(value, effective_from) filter (
            where price_key = 'payment_terms_days' and effective_from <= $last_day) as terms,
        arg_max(value, effective_from) filter (
            where price_key = 'incident_rate_tier_1_2' and effective_from <= $first_day)
            as rate_tier_1_2,
        arg_max(value, effective_from) filter (
            where price_key = 'incident_rate_tier_3_plus' and effective_from <= $first_day)
            as rate_tier_3_plus,
        arg_max(value, effective_from) filter (
            where price_key = 'upfront_incident' and effective_from <= $first_day) as upfront,
        arg_max(value, effective_from) filter (
            where price_key = 'hourly_rate' and effective_from <= $first_day) as hourly
    from src_price_book
)"""

# ---------------------------------------------------------------- invoices (R2, R14)
INVOICES = f"""
line_totals as (
    select invoice_number,
           sum(coalesce(amount, 0)) as sum_of_lines,
           count(*) as lines,
           bool_or(coalesce(amount, 0) <> 0) as has_non_zero_line
    from src_lines
    group by invoice_number
),
typed as (
    select *,
           -- R14: a credit note exactly when the total is below 0.00
           case when coalesce(total, 0) < 0 then 'credit_note' else 'invoice' end
               as expected_document_type
    from src_invoices
),
numbered as (
    -- R14: each document type numbered 1, 2, 3 ... without gaps in customer_id order
    select *,
           row_number() over (partition by expected_document_type order by customer_id, seq)
               as expected_n
    from typed
)
select
    i.invoice_number,
    case i.expected_document_type when 'invoice' then 'INV' else 'CN' end
        || '-' || $yyyymm || '-' || printf('%05d', i.expected_n) as expected_invoice_number,
    i.document_type,
    i.expected_document_type,
    i.customer_id,
    k.customer_id is not null as customer_known,
    i.period,
    i.total_text,
    {_cents_nonzero("coalesce(i.total, 0) - coalesce(t.sum_of_lines, 0)")}
        as total_minus_sum_of_lines_cents,
    cast(coalesce(i.line_count, 0) - coalesce(t.lines, 0) as bigint) as line_count_minus_lines,
    coalesce(t.has_non_zero_line, false) as has_non_zero_line,
    left(i.invoice_date_text, 10) as invoice_date_text,
    cast($last_day as varchar) as expected_invoice_date,
    left(i.due_date_text, 10) as due_date_text,
    -- R14: due date = invoice date + the payment terms in force on the invoice date
    cast($last_day + cast(trunc(p.terms) as integer) as varchar) as expected_due_date,
    i.currency,
    {_formula_safe("i.invoice_number", "i.document_type", "i.customer_id", "i.customer_name",
                   "i.accounting_ref", "i.email", "i.period", "i.currency")}
        as text_cells_formula_safe
from numbered as i
cross join prices as p
left join line_totals as t on t.invoice_number = i.invoice_number
left join src_customers as k on k.customer_id = i.customer_id
order by i.seq
"""

# ---------------------------------------------------------------- lines (R2, R6, R7, R12-R15)
LINES = f"""
invoice_of_number as (
    -- a duplicated number (itself a failure) is matched to its last document
    select invoice_number, customer_id
    from src_invoices
    qualify row_number() over (partition by invoice_number order by seq desc) = 1
),
rates_of_customer as (
    -- R6: one rate per customer and month on all of its support lines
    select customer_id, count(distinct coalesce(unit_price, 0)) as rates
    from src_lines
    where line_type in {_in(RATE_LINE_TYPES)}
    group by customer_id
),
lines as (
    select *,
           coalesce(quantity, 0) as q, coalesce(unit_price, 0) as p, coalesce(amount, 0) as a,
           -- R14: the n-th smallest line number of its invoice should be n (ties share the
           -- last rank, so a duplicated number fails too)
           count(*) over (partition by invoice_number order by line_number)
               as expected_line_number,
           regexp_matches(coalesce(source_ref, ''), '{SOURCE_REF_RE}') as source_ref_ok,
           regexp_extract(coalesce(source_ref, ''), '{SOURCE_REF_RE}', 1) as source_period,
           regexp_extract(coalesce(source_ref, ''), '{SOURCE_REF_RE}', 3) as source_type
    from src_lines
)
select
    concat(l.invoice_number, '#', l.line_number) as line_id,
    l.invoice_number,
    i.invoice_number is not null as invoice_known,
    cast(l.line_number as bigint) as line_number,
    cast(l.expected_line_number as bigint) as expected_line_number,
    i.invoice_number is not null and i.customer_id is not distinct from l.customer_id
        as customer_matches_invoice,
    l.line_type,
    l.rule,
    {EXPECTED_RULE} as expected_rule,
    l.amount_text,
    l.unit_price_text,
    {_cents_floor("l.q")} as quantity_cents,
    case when l.line_type in {_in(WHOLE_QUANTITY_TYPES)} then l.q = trunc(l.q) end
        as incident_quantity_whole,
    case when l.line_type is distinct from 'prior_period_adjustment'
        then {_cents_floor("l.a")} end as non_adjustment_amount_cents,
    -- R6, R12, R13: unit prices are the price book's, in force on the month's first day
    case
        when l.line_type in {_in(RATE_LINE_TYPES)}
            then coalesce(l.p in (p.rate_tier_1_2, p.rate_tier_3_plus), false)
        when l.line_type = 'additional_incident_upfront' then coalesce(l.p = p.upfront, false)
        when l.line_type in {_in(HOUR_LINE_TYPES)} then coalesce(l.p = p.hourly, false)
        when l.line_type = 'prepaid_hours_deduction' then l.p = 0
    end as unit_price_in_force,
    case when l.line_type in {_in(RATE_LINE_TYPES)} then r.rates = 1 end
        as one_rate_per_customer,
    -- R2 rounded once, half up (DuckDB rounds DECIMAL half away from zero); R7 prorated
    -- support fee at most the full month; R13 deductions carry no amount
    case
        when l.line_type = 'support_subscription' then l.a >= 0 and l.a <= round(l.q * l.p, 2)
        when l.line_type = 'prepaid_hours_deduction' then l.a = 0
        when l.line_type in {_in(PRICED_LINE_TYPES)} then l.a = round(l.q * l.p, 2)
    end as amount_consistent,
    -- R15: quantity 1, unit price = amount <> 0, source_ref M:<invoice>:T agreeing with
    -- adjusts_period / adjusts_line_type when given, M an earlier month, T a normal type
    case when l.line_type = 'prior_period_adjustment' then
        l.source_ref_ok and l.q = 1 and l.p = l.a and l.a <> 0
        and coalesce(nullif(l.adjusts_period, ''), l.source_period) = l.source_period
        and coalesce(nullif(l.adjusts_line_type, ''), l.source_type) = l.source_type
        and regexp_matches(l.source_period, '{PERIOD_RE}') and l.source_period < $period
        and l.source_type in {_in(NORMAL_LINE_TYPES)}
    end as adjustment_well_formed,
    {_formula_safe("l.invoice_number", "l.customer_id", "l.line_type", "l.description",
                   "l.source_ref", "l.rule")} as text_cells_formula_safe
from lines as l
cross join prices as p
left join invoice_of_number as i on i.invoice_number = l.invoice_number
left join rates_of_customer as r on r.customer_id is not distinct from l.customer_id
order by l.seq, l.invoice_number, l.line_number
"""

# ---------------------------------------------------------------- reconciliation (R10, R12)
RECONCILIATION = f"""
invoiced as (
    select customer_id, sum(coalesce(quantity, 0)) as quantity
    from src_lines
    where line_type = 'additional_incident_upfront'
    group by customer_id
)
select
    coalesce(i.customer_id, g.customer_id) as customer_id,
    coalesce(i.quantity, 0) as upfront_quantity_invoiced,  -- DECIMAL (Decimal objects)
    cast(coalesce(g.incidents, 0) as bigint) as upfront_incidents_in_ledger,
    {_away_from_zero("coalesce(i.quantity, 0) - coalesce(g.incidents, 0)")}
        as invoiced_minus_ledger
from invoiced as i
full outer join src_ledger as g on g.customer_id = i.customer_id
order by 1
"""

FRAMES = {  # suite name -> (query after the shared CTEs, row label column)
    "invoices": (PRICES + "," + INVOICES, "invoice_number"),
    "invoice_lines": (PRICES + "," + LINES, "line_id"),
    "incident_reconciliation": (RECONCILIATION, "customer_id"),
}


def _fetch(con, sql: str, params: dict):
    """A query's rows as a pandas frame: bool / int64 columns (nullable ``boolean`` /
    ``Int64`` only where a column holds NULLs: never float), strings, one chunk per column.

    Through Arrow rather than ``.df()``: the same dtypes, a third of the conversion time."""
    import pandas as pd
    import pyarrow as pa

    table = pa.table(con.sql(sql, params=params)).combine_chunks()
    nullable = {pa.bool_(): pd.BooleanDtype(), pa.int64(): pd.Int64Dtype()}.get
    return pd.DataFrame({
        name: table[name].to_pandas(types_mapper=nullable if table[name].null_count else None)
        for name in table.column_names
    })


def _frames(con, sources: str, period: str) -> dict:
    params = {
        "period": period,
        "yyyymm": periods.compact(period),
        "first_day": periods.first_day(period),
        "last_day": periods.last_day(period),
    }
    out = {}
    for name, (body, label) in FRAMES.items():
        sql = f"with {sources},\n{body}"
        out[name] = (_fetch(con, sql, {k: v for k, v in params.items() if f"${k}" in sql}),
                     label)
    return out


def warehouse_frames(con, period: str, statements: bool = False) -> dict:
    """The three frames of ``period``, computed in the warehouse: {suite: (frame, label)};
    with ``statements``, also the customer statements' two (``statements_sql.GATE_FRAMES``).

    Through a cursor of ``con`` (the same database): the caller's connection may hold an
    unfinished result (``fetchone``), which DuckDB 2 will not interleave with ours."""
    cur = con.cursor()
    try:
        frames = _frames(cur, WAREHOUSE_SOURCES, period)
        if statements:  # section 5: the rows the statements are rendered from
            frames.update(statement_frames(cur, period))
        return frames
    finally:
        cur.close()


def statement_frames(con, period: str) -> dict:
    """The customer statements' two frames (``statements_sql.GATE_FRAMES``, section 5)."""
    from support_billing.exports.statements_sql import GATE_FRAMES

    return {name: (_fetch(con, sql, {"period": period}), label)
            for name, (sql, label) in GATE_FRAMES.items()}


# ---------------------------------------------------------------- hand-made rows
def _text(value) -> str | None:
    """A value as exact text (Decimal without exponent, dates ISO), None stays None."""
    from decimal import Decimal

    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):  # never expected: amounts are DECIMAL (R2)
        return repr(value)
    return str(value)


LOADED_TABLES = {  # table -> (columns, all varchar unless typed here)
    "gate_invoices": ("seq bigint", "invoice_number", "document_type", "customer_id", "period",
                      "currency", "total", "line_count", "invoice_date", "due_date",
                      "customer_name", "accounting_ref", "email"),
    "gate_lines": ("seq bigint", "invoice_number", "customer_id", "line_number", "line_type",
                   "rule", "source_ref", "adjusts_period", "adjusts_line_type", "quantity",
                   "unit_price", "amount", "description"),
    "gate_price_book": ("price_key", "effective_from", "value"),
    "gate_customers": ("customer_id",),
    "gate_ledger": ("customer_id", "incidents bigint"),
}


def load_inputs(inp):
    """An in-memory DuckDB holding ``inp`` (a ``gate.GateInputs``) as the gate_* tables."""
    import duckdb
    import pyarrow as pa

    records = {
        "gate_invoices": [{"seq": i, **r} for i, r in enumerate(inp.invoices)],
        "gate_lines": [{"seq": i, **r} for i, r in enumerate(inp.lines)],
        "gate_price_book": inp.price_book,
        "gate_customers": [{"customer_id": c} for c in inp.known_customers],
        "gate_ledger": [{"customer_id": c, "incidents": int(n)}
                        for c, n in inp.upfront_ledger.items()],
    }
    con = duckdb.connect(":memory:")
    for table, columns in LOADED_TABLES.items():
        arrays = {}
        for column in columns:
            name, _, sql_type = column.partition(" ")
            values = [r.get(name) for r in records[table]]
            arrays[name] = (pa.array(values, pa.int64()) if sql_type == "bigint"
                            else pa.array([_text(v) for v in values], pa.string()))
        con.register("rows_to_load", pa.table(arrays))
        con.execute(f"create table {table} as select * from rows_to_load")
        con.unregister("rows_to_load")
    return con


def loaded_frames(inp) -> dict:
    """The three frames of hand-made rows: {suite: (frame, label)}."""
    con = load_inputs(inp)
    try:
        return _frames(con, LOADED_SOURCES, inp.period)
    finally:
        con.close()


__all__ = ["FRAMES", "RULE_OF_LINE_TYPE", "load_inputs", "loaded_frames", "statement_frames",
           "warehouse_frames"]
