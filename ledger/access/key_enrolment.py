"""Enrolling an authority's public key (decision 0004: key history in the log; docs/api.md, Keys).

A key is generated where it will sign (an officer's browser, an award system,
``ledger keys generate`` on the authority's machine); an admin enrols its
public half here, which appends ``key.registered`` signed by the log key
(docs/contracts.md §2.7: the log's own records are statements by the log
operator). From the next seq on, statements signed by it are the authority's.
Revocation appends ``key.revoked``. The registry is public (the verifier keys
are published), so any token may list it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from ledger.access.policy import Action, Principal, require
from ledger.domain.facts import authority_registry
from ledger.errors import KeyFormatError, Problem, ValidationError
from ledger.log import operator
from ledger.log.append import Clock
from ledger.log.entry import Entry
from ledger.log.projection import load_registry
from ledger.signing.keys import Signer
from ledger.signing.public_keys import fingerprint, parse_public_key
from ledger.store import log_store


@dataclass(frozen=True)
class EnrolledKey:
    """A registered key as the log holds it, and whether it may sign at the next seq."""

    name: str
    authority_id: str
    vkey: str
    fingerprint: str  # SHA-256 of the raw public key, hex
    registered_seq: int
    revoked_seq: int | None
    valid: bool  # may sign the next entry (registered before it, not revoked)


def register_public_key(engine: Engine, log_signer: Signer, principal: Principal, *, authority_id: str,
                        public_key: str, name: str | None, clock: Clock, holder: str | None = None) -> Entry:
    """Append ``key.registered`` for a public key generated elsewhere (admin only).

    ``public_key``: a C2SP verifier key, or base64 of the raw 32 bytes or of the
    SPKI DER, or PEM (``ledger.signing.public_keys``). Refused with a
    ``ValidationError`` naming ``public_key``/``name`` when it does not parse, and
    by the append path when the name is taken or the authority is unknown;
    nothing is written then. Idempotent per key name (request_id
    ``key.registered:<name>``)."""
    require(principal, Action.manage_keys)
    with engine.connect() as conn:
        known = authority_registry(conn, log_store.size(conn)).get(authority_id) is not None
    if not known:  # a key for no authority would sign nothing; say so now (docs/authorities.md)
        raise ValidationError([Problem("authority_id", f"{authority_id!r} is not a registered authority "
                                                       "(`ledger authorities register`)")])
    try:
        key = parse_public_key(public_key, authority_id, name)
    except KeyFormatError as e:
        raise ValidationError([Problem("name" if "key name" in str(e) else "public_key", str(e))]) from e
    return operator.register_key(engine, log_signer, key.vkey(), authority_id, clock, actor=principal.actor,
                                 holder=holder)


def revoke(engine: Engine, log_signer: Signer, principal: Principal, *, name: str, reason: str,
           clock: Clock) -> Entry:
    """Append ``key.revoked`` (admin only): statements signed by ``name`` are refused from then on."""
    require(principal, Action.manage_keys)
    if not reason.strip():
        raise ValidationError([Problem("reason", "must say why (it is recorded in the log)")])
    return operator.revoke_key(engine, log_signer, name, reason, clock, actor=principal.actor)


def list_keys(engine: Engine, authority_id: str | None = None) -> list[EnrolledKey]:
    """Registered keys (of one authority, or all), in registration order, with validity at the head."""
    with engine.connect() as conn:
        registry, size = load_registry(conn), log_store.size(conn)
    recs = sorted((r for r in registry.records.values() if authority_id is None or r.authority_id == authority_id),
                  key=lambda r: r.registered_seq)
    return [EnrolledKey(r.key.name, r.authority_id, r.key.vkey(), fingerprint(r.key.public), r.registered_seq,
                        r.revoked_seq, r.valid_at(size)) for r in recs]
