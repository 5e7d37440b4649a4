"""Entries (docs/contracts.md §2.1, §2.7): the envelope, canonical bytes, signing bytes, leaf hash.

Scope: the immutable record type and the bytes derived from it, in both format
versions. Non-scope: which types and bodies are allowed (``entry_types``),
sequencing (``append``), the statement an authority signs (``statement``).

Byte layouts (all RFC 8785 canonical JSON, UTF-8):
- v1 (§2.1): *signing bytes* = the entry object without its ``sig`` member;
  *canonical bytes* = the whole entry, ``sig`` included;
- v2 (§2.7): the entry is ``{v, seq, prev, recorded_at, statement, sig}``;
  *signing bytes* = ``"integrity-ledger/statement/v2\n" || RFC 8785(statement)``
  (the statement's *signed bytes*); *canonical bytes* = the whole entry;
- *leaf hash*: ``SHA-256(0x00 || canonical bytes)`` (RFC 9162 §2.1.1), both versions.

One ``Entry`` class serves both versions, so every reader of ``type``,
``authority``, ``body``, ``signer`` … keeps working: a v2 entry's ``signer`` is
its statement's ``key`` and it also has ``signed_at`` (None in v1).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from ledger.errors import Problem, ValidationError
from ledger.log import canonical
from ledger.log.merkle import leaf_hash

FORMAT_V1 = 1
FORMAT_V2 = 2
FORMAT_VERSION = FORMAT_V2  # what the log writes now (docs/contracts.md §2.7)
GENESIS_PREV = "0" * 64
ENVELOPE_FIELDS = (
    "v", "seq", "prev", "type", "recorded_at", "authority", "actor",
    "subject", "refs", "request_id", "body", "signer", "sig",
)
_ENVELOPE = frozenset(ENVELOPE_FIELDS)
# docs/contracts.md §2.7: a v2 entry and the statement it carries, exactly these members.
ENVELOPE_V2_FIELDS = ("v", "seq", "prev", "recorded_at", "statement", "sig")
STATEMENT_FIELDS = ("v", "type", "authority", "actor", "subject", "refs", "request_id", "body", "signed_at", "key")
_ENVELOPE_V2 = frozenset(ENVELOPE_V2_FIELDS)
_STATEMENT = frozenset(STATEMENT_FIELDS)
# §2.7: the prefix separates a statement signature from every other use of the key.
STATEMENT_PREFIX = b"integrity-ledger/statement/v2\n"
_V2_TAIL = b',"v":2}'  # "v" sorts last among a v2 entry's members (RFC 8785 §3.2.3)


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
    """One sequenced log entry, format v1 or v2. Never updated, never deleted."""

    v: int  # format version: 1 (§2.1, signed by the log host) or 2 (§2.7, a signed statement)
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
    signer: str  # verifier-key name of the signing key (v2: the statement's ``key``)
    sig: str  # base64 Ed25519 signature over the signing bytes
    signed_at: str | None = None  # v2: the signer's clock, RFC 3339 UTC (format_time); None in v1

    def statement_json(self) -> dict[str, Any]:
        """v2: the statement this entry carries (docs/contracts.md §2.7)."""
        return {
            "v": FORMAT_V2, "type": self.type, "authority": self.authority.to_json(), "actor": self.actor,
            "subject": self.subject, "refs": list(self.refs), "request_id": self.request_id, "body": self.body,
            "signed_at": self.signed_at, "key": self.signer,
        }

    def to_json(self, *, with_sig: bool = True) -> dict[str, Any]:
        obj: dict[str, Any]
        if self.v == FORMAT_V2:
            obj = {"v": self.v, "seq": self.seq, "prev": self.prev, "recorded_at": self.recorded_at,
                   "statement": self.statement_json()}
        else:
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
        """RFC 8785 of the whole entry, derived without a second encode of the body.

        v1: from the signing bytes: ``sig`` sorts between ``seq`` and ``signer``,
        and the last ``,"signer":`` is the top-level member (only subject, type
        and v follow it, and none can hold an unescaped quote).
        v2: the members sort as prev, recorded_at, seq, sig, statement, v
        (RFC 8785 §3.2.3), so the statement's canonical bytes, already encoded
        for signing, are spliced in whole. Both checked against a full encode
        in tests/test_entry.py and tests/test_statements.py."""
        if self.v == FORMAT_V2:
            return _v2_head(self) + self.statement_canonical + _V2_TAIL
        data = self.signing_bytes
        cut = data.rindex(b',"signer":')
        return data[:cut] + b',"sig":' + canonical.encode(self.sig) + data[cut:]

    @cached_property
    def statement_canonical(self) -> bytes:
        """v2: RFC 8785 of the statement (its signed bytes without the prefix)."""
        return canonical.encode(self.statement_json())

    @cached_property
    def signing_bytes(self) -> bytes:
        """The bytes ``sig`` signs: v1 the entry without ``sig``; v2 the statement's signed bytes."""
        if self.v == FORMAT_V2:
            return STATEMENT_PREFIX + self.statement_canonical
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


_STATEMENT_KEY = b',"statement":'


def _v2_head(e: Entry) -> bytes:
    """A v2 entry's canonical bytes up to its statement: the four members sorting before it."""
    return (b'{"prev":' + _member(e.prev) + b',"recorded_at":' + _member(e.recorded_at)
            + b',"seq":' + _member(e.seq) + b',"sig":' + _member(e.sig) + b',"statement":')


# Text RFC 8785 writes as is between quotes: printable ASCII without '"' and '\'
# (§3.2.2.2 escapes only those and controls). Hex, base64 and format_time output are.
_PLAIN = re.compile(r'[\x20\x21\x23-\x5b\x5d-\x7e]*')


