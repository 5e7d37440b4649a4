"""Where the funding systems' transactions come from (docs/contracts.md §2.5): a CSV file,
or a SQL table or view reached by an SQLAlchemy URL. Another system (an HTTP
API, a file drop) is one more class with ``label`` and ``rows()``; its rows go
through ``transactions.screen`` as the SQL source's do.

What is wrong with the input as a whole (no file, not UTF-8, no header, a
column missing or twice, no table) is a ``ValidationError`` naming the fix;
what is wrong with one row is that row's ``invalid_row`` finding, never a
crash (docs/reconciliation.md, "Hostile input").
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
from collections.abc import Iterator
from operator import itemgetter
from pathlib import Path
from typing import TextIO

from sqlalchemy import MetaData, Table, Text, cast, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, NoSuchTableError, SQLAlchemyError

from ledger.errors import ConfigError, Problem, ValidationError
from ledger.finance import csv_cells
from ledger.finance.csv_records import Oversized, records
from ledger.finance.transactions import COLUMNS, MAX_ROW_CHARS, Record, Source, Txn, Unreadable, screen
from ledger.signing.private_files import private_writer

CONTRACT = "docs/contracts.md §2.5"
# Encodings refused by name: Excel's "Unicode text" is UTF-16; GBK/GB18030 is what
# Excel on a Chinese-locale Windows saves as "CSV (comma delimited)".
_UTF16_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _refuse(rule: str) -> ValidationError:
    return ValidationError([Problem("funding", rule)])


class CsvSource:
    """A funding system's CSV export: UTF-8 (a BOM is allowed), a header row
    naming every contract column once, in any order, other columns ignored;
    records as ``csv.DictReader`` reads them (blank lines skipped, a missing
    trailing field None); a record longer than ``max_chars`` an ``Unreadable``."""

    max_chars = MAX_ROW_CHARS

    def __init__(self, path: str | Path, name: str | None = None):
        self.path = Path(path)
        self.label = csv_identity(name)
        if not self.path.exists():
            raise _refuse(f"no such file: {self.path}")
        if not self.path.is_file():
            raise _refuse(f"not a regular file: {self.path}" + (" (a directory)" if self.path.is_dir() else ""))
        with self._open() as f:
            self._positions(self._header(f))

    def rows(self) -> Iterator[Record]:
        """Records as ``csv.DictReader`` would read them (blank lines skipped,
        a missing trailing field None, extra fields ignored) without building a
        dict per row; an ``Unreadable`` for a record over ``max_chars``."""
        with self._open() as f:
            try:
                lines = records(f, self.max_chars)
                pick, width = self._positions(self._header(f, lines))
                for row in lines:
                    if type(row) is list:
                        if not row:
                            continue
                        if len(row) < width:
                            yield pick(row + [None] * (width - len(row)))
                        else:
                            yield pick(row)
                    elif isinstance(row, Oversized):
                        yield _unreadable(row)
            except UnicodeDecodeError:
                raise self._not_utf8() from None

    def _open(self) -> TextIO:
        try:
            with self.path.open("rb") as raw:
                start = raw.read(4)
            if start.startswith(_UTF16_BOMS):
                raise _refuse(f"{self.path} is UTF-16 or UTF-32 (Excel's \"Unicode text\"); save it as \"CSV UTF-8\" "
                              f"or convert it: iconv -f UTF-16 -t UTF-8 {self.path} > funding-utf8.csv")
            return self.path.open(newline="", encoding="utf-8-sig")  # RFC 4180 §2: newline="" keeps quoted line ends
        except OSError as e:
            raise _refuse(f"cannot read {self.path}: {e.strerror or e}") from e

    def _header(self, f: TextIO, lines: Iterator[list[str] | Oversized] | None = None) -> list[str]:
        try:
            header = next(lines or records(f, self.max_chars), None)
        except UnicodeDecodeError:
            raise self._not_utf8() from None
        if header is None:
            raise _refuse(f"{self.path} is empty: its first line must be the header row ({CONTRACT})")
        if isinstance(header, Oversized):
            raise _refuse(f"the header row of {self.path} is longer than {self.max_chars} characters")
        return header

    def _positions(self, header: list[str]) -> tuple[itemgetter, int]:
        """Where each contract column is; every one present, none twice."""
        if not header:
            raise _refuse(f"the first line of {self.path} is blank: it must be the header row ({CONTRACT})")
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise _refuse(f"CSV lacks columns {', '.join(missing)} ({CONTRACT})")
        twice = [c for c in COLUMNS if header.count(c) > 1]
        if twice:  # which one would count is a guess: refuse rather than pick one silently
            where = "; ".join(f"{c} in columns {', '.join(str(i + 1) for i, h in enumerate(header) if h == c)}"
                              for c in twice)
            raise _refuse(f"the header names a column more than once ({where}): each column of {CONTRACT} "
                          "must appear exactly once")
        at = {name: i for i, name in enumerate(header)}
        return itemgetter(*(at[c] for c in COLUMNS)), max(at[c] for c in COLUMNS) + 1

    def _not_utf8(self) -> ValidationError:
        line, offset, byte, gb = _first_bad_byte(self.path)
        looks = " It decodes as GB18030: Excel on a Chinese-locale Windows saves that." if gb else ""
        return _refuse(f"{self.path} is not UTF-8: byte 0x{byte:02x} at offset {offset} (line {line}).{looks} "
                       f"Convert it: iconv -f GB18030 -t UTF-8 {self.path} > funding-utf8.csv (or save it from "
                       "Excel as \"CSV UTF-8\"); the ledger does not guess encodings")


def _unreadable(o: Oversized) -> Unreadable:
    # Not its line: the report names rows by content, never by position (decision 0006).
    return Unreadable("", "record", f"{o.reason} and was not read", int.from_bytes(o.sha256, "big"))


def _first_bad_byte(path: Path) -> tuple[int, int, int, bool]:
    """Where ``path`` stops being UTF-8: (line, byte offset, the byte, whether the
    whole file decodes as GB18030). Read in pieces; called only on failure."""
    utf8, gb = codecs.getincrementaldecoder("utf-8")(), codecs.getincrementaldecoder("gb18030")()
    offset, lines, is_gb = 0, 1, True
    bad: tuple[int, int, int] | None = None
    with path.open("rb") as f:
        while (piece := f.read(1 << 20)) or bad is None:
            final = not piece
            if bad is None:
                pending = utf8.getstate()[0]  # the start of a sequence the last piece cut
                try:
                    utf8.decode(piece, final)
                except UnicodeDecodeError as e:
                    data = pending + piece
                    bad = (lines + data[:e.start].count(b"\n"), offset - len(pending) + e.start, data[e.start])
                lines += piece.count(b"\n")
                offset += len(piece)
            if is_gb:
                try:
                    gb.decode(piece, final)
                except UnicodeDecodeError:
                    is_gb = False
            if final or (bad is not None and not is_gb):
                break
    line, at, byte = bad or (lines, offset, 0)
    return line, at, byte, is_gb


class SqlSource:
    """A table or view with the contract's columns, streamed in txn_id order.

    Every column is read as the database's text for it (``CAST(... AS TEXT)``):
    no driver or SQLAlchemy conversion runs, so a malformed stored date, an
    ``infinity`` timestamp or an out-of-range number is that row's finding
    rather than an exception that stops the night; and the values are exactly
    what the nightly snapshot holds. (Integers, decimals, dates and text read
    the same as ``str()`` of the typed value did, so input fingerprints of such
    columns are unchanged.)"""

    def __init__(self, url: str, table: str = "funding_transactions"):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?", table):
            raise ValidationError([Problem("funding_table", "must be a table or view name")])
        self.url, self.table = sqlalchemy_url(url), table
        self.label = sql_identity(self.url, table)
        self._shown = make_url(self.url).render_as_string(hide_password=True)

    def rows(self) -> Iterator[Record]:
        try:
            engine = create_engine(self.url)
        except (ArgumentError, NoSuchModuleError, ImportError) as e:
            raise ConfigError(f"funding: cannot use {self._shown}: {e}") from e
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _lenient_sqlite_text)
        try:
            schema, _, name = self.table.rpartition(".")
            t = Table(name, MetaData(), autoload_with=engine, schema=schema or None)
            missing = [c for c in COLUMNS if c not in t.c]
            if missing:
                raise ValidationError([Problem("funding", f"{self.table} lacks columns {', '.join(missing)}")])
            with engine.connect() as conn:
                result = conn.execution_options(stream_results=True, yield_per=10_000).execute(
                    select(*[cast(t.c[c], Text).label(c) for c in COLUMNS]).order_by(t.c.txn_id))
                for r in result:
                    yield screen(tuple(r))
        except NoSuchTableError as e:
            raise ValidationError([Problem("funding_table", f"no table or view {self.table} in {self._shown}")]) from e
        except SQLAlchemyError as e:  # unreachable, refused, or gone mid-read: the night cannot go on
            cause = getattr(e, "orig", None) or e
            detail = (str(cause).splitlines() or [""])[0][:300]
            raise ConfigError(f"funding: reading {self.table} from {self._shown} failed: "
                              f"{type(cause).__name__}: {detail}") from e
        finally:
            engine.dispose()


def _lenient_sqlite_text(dbapi_conn, _record) -> None:
    # SQLite stores whatever bytes it is given as TEXT; Python's sqlite3 raises on
    # the first that are not UTF-8, which would stop the night. Keep them as lone
    # surrogates instead ("surrogateescape"): ``screen`` makes that row a finding.
    dbapi_conn.text_factory = _decode_text


def _decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", "surrogateescape")


def open_source(spec: str, table: str | None = None, name: str | None = None) -> Source:
    """``path/to/file.csv`` or an SQLAlchemy URL (with ``table``, default funding_transactions).
    ``name``: which funding system a CSV file comes from, when several deliver files."""
    if "://" in spec:
        return SqlSource(spec, table or "funding_transactions")
    return CsvSource(spec, name)


# --- which funding system: the anchor's key -----------------------------------------------
#
# A night is anchored once per funding system (request id ``reconciliation:<as_of>:<identity>``),
# so the identity must name the system, never the input: not a CSV file's name (renaming the
# file would anchor a second, different result for the same night) and not its content (a
# changed file would be a new "system", and its changed past rows would never be refused).
# Decision 0014.

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MAX_IDENTITY = 100  # the anchor's request id (128 characters) holds "reconciliation:<as_of>:" and this


def csv_identity(name: str | None = None) -> str:
    """``csv`` for the funding system that delivers files, or ``csv#<name>`` for one of
    several (``--funding-name``). The file's name and path are not part of it."""
    if name is None:
        return "csv"
    if not _NAME.fullmatch(name):
        raise ValidationError([Problem("funding_name", "must be 1-64 letters, digits, '.', '_' or '-'")])
    return f"csv#{name}"


