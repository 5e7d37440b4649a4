"""Statements on behalf of an authenticated principal (docs/contracts.md §2.7; docs/api.md, Signed statements).

The API host holds no authority key: a client signs a statement where its key
lives and hands it over; the log checks the signature and orders it
(``ledger.log.append.append_statements``). Two acts here, each authorised
like the record it carries:

- ``statement_to_sign``: the statement a draft becomes, ``signed_at`` from the
  log's clock, for a client that wants the exact bytes to sign. Writes nothing.
- ``record_statements``: signed statements appended as one batch.

Token authority and statement authority (docs/api.md): a token records for one
authority in one region. A statement names its own authority and is signed by
a key registered to it; the token may submit it only if that authority and
region are the token's, and only if its role may record that type. The key
proves who states it; the token bounds who may hand it to this host. Region
rules (jurisdiction) are judged under the append lock as for every writer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine

from ledger.access.policy import Action, Principal, require
from ledger.domain.jurisdiction import body_regions, outside
from ledger.domain.status import eligibility
from ledger.errors import (
    Forbidden,
    KeyFormatError,
    Problem,
    UnknownEntryType,
    ValidationError,
)
from ledger.log import entry_types, strict_json
from ledger.log.append import Clock, append_statements
from ledger.log.entry import Authority, Draft, Entry, format_time
from ledger.log.projection import load_registry
from ledger.log.statement import SignedStatement, Statement, signed_statement_from_json
from ledger.signing.keys import check_key_name
from ledger.store import log_store

# One signed statement as JSON text: a body (16 KiB canonical, entry_types.MAX_BODY_BYTES)
# written with \\uXXXX escapes takes twice that; 64 KiB bounds the parse, as for `ledger record`.
MAX_STATEMENT_BYTES = 64 * 1024
MAX_DEPTH = 64  # a statement nests five levels (statement.body.scope.regions[0])
MAX_BATCH = 100  # statements per call: one transaction, one lock hold (docs/limits.md)


@dataclass(frozen=True)
class RecordedStatement:
    """One appended statement: its entry, and whether it was recorded before this call."""

    entry: Entry
    retried: bool


def action_for(type_: str) -> Action:
    """The role's grant a record of ``type_`` needs (as for the draft mutations)."""
    return Action.record_check if type_ == "eligibility.checked" else Action.record


def authorise(principal: Principal, type_: str, authority: Authority, where: str = "") -> entry_types.EntryType:
    """May ``principal`` hand in a statement of ``type_`` by ``authority``? Raise ``Forbidden`` if not.

    Role first (``require``), then the type is an authority's (the log's own
    records are signed by the log key and never submitted), then the authority
    and its region are the token's (docs/api.md, Signed statements)."""
    try:
        t = entry_types.get(type_)
    except UnknownEntryType:
        raise ValidationError([Problem(f"{where}type", f"unknown entry type {type_!r}")]) from None
    require(principal, action_for(type_))
    if t.signed_by != "authority":
        raise Forbidden(f"{where}type: {type_} entries are the log operator's, not an authority's")
    if (authority.id, authority.region) != (principal.authority_id, principal.region):
        raise Forbidden(f"{where}authority: this token submits for {principal.authority_id} in {principal.region}, "
                        f"not {authority.id} in {authority.region}")
    return t


def statement_to_sign(engine: Engine, principal: Principal, *, type_: str, authority_id: str | None,
                      actor: str | None, subject: str | None, refs: Sequence[int], request_id: str,
                      body: Any, key: str, clock: Clock,
                      resolve_subject: Callable[[str], str] | None = None) -> Statement:
    """The statement ``key`` should sign for this draft, ``signed_at`` now by the log's clock.

    Authorised exactly like recording it (so it is no oracle for what a token
    may not record), checked like it (type and body rules; ``key`` registered to
    the token's authority and not revoked), and written nowhere. ``resolve_subject``
    turns an identifier into its reference (the vault), after authorisation, so
    the answer never tells an unauthorised caller who is in the vault."""
    if principal.authority_id is None or principal.region is None:
        require(principal, action_for(type_))  # a non-writer role: the role's refusal
        raise Forbidden("this token names no authority")
    authority = Authority(authority_id if authority_id is not None else principal.authority_id, principal.region)
    authorise(principal, type_, authority)
    if not isinstance(body, dict):
        raise ValidationError([Problem("body", "must be a JSON object")])
    if subject is not None and resolve_subject is not None:
        subject = resolve_subject(subject)
    draft = Draft(type_, authority, actor if actor is not None else principal.actor, subject, tuple(refs),
                  request_id, body)
    entry_types.validate(draft)
    # Jurisdiction (docs/authorities.md) as far as the draft alone shows it: the regions
    # its body names. What its refs reach is judged under the append lock, at the head.
    far = outside(authority.region, body_regions(body))
    if far:
        raise Forbidden(f"region {', '.join(far)} is outside the jurisdiction {authority.region} "
                        f"of authority {authority.id}")
    problems = answer_problems(engine, draft)
    if problems:
        raise ValidationError(problems)
    try:
        check_key_name(key)
    except KeyFormatError as e:
        raise ValidationError([Problem("key", str(e))]) from e
    with engine.connect() as conn:
        registry = load_registry(conn)
    rec = registry.records.get(key)
    if rec is None or rec.authority_id != authority.id:
        raise ValidationError([Problem("key", f"{key!r} is not a key registered to {authority.id} "
                                              "(an admin enrols it: register_key)")])
    if rec.revoked_seq is not None:
        raise ValidationError([Problem("key", f"{key!r} was revoked at seq {rec.revoked_seq}")])
    # Validity is judged again under the append lock: this check only spares a signer a doomed signature.
    return Statement.of(draft, key, format_time(clock()))


