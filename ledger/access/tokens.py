"""API bearer tokens: issue, list, revoke, authenticate.

A token reads ``il_<id>_<secret>``: the id is public (listings, entries'
``actor``), the secret is 32 random bytes (hex) shown once at issue. Only
SHA-256(secret) is stored: the secret has 256 bits of entropy, so a slow
password hash would add nothing, and a database reader cannot replay it.
Randomness and time are parameters (``rand``, ``clock``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, update

from ledger.access.policy import WRITERS, Principal, Role
from ledger.errors import NotFound, Problem, Unauthenticated, ValidationError
from ledger.log.body_schema import region_code, text
from ledger.log.entry import format_time
from ledger.store.schema import api_tokens

PREFIX = "il_"
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class TokenInfo:
    token_id: str
    role: str
    authority_id: str | None
    region: str | None
    case_ref: str | None
    subjects: list[str]
    label: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None

    def to_json(self) -> dict:
        return dict(self.__dict__)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(engine: Engine, role: str, clock: Clock, *, authority_id: str | None = None, region: str | None = None,
          case_ref: str | None = None, subjects: list[str] | None = None, label: str = "",
          expires_at: datetime | None = None, rand: Callable[[int], bytes] = secrets.token_bytes) -> tuple[str, TokenInfo]:
    """Store a new token; return (the token text, shown once; its record)."""
    subjects = sorted(set(subjects or []))
    problems = []
    try:
        r = Role(role)
    except ValueError:
        problems.append(Problem("role", "must be one of " + ", ".join(x.value for x in Role)))
        r = None
    if r in WRITERS and not authority_id:
        problems.append(Problem("authority", f"is required for role {role}"))
    if r in WRITERS and not region:
        problems.append(Problem("region", f"is required for role {role}"))
    if region is not None and (region_rule := region_code(region)):
        problems.append(Problem("region", region_rule))
    if r is Role.court and (not case_ref or not subjects):
        problems.append(Problem("case", "a court token names its case and at least one subject"))
    if r is not Role.court and (case_ref or subjects):
        problems.append(Problem("case", "only court tokens name a case and subjects"))
    for name, value, limit in (("authority", authority_id, 128), ("case", case_ref, 200), ("label", label, 200)):
        if value:
            rule = text(max_len=limit)(value)
            if rule:
                problems.append(Problem(name, rule))
    now = clock()
    if expires_at is not None:
        try:
            format_time(expires_at)
            if expires_at <= now:
                problems.append(Problem("expires", "must be in the future"))
        except (OverflowError, ValueError):
            problems.append(Problem("expires", "must be a representable moment with a time zone"))
    if problems:
        raise ValidationError(problems)
    assert r is not None  # an unknown role is a problem above
    token_id = rand(6).hex()
    secret = rand(32).hex()  # hex: never contains the "_" separator
    row = dict(token_id=token_id, secret_sha256=_digest(secret), role=r.value, authority_id=authority_id,
               region=region, case_ref=case_ref, subjects=json.dumps(subjects), label=label,
               created_at=format_time(now), expires_at=format_time(expires_at) if expires_at else None,
               revoked_at=None)
    with engine.begin() as conn:
        conn.execute(api_tokens.insert().values(**row))
    return f"{PREFIX}{token_id}_{secret}", _info(row)


def revoke(engine: Engine, token_id: str, clock: Clock) -> TokenInfo:
    """Revoke now. Idempotent: a revoked token keeps its first revocation time."""
    if not re.fullmatch(r"[0-9a-f]{12}", token_id):
        raise NotFound(f"token: no token {token_id!r}")
    with engine.begin() as conn:
        conn.execute(update(api_tokens).where(api_tokens.c.token_id == token_id, api_tokens.c.revoked_at.is_(None))
                     .values(revoked_at=format_time(clock())))
        row = conn.execute(select(api_tokens).where(api_tokens.c.token_id == token_id)).first()
    if row is None:
        raise NotFound(f"token: no token {token_id!r}")
    return _info(row._mapping)


def list_tokens(engine: Engine) -> list[TokenInfo]:
    with engine.connect() as conn:
        return [_info(r._mapping) for r in conn.execute(select(api_tokens).order_by(api_tokens.c.created_at))]


def authenticate(engine: Engine, presented: str | None, now: datetime) -> Principal:
    """The principal behind ``Authorization: Bearer <token>``, or ``Unauthenticated``."""
    if not presented:
        raise Unauthenticated("missing bearer token")
    parts = presented.split("_")
    if len(parts) != 3 or f"{parts[0]}_" != PREFIX or not parts[1] or not parts[2]:
        raise Unauthenticated("malformed token")
    _, token_id, secret = parts
    with engine.connect() as conn:
        row = conn.execute(select(api_tokens).where(api_tokens.c.token_id == token_id)).first()
    # Compare in constant time, and the same way for unknown ids.
    stored = row.secret_sha256 if row is not None else "0" * 64
    if not hmac.compare_digest(stored, _digest(secret)) or row is None:
        raise Unauthenticated("unknown token")
    if row.revoked_at is not None:
        raise Unauthenticated("token revoked")
    if row.expires_at is not None and row.expires_at <= format_time(now):
        raise Unauthenticated("token expired")
    return Principal(token_id=row.token_id, role=Role(row.role), authority_id=row.authority_id, region=row.region,
                     case_ref=row.case_ref, subjects=frozenset(json.loads(row.subjects)))


def _info(m) -> TokenInfo:
    return TokenInfo(m["token_id"], m["role"], m["authority_id"], m["region"], m["case_ref"],
                     json.loads(m["subjects"]), m["label"], m["created_at"], m["expires_at"], m["revoked_at"])
