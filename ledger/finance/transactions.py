"""The funding systems' transactions (docs/contracts.md §2.5). Pure: the columns, the
parsed record, and the ``Source`` interface; the sources themselves (CSV, SQL)
are ``ledger.finance.sources``.

A ``Source`` yields raw rows (column name -> text) and can be read more than
once (reconciliation makes two passes: reversals first, then the rest).

``parse`` turns a raw row into a ``Txn`` or a ``RowProblem`` naming the column
and the rule: a bad row is a finding, never a crash. A row a source could not
read at all (too long, not text) is an ``Unreadable`` record, which ``parse``
turns into its ``RowProblem``; ``screen`` makes one of a row from a source that
is not a CSV file (docs/reconciliation.md, "Hostile input").
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Protocol

COLUMNS = ("txn_id", "kind", "reverses", "grant_ref", "payee_scheme", "payee_id", "amount_fen", "booked_on",
           "programme")
KINDS = ("payment", "recovery", "reversal")
MAX_FEN = 10**13
# A row longer than this (a CSV record with its separators and quotes, or a SQL
# row's values as text) is not read: memory stays bounded whatever the input. A
# contract row is ~150 characters; the csv module's own field limit is 131072.
MAX_ROW_CHARS = 100_000


@dataclass(frozen=True, slots=True)
class Txn:
    txn_id: str
    kind: str  # payment | recovery | reversal
    reverses: str  # for a reversal: the txn_id it cancels
    grant_ref: str  # as booked (may be wrong or empty)
    payee_scheme: str
    payee_id: str
    amount_fen: int
    booked_on: date
    programme: str


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int  # 1-based data row number in the source
    txn_id: str
    field: str
    rule: str


Record = tuple  # one row's values in COLUMNS order: text (CSV, SQL as text), or typed values from another source


class Unreadable(tuple):
    """A row that could not be read: a record of COLUMNS' width holding only
    None, with the problem ``parse`` reports and the row's contribution to the
    input fingerprint (``digest``), fixed by whoever could see the row."""

    txn_id: str  # as far as it could be told, else ""
    field: str  # the column, or "record" for the row as a whole
    rule: str
    digest: int  # what ``row_digest`` returns for it

    def __new__(cls, txn_id: str, field: str, rule: str, digest: int) -> Unreadable:
        self = super().__new__(cls, (None,) * len(COLUMNS))
        self.txn_id, self.field, self.rule, self.digest = txn_id, field, rule, digest
        return self

    def __reduce__(self):  # a tuple subclass with its own __new__ pickles only if told how
        return (Unreadable, (self.txn_id, self.field, self.rule, self.digest))


def record_of(row: Mapping[str, object]) -> Record:
    """A mapping row (column name -> value) as a record; absent columns are None."""
    return tuple(row.get(c) for c in COLUMNS)


_AMOUNT = re.compile(r"\s*\d{1,14}\s*").fullmatch
# Identifiers are one line of text. Refused inside them: C0 and C1 controls (NUL,
# tab, CR, LF ...), U+2028/U+2029 (line and paragraph separators: JavaScript and
# str.splitlines() break lines there), the bidirectional embeddings, overrides and
# isolates that make text display in another order (CVE-2021-42574, "Trojan
# Source"), and lone surrogates (not Unicode text; no UTF-8 encoding).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_ONE_LINE = "must be one line of text: no control characters, line separators, bidi overrides or lone surrogates"
_IDENTIFIERS = ("txn_id", "reverses", "grant_ref", "payee_scheme", "payee_id", "programme")


def _text(v: object) -> str:
    return v.strip() if type(v) is str else ("" if v is None else str(v).strip())


def shown(text: str) -> str:
    """``text`` as a report can carry it: each character ``_UNSAFE`` matches written
    as ``\\uXXXX`` (a finding must name a bad txn_id without passing it on)."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def txn_id_of(rec: Record) -> str:
    """A record's txn_id as ``parse`` reads it (trimmed), without parsing the rest."""
    return _text(rec[0])


