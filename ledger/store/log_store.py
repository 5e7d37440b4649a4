"""Reads and writes of the log tables (entries, tree_nodes, checkpoints).

Every function takes an open ``Connection``; transactions and locks belong to
the services. Hot paths are SQLAlchemy Core ``executemany``, never the ORM.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Executable, Row, Select, and_, bindparam, or_, select, text

from ledger.log.entry import Entry, from_canonical
from ledger.log.merkle import Address
from ledger.store.schema import checkpoints, entries, tree_nodes

# Arbitrary but fixed: the advisory lock key of "the append lock of this log".
APPEND_LOCK_KEY = 0x4C454447  # "LEDG"


@dataclass(frozen=True)
class Head:
    size: int
    leaf_hash: bytes | None  # of entry size-1
    recorded_at: str | None


def take_append_lock(conn: Connection) -> None:
    """Serialise appenders. SQLite already holds the write lock (BEGIN IMMEDIATE);
    PostgreSQL takes a transaction-scoped advisory lock (docs/contracts.md §3;
    locking "the last row" under READ COMMITTED forks the log)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": APPEND_LOCK_KEY})


def head(conn: Connection) -> Head:
    row = conn.execute(
        select(entries.c.seq, entries.c.leaf_hash, entries.c.recorded_at)
        .order_by(entries.c.seq.desc())
        .limit(1)
    ).first()
    if row is None:
        return Head(0, None, None)
    return Head(row.seq + 1, bytes(row.leaf_hash), row.recorded_at)


def size(conn: Connection) -> int:
    return head(conn).size


def by_request(conn: Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Entry]:
    """Entries already recorded under (authority_id, request_id)."""
    by_authority: dict[str, set[str]] = {}
    for a, r in keys:
        by_authority.setdefault(a, set()).add(r)
    found: dict[tuple[str, str], Entry] = {}
    # One statement per authority and 1,000 ids, each id looked up in the unique
    # (authority_id, request_id) index (an OR of pairs is not, on PostgreSQL).
    for a, rids in by_authority.items():
        rids_list = sorted(rids)
        for i in range(0, len(rids_list), 1000):
            part = rids_list[i : i + 1000]
            if conn.dialect.name == "postgresql":
                q: Executable = _BY_REQUEST_PG.bindparams(a=a, rids=part)
            else:
                q = select(entries.c.canonical).where(entries.c.authority_id == a, entries.c.request_id.in_(part))
            for row in conn.execute(q):
                e = from_canonical(bytes(row.canonical))
                found[(e.authority.id, e.request_id)] = e
    return found


# PostgreSQL: `request_id IN (…)` is planned from the column's statistics, and a log
# filling faster than autovacuum analyses it (a fresh ledger's first import) has
# none: the plan then reads every entry of the authority and tests each against the
# list, 1.7 s per chunk at 80,000 entries (bench/import_latency.py), under the
# append lock. One index probe per id (LATERAL, LIMIT 1: not flattened into a join)
# costs the same whatever the statistics say: about 5 ms per 1,000 ids.
_BY_REQUEST_PG = text(
    "SELECT x.canonical FROM unnest(CAST(:rids AS varchar[])) AS r(rid) CROSS JOIN LATERAL "
    "(SELECT canonical FROM entries WHERE authority_id = :a AND request_id = r.rid LIMIT 1) AS x")


def entry_row(e: Entry) -> dict[str, object]:
    """The ``entries`` row of ``e``: its canonical bytes plus the columns indexed from them."""
    return {
        "seq": e.seq, "prev": bytes.fromhex(e.prev), "leaf_hash": e.leaf_hash,
        "type": e.type, "recorded_at": e.recorded_at, "authority_id": e.authority.id,
        "subject": e.subject, "request_id": e.request_id, "signer": e.signer,
        "canonical": e.canonical,
    }


_ENTRY_COLUMNS = ("seq", "prev", "leaf_hash", "type", "recorded_at", "authority_id", "subject", "request_id",
                  "signer", "canonical")
# SQLite: the driver's executemany with plain tuples. SQLAlchemy's per-value
# bind processing was ~10% of a bulk append there (bench/append.py profile);
# the values are already the exact Python types the columns store.
_SQLITE_INSERT_ENTRIES = (f"INSERT INTO entries ({', '.join(_ENTRY_COLUMNS)}) "
                          f"VALUES ({', '.join('?' * len(_ENTRY_COLUMNS))})")
_SQLITE_INSERT_NODES = "INSERT INTO tree_nodes (level, idx, hash) VALUES (?, ?, ?)"


def insert_entries(conn: Connection, batch: list[Entry]) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(_SQLITE_INSERT_ENTRIES, [
            (e.seq, bytes.fromhex(e.prev), e.leaf_hash, e.type, e.recorded_at, e.authority.id, e.subject,
             e.request_id, e.signer, e.canonical) for e in batch])
    else:  # PostgreSQL: Core's batched multi-row VALUES ("insertmanyvalues") beats executemany
        conn.execute(entries.insert(), [entry_row(e) for e in batch])


