"""The tables. The schema itself is owned by Alembic migrations
(``migrations/versions``); these definitions are what the code reads and writes.

Append-only tables (UPDATE/DELETE refused by triggers): ``entries``,
``tree_nodes``, ``checkpoints``. Everything else is a projection: derived from
the entries, rebuildable, never trusted over the log.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

APPEND_ONLY_TABLES = ("entries", "tree_nodes", "checkpoints", "cosignatures")

entries = Table(
    "entries",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    # Backstops for the append lock: a fork (two entries after one prev) or a
    # duplicated entry cannot be stored even if the lock were bypassed.
    Column("prev", LargeBinary(32), nullable=False, unique=True),
    Column("leaf_hash", LargeBinary(32), nullable=False, unique=True),
    Column("type", String(64), nullable=False),
    Column("recorded_at", String(27), nullable=False),
    Column("authority_id", String(128), nullable=False),
    Column("subject", String(64), nullable=True),
    Column("request_id", String(128), nullable=False),
    Column("signer", String(128), nullable=False),
    Column("canonical", LargeBinary, nullable=False),
    UniqueConstraint("authority_id", "request_id", name="uq_entries_request"),
    Index("ix_entries_subject", "subject", "seq"),
    Index("ix_entries_type", "type", "seq"),
)

# Perfect subtrees of level >= 1 (level 0 is entries.leaf_hash). Node (level, idx)
# covers leaves [idx << level, (idx + 1) << level); see ledger.merkle.
tree_nodes = Table(
    "tree_nodes",
    metadata,
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("created_at", String(27), nullable=False),
)

# Witness cosignature lines (c2sp.org/tlog-cosignature) on stored checkpoints.
cosignatures = Table(
    "cosignatures",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("witness", String(128), primary_key=True),
    Column("line", Text, nullable=False),
    Column("created_at", String(27), nullable=False),
)

# Projection: authority keys as the log's key.registered / key.revoked entries say.
authority_keys = Table(
    "authority_keys",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("vkey", String(256), nullable=False),
    Column("authority_id", String(128), nullable=False),
    Column("registered_seq", BigInteger, nullable=False),
    Column("revoked_seq", BigInteger, nullable=True),
)
