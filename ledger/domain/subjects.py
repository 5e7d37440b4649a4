"""Subject service: add subjects to the vault, resolve identifiers, erase."""

from __future__ import annotations

from sqlalchemy import Engine

from ledger.domain import vault_store
from ledger.domain.identifiers import parse
from ledger.domain.vault import Vault
from ledger.errors import NotFound
from ledger.log.append import Clock, append_entries
from ledger.log.entry import Authority, Draft, Entry, format_time
from ledger.signing.keyring import Keyring

HEX = set("0123456789abcdef")


def add_subject(engine: Engine, v: Vault, identifier: str, name: str, clock: Clock) -> tuple[str, bool]:
    """Validate ``scheme:number`` and register it; return (reference, newly added)."""
    ident = parse(identifier)
    with engine.begin() as conn:
        return vault_store.add(conn, v, ident, name, format_time(clock()))


def lookup(engine: Engine, v: Vault, text: str) -> str | None:
    """A subject reference from ``scheme:number`` (via the blind index) or a 64-hex
    reference; None when the identifier is valid but no subject holds it (nothing
    was ever recorded about them, or they were erased). A malformed identifier is
    a ``ValidationError`` naming the rule."""
    if len(text) == 64 and set(text) <= HEX:
        return text
    ident = parse(text)
    with engine.connect() as conn:
        return vault_store.lookup(conn, v, ident)


def resolve(engine: Engine, v: Vault, text: str) -> str:
    """Like ``lookup``, for operations that need a subject on record: NotFound otherwise."""
    ref = lookup(engine, v, text)
    if ref is None:
        ident = parse(text)
        raise NotFound(f"id: no subject {ident.scheme}:{'*' * (len(ident.value) - 4)}{ident.value[-4:]} in the vault")
    return ref


def erase_subject(engine: Engine, keyring: Keyring, ref: str, reason: str, legal_basis: str, actor: str,
                  authority: Authority, clock: Clock) -> Entry:
    """Append ``subject.erased``; in the same transaction the vault record is destroyed.
    Retrying after a crash is safe: the request id makes the append idempotent."""
    draft = Draft("subject.erased", authority, actor, ref, (), f"subject.erased:{ref}",
                  {"reason": reason, "legal_basis": legal_basis})
    return append_entries(engine, [draft], keyring, clock)[0]
