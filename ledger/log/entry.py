"""Entries (docs/contracts.md §2.1): the envelope, canonical bytes, signing bytes, leaf hash.

Scope: the immutable record type and the bytes derived from it. Non-scope:
which types and bodies are allowed (``entry_types``), sequencing (``append``).

Byte layouts (all RFC 8785 canonical JSON, UTF-8):
- *signing bytes*: the entry object without its ``sig`` member;
- *canonical bytes*: the whole entry, ``sig`` included;
- *leaf hash*: ``SHA-256(0x00 || canonical bytes)`` (RFC 9162 §2.1.1).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from ledger.errors import Problem, ValidationError
from ledger.log import canonical
from ledger.log.merkle import leaf_hash

FORMAT_VERSION = 1
GENESIS_PREV = "0" * 64
ENVELOPE_FIELDS = (
    "v", "seq", "prev", "type", "recorded_at", "authority", "actor",
    "subject", "refs", "request_id", "body", "signer", "sig",
)
_ENVELOPE = frozenset(ENVELOPE_FIELDS)


@dataclass(frozen=True)
class Authority:
    """The recording authority (Art. 68: every entry says who recorded it)."""

    id: str  # stable identifier of the authority, e.g. "nmg-hrss"
    region: str  # GB/T 2260 six-digit code of its jurisdiction

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "region": self.region}


@dataclass(frozen=True)
class Draft:
    """What a client submits: an entry before the log sequences and signs it."""

    type: str  # registered entry type, e.g. "sanction.imposed"
    authority: Authority  # who records it
    actor: str  # the principal that submitted it
    subject: str | None  # subject reference (docs/contracts.md §2.4) or None
    refs: tuple[int, ...]  # earlier seqs this entry acts on
    request_id: str  # client idempotency key, unique per authority
    body: dict[str, Any] = field(default_factory=dict)  # type-specific, validated by entry_types

    def content(self) -> dict[str, Any]:
        """The fields a retried request must repeat exactly."""
        return {
            "type": self.type,
            "authority": self.authority.to_json(),
            "actor": self.actor,
            "subject": self.subject,
            "refs": list(self.refs),
            "request_id": self.request_id,
            "body": self.body,
        }


@dataclass(frozen=True)
class Entry:
    """One sequenced, signed log entry. Never updated, never deleted."""

    v: int  # format version, 1
    seq: int  # 0-based position = Merkle leaf index
    prev: str  # lowercase hex leaf hash of entry seq-1; GENESIS_PREV for seq 0
    type: str
    recorded_at: str  # RFC 3339 UTC with microseconds, non-decreasing along seq
    authority: Authority
    actor: str
    subject: str | None
    refs: tuple[int, ...]
    request_id: str
    body: dict[str, Any]
    signer: str  # verifier-key name of the recording key
    sig: str  # base64 Ed25519 signature over the signing bytes

    def to_json(self, *, with_sig: bool = True) -> dict[str, Any]:
        obj = {
            "v": self.v, "seq": self.seq, "prev": self.prev, "type": self.type,
            "recorded_at": self.recorded_at, "authority": self.authority.to_json(),
            "actor": self.actor, "subject": self.subject, "refs": list(self.refs),
            "request_id": self.request_id, "body": self.body, "signer": self.signer,
        }
        if with_sig:
            obj["sig"] = self.sig
        return obj

    @cached_property
    def canonical(self) -> bytes:
        """RFC 8785 of the whole entry, derived from the signing bytes without a
        second encode: ``sig`` sorts between ``seq`` and ``signer``, and the last
        ``,"signer":`` is the top-level member (only subject, type and v follow
        it, and none can hold an unescaped quote). Checked against a full encode
        in tests/test_entry.py."""
        data = self.signing_bytes
        cut = data.rindex(b',"signer":')
        return data[:cut] + b',"sig":' + canonical.encode(self.sig) + data[cut:]

    @cached_property
    def signing_bytes(self) -> bytes:
        return canonical.encode(self.to_json(with_sig=False))

    @cached_property
    def leaf_hash(self) -> bytes:
        return leaf_hash(self.canonical)

    @property
    def signature(self) -> bytes:
        return base64.b64decode(self.sig, validate=True)

    def content(self) -> dict[str, Any]:
        return {
            "type": self.type, "authority": self.authority.to_json(), "actor": self.actor,
            "subject": self.subject, "refs": list(self.refs),
            "request_id": self.request_id, "body": self.body,
        }


def from_canonical(data: bytes) -> Entry:
    """Parse canonical bytes back into an ``Entry``; refuse anything not exactly canonical.

    The entry keeps ``data`` as its canonical bytes and cuts its signing bytes
    out of them (the inverse of ``Entry.canonical``: the top-level ``sig``
    member sits just before the last ``,"signer":``, and base64 needs no JSON
    escapes), so a verifier encodes nothing twice. Checked against a full
    encode in tests/test_entry.py.
    """
    e = from_json(canonical.decode(data))
    member = b',"sig":"' + e.sig.encode("ascii") + b'"'
    cut = data.rfind(b',"signer":')
    if cut > len(member) and data[cut - len(member):cut] == member:
        # cached_property stores in the instance dict, which a frozen dataclass allows
        e.__dict__["canonical"] = data
        e.__dict__["signing_bytes"] = data[:cut - len(member)] + data[cut:]
    return e


def from_json(obj: Any) -> Entry:
    if not isinstance(obj, dict):
        raise ValidationError([Problem("$", "entry must be a JSON object")])
    if obj.keys() != _ENVELOPE:  # one set comparison on the verifier's hot path; name the fields only on failure
        missing = [f for f in ENVELOPE_FIELDS if f not in obj]
        extra = sorted(set(obj) - _ENVELOPE)
        raise ValidationError([Problem(f, "required envelope field is missing") for f in missing]
                              + [Problem(f, "not an envelope field") for f in extra])
    auth = obj["authority"]
    if not isinstance(auth, dict) or set(auth) != {"id", "region"}:
        raise ValidationError([Problem("authority", "must be {id, region}")])
    try:
        base64.b64decode(obj["sig"], validate=True)
    except (binascii.Error, TypeError) as e:
        raise ValidationError([Problem("sig", "must be base64")]) from e
    return Entry(
        v=obj["v"], seq=obj["seq"], prev=obj["prev"], type=obj["type"],
        recorded_at=obj["recorded_at"], authority=Authority(auth["id"], auth["region"]),
        actor=obj["actor"], subject=obj["subject"], refs=tuple(obj["refs"]),
        request_id=obj["request_id"], body=obj["body"], signer=obj["signer"], sig=obj["sig"],
    )


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with exactly six fractional digits: ``2026-11-28T16:03:31.000123Z``.

    Fixed width makes string order equal time order, which the append path uses
    to keep ``recorded_at`` non-decreasing.
    """
    if moment.tzinfo is None:
        raise ValueError("recorded_at needs an aware datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
