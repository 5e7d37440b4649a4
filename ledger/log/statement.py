"""Statements (docs/contracts.md §2.7): what an authority signs, apart from where the log puts it.

Scope: the statement record, its signed bytes, signing one (key and time are
parameters), parsing a signed statement strictly, and the two pure rules on a
statement that need the log's clock (signed_at skew) or order (v1, then v2).
Non-scope: which key is registered to which authority (``signing.key_registry``),
sequencing (``append``), body rules (``entry_types``).

Byte layout (§2.7)::

    statement    = {"v": 2, "type", "authority": {"id", "region"}, "actor", "subject",
                    "refs", "request_id", "body", "signed_at", "key"}
    signed bytes = "integrity-ledger/statement/v2\\n" || RFC 8785(statement)
    sig          = base64(Ed25519(key, signed bytes))
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from ledger.errors import KeyFormatError, Problem, SignatureError, ValidationError
from ledger.log import canonical
from ledger.log.entry import (
    FORMAT_V2,
    STATEMENT_FIELDS,
    STATEMENT_PREFIX,
    Authority,
    Draft,
    format_time,
    parse_time,
)
from ledger.signing.keys import SigningKey, VerifierKey, check_key_name

# How far the signer's clock may run ahead of the log's (§2.7 "a small documented
# skew"): signed_at <= recorded_at + SIGNED_AT_SKEW. Five minutes covers NTP-less
# office machines without letting a statement claim a time well after its recording.
SIGNED_AT_SKEW = timedelta(minutes=5)
SIGNATURE_BYTES = 64  # RFC 8032 §5.1.6: an Ed25519 signature is 64 bytes


@dataclass(frozen=True)
class Statement:
    """What an authority states and signs (§2.7). Immutable; its bytes are derived."""

    type: str  # registered entry type
    authority: Authority  # who states it
    actor: str  # the principal that submitted it
    subject: str | None  # subject reference (§2.4) or None
    refs: tuple[int, ...]  # earlier seqs it acts on
    request_id: str  # idempotency key, unique per authority
    body: dict[str, Any]  # type-specific
    signed_at: str  # the signer's clock, RFC 3339 UTC, six fractional digits, Z (as recorded_at)
    key: str  # verifier-key name (§2.3) of the signing key

    def to_json(self) -> dict[str, Any]:
        return {
            "v": FORMAT_V2, "type": self.type, "authority": self.authority.to_json(), "actor": self.actor,
            "subject": self.subject, "refs": list(self.refs), "request_id": self.request_id, "body": self.body,
            "signed_at": self.signed_at, "key": self.key,
        }

    @cached_property
    def canonical(self) -> bytes:
        """RFC 8785 of the statement."""
        return canonical.encode(self.to_json())

    @cached_property
    def signed_bytes(self) -> bytes:
        """§2.7: the domain-separation prefix, then the canonical bytes."""
        return STATEMENT_PREFIX + self.canonical

    @cached_property
    def draft(self) -> Draft:
        """The content the log judges (type rules, business rules, idempotency)."""
        return Draft(self.type, self.authority, self.actor, self.subject, self.refs, self.request_id, self.body)

    @classmethod
    def of(cls, draft: Draft, key: str, signed_at: str) -> Statement:
        return cls(draft.type, draft.authority, draft.actor, draft.subject, tuple(draft.refs), draft.request_id,
                   draft.body, signed_at, key)


@dataclass(frozen=True)
class SignedStatement:
    """A statement and its signature: what a client hands the log (``ledger sign`` writes these)."""

    statement: Statement
    sig: str  # base64 Ed25519 signature over ``statement.signed_bytes``

    def to_json(self) -> dict[str, Any]:
        return {"statement": self.statement.to_json(), "sig": self.sig}

    @property
    def signature(self) -> bytes:
        return base64.b64decode(self.sig, validate=True)

    def verify(self, key: VerifierKey) -> None:
        """Raise ``SignatureError`` unless ``sig`` is ``key``'s signature over the signed bytes."""
        if key.name != self.statement.key:
            raise SignatureError(f"statement names key {self.statement.key!r}, not {key.name!r}")
        key.verify(self.signature, self.statement.signed_bytes)


def sign_statement(draft: Draft, signer: SigningKey, signed_at: datetime) -> SignedStatement:
    """Sign ``draft`` as a statement by ``signer`` at ``signed_at`` (the signer's clock, a parameter)."""
    return sign(Statement.of(draft, signer.name, format_time(signed_at)), signer)


def sign(st: Statement, signer: SigningKey) -> SignedStatement:
    """Sign a statement whose ``key`` names ``signer``."""
    if st.key != signer.name:
        raise SignatureError(f"statement names key {st.key!r}, not {signer.name!r}")
    return SignedStatement(st, base64.b64encode(signer.sign(st.signed_bytes)).decode("ascii"))


# --- parsing (strict: exactly the members of §2.7) ---------------------------------

