"""``ledger reindex``: replay the log into every projection, under the append lock,
in one transaction (a crash leaves the projections as they were).

The domain projections are insert-only (decision 0019): nothing is deleted. Each
projection's ``clear`` first checks the stored rows against the log
(``ProjectionDrift`` names the first that differs, and nothing is written); the
replay then inserts only the rows that are missing."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, select

from ledger.log.entry import from_canonical
from ledger.log.projection import default_projections
from ledger.store import log_store
from ledger.store.engine import APPEND_OPTION
from ledger.store.schema import DOMAIN_PROJECTIONS, authority_keys, entries


def reindex(engine: Engine, progress: Callable[[int, int], None] | None = None, chunk: int = 5000) -> int:
    projections = default_projections()
    with engine.connect() as conn:
        conn.execution_options(**{APPEND_OPTION: True})
        with conn.begin():
            log_store.take_append_lock(conn)
            size = log_store.size(conn)
            for p in projections:
                p.clear(conn)
                p.load(conn, [], {}, "")
            for lo in range(0, size, chunk):
                rows = conn.execute(select(entries.c.canonical).where(entries.c.seq >= lo, entries.c.seq < lo + chunk)
                                    .order_by(entries.c.seq))
                for row in rows:
                    e = from_canonical(bytes(row.canonical))
                    for p in projections:
                        p.apply(e)
                for p in projections:
                    p.flush(conn)
                if progress:
                    progress(min(lo + chunk, size), size)
    return size


def snapshot(conn: Connection) -> dict[str, list[tuple[object, ...]]]:
    """Every projection row, ordered: two snapshots are equal iff the projections are."""
    out = {}
    for table in (authority_keys, *DOMAIN_PROJECTIONS):
        out[table.name] = sorted(tuple(r) for r in conn.execute(select(table)))
    return out