def parse(rec: Record, line: int) -> Txn | RowProblem:
    """One record as a ``Txn``, or the first rule of docs/contracts.md §2.5 it breaks.

    Called once per row of a million-row night: one tuple unpacking and no
    per-column lookups (bench/reconcile.py's breakdown). A value that is neither
    text nor an int (a SQL DECIMAL, FLOAT, TIMESTAMP) is judged by its text, as
    the nightly snapshot holds it, so that a SQL source and its snapshot agree."""
    if type(rec) is not tuple and isinstance(rec, Unreadable):
        return RowProblem(line, rec.txn_id, rec.field, rec.rule)
    txn_id, kind, reverses, grant_ref, scheme, payee_id, raw_amount, booked, programme = rec
    txn_id = _text(txn_id)
    if not txn_id:
        return RowProblem(line, "", "txn_id", "is required")
    kind = _text(kind).lower()
    if kind not in KINDS:
        return RowProblem(line, shown(txn_id), "kind", "must be one of " + ", ".join(KINDS))
    if type(raw_amount) is int:
        amount = raw_amount
    else:
        digits = raw_amount if type(raw_amount) is str else _text(raw_amount)
        if not _AMOUNT(digits):  # no sign, point or exponent: "1e5", "-5", "12.50" are refused
            return RowProblem(line, shown(txn_id), "amount_fen", "must be a positive integer number of fen")
        amount = int(digits)
    if not 0 < amount <= MAX_FEN:
        return RowProblem(line, shown(txn_id), "amount_fen", "must be a positive integer number of fen")
    if type(booked) is date:
        booked_on = booked
    else:
        try:
            booked_on = date.fromisoformat(_text(booked))
        except ValueError:
            return RowProblem(line, shown(txn_id), "booked_on", "must be a date YYYY-MM-DD")
    reverses = _text(reverses)
    if kind == "reversal" and not reverses:
        return RowProblem(line, shown(txn_id), "reverses", "a reversal names the txn_id it cancels")
    t = Txn(txn_id, kind, reverses, _text(grant_ref), _text(scheme).lower(), _text(payee_id), amount,
            booked_on, _text(programme))
    if not (txn_id + reverses + t.grant_ref + t.payee_scheme + t.payee_id + t.programme).isprintable():
        return _unsafe(t, line) or t  # the fast test above also stops at spaces other than U+0020
    return t


def _unsafe(t: Txn, line: int) -> RowProblem | None:
    for name in _IDENTIFIERS:
        m = _UNSAFE.search(getattr(t, name))
        if m:
            return RowProblem(line, shown(t.txn_id), name,
                              f"{_ONE_LINE} (U+{ord(m.group()):04X} at character {m.start() + 1})")
    return None


def row_digest(rec: Record) -> int:
    """SHA-256 of the record's values joined by U+001F (None as empty), as an
    integer. The input fingerprint, and so the anchor entries of earlier
    nights, depend on exactly this definition. An ``Unreadable`` record counts
    as the digest its source gave it; a lone surrogate (only a source other than
    a CSV file can hand one over) is encoded as UTF-8 would if it could
    ("surrogatepass"), so that it still counts, and differently."""
    if type(rec) is not tuple and isinstance(rec, Unreadable):
        return rec.digest
    try:
        text = "\x1f".join(rec)  # the common case: every value is text (a CSV)
    except TypeError:
        text = "\x1f".join("" if v is None else str(v) for v in rec)
    try:
        data = text.encode()
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.sha256(data).digest(), "big")


def screen(rec: Record) -> Record:
    """A row from a source other than a CSV file (whose reader does this itself),
    as ``parse`` can take it: unchanged, or ``Unreadable`` if its values as text
    are over ``MAX_ROW_CHARS`` or are not Unicode text (a lone surrogate, or bytes
    a database could not decode). Either would break the nightly snapshot, which
    must read back exactly what the source gave."""
    texts = ["" if v is None else v if type(v) is str else str(v) for v in rec]
    if sum(map(len, texts)) > MAX_ROW_CHARS:
        return Unreadable(_short_id(texts[0]), "record", f"is longer than {MAX_ROW_CHARS} characters and was not read",
                          row_digest(rec))
    for name, text in zip(COLUMNS, texts):
        if not text.isascii():
            try:
                text.encode()
            except UnicodeEncodeError as e:
                return Unreadable(_short_id(texts[0]), name, f"is not valid Unicode text ({_what(text[e.start])} at "
                                                             f"character {e.start + 1}) and the row was not read",
                                  row_digest(rec))
    return rec


def _what(surrogate: str) -> str:
    cp = ord(surrogate)
    # U+DC80..U+DCFF: a byte that was not UTF-8, kept by the "surrogateescape" decoder (PEP 383)
    return f"byte 0x{cp - 0xDC00:02X}, not UTF-8" if 0xDC80 <= cp <= 0xDCFF else f"lone surrogate U+{cp:04X}"


def _short_id(txn_id: str) -> str:
    """The txn_id of a row that is not read, if it is short enough to tell."""
    return shown(txn_id.strip()) if len(txn_id) <= 200 else ""


class Source(Protocol):
    label: str  # what the report and the anchor entry call this source

    def rows(self) -> Iterator[Record]: ...  # records in COLUMNS order
