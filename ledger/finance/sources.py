"""Where the funding systems' transactions come from (docs/contracts.md §2.5): a CSV file,
or a SQL table or view reached by an SQLAlchemy URL. Another system (an HTTP
API, a file drop) is one more class with ``label`` and ``rows()``."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from operator import itemgetter
from pathlib import Path

from sqlalchemy import MetaData, Table, create_engine, select

from ledger.errors import Problem, ValidationError
from ledger.finance.transactions import COLUMNS, Record, Source, Txn


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
            raise ValidationError([Problem("funding", f"CSV lacks columns {', '.join(missing)} (docs/contracts.md §2.5)")])

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
                    yield pick(row + [None] * (width - len(row)))
                else:
                    yield pick(row)


class SqlSource:
    """A table or view with the contract's columns, streamed in txn_id order."""

    def __init__(self, url: str, table: str = "funding_transactions"):
        self.url, self.table = url, table
        self.label = f"sql:{table}"
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?", table):
            raise ValidationError([Problem("funding_table", "must be a table or view name")])

    def rows(self) -> Iterator[Record]:
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
