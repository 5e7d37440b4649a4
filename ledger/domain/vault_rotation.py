"""Rotating the vault's key epoch (docs/erasure.md, docs/decisions/0012): every live
subject's data key re-wrapped and blind index recomputed under a new epoch
secret, and the old secret destroyed. After an erasure this is what makes it
hold against the files: the erased row's copies (SQLite WAL frames and free
pages, PostgreSQL heap and WAL, backups of the database) were wrapped and
indexed under an epoch whose secret no longer exists anywhere (PIPL Art. 47).

Scope: the protocol's order and its crash story. The steps' mechanics are the
key store's (``ledger.domain.vault_keys``) and the rows' (``vault_store``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from ledger.domain import vault_store
from ledger.domain.vault import SECRET_BYTES, EpochKeys, Random, Vault
from ledger.log.append import Clock
from ledger.log.entry import format_time
from ledger.store import log_store
from ledger.store.engine import APPEND_OPTION, truncate_wal

STEPS = ("staged", "rewrapped", "committed", "promoted")


@dataclass(frozen=True)
class Rotation:
    from_epoch: int
    to_epoch: int
    subjects: int  # live subjects re-wrapped
    erased_through: int | None  # every erasure up to this seq now opens nothing from the files
    wal_truncated: bool | None  # SQLite: the WAL emptied (False: a reader held it; None: PostgreSQL)


def _carry_on(step: str) -> None:
    """The default step hook. Tests pass one that raises or exits at a step (fault injection)."""


def rotate(engine: Engine, vault: Vault, clock: Clock, *, random: Random = os.urandom,
           on_step: Callable[[str], None] = _carry_on) -> Rotation:
    """Move the vault to a new epoch. Straight-line: the order of the steps is the design.

    Locks: the key store's (one rotation at a time), then the append lock, held
    from reading the epoch to the commit, so no ``subject add`` seals and no
    erasure lands under the epoch being retired (``vault_store.add``)."""
    store = vault.store
    with store.lock():
        with engine.connect() as conn:
            conn.execution_options(**{APPEND_OPTION: True})
            with conn.begin():
                log_store.take_append_lock(conn)
                current = vault_store.epoch(conn)
                # 0. A crash in an earlier rotation: finish its step 4, or destroy the
                #    secret it staged but never committed. The key store now holds `current`.
                store.reconcile(current)
                old = vault.keys(current)
                secret = random(SECRET_BYTES)
                new = EpochKeys(current + 1, secret)

                # 1. Stage: the next secret durably beside the current one (vault.key.next).
                #    A crash from here to the commit leaves the database at `current`, still
                #    opened by vault.key; the staged secret protects nothing committed and
                #    the next rotation's step 0 destroys it.
                store.stage(new.epoch, secret)
                on_step("staged")

                # 2. Re-wrap every live row and record the new epoch, in this transaction.
                #    A crash before the commit rolls it back: as after step 1.
                count = vault_store.rewrap_all(conn, old, new, vault.random)
                through = vault_store.set_epoch(conn, new.epoch, format_time(clock()))
                on_step("rewrapped")

            # 3. Committed: the database is at the new epoch, whose secret so far is only
            #    in vault.key.next (loaders read it there: FileKeyStore.load). vault.key
            #    still holds the old secret, which opens erased rows' copies: a crash
            #    here leaves the erasure incomplete until the next rotation's step 0
            #    promotes .next (`ledger vault status` shows it).
            on_step("committed")

        # 4. Promote: .next renamed over vault.key, the old secret overwritten. From
        #    here no file on this host opens a row wrapped before this rotation.
        store.promote(new.epoch)
        vault.adopt(new)
        on_step("promoted")

    # 5. SQLite: the WAL frames that held the old rows go (secure_delete already
    #    zeroed them in the database file). Not a durability step: a crash here
    #    leaves frames the next checkpoint truncates, and that open nothing.
    return Rotation(current, new.epoch, count, through, truncate_wal(engine))
