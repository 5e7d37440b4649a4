"""The log operator's set-up acts: create the log, register and revoke
authority keys, and load the keys this host may sign with."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine

from ledger.config import Settings
from ledger.errors import ConfigError, NotFound
from ledger.log.append import Clock, append_entries
from ledger.log.entry import Authority, Draft, Entry
from ledger.log.projection import load_registry
from ledger.signing import keystore
from ledger.signing.keyring import Keyring
from ledger.signing.keys import Signer
from ledger.store import log_store

# The operator records the log's own bookkeeping under the region's code.
OPERATOR = Authority("ledger-operator", "150000")


# --- the drafts (pure): the log's own records, statements by the operator (docs/contracts.md §2.7) ---

def genesis_draft(log_vkey: str, origin: str, *, actor: str = "operator") -> Draft:
    return Draft("log.initialized", OPERATOR, actor, None, (), "log.initialized", {"origin": origin, "log_key": log_vkey})


def authority_draft(authority_id: str, name: str, region: str, *, parent: str | None = None,
                    actor: str = "operator") -> Draft:
    body = {"authority_id": authority_id, "name": name, "region": region}
    if parent:
        body["parent"] = parent
    return Draft("authority.registered", OPERATOR, actor, None, (), f"authority.registered:{authority_id}", body)


def key_draft(vkey: str, authority_id: str, *, actor: str = "operator", purpose: str = "records",
              holder: str | None = None) -> Draft:
    body = {"vkey": vkey, "authority_id": authority_id, "purpose": purpose}
    if holder:
        body["holder"] = holder
    return Draft("key.registered", OPERATOR, actor, None, (), f"key.registered:{vkey.split('+')[0]}", body)


# --- the acts: each appends one of them, signed by the log key ---------------------

def init_log(engine: Engine, log_signer: Signer, origin: str, clock: Clock, *, actor: str = "operator") -> Entry:
    """Append the genesis entry (seq 0); a second call returns the same entry."""
    draft = genesis_draft(log_signer.verifier.vkey(), origin, actor=actor)
    return append_entries(engine, [draft], Keyring(log_signer), clock)[0]


def register_authority(engine: Engine, log_signer: Signer, authority_id: str, name: str, region: str, clock: Clock,
                       *, parent: str | None = None, actor: str = "operator") -> Entry:
    """Append ``authority.registered`` (docs/authorities.md); a second call with the
    same content returns the same entry, with other content it is refused."""
    draft = authority_draft(authority_id, name, region, parent=parent, actor=actor)
    return append_entries(engine, [draft], Keyring(log_signer), clock)[0]


def register_key(engine: Engine, log_signer: Signer, vkey: str, authority_id: str, clock: Clock, *,
                 actor: str = "operator", purpose: str = "records", holder: str | None = None) -> Entry:
    draft = key_draft(vkey, authority_id, actor=actor, purpose=purpose, holder=holder)
    return append_entries(engine, [draft], Keyring(log_signer), clock)[0]


def revoke_key(engine: Engine, log_signer: Signer, name: str, reason: str, clock: Clock, *, actor: str = "operator") -> Entry:
    with engine.connect() as conn:
        rec = load_registry(conn).records.get(name)
    if rec is None:
        raise NotFound(f"key {name!r} is not registered")
    draft = Draft("key.revoked", OPERATOR, actor, None, (rec.registered_seq,), f"key.revoked:{name}",
                  {"name": name, "reason": reason})
    return append_entries(engine, [draft], Keyring(log_signer), clock)[0]


def load_keyring(engine: Engine, settings: Settings, *, authority_dirs: Sequence[Path] | None = None) -> Keyring:
    """The log key plus every registered, unrevoked authority key whose private half is here:
    in ``authority_dirs``, by default the authority-key directory, then the key directory.
    ``ledger serve`` passes only the key directory (decision 0015: the API host signs for
    no authority unless configured the legacy way, decision 0005)."""
    log_signer = keystore.load(settings.log_key_name, settings.key_dir, settings.passphrase)
    ring = Keyring(log_signer)
    with engine.connect() as conn:
        registry = load_registry(conn)
        size = log_store.size(conn)
    dirs = (settings.authority_key_dir, settings.key_dir) if authority_dirs is None else tuple(authority_dirs)
    for name, rec in registry.records.items():
        where = next((d for d in dirs if keystore.private_path(d, name).exists()), None)
        if rec.valid_at(size) and where is not None:
            ring.authorities[rec.authority_id] = keystore.load(name, where, settings.passphrase)
    return ring


def require_log_signer(settings: Settings) -> Signer:
    try:
        return keystore.load(settings.log_key_name, settings.key_dir, settings.passphrase)
    except ConfigError as e:
        raise ConfigError(f"{e}; create it with `ledger keys generate {settings.log_key_name}`") from e