SIGNED_MEMBERS = ("statement", "sig")


def signed_statement_from_json(obj: Any) -> SignedStatement:
    """``{"statement": {...}, "sig": "..."}`` → ``SignedStatement``; ``ValidationError`` naming each bad member."""
    if not isinstance(obj, dict):
        raise ValidationError([Problem("$", "must be a JSON object {statement, sig}")])
    problems = _members(obj, SIGNED_MEMBERS, "")
    if problems:
        raise ValidationError(problems)
    return SignedStatement(statement_from_json(obj["statement"]), obj["sig"])


def statement_from_json(obj: Any) -> Statement:
    if not isinstance(obj, dict):
        raise ValidationError([Problem("statement", "must be a JSON object")])
    problems = _members(obj, STATEMENT_FIELDS, "statement.")
    if problems:
        raise ValidationError(problems)
    if type(obj["v"]) is not int or obj["v"] != FORMAT_V2:
        problems.append(Problem("statement.v", "must be 2"))
    auth = obj["authority"]
    if not (isinstance(auth, dict) and set(auth) == {"id", "region"}
            and all(isinstance(auth[k], str) for k in ("id", "region"))):
        problems.append(Problem("statement.authority", "must be {id, region}, both text"))
    for name in ("type", "actor", "request_id", "signed_at", "key"):
        if not isinstance(obj[name], str):
            problems.append(Problem(f"statement.{name}", "must be text"))
    if obj["subject"] is not None and not isinstance(obj["subject"], str):
        problems.append(Problem("statement.subject", "must be text or null"))
    if not isinstance(obj["refs"], list):
        problems.append(Problem("statement.refs", "must be an array of seqs"))
    if not isinstance(obj["body"], dict):
        problems.append(Problem("statement.body", "must be a JSON object"))
    if problems:
        raise ValidationError(problems)
    return Statement(obj["type"], Authority(auth["id"], auth["region"]), obj["actor"], obj["subject"],
                     tuple(obj["refs"]), obj["request_id"], obj["body"], obj["signed_at"], obj["key"])


def _members(obj: dict[str, Any], fields: tuple[str, ...], where: str) -> list[Problem]:
    return ([Problem(where + f, "is required") for f in fields if f not in obj]
            + [Problem(where + k, "is not a member here") for k in sorted(set(obj) - set(fields))])


# --- stateless checks (before the append lock) -------------------------------------

def shape_problems(s: SignedStatement) -> list[Problem]:
    """What makes a signed statement unusable whatever the log's state: its time,
    key name and signature encoding. (Type and body rules: ``entry_types.validate``.)"""
    problems = []
    try:
        parse_time(s.statement.signed_at)
    except ValueError:
        problems.append(Problem("signed_at", "must be RFC 3339 UTC with six fractional digits and Z "
                                             "(2026-03-02T09:30:00.000000Z)"))
    try:
        check_key_name(s.statement.key)
    except KeyFormatError as e:
        problems.append(Problem("key", str(e)))
    try:
        if len(base64.b64decode(s.sig, validate=True)) != SIGNATURE_BYTES:
            problems.append(Problem("sig", f"must be {SIGNATURE_BYTES} bytes (Ed25519), base64"))
    except (binascii.Error, TypeError, ValueError):
        problems.append(Problem("sig", "must be base64"))
    return problems


# --- rules the log applies with its own clock and order (append and verify) --------

def skew_limit(recorded_at: str, skew: timedelta = SIGNED_AT_SKEW) -> str:
    """The latest ``signed_at`` allowed for an entry recorded at ``recorded_at`` (§2.7)."""
    return format_time(parse_time(recorded_at) + skew)


def skew_problem(signed_at: str, recorded_at: str, skew: timedelta = SIGNED_AT_SKEW, *,
                 limit: str | None = None) -> str | None:
    """§2.7: ``signed_at`` may be later than ``recorded_at`` by at most ``skew``.
    Both are ``format_time`` strings, so string order is time order; ``limit``
    (``skew_limit``) may be given when many entries share one ``recorded_at``."""
    try:
        if limit is None:
            limit = skew_limit(recorded_at, skew)
            parse_time(signed_at)
        elif type(signed_at) is not str:
            raise TypeError(f"signed_at {signed_at!r} is not text")
    except (ValueError, TypeError) as e:
        return str(e)
    if signed_at > limit:
        return f"{signed_at} is later than recorded_at {recorded_at} plus {int(skew.total_seconds())} s"
    return None


def order_problem(previous: int | None, v: int) -> str | None:
    """§2.7: a log holds v1 entries followed by v2 entries, never the reverse."""
    if type(v) is not int or v not in (1, FORMAT_V2):
        return f"format version {v!r}, want 1 or 2"
    if previous == FORMAT_V2 and v != FORMAT_V2:
        return f"a v{v} entry after a v2 entry (a log holds v1 entries, then v2, never the reverse)"
    return None
