"""Projections: derived tables kept current inside the append transaction.

A projection sees each batch three times, all under the append lock:
``load`` reads the state the batch needs, ``check`` judges each new draft
against that state (plus earlier drafts of the same batch, via ``apply``), and
``flush`` writes its tables. ``rebuild`` replays the log from scratch
(``ledger reindex``); nothing trusts a projection over the log.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import Connection, delete, insert, select, update

from ledger.errors import Problem
from ledger.log.entry import Draft, Entry
from ledger.signing.key_registry import KeyRecord, KeyRegistry
from ledger.signing.keys import parse_vkey
from ledger.store.schema import authority_keys


class Projection(Protocol):
    def load(self, conn: Connection, drafts: Sequence[Draft], ref_entries: dict[int, Entry],
             recorded_at: str) -> None: ...
    def check(self, draft: Draft, seq: int, ref_entries: dict[int, Entry]) -> list[Problem]: ...
    def apply(self, entry: Entry) -> None: ...
    def flush(self, conn: Connection) -> None: ...
    def clear(self, conn: Connection) -> None: ...


class KeyProjection:
    """``authority_keys``: which authority keys are registered and revoked."""

    def __init__(self) -> None:
        self.registry = KeyRegistry()
        self._changed: dict[str, KeyRecord] = {}
        self._new: set[str] = set()

    def load(self, conn: Connection, drafts: Sequence[Draft] = (), ref_entries: dict[int, Entry] | None = None,
             recorded_at: str = "") -> None:
        self.registry = load_registry(conn)
        self._changed, self._new = {}, set()

    def check(self, draft: Draft, seq: int, ref_entries: dict[int, Entry]) -> list[Problem]:
        return self.registry.problems(draft.type, draft.body, draft.refs, ref_entries)

    def apply(self, entry: Entry) -> None:
        self.registry.apply(entry)
        if entry.type == "key.registered":
            name = parse_vkey(entry.body["vkey"]).name
            self._new.add(name)
            self._changed[name] = self.registry.records[name]
        elif entry.type == "key.revoked":
            self._changed[entry.body["name"]] = self.registry.records[entry.body["name"]]

    def flush(self, conn: Connection) -> None:
        for name, rec in self._changed.items():
            row = {"vkey": rec.key.vkey(), "authority_id": rec.authority_id,
                   "registered_seq": rec.registered_seq, "revoked_seq": rec.revoked_seq}
            if name in self._new:
                conn.execute(insert(authority_keys).values(name=name, **row))
            else:
                conn.execute(update(authority_keys).where(authority_keys.c.name == name).values(**row))
        self._changed, self._new = {}, set()

    def clear(self, conn: Connection) -> None:
        conn.execute(delete(authority_keys))


def load_registry(conn: Connection) -> KeyRegistry:
    """The key registry from the projection plus the log key from entry 0."""
    from ledger.store import log_store

    genesis = log_store.get_entry(conn, 0)
    log_key = parse_vkey(genesis.body["log_key"]) if genesis and genesis.type == "log.initialized" else None
    records = {
        r.name: KeyRecord(parse_vkey(r.vkey), r.authority_id, r.registered_seq, r.revoked_seq)
        for r in conn.execute(select(authority_keys))
    }
    return KeyRegistry(log_key, records)


def default_projections() -> list[Projection]:
    from ledger.domain.projection import DomainProjection

    return [KeyProjection(), DomainProjection()]