def answer_problems(engine: Engine, d: Draft) -> list[Problem]:
    """An ``eligibility.checked`` records the ledger's own answer, as the draft path
    computes it (``ledger.access.recording.record_check``, FAR 9.405): the answer and
    blocking seqs must be what the ledger answers at the body's ``tree_size`` (a past
    size answers the same forever: the log only grows), and ``proceed`` needs an
    eligible answer. Other types: nothing to check. Without this a signed statement
    could record "eligible" for a barred subject."""
    if d.type != "eligibility.checked":
        return []
    entry_types.validate(d)  # the body's shape first: the fields below exist and are typed
    b = d.body
    with engine.connect() as conn:
        size = log_store.size(conn)
    if b["tree_size"] > size:
        return [Problem("body.tree_size", f"is {b['tree_size']}, beyond the log's size {size}: ask first, then record")]
    try:
        decision = eligibility(engine, d.subject, b["benefit"], b["programme"], b["region"], date.fromisoformat(b["on"]),
                               b["tree_size"])
    except ValidationError as e:
        return [Problem(f"body.{p.field}", p.rule) for p in e.problems]
    problems = []
    if decision.answer != b["answer"]:
        problems.append(Problem("body.answer", f"is {b['answer']}, but the ledger answered {decision.answer} at "
                                               f"tree_size {b['tree_size']}"))
    if sorted(decision.blocking_seqs) != sorted(b["blocking"]):
        problems.append(Problem("body.blocking", f"is {sorted(b['blocking'])}, but the ledger's answer names "
                                                 f"{sorted(decision.blocking_seqs)}"))
    if decision.answer != "eligible" and b["decision"] == "proceed":
        problems.append(Problem("body.decision", f"the answer is {decision.answer}: proceeding needs decision "
                                                 "'override' with an approver and a reason"))
    return problems


def parse_signed(texts: Sequence[str]) -> list[SignedStatement]:
    """Signed statements as ``ledger sign`` writes them (one JSON object each), strictly
    parsed (``ledger.log.strict_json``); problems name ``statements.<i>.<member>``."""
    if not 1 <= len(texts) <= MAX_BATCH:
        raise ValidationError([Problem("statements", f"must have 1-{MAX_BATCH} items")])
    out = []
    for i, text in enumerate(texts):
        where = f"statements.{i}"
        if len(text.encode("utf-8", "surrogatepass")) > MAX_STATEMENT_BYTES:
            raise ValidationError([Problem(where, f"is more than {MAX_STATEMENT_BYTES} bytes")], index=i)
        try:
            obj = strict_json.parse(text, max_depth=MAX_DEPTH, integers_only=True)
            out.append(signed_statement_from_json(obj))
        except ValidationError as e:
            raise ValidationError([Problem(_under(where, p.field), p.rule) for p in e.problems], index=i) from e
    return out


def record_statements(engine: Engine, principal: Principal, signed: Sequence[SignedStatement],
                      clock: Clock) -> list[RecordedStatement]:
    """Append ``signed`` as one all-or-nothing batch for ``principal``; each result says if it was retried.

    Refused before anything is read or written: a statement this token may not
    submit (``Forbidden`` naming ``statements.<i>``). Then ``append_statements``:
    signatures before the lock, key validity, refs, skew and every rule under
    it; its ``ValidationError`` comes back with each field under
    ``statements.<i>``. Nothing is written unless every statement is appended."""
    items = list(signed)
    for i, s in enumerate(items):
        authorise(principal, s.statement.type, s.statement.authority, f"statements.{i}.")
    for i, s in enumerate(items):
        try:
            problems = answer_problems(engine, s.statement.draft)
        except ValidationError as e:
            problems = list(e.problems)
        if problems:
            raise ValidationError([Problem(_under(f"statements.{i}", p.field), p.rule) for p in problems], index=i)
    with engine.connect() as conn:
        before = log_store.size(conn)
    try:
        entries = append_statements(engine, items, clock)
    except ValidationError as e:
        # append_statements names a batch's item by index, a batch of one by none; a
        # problem of the whole batch (none, with several) is named "statements".
        at = e.index if e.index is not None else 0 if len(items) == 1 else None
        where = f"statements.{at}" if at is not None else "statements"
        raise ValidationError([Problem(_under(where, p.field), p.rule) for p in e.problems], index=at) from e
    # Retried: recorded before this call (a lower seq), or recorded with another
    # signature (the same content signed again). A retry racing its own first
    # attempt, both after ``before`` was read, is reported as new by one of them.
    return [RecordedStatement(e, e.seq < before or e.sig != s.sig) for e, s in zip(entries, items)]


def _under(where: str, field: str) -> str:
    """``sig`` or ``$.statement.body`` under ``statements.3``."""
    field = field[2:] if field.startswith("$.") else "" if field == "$" else field
    return f"{where}.{field}" if field else where

