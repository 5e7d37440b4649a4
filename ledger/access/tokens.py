"""API bearer tokens: issue, list, revoke, authenticate.

Issuing and revoking are log entries (``token.issued``, ``token.revoked``,
signed by the log key, naming who did it), written with the token's row in one
transaction: Art. 68 holds administrators to account, and an entry in a
witnessed log cannot be quietly dropped.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, select, update

from ledger.access.policy import WRITERS, Principal, Role
from ledger.errors import NotFound, Problem, RequestConflict, Unauthenticated, ValidationError
from ledger.log.append import append_entries
from ledger.log.body_schema import region_code, text
from ledger.log.entry import Draft, Entry, format_time
from ledger.log.operator import OPERATOR
from ledger.log.projection import default_projections
from ledger.signing.keyring import Keyring
from ledger.store import log_store
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


def issue(engine: Engine, keyring: Keyring, role: str, clock: Clock, *, actor: str, authority_id: str | None = None,
          region: str | None = None, case_ref: str | None = None, subjects: list[str] | None = None,
          label: str = "", expires_at: datetime | None = None,
          rand: Callable[[int], bytes] = secrets.token_bytes) -> tuple[str, TokenInfo]:
    """Issue a token; return (the token text, shown once; its record).

    The issuance is a ``token.issued`` entry signed by the log key, with ``actor``
    as who issued it (Art. 68: who gave whom which access is on the record), and
    the token's row is written in the same append transaction, so a token never
    exists without its entry. A writer role's token must name a registered
    authority with its registered region (judged under the append lock,
    ``AuthorityRegistry.token_problems``); its region defaults to that one.
    """
    subjects = sorted(set(subjects or []))
    problems = []
    try:
        r = Role(role)
    except ValueError:
        problems.append(Problem("role", "must be one of " + ", ".join(x.value for x in Role)))
        r = None
    if r in WRITERS and not authority_id:
        problems.append(Problem("authority", f"is required for role {role}"))
    if r in WRITERS and authority_id and not region:
        region = _registered_region(engine, authority_id)
        if region is None:
            problems.append(Problem("authority", f"{authority_id} is not a registered authority "
                                                 "(`ledger authorities register`)"))
    if r is not None and r not in WRITERS and (authority_id or region):
        problems.append(Problem("authority", f"only {' and '.join(sorted(w.value for w in WRITERS))} tokens "
                                             "name an authority and a region"))
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
    expires = None
    if expires_at is not None:
        try:
            expires = format_time(expires_at)
            if expires_at <= now:
                problems.append(Problem("expires", "must be in the future"))
        except (OverflowError, ValueError):
            problems.append(Problem("expires", "must be a representable moment with a time zone"))
    if problems:
        raise ValidationError(problems)
    assert r is not None  # an unknown role is a problem above
    token_id = rand(6).hex()
    secret = rand(32).hex()  # hex: never contains the "_" separator
    body: dict = {"token_id": token_id, "role": r.value}
    body.update({k: v for k, v in (("authority_id", authority_id), ("region", region), ("case_ref", case_ref),
                                   ("subjects", subjects or None), ("expires_at", expires)) if v})
    draft = Draft("token.issued", OPERATOR, actor, None, (), f"token.issued:{token_id}", body)
    rows = TokenRows(secrets={token_id: (_digest(secret), label)})
    # One transaction: the entry and the row commit together or not at all. A crash
    # before the commit leaves neither; the secret was never shown.
    append_entries(engine, [draft], keyring, clock, projections=[*default_projections(), rows])
    return f"{PREFIX}{token_id}_{secret}", _get(engine, token_id)


def revoke(engine: Engine, keyring: Keyring, token_id: str, clock: Clock, *, actor: str) -> TokenInfo:
    """Revoke now, recording ``token.revoked`` (actor: who revoked it). Idempotent: a
    revoked token keeps its first revocation, and revoking it again writes nothing."""
    if not re.fullmatch(r"[0-9a-f]{12}", token_id):
        raise NotFound(f"token: no token {token_id!r}")
    info = _get(engine, token_id)
    if info.revoked_at is not None:
        return info
    with engine.connect() as conn:
        issued = log_store.by_request(conn, [(OPERATOR.id, f"token.issued:{token_id}")])
    refs = tuple(e.seq for e in issued.values())  # none for tokens issued before issuance was logged
    draft = Draft("token.revoked", OPERATOR, actor, None, refs, f"token.revoked:{token_id}", {"token_id": token_id})
    try:
        append_entries(engine, [draft], keyring, clock, projections=[*default_projections(), TokenRows()])
    except (RequestConflict, ValidationError):
        # Revoked meanwhile by someone else (under the lock): the first revocation stands.
        info = _get(engine, token_id)
        if info.revoked_at is None:
            raise
        return info
    return _get(engine, token_id)


class TokenRows:
    """The ``api_tokens`` rows, written in the append transaction of their
    ``token.issued`` / ``token.revoked`` entries (a ``Projection``). Not rebuilt by
    ``ledger reindex``: the secrets' hashes and the labels are not in the log."""

    def __init__(self, secrets: dict[str, tuple[str, str]] | None = None) -> None:
        self._secrets = dict(secrets or {})  # token_id -> (SHA-256 of the secret, label)
        self._known: dict[str, str | None] = {}  # token_id -> revoked_at, for the tokens drafts name
        self._new: list[dict] = []
        self._revoked: dict[str, str] = {}

    def load(self, conn: Connection, drafts: Sequence[Draft], ref_entries: dict[int, Entry],
             recorded_at: str) -> None:
        ids = [d.body.get("token_id") for d in drafts if d.type in ("token.issued", "token.revoked")]
        rows = conn.execute(select(api_tokens.c.token_id, api_tokens.c.revoked_at)
                            .where(api_tokens.c.token_id.in_([i for i in ids if isinstance(i, str)])))
        self._known = {row.token_id: row.revoked_at for row in rows}
        self._new, self._revoked = [], {}

    def check(self, draft: Draft, seq: int, ref_entries: dict[int, Entry]) -> list[Problem]:
        token_id = draft.body.get("token_id")
        if draft.type == "token.issued":
            if token_id in self._known:
                return [Problem("body.token_id", f"token {token_id} already exists")]
            if token_id not in self._secrets:
                return [Problem("body.token_id", "a token is issued with its secret (ledger.access.tokens.issue)")]
        elif draft.type == "token.revoked":
            if token_id not in self._known:
                return [Problem("body.token_id", f"no token {token_id}")]
            if self._known[token_id] is not None:
                return [Problem("body.token_id", f"token {token_id} was revoked at {self._known[token_id]}")]
        return []

    def apply(self, e: Entry) -> None:
        b = e.body
        if e.type == "token.issued":
            digest, label = self._secrets[b["token_id"]]
            self._new.append(dict(token_id=b["token_id"], secret_sha256=digest, role=b["role"],
                                  authority_id=b.get("authority_id"), region=b.get("region"),
                                  case_ref=b.get("case_ref"), subjects=json.dumps(b.get("subjects", [])),
                                  label=label, created_at=e.recorded_at, expires_at=b.get("expires_at"),
                                  revoked_at=None))
            self._known[b["token_id"]] = None
        elif e.type == "token.revoked":
            self._revoked[b["token_id"]] = self._known[b["token_id"]] = e.recorded_at

    def flush(self, conn: Connection) -> None:
        for row in self._new:
            conn.execute(api_tokens.insert().values(**row))
        for token_id, at in self._revoked.items():
            conn.execute(update(api_tokens).where(api_tokens.c.token_id == token_id).values(revoked_at=at))
        self._new, self._revoked = [], {}

    def clear(self, conn: Connection) -> None:
        """Nothing: ``reindex`` cannot rebuild secrets' hashes from the log."""


def _registered_region(engine: Engine, authority_id: str) -> str | None:
    from ledger.domain.facts import authority_registry

    with engine.connect() as conn:
        rec = authority_registry(conn, log_store.size(conn)).get(authority_id)
    return rec.region if rec else None


def _get(engine: Engine, token_id: str) -> TokenInfo:
    with engine.connect() as conn:
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
