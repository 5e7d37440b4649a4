"""The vault's rows (docs/contracts.md §2.4, docs/erasure.md): look a subject up by
blind index, add one, reveal one, erase one, re-wrap them all; and ``vault_meta``,
the database's record of which key epoch is current. The cryptography is
``ledger.domain.vault``; this module only moves its sealed values in and out of
the ``subjects`` and ``vault_meta`` tables.

Every row carries the epoch that wrapped its key (``key_epoch``); after a
rotation commits, every live row is at ``vault_meta.epoch``. A process whose
keys are older reloads them (``Vault.keys``); one whose read raced a rotation
reads again (``EpochPassed``)."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from sqlalchemy import Connection, bindparam, func, insert, select, update

from ledger.domain.identifiers import Identifier
from ledger.domain.vault import Disclosure, EpochKeys, EpochPassed, Random, Vault, open_sealed, rewrap, seal
from ledger.errors import ConfigError, NotFound
from ledger.store.log_store import take_append_lock
from ledger.store.schema import subjects, vault_meta

ATTEMPTS = 3  # reads that raced a rotation are read again, this many times in all
REWRAP_CHUNK = 5000


@dataclass(frozen=True)
class VaultState:
    """The database's side of the vault (``ledger vault status``)."""

    epoch: int  # the key epoch every live row is wrapped under
    erased_through: int | None  # the latest rotation covered erasures up to this seq
    rotated_at: str | None
    pending: int  # erasures since the latest rotation: their old rows still open with the current key file
    live: int  # subjects not erased


def epoch(conn: Connection) -> int:
    return int(conn.execute(select(vault_meta.c.epoch).where(vault_meta.c.id == 1)).scalar_one())


def state(conn: Connection) -> VaultState:
    meta = conn.execute(select(vault_meta).where(vault_meta.c.id == 1)).one()
    erased = subjects.c.erased_seq
    pending = conn.execute(select(func.count()).select_from(subjects).where(
        erased.is_not(None), erased > (meta.erased_through if meta.erased_through is not None else -1))).scalar_one()
    live = conn.execute(select(func.count()).select_from(subjects).where(erased.is_(None))).scalar_one()
    return VaultState(meta.epoch, meta.erased_through, meta.rotated_at, pending, live)


def keys(conn: Connection, vault: Vault) -> EpochKeys:
    """The keys of the database's current epoch (the vault reloads if another process rotated)."""
    for attempt in range(ATTEMPTS):
        try:
            return vault.keys(epoch(conn))
        except EpochPassed:
            if attempt == ATTEMPTS - 1:
                raise  # a snapshot older than the key file (SQLite read transaction): retry the request
    raise AssertionError("unreachable")


def lookup(conn: Connection, vault: Vault, ident: Identifier) -> str | None:
    """The subject holding ``ident``, or None. Tries the keys this process holds
    first; on a miss, checks that they are the database's epoch before saying None."""
    k = vault.current
    for _ in range(ATTEMPTS):
        row = conn.execute(select(subjects.c.ref).where(subjects.c.blind_index == k.blind_index(ident),
                                                        subjects.c.key_epoch == k.epoch)).first()
        if row is not None:
            return str(row.ref)
        if epoch(conn) == k.epoch:
            return None
        k = keys(conn, vault)
    raise EpochPassed(k.epoch, [epoch(conn)])


def add(conn: Connection, vault: Vault, ident: Identifier, name: str, created_at: str) -> tuple[str, bool]:
    """Register a subject; return (reference, newly added). Idempotent by identifier.

    Call in a transaction begun with ``APPEND_OPTION`` (SQLite: ``BEGIN IMMEDIATE``):
    with the append lock, which a rotation holds from reading the epoch to its commit,
    nothing is sealed under an epoch that is being retired."""
    take_append_lock(conn)
    k = keys(conn, vault)
    row = conn.execute(select(subjects.c.ref).where(subjects.c.blind_index == k.blind_index(ident),
                                                    subjects.c.key_epoch == k.epoch)).first()
    if row is not None:
        return str(row.ref), False
    sealed = seal(k, ident, name, vault.random)
    conn.execute(insert(subjects).values(
        ref=sealed.ref, kind=sealed.kind, blind_index=sealed.blind_index, wrapped_key=sealed.wrapped_key,
        payload=sealed.payload, created_at=created_at, erased_seq=None, key_epoch=sealed.epoch))
    return sealed.ref, True


def reveal(conn: Connection, vault: Vault, ref: str) -> Disclosure:
    for attempt in range(ATTEMPTS):
        row = conn.execute(select(subjects).where(subjects.c.ref == ref)).first()
        if row is None:
            raise NotFound(f"subject {ref} is not in the vault")
        if row.erased_seq is not None:
            raise NotFound(f"subject {ref} was erased at seq {row.erased_seq}")
        try:
            k = vault.keys(row.key_epoch)
        except EpochPassed:
            if attempt == ATTEMPTS - 1:
                raise
            continue  # re-wrapped since we read it: read the row again
        return open_sealed(k, ref, bytes(row.wrapped_key), bytes(row.payload))
    raise AssertionError("unreachable")


def erase(conn: Connection, ref: str, seq: int) -> None:
    """Destroy the subject's key, sealed record (with its salt) and blind index.
    Copies of the row outside this table (WAL, free pages, heap, backups) open
    nothing once the next rotation has destroyed the epoch that wrapped it."""
    conn.execute(update(subjects).where(subjects.c.ref == ref)
                 .values(blind_index=None, wrapped_key=None, payload=None, erased_seq=seq))


def subject_state(conn: Connection, ref: str) -> tuple[str, int | None] | None:
    """(kind, erased_seq) of a known subject, or None."""
    row = conn.execute(select(subjects.c.kind, subjects.c.erased_seq).where(subjects.c.ref == ref)).first()
    return (row.kind, row.erased_seq) if row else None


def rewrap_all(conn: Connection, old: EpochKeys, new: EpochKeys, random: Random) -> int:
    """Every live subject's data key wrapped under ``new`` and its blind index
    recomputed with ``new``'s index key; returns how many. The caller holds the
    append lock and commits (or rolls back) with the epoch change."""
    rows = conn.execute(select(subjects.c.ref, subjects.c.wrapped_key, subjects.c.payload)
                        .where(subjects.c.wrapped_key.is_not(None)).order_by(subjects.c.ref)).all()
    params = []
    for r in rows:
        try:
            w = rewrap(old, new, r.ref, bytes(r.wrapped_key), bytes(r.payload), random)
        except InvalidTag as e:
            raise ConfigError(f"subject {r.ref} does not open under vault epoch {old.epoch}: "
                              "nothing rotated (is the key file the database's?)") from e
        params.append({"b_ref": w.ref, "b_index": w.blind_index, "b_key": w.wrapped_key})
    stmt = (update(subjects).where(subjects.c.ref == bindparam("b_ref"))
            .values(blind_index=bindparam("b_index"), wrapped_key=bindparam("b_key"), key_epoch=new.epoch))
    for lo in range(0, len(params), REWRAP_CHUNK):
        conn.execute(stmt, params[lo:lo + REWRAP_CHUNK])
    return len(params)


def set_epoch(conn: Connection, new_epoch: int, rotated_at: str) -> int | None:
    """Record the new epoch and that every erasure so far is covered; returns that seq."""
    through = conn.execute(select(func.max(subjects.c.erased_seq))).scalar_one()
    conn.execute(update(vault_meta).where(vault_meta.c.id == 1)
                 .values(epoch=new_epoch, erased_through=through, rotated_at=rotated_at))
    return None if through is None else int(through)