def sqlalchemy_url(url: str) -> str:
    """``url`` as SQLAlchemy takes it: Airflow's connection URIs say ``postgres://``
    (and often ``postgresql://`` without a driver): both mean psycopg 3, the driver
    the ledger installs."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() in ("postgres", "postgresql"):
        return f"postgresql+psycopg://{rest}"
    if sep and scheme.lower().startswith("postgres+"):
        return f"postgresql+{scheme.split('+', 1)[1]}://{rest}"
    return url


def sql_identity(url: str, table: str) -> str:
    """``sql:<backend>://<host>[:<port>]/<database>#<table>``: where the rows are. Never
    the user or the password (another account reading the same table is the same
    source); a longer identity is kept as its SHA-256."""
    try:
        u = make_url(sqlalchemy_url(url))
    except ArgumentError as e:
        raise ConfigError(f"funding: not an SQLAlchemy URL: {e}") from e
    host = (u.host or "").lower() + (f":{u.port}" if u.port else "")
    label = f"sql:{u.get_backend_name()}://{host}/{u.database or ''}#{table}"
    if len(label) > MAX_IDENTITY:
        label = f"sql:sha256:{hashlib.sha256(label.encode()).hexdigest()}"
    return label


def identity(spec: str, table: str | None = None, name: str | None = None) -> str:
    """The identity ``open_source(spec, table, name)`` would have, without opening it."""
    if "://" in spec:
        return sql_identity(spec, table or "funding_transactions")
    return csv_identity(name)


def write_csv(path: Path, txns: list[Txn]) -> None:
    """A funding system's export (the simulated one's, ``ledger demo-funding``):
    cells made spreadsheet-safe (``csv_cells``), since people open these. It is
    read back literally, like any funding system's file: a value that starts with
    a formula character would come back with a leading ``'``; the simulation
    writes none."""
    with private_writer(path, text=True, newline="") as f:  # payees' identity numbers: 0600
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for t in txns:
            w.writerow(csv_cells.escape_row([t.txn_id, t.kind, t.reverses, t.grant_ref, t.payee_scheme, t.payee_id,
                                             t.amount_fen, t.booked_on.isoformat(), t.programme]))
