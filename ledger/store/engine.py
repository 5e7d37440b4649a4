"""Engines for SQLite (embedded default) and PostgreSQL (production).

SQLite (measured): pysqlite's legacy transaction handling
races under several writers, so we take transactions over: autocommit at the
driver, then ``BEGIN IMMEDIATE`` for append transactions (the write lock is
taken at BEGIN, before the head is read) and a plain deferred ``BEGIN`` for
readers. WAL lets readers run beside the one writer. ``synchronous=FULL``: an
acknowledged append survives power loss, not only a process crash.

SQLite holds the subject vault too, so (docs/erasure.md; PIPL Art. 47):
``secure_delete=ON`` zeroes deleted and overwritten content in the database
file instead of leaving it on free pages; ``truncate_wal`` empties the WAL
after an erasure's rotation; and the database file is created mode 0600
whatever the umask (SQLite gives -wal and -shm the database file's mode).

PostgreSQL: appends take ``pg_advisory_xact_lock`` (see ``lock``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

APPEND_OPTION = "ledger_append"


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


SQLITE_CACHE_KIB = 64 * 1024


def _sqlite_engine(url: str, database: str | None, **kwargs: Any) -> Engine:
    if database and database != ":memory:" and not database.startswith("file:"):
        _create_private(Path(database))
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("timeout", 60)  # seconds to wait for the write lock
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        # Deleted and overwritten rows are zeroed in the file, not left on free
        # pages or in cell gaps (an erased subject's sealed row; docs/erasure.md).
        cur.execute("PRAGMA secure_delete=ON")
        # 64 MiB of page cache per connection (SQLite's default is 2 MB). Leaf
        # hashes and prev links are random 32-byte keys, so their unique indexes
        # take inserts all over the B-tree; once they outgrow the cache every
        # append reads pages back: bench measured 4,393 -> 6,844 appends/s at a
        # 300k-entry log. Pages are allocated as used, not up front.
        cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        immediate = conn.get_execution_options().get(APPEND_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _create_private(path: Path) -> None:
    """A new database file, empty (SQLite initialises it), mode 0600 whatever the
    umask: SQLite creates its -wal and -shm files with the database file's mode.
    An existing file keeps the mode its operator gave it."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def truncate_wal(engine: Engine) -> bool | None:
    """SQLite: checkpoint the WAL into the database and truncate it to zero bytes,
    so frames holding rows overwritten since (an erased subject's) leave the
    -wal file. True when done; False when a reader kept it busy past the
    connection's busy timeout (the next checkpoint finishes it). None on
    PostgreSQL, whose WAL segments are recycled by the server: there the old
    rows stay until then, and open nothing once their epoch key is destroyed."""
    if engine.dialect.name != "sqlite":
        return None
    raw = engine.raw_connection()  # outside SQLAlchemy's BEGIN: a checkpoint cannot run in a transaction
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        row = cur.fetchone()  # (busy, frames in the WAL, frames checkpointed)
        cur.close()
    finally:
        raw.close()
    return row is not None and row[0] == 0
