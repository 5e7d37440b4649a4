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

_PIECE = 1 << 24
_BOM = b"\xef\xbb\xbf"
_NOT_PLAIN = (b'"', b"\x00")


def plain_table(source: Source | object) -> pl.LazyFrame | None:
    """The rows of ``source`` as a lazy table with the columns ``COLUMNS`` (text,
    the empty string for an empty cell) and ``row`` (the data row's index), or
    None if it is not a plain CSV file. Checked here by one streaming pass, so
    that what the caller collects from it cannot fail."""
    inner = getattr(source, "source", source)  # under a progress wrapper (cli), the file itself
    if type(inner) is not CsvSource:  # a subclass (the nightly snapshot) rewrites its cells
        return None
    try:
        shape = _shape(inner)
    except OSError:
        return None  # the streaming pass reports it as a typed error
    if shape is None:
        return None
    header, commas, lines = shape
    width = len(header)
    at = {name: i for i, name in enumerate(header)}
    if commas != lines * (width - 1) or lines < 2 or any(c not in at for c in COLUMNS):
        return None  # some line has another number of fields, no data lines, or the file changed
    try:
        import polars as pl

        lazy = pl.scan_csv(inner.path, has_header=False, skip_rows=1, quote_char=None, infer_schema=False,
                           empty_string_is_null=False, new_columns=[f"c{i}" for i in range(width)],
                           row_index_name="row")
        # Each record's characters as ``csv_records`` counts them: fields, separators and the line end (CR LF).
        length = pl.sum_horizontal([pl.col(f"c{i}").str.len_chars() for i in range(width)]) + width + 1
        rows, longest = lazy.select(pl.len(), length.max()).collect(engine="streaming").row(0)
    except Exception:  # noqa: BLE001 - not UTF-8, a longer line, ...: not plain; the streaming pass judges it
        return None
    if rows != lines - 1 or (longest or 0) > inner.max_chars:
        return None
    return lazy.select("row", *(pl.col(f"c{at[c]}").alias(c) for c in COLUMNS))


def _shape(source: CsvSource) -> tuple[list[str], int, int] | None:
    """The header's fields, the commas and the lines of a file with none of
    ``_NOT_PLAIN`` and no CR outside a CR LF (a last line without its line end
    counts), else None."""
    commas = newlines = crs = crlfs = 0
    last = b""
    with source.path.open("rb") as f:
        first = f.readline(source.max_chars + 1)
        if first.startswith(_BOM) or not first.endswith(b"\n"):
            return None
        try:
            header = first.rstrip(b"\n").removesuffix(b"\r").decode("utf-8").split(",")
        except UnicodeDecodeError:
            return None
        f.seek(0)
        while piece := f.read(_PIECE):
            if any(b in piece for b in _NOT_PLAIN):
                return None
            commas += piece.count(b",")
            newlines += piece.count(b"\n")
            crs += piece.count(b"\r")
            crlfs += piece.count(b"\r\n") + (last == b"\r" and piece[:1] == b"\n")  # one cut between pieces
            last = piece[-1:]
    if crs != crlfs:
        return None  # a CR alone ends a record for csv.reader, not for Polars
    return header, commas, newlines + (last != b"\n")
