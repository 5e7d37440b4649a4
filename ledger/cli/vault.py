"""The vault's key: ``ledger vault status`` (epoch, pending erasures, key files) and
``ledger vault rotate`` (a new epoch key; docs/erasure.md). Rotation runs after
every erasure; schedule ``ledger vault rotate --if-pending`` to complete erasures
made through a process that holds no vault key, and a plain rotation to bound the
life of any one key."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ledger.cli.edge import db_option, edge, json_option, now, settings_for
from ledger.cli.root import main
from ledger.config import Settings
from ledger.store.engine import make_engine


def exports_of(s: Settings) -> Path:
    """Where the API keeps evidence bundles for download (its ``AppState.export_dir``)."""
    return s.state_dir / "exports"


@main.group("vault")
def vault_group() -> None:
    """The subject vault's key epochs."""


@vault_group.command("status")
@db_option
@json_option
@edge
def vault_status(db_url, as_json):
    """The database's key epoch, erasures not yet covered by a rotation, and what the key files hold."""
    from ledger.domain import local_copies, vault_store
    from ledger.domain.vault_keys import FileKeyStore

    s = settings_for(db_url)
    with make_engine(s.database_url).connect() as conn:
        st = vault_store.state(conn)
        lingering = local_copies.disclosing(exports_of(s), local_copies.erased(conn))
    files = FileKeyStore(s.vault_key_file).epochs()
    out = {"epoch": st.epoch, "rotated_at": st.rotated_at, "erased_through": st.erased_through,
           "pending_erasures": st.pending, "live_subjects": st.live, "key_files": files,
           "bundles_of_erased_subjects": [str(p) for p in lingering],
           "complete": st.pending == 0 and files == {s.vault_key_file.name: st.epoch} and not lingering}
    if as_json:
        click.echo(json.dumps(out))
        return
    click.echo(f"epoch {st.epoch}, rotated {st.rotated_at or 'never'}; {st.live} live subjects")
    click.echo(f"key files: {', '.join(f'{k} epoch {v}' for k, v in files.items()) or 'none'}")
    if not out["complete"]:
        click.echo(f"INCOMPLETE: {st.pending} erasures since the last rotation, a rotation left unfinished, "
                   f"or {len(lingering)} kept evidence bundles of erased subjects: run `ledger vault rotate`")


@vault_group.command("rotate")
@click.option("--if-pending", is_flag=True, help="Only when an erasure or an unfinished rotation needs it.")
@db_option
@json_option
@edge
def vault_rotate(if_pending, db_url, as_json):
    """Re-wrap every live subject under a new epoch key and destroy the old key."""
    from ledger.domain import local_copies, vault_store
    from ledger.domain.vault_keys import FileKeyStore
    from ledger.domain.vault_rotation import rotate

    s = settings_for(db_url)
    engine = make_engine(s.database_url)
    with engine.connect() as conn:
        st, erased = vault_store.state(conn), local_copies.erased(conn)
    # Bundles of subjects erased earlier (an erasure interrupted before its last step, or made
    # through a process that keeps no bundles): deleted whether or not a rotation is due.
    removed = [str(p) for p in local_copies.remove_disclosing(exports_of(s), erased)]
    if if_pending and st.pending == 0 and FileKeyStore(s.vault_key_file).epochs() == {s.vault_key_file.name: st.epoch}:
        click.echo(json.dumps({"rotated": False, "epoch": st.epoch, "removed_exports": removed}) if as_json else
                   f"nothing pending at epoch {st.epoch}" + "".join(f"\ndeleted evidence bundle {p}" for p in removed))
        return
    r = rotate(engine, s.vault(), now)
    out = {"rotated": True, "from_epoch": r.from_epoch, "epoch": r.to_epoch, "subjects": r.subjects,
           "erased_through": r.erased_through, "wal_truncated": r.wal_truncated, "removed_exports": removed}
    if as_json:
        click.echo(json.dumps(out))
        return
    click.echo(f"vault epoch {r.from_epoch} -> {r.to_epoch}: {r.subjects} live subjects re-wrapped, old key destroyed"
               + ("" if r.wal_truncated in (True, None) else "; the WAL was busy: it empties at the next checkpoint"))
    for p in removed:
        click.echo(f"deleted evidence bundle {p}")
