"""The quality gate's frames: one period of the check models, read for the GX suites.

The suites (``expectations/*.json``) check one pandas frame each. Checks that span rows or
tables (numbering without gaps, total = sum of lines, prices in force, the incident
ledger) are computed by the dbt models ``gate_invoice_checks``, ``gate_line_checks`` and
``gate_incident_reconciliation`` (``dbt_project/models/gate``, over every month) as plain
columns that the suites then expect to be equal, 0 or true; this module selects the
billed period of each, in the order the gate reports rows.
"""

from __future__ import annotations

# suite name -> (query of one period, row label column)
FRAMES = {
    "invoices": ("""
        select * exclude (seq) from main.gate_invoice_checks
        where period = $period order by seq
    """, "invoice_number"),
    "invoice_lines": ("""
        select * exclude (period) from main.gate_line_checks
        where period = $period order by invoice_number, line_number
    """, "line_id"),
    "incident_reconciliation": ("""
        select * exclude (period) from main.gate_incident_reconciliation
        where period = $period order by customer_id
    """, "customer_id"),
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


def _frames(con, period: str) -> dict:
    return {name: (_fetch(con, sql, {"period": period}), label)
            for name, (sql, label) in FRAMES.items()}


def warehouse_frames(con, period: str, statements: bool = False) -> dict:
    """The three frames of ``period``, computed in the warehouse: {suite: (frame, label)};
    with ``statements``, also the customer statements' two (``statements_sql.GATE_FRAMES``).

    Through a cursor of ``con`` (the same database): the caller's connection may hold an
    unfinished result (``fetchone``), which DuckDB 2 will not interleave with ours."""
    cur = con.cursor()
    try:
        frames = _frames(cur, period)
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


__all__ = ["FRAMES", "statement_frames", "warehouse_frames"]
