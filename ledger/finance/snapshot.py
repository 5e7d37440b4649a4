"""The nightly extract: one night's funding rows as the ledger writes them and
reads them back (docs/reconciliation.md, "On Airflow").

Scope: the file ``extract-<as_of>/funding.csv`` and its reader. Reconciling the
snapshot must give the report, byte for byte, that reconciling the source
directly gives (same rows, same findings, same input fingerprint), since both
anchor under the same request id. Non-scope: where the directory goes (tasks).

Format: a CSV (UTF-8, RFC 4180) with the header ``COLUMNS``; each row the
source's values as text (None as the empty cell, ``str()`` of typed SQL values,
which ``parse`` judges the same way), each cell through ``csv_cells.escape`` so
that the file is safe to open in a spreadsheet, and undone on reading. A row
the source could not read (``Unreadable``) is a marker row: ``'!`` in the first
cell (``escape`` never writes that), then the txn_id shown, the column, the rule
and the row's digest in hex, so that it comes back as the same finding and
counts the same in the fingerprint.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path

from ledger.errors import Problem, ValidationError
from ledger.finance.csv_cells import escape, escape_row, escape_texts, unescape
from ledger.finance.sources import CsvSource
from ledger.finance.transactions import COLUMNS, MAX_ROW_CHARS, Record, Unreadable

MARKER = "'!"


def write(f, rows: Iterable[Record]) -> int:
    """Write the header and ``rows`` to the text stream ``f`` (opened with
    ``newline=""``); return the number of rows."""
    w = csv.writer(f)
    w.writerow(COLUMNS)
    n = 0
    for row in rows:
        if type(row) is tuple:
            try:
                w.writerow(escape_texts(row))  # a CSV's or a SQL source's text: most rows
            except TypeError:  # a None or a typed value (another kind of source)
                w.writerow(escape_row(row))
        elif isinstance(row, Unreadable):
            w.writerow([MARKER, escape(row.txn_id), escape(row.field), escape(row.rule), f"{row.digest:064x}",
                        *[""] * (len(COLUMNS) - 5)])
        else:
            w.writerow(escape_row(row))
        n += 1
    return n


class SnapshotSource(CsvSource):
    """The snapshot, read back as the values the source gave, and reported under
    the original source's label (the anchor names it)."""

    # A row within MAX_ROW_CHARS at the source is at most twice that here (each
    # quote doubled, a cell quoted and prefixed), so every row written is read back.
    max_chars = 2 * MAX_ROW_CHARS + 4 * len(COLUMNS) + 2

    def __init__(self, path: Path, label: str):
        super().__init__(path)
        self.label = label

    def rows(self) -> Iterator[Record]:
        for line, rec in enumerate(super().rows(), 1):
            try:
                if "'" not in "\x1f".join(rec):  # most rows: nothing escaped, one C-level test
                    yield rec
                    continue
            except TypeError:  # a None: an Unreadable, or a short row (this file has none)
                pass
            if isinstance(rec, Unreadable):
                yield rec  # over even this file's bound: not written by ``write``
            elif rec[0] == MARKER:
                yield _marker(rec, line, self.path)
            else:
                yield tuple(v if v is None or v[:1] != "'" else unescape(v) for v in rec)


def _marker(rec: Record, line: int, path: Path) -> Unreadable:
    try:
        return Unreadable(unescape(rec[1] or ""), unescape(rec[2] or ""), unescape(rec[3] or ""), int(rec[4], 16))
    except (TypeError, ValueError) as e:
        raise ValidationError([Problem("snapshot", f"row {line} of {path} is a damaged marker row: "
                                                   "run the extract again")]) from e