def _member(value: Any) -> bytes:
    """RFC 8785 bytes of one envelope value, without the general encoder when it is
    plain text or an int (the append path writes four of them per entry)."""
    if type(value) is str and _PLAIN.fullmatch(value):
        return b'"' + value.encode("ascii") + b'"'
    if type(value) is int and -canonical.MAX_SAFE_INTEGER <= value <= canonical.MAX_SAFE_INTEGER:
        return str(value).encode("ascii")
    return canonical.encode(value)


def from_canonical(data: bytes) -> Entry:
    """Parse canonical bytes back into an ``Entry``; refuse anything not exactly canonical.

    The entry keeps ``data`` as its canonical bytes and cuts its signing bytes
    out of them, so a verifier encodes nothing twice. v1: the inverse of
    ``Entry.canonical`` (the top-level ``sig`` member sits just before the last
    ``,"signer":``, and base64 needs no JSON escapes). v2: the statement's bytes
    lie between the four members before it and the closing ``,"v":2}``. Checked
    against a full encode in tests/test_entry.py and tests/test_statements.py.
    """
    e = from_json(canonical.decode(data))
    if e.v == FORMAT_V2:
        # The bytes are canonical (decode proved it) with exactly the §2.7 members, so
        # the statement follows the first ',"statement":': the members before it are
        # strings and an integer, and a string never holds an unescaped '"'.
        cut = data.find(_STATEMENT_KEY)
        if cut > 0 and data.endswith(_V2_TAIL):
            stmt = data[cut + len(_STATEMENT_KEY):-len(_V2_TAIL)]
            e.__dict__["canonical"] = data
            e.__dict__["statement_canonical"] = stmt
            e.__dict__["signing_bytes"] = STATEMENT_PREFIX + stmt
        return e
    member = b',"sig":"' + e.sig.encode("ascii") + b'"'
    cut = data.rfind(b',"signer":')
    if cut > len(member) and data[cut - len(member):cut] == member:
        # cached_property stores in the instance dict, which a frozen dataclass allows
        e.__dict__["canonical"] = data
        e.__dict__["signing_bytes"] = data[:cut - len(member)] + data[cut:]
    return e


def from_json(obj: Any) -> Entry:
    """An ``Entry`` from its JSON object: v2 if ``v`` is 2 (§2.7), else the v1 envelope (§2.1)."""
    if not isinstance(obj, dict):
        raise ValidationError([Problem("$", "entry must be a JSON object")])
    if obj.get("v") == FORMAT_V2 and type(obj.get("v")) is int:
        return _from_json_v2(obj)
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


def _from_json_v2(obj: dict[str, Any]) -> Entry:
    _exact_members(obj, ENVELOPE_V2_FIELDS, _ENVELOPE_V2, "")
    st = obj["statement"]
    if not isinstance(st, dict):
        raise ValidationError([Problem("statement", "must be a JSON object")])
    _exact_members(st, STATEMENT_FIELDS, _STATEMENT, "statement.")
    if st["v"] != FORMAT_V2 or type(st["v"]) is not int:
        raise ValidationError([Problem("statement.v", f"is {st['v']!r}, must be 2 in a v2 entry")])
    auth = st["authority"]
    if not isinstance(auth, dict) or set(auth) != {"id", "region"}:
        raise ValidationError([Problem("statement.authority", "must be {id, region}")])
    _check_base64(obj["sig"])
    refs = st["refs"]
    if not isinstance(refs, list):
        raise ValidationError([Problem("statement.refs", "must be an array of seqs")])
    return Entry(
        v=FORMAT_V2, seq=obj["seq"], prev=obj["prev"], type=st["type"], recorded_at=obj["recorded_at"],
        authority=Authority(auth["id"], auth["region"]), actor=st["actor"], subject=st["subject"],
        refs=tuple(refs), request_id=st["request_id"], body=st["body"], signer=st["key"], sig=obj["sig"],
        signed_at=st["signed_at"],
    )


def _exact_members(obj: dict[str, Any], fields: tuple[str, ...], allowed: frozenset[str], where: str) -> None:
    if obj.keys() != allowed:
        missing = [f for f in fields if f not in obj]
        extra = sorted(set(obj) - allowed)
        raise ValidationError([Problem(where + f, "required member is missing") for f in missing]
                              + [Problem(where + f, "not a member here") for f in extra])


def _check_base64(sig: Any) -> None:
    try:
        base64.b64decode(sig, validate=True)
    except (binascii.Error, TypeError, ValueError) as e:
        raise ValidationError([Problem("sig", "must be base64")]) from e


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with exactly six fractional digits: ``2026-11-28T16:03:31.000123Z``.

    Fixed width makes string order equal time order, which the append path uses
    to keep ``recorded_at`` non-decreasing.
    """
    if moment.tzinfo is None:
        raise ValueError("recorded_at needs an aware datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# format_time's spelling exactly: four-digit year from 1000 (strftime writes years
# below 1000 with fewer digits, so those were never format_time output), ASCII digits
# only (``\d`` would match other scripts' digits).
_TIME = re.compile(r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")


def parse_time(text: str) -> datetime:
    """The inverse of ``format_time``; ``ValueError`` for any other spelling (so that
    string order stays time order for every value the log accepts).

    The verifier parses two times per v2 entry: a fixed-shape match and
    ``fromisoformat`` (which checks the field ranges) instead of ``strptime`` and a
    re-format, 8x cheaper, and accepting exactly the same strings (property-tested
    against the strptime round trip in tests/test_entry.py)."""
    if type(text) is not str or not _TIME.fullmatch(text):
        raise ValueError(f"{text!r} is not RFC 3339 UTC with six fractional digits and Z")
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
