"""CSV records with a bound on their size: what ``csv.reader`` (excel dialect)
reads, except that a record over the bound, or one the csv module refuses, is
one ``Oversized`` value, and reading goes on at the next record.

Scope: splitting decoded text into records with memory bounded by ``max_chars``
whatever the input (a 2 GB line without a newline, a quoted field that never
closes, a million fields). Non-scope: decoding (the caller opens the stream; a
decoding error propagates), what the columns mean.

How: ``csv.reader`` is fed whole lines, never more than one record's worth
over the bound (a longer line is never read whole). When it fails (the record
is too long, or the csv module refuses a field: ``field larger than field
limit``), the rest of that record is skipped by ``_skip``, which follows the
csv module's state machine for the excel dialect (CPython ``Modules/_csv.c``,
``parse_process_char``, ``strict`` off) over bounded pieces and keeps only the
quote state. Starting again at the next line instead would read the rest of a
quoted field as rows: text in a payee's address could book a payment.
"""

from __future__ import annotations

import csv
import hashlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

_PIECE = 1 << 16  # characters read at a time while skipping an oversized record
_ENDS = ("\n", "\r")  # readline(newline="") ends a line at \n, \r or \r\n, and only there


@dataclass(frozen=True)
class Oversized:
    """A record that was skipped, not read."""

    line: int  # the physical line it starts on (1-based)
    chars: int  # its length in characters, separators, quotes and line ends included
    sha256: bytes  # SHA-256 of its text (UTF-8): inputs that differ only here still differ
    reason: str  # why it was not read, e.g. "is longer than 100000 characters"


class _TooLong(Exception):
    """The record being fed to the reader is over the bound."""


def records(f: TextIO, max_chars: int) -> Iterator[list[str] | Oversized]:
    """Each record of ``f`` (opened with ``newline=""``): its fields, ``[]`` for a
    blank line (as ``csv.reader``), or ``Oversized``."""
    before = 0  # physical lines consumed before the current reader started
    while True:
        held: deque[str] = deque()  # the last lines fed; always every line of the current record
        mark = [0]  # reader.line_num when the last record ended
        reader = csv.reader(_feed(f, max_chars, held, mark))
        try:
            for fields in reader:
                mark[0] = reader.line_num
                yield fields
            return
        except _TooLong:  # the line that overflowed is held, though the reader never got it
            taken, reason = reader.line_num - mark[0] + 1, f"is longer than {max_chars} characters"
        except csv.Error as e:
            taken, reason = reader.line_num - mark[0], f"was refused by the csv module ({e})"
        start = before + mark[0] + 1
        chars, sha, lines = _skip(f, list(held)[len(held) - taken:])
        yield Oversized(start, chars, sha, reason)
        before = start - 1 + lines


def _feed(f: TextIO, max_chars: int, held: deque[str], mark: list[int]) -> Iterator[str]:
    """The lines of ``f`` for ``csv.reader``; raises ``_TooLong`` instead of
    handing it more than ``max_chars`` characters of one record."""
    readline, hold = f.readline, held.append
    size = fed = 0  # characters in ``held``; lines handed to the reader
    while True:
        line = readline(max_chars + 1)  # a longer line is cut here, and is over the bound
        if not line:
            return
        hold(line)
        size += len(line)
        if size > max_chars:
            current = fed - mark[0] + 1  # lines of the record being read, this one included
            while len(held) > current:
                size -= len(held.popleft())  # lines of records already returned
            if size > max_chars:
                raise _TooLong
        fed += 1
        yield line


# The excel dialect's states, as far as skipping needs them (Modules/_csv.c):
# START_FIELD and QUOTE_IN_QUOTED_FIELD move alike on '"', ',' and anything else,
# and both end the record at a line end, so one state stands for both.
_START, _UNQUOTED, _QUOTED = 0, 1, 2


def _advance(text: str, state: int) -> int:
    """The state after ``text`` (no line end in it), from ``state``."""
    i, n = 0, len(text)
    while i < n:
        if state == _QUOTED:  # IN_QUOTED_FIELD: only a quote can change anything
            j = text.find('"', i)
            if j < 0:
                return _QUOTED
            state, i = _START, j + 1  # QUOTE_IN_QUOTED_FIELD ('""' comes back to _QUOTED below)
        elif state == _UNQUOTED:  # IN_FIELD: a quote here is an ordinary character
            j = text.find(",", i)
            if j < 0:
                return _UNQUOTED
            state, i = _START, j + 1
        else:
            c = text[i]
            state = _QUOTED if c == '"' else _START if c == "," else _UNQUOTED
            i += 1
    return state


def _skip(f: TextIO, taken: list[str]) -> tuple[int, bytes, int]:
    """Consume the rest of the record whose first lines are ``taken``: its
    length, the SHA-256 of its text and the physical lines it spans."""
    state, chars, lines, sha = _START, 0, 0, hashlib.sha256()
    pieces, after_cr = iter(taken), False
    while True:
        piece = next(pieces, None)
        if piece is None:
            piece = f.readline(_PIECE)
            if not piece:
                return chars, sha.digest(), lines  # the input ends inside the record: so does the record
        chars += len(piece)
        sha.update(piece.encode("utf-8", "surrogatepass"))
        body = piece.rstrip("\r\n")
        state = _advance(body, state)
        if len(body) < len(piece):
            lines += not (after_cr and piece == "\n")  # a CR LF that a read limit cut in two is one line end
            after_cr = piece.endswith("\r")
            if state != _QUOTED:  # a line end outside quotes ends the record
                if after_cr:
                    chars += _take_lf(f, sha)
                return chars, sha.digest(), lines
        else:
            after_cr = False


def _take_lf(f: TextIO, sha) -> int:
    """After a CR that ended a record: the LF of a CR LF that a read limit cut
    in two, if that is what comes next. (readline(newline="") never stops
    between them otherwise, so a LF next can only be that.)"""
    if not f.seekable():
        return 0  # the LF will read as a blank line, which is skipped
    at = f.tell()
    if f.read(1) == "\n":
        sha.update(b"\n")
        return 1
    f.seek(at)
    return 0