def insert_nodes(conn: Connection, nodes: dict[Address, bytes]) -> None:
    if not nodes:
        return
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(_SQLITE_INSERT_NODES, [(lvl, idx, h) for (lvl, idx), h in nodes.items()])
    else:
        conn.execute(tree_nodes.insert(), [{"level": lvl, "idx": idx, "hash": h} for (lvl, idx), h in nodes.items()])


def read_nodes(conn: Connection, addresses: Iterable[Address]) -> dict[Address, bytes]:
    """Perfect-subtree hashes at ``addresses``: level 0 from entries, the rest from tree_nodes.
    Two statements whatever the number of addresses (O(log n) of them for a proof)."""
    addresses = set(addresses)
    leaves = sorted(i for lvl, i in addresses if lvl == 0)
    inner = sorted(a for a in addresses if a[0] > 0)
    out: dict[Address, bytes] = {}
    if leaves:
        rows = conn.execute(select(entries.c.seq, entries.c.leaf_hash).where(entries.c.seq.in_(leaves)))
        out.update({(0, r.seq): bytes(r.leaf_hash) for r in rows})
    if inner:
        params = {f"l{j}": lvl for j, (lvl, _) in enumerate(inner)} | {f"i{j}": i for j, (_, i) in enumerate(inner)}
        rows = conn.execute(_nodes_at(len(inner)), params)
        out.update({(r.level, r.idx): bytes(r.hash) for r in rows})
    return out


@lru_cache(maxsize=256)
def _nodes_at(k: int) -> Select:
    """``(level, idx) = (?, ?) OR ...`` for ``k`` addresses, built once per ``k``.

    Building the expression per call cost more than running it (bench/proofs.py);
    one statement object per arity also hits SQLAlchemy's compiled cache. An OR of
    primary-key equalities, not a row-value IN: SQLite plans ``(a, b) IN (VALUES
    ...)`` as a full scan, but serves each OR term from the primary key."""
    return select(tree_nodes.c.level, tree_nodes.c.idx, tree_nodes.c.hash).where(
        or_(*(and_(tree_nodes.c.level == bindparam(f"l{j}"), tree_nodes.c.idx == bindparam(f"i{j}"))
              for j in range(k))))


def nodes_in_range(conn: Connection, level: int, first: int, last: int) -> dict[int, bytes]:
    """Stored interior nodes at ``level`` with ``first <= idx < last``."""
    rows = conn.execute(
        select(tree_nodes.c.idx, tree_nodes.c.hash).where(
            tree_nodes.c.level == level, tree_nodes.c.idx >= first, tree_nodes.c.idx < last
        )
    ).all()
    # str(): SQLite would let tampering store TEXT here; verify then reports a mismatch.
    # Unpacked rather than by name: verify reads one node per entry.
    return {idx: h if isinstance(h, bytes) else str(h).encode() for idx, h in rows}


def count_nodes_beyond(conn: Connection, size: int) -> list[tuple[int, int]]:
    """Stored interior nodes that no tree of ``size`` leaves contains (up to 10)."""
    rows = conn.execute(
        select(tree_nodes.c.level, tree_nodes.c.idx)
        .where((tree_nodes.c.idx + 1).op("<<")(tree_nodes.c.level) > size)
        .order_by(tree_nodes.c.level, tree_nodes.c.idx)
        .limit(10)
    )
    return [(r.level, r.idx) for r in rows]


def entry_rows(conn: Connection, start: int, end: int) -> Iterator[Row[Any]]:
    """Raw rows ``start <= seq < end`` in seq order (verify reads every column)."""
    return conn.execute(select(entries).where(entries.c.seq >= start, entries.c.seq < end).order_by(entries.c.seq))


def entry_check_rows(conn: Connection, start: int, end: int) -> list[tuple[Any, ...]]:
    """Rows ``start <= seq < end`` in seq order as plain tuples of
    ``ledger.log.row_check.ROW_COLUMNS`` (they cross to verify's worker processes)."""
    c = entries.c
    result = conn.execute(select(c.seq, c.canonical, c.type, c.recorded_at, c.authority_id, c.subject, c.request_id,
                                 c.signer, c.prev, c.leaf_hash).where(c.seq >= start, c.seq < end).order_by(c.seq))
    return [tuple(r) for r in result.all()]


def get_entry(conn: Connection, seq: int) -> Entry | None:
    row = conn.execute(select(entries.c.canonical).where(entries.c.seq == seq)).first()
    return from_canonical(bytes(row.canonical)) if row else None


def get_canonical(conn: Connection, seq: int) -> bytes | None:
    row = conn.execute(select(entries.c.canonical).where(entries.c.seq == seq)).first()
    return bytes(row.canonical) if row else None


def checkpoint_rows(conn: Connection) -> list[Row[Any]]:
    return list(conn.execute(select(checkpoints).order_by(checkpoints.c.size)))
