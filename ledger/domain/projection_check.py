"""Checking the domain projections against the log (decision 0019).

The projections (``grants``, ``clawbacks``, ``money_moves``, ``exits``,
``sanction_versions``, ``honors``, ``links``, ``overrides``) are what the nightly
reconciliation and the award guard read in bulk. They are insert-only (revision
0006), but on SQLite whoever holds the file can drop a trigger, and on
PostgreSQL the owner can: so before a night is anchored, and in ``ledger
verify``, the rows are rebuilt from the (verified) log entries and compared
with the stored ones. The first difference raises ``ProjectionDrift`` naming
the table, the row's key and the column; nothing is written.

The rebuild replays only the entries whose types add rows (``WRITERS``), with
the same pure rule that wrote them (``projection.rows_of``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, select

from ledger.domain.projection import WRITERS, key_of, rows_of
from ledger.errors import IntegrityError
from ledger.log.entry import from_json
from ledger.store import log_store
from ledger.store.schema import DOMAIN_PROJECTIONS, entries

# The column holding the seq of the entry that made each row: "as known at size N" is `< N`.
SEQ_COLUMN = {"sanction_versions": "version_seq", "grants": "seq", "honors": "seq", "clawbacks": "seq",
              "money_moves": "move_seq", "exits": "exit_seq", "links": "seq", "overrides": "seq"}
# What the nightly reconciliation reads (ledger.finance.job.load_book and Lookups).
NIGHT_TABLES = ("grants", "clawbacks", "money_moves", "exits", "sanction_versions")
ALL_TABLES = tuple(t.name for t in DOMAIN_PROJECTIONS)
_TABLES = {t.name: t for t in DOMAIN_PROJECTIONS}

Rows = dict[tuple[object, ...], tuple[object, ...]]
"""A table's rows by primary key: the values in column order."""


class ProjectionDrift(IntegrityError):
    """A stored projection row is not what the log says (missing, extra, or a
    column differs). Fatal like any verification failure: stop and investigate;
    ``ledger reindex`` cannot repair an insert-only table, the owner must."""

    def __init__(self, table: str, key: Mapping[str, object], seq: int | None, detail: str):
        self.table, self.key = table, dict(key)
        named = ", ".join(f"{k}={v}" for k, v in key.items())
        super().__init__(seq, "projection drift", f"table {table}, row {named}: {detail}")


def expected_rows(conn: Connection, size: int, tables: Sequence[str] = ALL_TABLES) -> dict[str, Rows]:
    """Each table's rows as the log's first ``size`` entries make them."""
    types = sorted({t for name in tables for t in WRITERS[name]})  # amendments come with their imposition
    out: dict[str, Rows] = {name: {} for name in tables}
    versions: dict[int, Mapping[str, Any]] = {}  # sanction seq -> its latest version row (for amendments)
    query = (select(entries.c.canonical).where(entries.c.type.in_(types), entries.c.seq < size)
             .order_by(entries.c.seq))
    for r in conn.execute(query):
        # The C JSON parser, not the strict canonical one (3x faster on the night's path,
        # bench/reconcile.py): for canonical bytes both give the same values, and bytes
        # that are not canonical fail the log's own verification (hash chain), which the
        # DAG runs before the night and `ledger verify` before this check.
        e = from_json(json.loads(bytes(r.canonical)))
        for table, values in rows_of(e, versions.__getitem__):
            if table.name == "sanction_versions":
                versions[values["sanction_seq"]] = values  # type: ignore[index]
            if table.name in out:
                out[table.name][key_of(table, values)] = tuple(values.get(c.name) for c in table.columns)
    return out


def stored_rows(conn: Connection, table: Table, size: int | None) -> Rows:
    """A table's stored rows made by entries before ``size`` (every row if None)."""
    query = select(table)
    if size is not None:
        query = query.where(table.c[SEQ_COLUMN[table.name]] < size)
    at = [list(table.columns).index(c) for c in table.primary_key.columns]
    return {tuple(r[i] for i in at): tuple(r) for r in conn.execute(query)}


def stored_keys(conn: Connection, table: Table) -> set[tuple[object, ...]]:
    cols = list(table.primary_key.columns)
    return {tuple(r) for r in conn.execute(select(*cols))}


def first_drift(table: Table, want: Rows, got: Rows, missing_from: int | None = None) -> ProjectionDrift | None:
    """The first difference between the log's rows and the stored ones, in key order
    (pure). A row missing from ``got`` whose seq is at least ``missing_from`` is not a
    difference (committed after the stored rows were read, or to be added by a rebuild)."""
    if want == got:
        return None  # the common case, compared in C; the walk below only names the difference
    for key in sorted(set(want) | set(got), key=_sortable):
        named = dict(zip((c.name for c in table.primary_key.columns), key, strict=True))
        seq = named.get(SEQ_COLUMN[table.name])
        at = seq if isinstance(seq, int) else None
        if key not in got:
            if missing_from is not None and at is not None and at >= missing_from:
                continue
            return ProjectionDrift(table.name, named, at, f"missing: the log has it (entry {at})")
        if key not in want:
            return ProjectionDrift(table.name, named, at, f"no entry of the log makes this row (entry {at} is "
                                                          "not of a type that writes it, or is beyond the size read)")
        if want[key] != got[key]:
            diffs = [f"{c.name} is {g!r}, the log says {w!r}"
                     for c, w, g in zip(table.columns, want[key], got[key], strict=True) if w != g]
            return ProjectionDrift(table.name, named, at, "; ".join(diffs))
    return None


def check(conn: Connection, size: int, tables: Iterable[str] = ALL_TABLES, *, missing_ok: bool = False,
          beyond: bool = True) -> int:
    """Raise ``ProjectionDrift`` at the first stored row that is not what the log's
    first ``size`` entries make. ``beyond``: rows made by entries at or after
    ``size`` count as extra (``ledger verify`` reads at the head; the night reads at
    its size and ignores later rows, which it never reads). ``missing_ok``: rows
    the log makes but the table lacks are not drift (``ledger reindex`` adds them).
    Returns the number of stored rows checked."""
    names = tuple(tables)
    got = {name: stored_rows(conn, _TABLES[name], None if beyond else size) for name in names}
    head = size
    if beyond:
        # Appends may commit while this reads (PostgreSQL, READ COMMITTED): a row read
        # above belongs to an entry below the size read now, never beyond it.
        head = max(size, log_store.size(conn))
    want = expected_rows(conn, head, names)
    for name in names:
        drift = first_drift(_TABLES[name], want[name], got[name], 0 if missing_ok else size)
        if drift is not None:
            raise drift
    return sum(len(rows) for rows in got.values())


def _sortable(key: tuple[object, ...]) -> tuple[tuple[int, object], ...]:
    return tuple((0, k) if isinstance(k, int) else (1, str(k)) for k in key)
