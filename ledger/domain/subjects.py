"""Subject service: add subjects to the vault, resolve identifiers, erase."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from ledger.domain import local_copies, vault_store
from ledger.domain.identifiers import parse
from ledger.domain.vault import Vault
from ledger.domain.vault_rotation import Rotation, rotate
from ledger.errors import NotFound
from ledger.log.append import Clock, append_entries
from ledger.log.entry import Authority, Draft, Entry, format_time
from ledger.signing.keyring import Keyring
from ledger.store.engine import APPEND_OPTION, truncate_wal

HEX = set("0123456789abcdef")


def add_subject(engine: Engine, v: Vault, identifier: str, name: str, clock: Clock) -> tuple[str, bool]:
    """Validate ``scheme:number`` and register it; return (reference, newly added)."""
    ident = parse(identifier)
    with engine.connect() as conn:
        conn.execution_options(**{APPEND_OPTION: True})  # the append lock: see vault_store.add
        with conn.begin():
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


@dataclass(frozen=True)
class Erasure:
    """What an erasure did (docs/erasure.md)."""

    entry: Entry  # subject.erased, signed by the log key
    rotation: Rotation | None  # None: no vault key on this host; `ledger vault rotate` completes it
    removed: tuple[Path, ...]  # evidence bundles on this host that disclosed the subject, deleted
    custody: tuple[int, ...]  # evidence.exported seqs that released the subject's identity elsewhere


def erase(engine: Engine, keyring: Keyring, ref: str, reason: str, legal_basis: str, actor: str,
          authority: Authority, clock: Clock, *, vault: Vault | None, export_dir: Path | None) -> Erasure:
    """PIPL Art. 47, in order; retrying the whole call after a crash at any step is
    safe (the append is idempotent by request id, the rest is idempotent).

    1. Append ``subject.erased``; in the same transaction the vault row (wrapped
       key, sealed record with the salt, blind index) is nulled (the projection).
       A crash before its commit leaves both; after it, the row's old bytes may
       still be in the database files and open with the current key file.
    2. Rotate the key epoch (``vault_rotation``): those old bytes then open
       nothing. Without a vault here, the state shows the erasure as pending
       (``ledger vault status``) and SQLite's WAL is truncated all the same.
    3. Delete this host's evidence bundles that disclose the subject."""
    draft = Draft("subject.erased", authority, actor, ref, (), f"subject.erased:{ref}",
                  {"reason": reason, "legal_basis": legal_basis})
    entry = append_entries(engine, [draft], keyring, clock)[0]
    rotation = rotate(engine, vault, clock) if vault is not None else None
    if rotation is None:
        truncate_wal(engine)  # SQLite: the old row out of the -wal file at least (the rotation does it otherwise)
    removed = local_copies.remove_disclosing(export_dir, {ref}) if export_dir is not None else ()
    with engine.connect() as conn:
        custody = local_copies.custody(conn, ref)
    return Erasure(entry, rotation, removed, custody)


def erase_subject(engine: Engine, keyring: Keyring, ref: str, reason: str, legal_basis: str, actor: str,
                  authority: Authority, clock: Clock, *, vault: Vault | None = None,
                  export_dir: Path | None = None) -> Entry:
    """``erase``, returning the ``subject.erased`` entry. Without ``vault`` the
    erasure is pending until the next ``ledger vault rotate`` (docs/erasure.md)."""
    return erase(engine, keyring, ref, reason, legal_basis, actor, authority, clock,
                 vault=vault, export_dir=export_dir).entry
