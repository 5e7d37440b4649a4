"""The vault's rows (docs/contracts.md §2.4): look a subject up by blind index,
add one, reveal one, erase one. The cryptography is ``ledger.domain.vault``;
this module only moves its sealed values in and out of the ``subjects`` table."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select, update

from ledger.domain.identifiers import Identifier
from ledger.domain.vault import Disclosure, Vault
from ledger.errors import NotFound
from ledger.store.schema import subjects


def lookup(conn: Connection, vault: Vault, ident: Identifier) -> str | None:
    row = conn.execute(select(subjects.c.ref).where(subjects.c.blind_index == vault.blind_index(ident))).first()
    return row.ref if row else None


def add(conn: Connection, vault: Vault, ident: Identifier, name: str, created_at: str) -> tuple[str, bool]:
    """Register a subject; return (reference, newly added). Idempotent by identifier."""
    existing = lookup(conn, vault, ident)
    if existing:
        return existing, False
    sealed = vault.seal(ident, name)
    conn.execute(insert(subjects).values(
        ref=sealed.ref, kind=sealed.kind, blind_index=sealed.blind_index, wrapped_key=sealed.wrapped_key,
        payload=sealed.payload, created_at=created_at, erased_seq=None))
    return sealed.ref, True


def reveal(conn: Connection, vault: Vault, ref: str) -> Disclosure:
    row = conn.execute(select(subjects).where(subjects.c.ref == ref)).first()
    if row is None:
        raise NotFound(f"subject {ref} is not in the vault")
    if row.erased_seq is not None:
        raise NotFound(f"subject {ref} was erased at seq {row.erased_seq}")
    return vault.open(ref, bytes(row.wrapped_key), bytes(row.payload))


def erase(conn: Connection, ref: str, seq: int) -> None:
    """Destroy the subject's key, sealed record (with its salt) and blind index."""
    conn.execute(update(subjects).where(subjects.c.ref == ref)
                 .values(blind_index=None, wrapped_key=None, payload=None, erased_seq=seq))


def subject_state(conn: Connection, ref: str) -> tuple[str, int | None] | None:
    """(kind, erased_seq) of a known subject, or None."""
    row = conn.execute(select(subjects.c.kind, subjects.c.erased_seq).where(subjects.c.ref == ref)).first()
    return (row.kind, row.erased_seq) if row else None
