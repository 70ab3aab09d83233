"""``support-billing verify PATH``: an export folder checked against its manifest before
anyone imports it (SPEC section 5, 6).

Every file the manifest lists (in any subfolder, e.g. ``statements/``) must be there with
its sha256 and, for a CSV, its row count; no file may be there that the manifest does not
list; the parts of a split file must be complete; every document's total must equal the
sum of its lines in ``invoice_lines.csv`` and in each accounting file. The manifest's own
sha256 (``sha256sum manifest.json``) identifies the month: docs/accounting.md says how to
use it against importing a month twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from pathlib import Path, PurePosixPath

MANIFEST = "manifest.json"
# file (or the file a part belongs to) -> (number column, amount of a row, sign, doc type)
ACCOUNTING = {
    "quickbooks_invoices.csv": ("InvoiceNo", ("ItemAmount",), 1, "invoice"),
    "quickbooks_credit_memos.csv": ("CreditMemoNo", ("ItemAmount",), -1, "credit_note"),
    "xero_invoices.csv": ("InvoiceNumber", ("Quantity", "UnitAmount"), 1, "invoice"),
    "xero_credit_notes.csv": ("InvoiceNumber", ("Quantity", "UnitAmount"), 1, "credit_note"),
}


def _csv_rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""), strict=True))


def _number(value: str | None) -> Decimal:
    return Decimal(value or "0")


def _load_manifest(folder: Path) -> tuple[dict | None, list[str]]:
    path = folder / MANIFEST
    if not path.is_file():
        return None, [f"{MANIFEST}: missing"]
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        assert isinstance(manifest.get("files"), list)
    except (ValueError, AssertionError, AttributeError):
        return None, [f"{MANIFEST}: not a manifest (invalid JSON or no file list)"]
    return manifest, []


def _check_files(folder: Path, entries: list[dict]) -> tuple[dict[str, bytes], list[str]]:
    """sha256 and row count of every listed file; its bytes by name."""
    found, diffs = {}, []
    for entry in entries:
        name = str(entry.get("name", ""))
        pure = PurePosixPath(name)
        if not name or pure.is_absolute() or ".." in pure.parts:
            diffs.append(f"{MANIFEST}: lists {name!r}, not a file inside the folder")
            continue
        path = folder / pure
        if not path.is_file():
            diffs.append(f"{name}: missing (listed in the manifest)")
            continue
        data = path.read_bytes()
        found[name] = data
        if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
            diffs.append(f"{name}: sha256 differs from the manifest (the file was changed)")
        if name.endswith(".csv") and "rows" in entry:
            try:
                rows = len(_csv_rows(data))
            except (csv.Error, UnicodeDecodeError) as exc:
                diffs.append(f"{name}: not a readable CSV ({exc})")
                continue
            if rows != entry["rows"]:
                diffs.append(f"{name}: {rows} rows, the manifest says {entry['rows']}")
    return found, diffs


def _extra_files(folder: Path, entries: list[dict]) -> list[str]:
    listed = {PurePosixPath(str(e.get("name", ""))).as_posix() for e in entries} | {MANIFEST}
    return [f"{rel}: extra file, not in the manifest"
            for rel in sorted(p.relative_to(folder).as_posix()
                              for p in folder.rglob("*") if p.is_file())
            if rel not in listed]


def _check_parts(entries: list[dict]) -> list[str]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for entry in entries:
        if entry.get("part_of"):
            groups[entry["part_of"]].append(entry)
    diffs = []
    for whole, parts in sorted(groups.items()):
        count = max(int(p.get("parts", 0)) for p in parts)
        have = {int(p.get("part", 0)) for p in parts}
        diffs += [f"{whole}: part {n} of {count} missing from the manifest"
                  for n in range(1, count + 1) if n not in have]
    return diffs


def _documents(found: dict[str, bytes]) -> tuple[dict, list[str]]:
    """invoice_number -> (document type, total), and total/line checks against the lines."""
    if "invoices.csv" not in found or "invoice_lines.csv" not in found:
        return {}, []
    docs, diffs = {}, []
    sums: dict[str, Decimal] = defaultdict(Decimal)
    counts: dict[str, int] = defaultdict(int)
    for row in _csv_rows(found["invoice_lines.csv"]):
        sums[row["invoice_number"]] += _number(row["amount"])
        counts[row["invoice_number"]] += 1
    for row in _csv_rows(found["invoices.csv"]):
        number, total = row["invoice_number"], _number(row["total"])
        docs[number] = (row["document_type"], total)
        if sums.get(number, Decimal(0)) != total:
            diffs.append(f"invoices.csv: {number} total {total}, its lines in "
                         f"invoice_lines.csv sum to {sums.get(number, Decimal(0)):.2f}")
        if counts.get(number, 0) != int(row["line_count"] or 0):
            diffs.append(f"invoices.csv: {number} line_count {row['line_count']}, "
                         f"invoice_lines.csv holds {counts.get(number, 0)}")
    diffs += [f"invoice_lines.csv: lines of {n}, which is not in invoices.csv"
              for n in sorted(set(sums) - set(docs))]
    return docs, diffs


def _check_accounting(found: dict[str, bytes], entries: list[dict], docs: dict) -> list[str]:
    """Each accounting file (its parts together) totals every document as invoices.csv."""
    diffs = []
    for whole, (key, amount_cols, sign, doc_type) in ACCOUNTING.items():
        names = [e["name"] for e in entries
                 if e.get("name") == whole or e.get("part_of") == whole]
        if not names or any(n not in found for n in names) or not docs:
            continue
        sums: dict[str, Decimal] = defaultdict(Decimal)
        for name in names:
            for row in _csv_rows(found[name]):
                value = Decimal(1)
                for col in amount_cols:
                    value *= _number(row[col])
                sums[row[key]] += sign * value
        for number, (kind, total) in sorted(docs.items()):
            if kind == doc_type and sums.get(number, Decimal(0)) != total:
                diffs.append(f"{whole}: {number} sums to {sign * sums.get(number, Decimal(0))}"
                             f", invoices.csv says {sign * total}")
        label = doc_type.replace("_", " ")
        diffs += [f"{whole}: rows of {n or '(no number)'}, which is not a {label} in "
                  "invoices.csv"
                  for n in sorted(set(sums) - {n for n, d in docs.items() if d[0] == doc_type},
                                  key=str)]
    return diffs


def verify_folder(folder: Path) -> list[str]:
    """Every difference between ``folder`` and its manifest, one line each (empty: intact)."""
    folder = Path(folder)
    manifest, diffs = _load_manifest(folder)
    if manifest is None:
        return diffs
    entries = [e for e in manifest["files"] if isinstance(e, dict)]
    found, diffs = _check_files(folder, entries)
    diffs += _extra_files(folder, entries)
    diffs += _check_parts(entries)
    try:
        docs, doc_diffs = _documents(found)
        diffs += doc_diffs + _check_accounting(found, entries, docs)
    except (KeyError, InvalidOperation, ValueError, csv.Error) as exc:
        diffs.append(f"totals could not be checked: {type(exc).__name__}: {exc}")
    return diffs


def cli_verify(path: Path, home: Path | None = None) -> int:
    """``support-billing verify PATH``: 0 intact, 1 with one line per difference. A PATH
    that is not a folder here is looked up under HOME (``exports/2026-05``, section 5)."""
    folder = Path(path)
    if not folder.is_dir() and home is not None and not folder.is_absolute():
        folder = Path(home) / folder if (Path(home) / folder).is_dir() else folder
    if not folder.is_dir():
        print(f"error: {folder} is not a folder", file=sys.stderr)
        return 2
    try:
        diffs = verify_folder(folder)
    except OSError as exc:
        print(f"error: {folder}: {exc}", file=sys.stderr)
        return 1
    if diffs:
        for diff in diffs:
            print(diff)
        print(f"error: {folder} does not match its manifest ({len(diffs)} difference(s)); "
              "do not import it", file=sys.stderr)
        return 1
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    sha = hashlib.sha256((folder / MANIFEST).read_bytes()).hexdigest()
    print(f"{folder}: intact, {len(manifest['files'])} files match {MANIFEST} "
          f"(month {manifest.get('month', '?')}, manifest sha256 {sha})")
    return 0
