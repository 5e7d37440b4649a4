"""Spreadsheet-safe CSV cells: what every CSV file the ledger writes puts in a cell.

Scope: one reversible text transformation, so that a spreadsheet (Excel, WPS,
LibreOffice) opening a file the ledger wrote never evaluates a cell as a formula
(CWE-1236, "CSV injection"), while the ledger can still read back, exactly, a
file it wrote itself. Non-scope: CSV quoting (the ``csv`` module does RFC 4180),
encodings, and files other systems wrote (the funding system's own export is read
literally: docs/contracts.md §2.5 has no escaping).

The rule (OWASP "CSV Injection"; OWASP ASVS 5.0 requirement 1.2.10):

- a cell that starts with a formula trigger (``=``, ``+``, ``-``, ``@``, tab,
  carriage return; also line feed and NUL, which ASVS lists and some importers
  drop), or whose first non-blank character is one (an importer that trims
  leading spaces would otherwise expose it), gets a single quote ``'`` in front;
- a cell that starts with ``'`` gets one more ``'`` in front, so that the
  transformation can be undone: drop one leading ``'`` from any cell that has
  one (``unescape``). A spreadsheet treats the leading quote as "this is text".

Numbers: ``-5`` is written ``'-5``, shown as text. No column a person reads as a
number starts with ``-`` in the ledger's own reports (amounts there are JSON
objects, seqs are non-negative), and every file the ledger reads back goes
through ``unescape`` (the nightly snapshot), so a negative amount round-trips
exactly and is still refused by the contract's rule (a positive integer).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

# OWASP CSV Injection: = + - @ tab CR; ASVS 1.2.10 adds NUL; LF for the same reason as CR.
TRIGGERS = frozenset("=+-@\t\r\n\x00")
QUOTE = "'"


def needs_quote(cell: str) -> bool:
    """True if ``cell`` would be written with a leading ``'``."""
    first = cell[:1]
    return first in TRIGGERS or first == QUOTE or cell.lstrip()[:1] in TRIGGERS


def escape(cell: str) -> str:
    """The cell as written: inert in a spreadsheet, and ``unescape(escape(c)) == c``."""
    return QUOTE + cell if needs_quote(cell) else cell


def unescape(cell: str) -> str:
    """The value a cell written by ``escape`` holds: one leading ``'`` dropped."""
    return cell[1:] if cell[:1] == QUOTE else cell


def escape_row(cells: Iterable[object]) -> list[str]:
    """A row of values as written: None as the empty cell, anything else as its text."""
    return [escape("" if c is None else str(c)) for c in cells]


# Some cell of a row, each cell preceded by U+001F, starts as ``needs_quote`` says (a
# U+001F inside a cell only adds candidates). \s is str.isspace(), what lstrip() strips.
_ANY_NEEDS_QUOTE = re.compile("\x1f(?:['=+\\-@\t\r\n\x00]|\\s*[=+\\-@\x00])").search


def escape_texts(cells: Sequence[str]) -> Sequence[str]:
    """``escape_row`` of a row of text, for a million-row file: the row itself
    when no cell needs a quote (one regular-expression search), as most rows."""
    return escape_row(cells) if _ANY_NEEDS_QUOTE("\x1f" + "\x1f".join(cells)) else cells
