"""The funding systems' transactions (docs/contracts.md §2.5). Pure: the columns, the
parsed record, and the ``Source`` interface; the sources themselves (CSV, SQL)
are ``ledger.finance.sources``.

A ``Source`` yields raw rows (column name -> text) and can be read more than
once (reconciliation makes two passes: reversals first, then the rest).

``parse`` turns a raw row into a ``Txn`` or a ``RowProblem`` naming the column
and the rule: a bad row is a finding, never a crash.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Protocol

COLUMNS = ("txn_id", "kind", "reverses", "grant_ref", "payee_scheme", "payee_id", "amount_fen", "booked_on",
           "programme")
KINDS = ("payment", "recovery", "reversal")
MAX_FEN = 10**13


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


Record = tuple  # one row's values in COLUMNS order: text from a CSV, typed values from SQL


def record_of(row: Mapping[str, object]) -> Record:
    """A mapping row (column name -> value) as a record; absent columns are None."""
    return tuple(row.get(c) for c in COLUMNS)


_AMOUNT = re.compile(r"\s*\d{1,14}\s*").fullmatch


def _text(v: object) -> str:
    return v.strip() if type(v) is str else ("" if v is None else str(v).strip())


def txn_id_of(rec: Record) -> str:
    """A record's txn_id as ``parse`` reads it (trimmed), without parsing the rest."""
    return _text(rec[0])


def parse(rec: Record, line: int) -> Txn | RowProblem:
    """One record as a ``Txn``, or the first rule of docs/contracts.md §2.5 it breaks.

    Called once per row of a million-row night: one tuple unpacking and no
    per-column lookups (bench/reconcile.py's breakdown)."""
    txn_id, kind, reverses, grant_ref, scheme, payee_id, raw_amount, booked, programme = rec
    txn_id = _text(txn_id)
    if not txn_id:
        return RowProblem(line, "", "txn_id", "is required")
    kind = _text(kind).lower()
    if kind not in KINDS:
        return RowProblem(line, txn_id, "kind", "must be one of " + ", ".join(KINDS))
    if isinstance(raw_amount, int) and not isinstance(raw_amount, bool):
        amount = raw_amount
    elif isinstance(raw_amount, str) and _AMOUNT(raw_amount):
        amount = int(raw_amount)
    else:
        return RowProblem(line, txn_id, "amount_fen", "must be a positive integer number of fen")
    if not 0 < amount <= MAX_FEN:
        return RowProblem(line, txn_id, "amount_fen", "must be a positive integer number of fen")
    if isinstance(booked, date):
        booked_on = booked
    else:
        try:
            booked_on = date.fromisoformat(_text(booked))
        except ValueError:
            return RowProblem(line, txn_id, "booked_on", "must be a date YYYY-MM-DD")
    reverses = _text(reverses)
    if kind == "reversal" and not reverses:
        return RowProblem(line, txn_id, "reverses", "a reversal names the txn_id it cancels")
    return Txn(txn_id, kind, reverses, _text(grant_ref), _text(scheme).lower(), _text(payee_id), amount,
               booked_on, _text(programme))


class Source(Protocol):
    label: str  # what the report and the anchor entry call this source

    def rows(self) -> Iterator[Record]: ...  # records in COLUMNS order
