"""Held rows (SPEC R-IN5): retried at the end of every ingest, in their original order,
and the ingest log kept true (rows_read = rows_loaded + rows_rejected + rows_held)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import duckdb

from support_billing.ingest.kinds import ident, kinds, q


@dataclass
class ReleaseResult:
    released: int = 0  # held rows loaded at the end of this ingest
    released_earlier: int = 0  # ... of which held by an earlier ingest
    still_held: int = 0
    held_samples: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def adjust_log(con, ingest_id: int, file_name: str, count: int, to: str) -> None:
    """Move ``count`` held rows of a file's ingest_log row to rows_loaded (released) or
    rows_rejected (dropped), so rows_read = rows_loaded + rows_rejected + rows_held stays
    true for every file. When one ingest read two files of the same name, the counts go to
    the ones with held rows."""
    remaining = count
    candidates = con.execute(
        "SELECT rowid, rows_held FROM raw.ingest_log WHERE ingest_id = ? AND file_name = ? "
        "AND status = 'loaded' ORDER BY rows_held DESC, rowid",
        [ingest_id, file_name],
    ).fetchall()
    for rowid, rows_held in candidates:
        if remaining <= 0:
            break
        take = min(remaining, rows_held)
        if take <= 0:
            continue
        share_loaded = take if to == "loaded" else 0
        share_rejected = take if to == "rejected" else 0
        con.execute(
            "UPDATE raw.ingest_log SET rows_held = rows_held - ?, rows_loaded = rows_loaded + ?, "
            "rows_rejected = rows_rejected + ? WHERE rowid = ?",
            [take, share_loaded, share_rejected, rowid],
        )
        remaining -= take


# ---------------------------------------------------------------------------------------
# End of an ingest: retry held rows (R-IN5)
# ---------------------------------------------------------------------------------------


def release_held(
    con: duckdb.DuckDBPyConnection, ingest_id: int, samples: int = 10
) -> ReleaseResult:
    """Load every held row whose customer is now known, in the original order."""
    out = ReleaseResult()
    con.begin()
    try:
        con.execute(
            "CREATE TEMP TABLE _ing_rel AS SELECT * FROM raw.held_rows WHERE customer_id IN "
            "(SELECT customer_id FROM raw.customers) ORDER BY hold_seq"
        )
        total, earlier = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE ingest_id <> ?) FROM _ing_rel", [ingest_id]
        ).fetchone()
        out.released, out.released_earlier = int(total), int(earlier)
        if total:
            for kind in kinds().values():
                if not kind.has_customer:
                    continue
                cols = kind.column_names
                spec = {c.name: c for c in kind.columns}
                # one JSON parse per row: every field as text, then cast to its type
                shape = "{" + ", ".join(f'"{c}": "VARCHAR"' for c in cols) + "}"
                exprs = ", ".join(
                    f"CAST(j.{ident(c)} AS {spec[c].sql_type})" for c in cols
                )
                con.execute(
                    f"DELETE FROM {kind.table} WHERE {ident(kind.key)} IN "
                    "(SELECT row_key FROM _ing_rel WHERE kind = ?)",
                    [kind.name],
                )
                con.execute(
                    f"INSERT INTO {kind.table} ({', '.join(ident(c) for c in cols)}, source_file, "
                    f"source_line, ingest_id) SELECT {exprs}, file_name, line_number, ingest_id "
                    f"FROM (SELECT *, json_transform(row_json, {q(shape)}) AS j FROM _ing_rel "
                    "WHERE kind = ?) ORDER BY hold_seq",
                    [kind.name],
                )
            for ing, f, cnt in con.execute(
                "SELECT ingest_id, file_name, count(*) FROM _ing_rel GROUP BY ALL ORDER BY ALL"
            ).fetchall():
                adjust_log(con, ing, f, cnt, "loaded")
            con.execute(
                "DELETE FROM raw.held_rows WHERE hold_seq IN (SELECT hold_seq FROM _ing_rel)"
            )
        con.execute("DROP TABLE _ing_rel")
        con.commit()
    except BaseException:
        con.rollback()
        raise
    out.still_held = int(con.execute("SELECT count(*) FROM raw.held_rows").fetchone()[0])
    out.held_samples = [
        {"file_name": f, "line_number": ln, "kind": k, "row_key": key, "reason": r}
        for f, ln, k, key, r in con.execute(
            "SELECT file_name, line_number, kind, row_key, reason FROM raw.held_rows "
            "ORDER BY hold_seq LIMIT ?",
            [samples],
        ).fetchall()
    ]
    return out
