"""A plain funding CSV as one columnar table (Polars), for the reconciliation's
set-based pass (decision 0025).

Scope: deciding whether a ``CsvSource``'s file is *plain*, and if so reading it
in C as nine string columns holding, row for row, exactly the values
``CsvSource.rows`` yields. Non-scope: what the values mean (``parse`` and the
reconciliation judge them), and every file that is not plain: those are read
by ``CsvSource.rows`` as before, so every rule of docs/reconciliation.md,
"Hostile input", keeps the one implementation it has.

Plain means: no byte-order mark, no quote or NUL anywhere and no carriage
return but in a CR LF line end (so ``csv.reader``'s excel dialect splits each
line at its commas and nothing else; Polars drops the CR of a CR LF as it does), valid UTF-8, every data line with exactly the header's number of fields
(no blank line, no short or long record), and no record over the source's
``max_chars``. Then a record is ``line.split(",")``, which is what Polars reads
with quoting off. Anything else: ``None``, and the caller streams the file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.finance.sources import CsvSource
from ledger.finance.transactions import COLUMNS, Source

if TYPE_CHECKING:
    import polars as pl

_PIECE = 1 << 22
_BOM = b"\xef\xbb\xbf"
_NOT_PLAIN = (b'"', b"\x00")


def plain_table(source: Source | object) -> pl.LazyFrame | None:
    """The rows of ``source`` as a lazy table with the columns ``COLUMNS`` (text,
    the empty string for an empty cell) and ``row`` (the data row's index), or
    None if it is not a plain CSV file. Everything that makes a file plain is
    checked here, on its bytes, so that what the caller collects cannot fail."""
    inner = getattr(source, "source", source)  # under a progress wrapper (cli), the file itself
    if type(inner) is not CsvSource:  # a subclass (the nightly snapshot) rewrites its cells
        return None
    try:
        header = _plain_header(inner)
    except OSError:
        return None  # the streaming pass reports it as a typed error
    if header is None:
        return None
    at = {name: i for i, name in enumerate(header)}
    if any(c not in at for c in COLUMNS):
        return None  # the file changed since the source read its header: the streaming pass says how
    import polars as pl

    lazy = pl.scan_csv(inner.path, has_header=False, skip_rows=1, quote_char=None, infer_schema=False,
                       empty_string_is_null=False, new_columns=[f"c{i}" for i in range(len(header))],
                       row_index_name="row")
    return lazy.select("row", *(pl.col(f"c{at[c]}").alias(c) for c in COLUMNS))


def _plain_header(source: CsvSource) -> list[str] | None:
    """The header's fields if the file is plain, else None: no byte-order mark,
    none of ``_NOT_PLAIN``, no CR outside a CR LF, valid UTF-8, at least one data
    line, every line with the header's number of commas (so no blank, short or
    long record), none longer than ``max_chars`` with its line end (in bytes,
    which are at least its characters)."""
    with source.path.open("rb") as f:
        first = f.readline(source.max_chars + 1)
        if first.startswith(_BOM) or not first.endswith(b"\n"):
            return None
        try:
            header = first.rstrip(b"\n").removesuffix(b"\r").decode("utf-8").split(",")
        except UnicodeDecodeError:
            return None
        commas, limit, lines = len(header) - 1, source.max_chars - 1, 0
        carry = b""
        while True:
            piece = f.read(_PIECE)
            data = carry + piece
            if not piece:
                chunk, carry = data, b""  # the last line, if it has no line end
            else:
                cut = data.rfind(b"\n") + 1
                chunk, carry = data[:cut], data[cut:]
                if len(carry) > limit:
                    return None
            if chunk:
                if any(b in chunk for b in _NOT_PLAIN) or chunk.count(b"\r") != chunk.count(b"\r\n"):
                    return None  # a CR alone ends a record for csv.reader, not for Polars
                try:
                    chunk.decode("utf-8")  # whole lines: a sequence never straddles two chunks
                except UnicodeDecodeError:
                    return None
                records = chunk.split(b"\n")
                if records[-1] == b"":
                    records.pop()
                if max(map(len, records)) > limit or any(r.count(b",") != commas for r in records):
                    return None
                lines += len(records)
            if not piece:
                break
    return header if lines else None
