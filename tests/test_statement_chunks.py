"""Statements of a large month render in worker processes, a chunk of documents each
(section 5): the split into chunks never changes a page (test_statements_flow.py renders
a real month both ways)."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from support_billing.exports import statements


@settings(deadline=None)
@given(st.lists(st.integers(0, 30), unique=True, max_size=12).map(sorted),
       st.lists(st.tuples(st.integers(0, 31), st.integers(0, 9)), max_size=40),
       st.integers(1, 5))
def test_chunks_of_documents_give_the_contexts_of_the_whole_month(docs, rows, size):
    """The worker processes' split (section 5): each chunk's slices of the month's tables,
    merged on their own, give the same contexts, in the same order, as the whole month
    merged at once, whatever the chunk size and wherever a document's rows fall."""
    def number(n: int) -> str:
        return f"INV-202603-{n:05d}"

    documents = [{"invoice_number": number(n), "document_type": "invoice"} for n in docs]
    lines = sorted(({"invoice_number": number(n), "line_number": k} for n, k in rows),
                   key=lambda r: (r["invoice_number"], r["line_number"]))
    tables = {"documents": pa.Table.from_pylist(documents,
                                                schema=pa.schema([("invoice_number", pa.string()),
                                                                  ("document_type", pa.string())])),
              "lines": pa.Table.from_pylist(lines, schema=pa.schema(
                  [("invoice_number", pa.string()), ("line_number", pa.int64())]))}

    def merged(parts: dict) -> list:
        return list(statements._merged({k: iter(v) for k, v in parts.items()}, {}))

    whole = merged({k: t.to_pylist() for k, t in tables.items()})
    chunked = []
    for bounds in statements._chunk_bounds(tables, size):
        chunked += merged({k: tables[k].slice(o, n).to_pylist()
                           for k, (o, n) in bounds.items()})
    assert chunked == whole
    assert [c["doc"]["invoice_number"] for c in whole] == [number(n) for n in docs]
