"""The funding systems' transactions (contract 2.5) and where they come from.

A ``Source`` yields raw rows (column name -> text) and can be read more than
once (reconciliation makes two passes: reversals first, then the rest). Two
sources ship: a CSV file and a SQL table or view reached by an SQLAlchemy URL.
Another system (an HTTP API, a file drop) is one more class with ``label`` and
``rows()``.

``parse`` turns a raw row into a ``Txn`` or a ``RowProblem`` naming the column
and the rule: a bad row is a finding, never a crash.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from operator import itemgetter
from datetime import date
from pathlib import Path
from typing import Protocol

from sqlalchemy import MetaData, Table, create_engine, select

from ledger.errors import ValidationError, Problem

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
    """One record as a ``Txn``, or the first contract 2.5 rule it breaks.

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


class CsvSource:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.label = f"csv:{self.path.name}"
        if not self.path.is_file():
            raise ValidationError([Problem("funding", f"no such file: {self.path}")])
        with self.path.open(newline="", encoding="utf-8-sig") as f:
            header = next(csv.reader(f), [])
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise ValidationError([Problem("funding", f"CSV lacks columns {', '.join(missing)} (contract 2.5)")])

    def rows(self) -> Iterator[Record]:
        """Records as ``csv.DictReader`` would read them (blank lines skipped,
        a missing trailing field None, extra fields ignored, the last of two
        equal column names wins) without building a dict per row."""
        with self.path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = next(reader, [])
            where = {name: i for i, name in enumerate(header)}
            pick = itemgetter(*(where[c] for c in COLUMNS))
            width = max(where[c] for c in COLUMNS) + 1
            for row in reader:
                if not row:
                    continue
                if len(row) < width:
                    row = row + [None] * (width - len(row))
                yield pick(row)


class SqlSource:
    """A table or view with the contract's columns, streamed in txn_id order."""

    def __init__(self, url: str, table: str = "funding_transactions"):
        self.url, self.table = url, table
        self.label = f"sql:{table}"
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?", table):
            raise ValidationError([Problem("funding_table", "must be a table or view name")])

    def rows(self) -> Iterator[Mapping[str, object]]:
        engine = create_engine(self.url)
        try:
            schema, _, name = self.table.rpartition(".")
            t = Table(name, MetaData(), autoload_with=engine, schema=schema or None)
            missing = [c for c in COLUMNS if c not in t.c]
            if missing:
                raise ValidationError([Problem("funding", f"{self.table} lacks columns {', '.join(missing)}")])
            with engine.connect() as conn:
                result = conn.execution_options(stream_results=True, yield_per=10_000).execute(
                    select(*[t.c[c] for c in COLUMNS]).order_by(t.c.txn_id))
                for r in result:
                    yield tuple(r)
        finally:
            engine.dispose()


def open_source(spec: str, table: str | None = None) -> Source:
    """``path/to/file.csv`` or an SQLAlchemy URL (with ``table``, default funding_transactions)."""
    if "://" in spec:
        return SqlSource(spec, table or "funding_transactions")
    return CsvSource(spec)


def write_csv(path: Path, txns: list[Txn]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for t in txns:
            w.writerow([t.txn_id, t.kind, t.reverses, t.grant_ref, t.payee_scheme, t.payee_id, t.amount_fen,
                        t.booked_on.isoformat(), t.programme])
