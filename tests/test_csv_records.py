"""The bounded CSV reader against the csv module itself: on any text, every
record within the bound is exactly what ``csv.reader`` reads, every record
over it is one ``Oversized`` (its first line, length and SHA-256 exact), and
nothing after it is lost or invented: the skip follows the quote state as the
csv module does."""

from __future__ import annotations

import csv
import hashlib
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.finance.csv_records import Oversized, records


def reference(text: str, bound: int) -> list:
    """csv.reader (no bound), with each record's raw text recovered from the
    lines it consumed: a record over ``bound`` becomes the Oversized it must be."""
    lines = io.StringIO(text, newline="").readlines()
    consumed: list[str] = []

    def feed():
        for line in lines:
            consumed.append(line)
            yield line

    csv.field_size_limit(1 << 30)
    try:
        out, first = [], 1
        reader = csv.reader(feed())
        for fields in reader:
            raw = "".join(consumed)
            consumed.clear()
            if len(raw) > bound:
                out.append(Oversized(first, len(raw), hashlib.sha256(raw.encode()).digest(),
                                     f"is longer than {bound} characters"))
            else:
                out.append(fields)
            first = reader.line_num + 1
        return out
    finally:
        csv.field_size_limit(131072)


# Text where quoting matters: separators, quotes, every kind of line end, long runs.
piece = st.sampled_from([",", '"', '""', "\n", "\r", "\r\n", "a", "bb", "中", " ", "x" * 12, '",', ',"'])


@settings(max_examples=300, deadline=None)
@given(st.lists(piece, max_size=60).map("".join), st.integers(1, 40))
def test_records_are_csv_reader_records_or_oversized(text, bound):
    got = list(records(io.StringIO(text, newline=""), bound))
    assert got == reference(text, bound)


def test_a_field_the_csv_module_refuses_is_oversized_too():
    limit = csv.field_size_limit(10)
    try:
        got = list(records(io.StringIO('a,b\n"' + "q" * 20 + '\nstill quoted",1\nc,d\n', newline=""), 1000))
    finally:
        csv.field_size_limit(limit)
    assert got[0] == ["a", "b"] and got[2] == ["c", "d"]
    assert isinstance(got[1], Oversized) and got[1].line == 2 and "field limit" in got[1].reason
