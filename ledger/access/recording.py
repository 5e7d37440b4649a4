"""Recording on behalf of an authenticated principal (the API's write path).

One call per write: authorise by role here, then append as the token's
authority. Jurisdiction is not judged here: the append path judges it under
the lock, at the locked head, for every writer (``ledger.domain.jurisdiction``),
so a ref to an entry that appears while this request waits is still seen.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, select

from ledger.access.policy import Action, Principal, require
from ledger.domain.status import eligibility
from ledger.errors import Forbidden, NotFound, Problem, ValidationError
from ledger.log import entry_types
from ledger.log.append import Clock, append_entries
from ledger.log.entry import Authority, Draft, Entry, from_canonical
from ledger.signing.keyring import Keyring
from ledger.store.schema import entries


def record(engine: Engine, keyring: Keyring, principal: Principal, type_: str, *, subject: str | None,
           refs: list[int], request_id: str, body: dict, clock: Clock) -> Entry:
    """Append one record for the principal's authority, if its role and region allow it."""
    action = Action.record_check if type_ == "eligibility.checked" else Action.record
    require(principal, action)
    if entry_types.get(type_).signed_by != "authority":
        raise Forbidden(f"{type_} entries are the log operator's, not an authority's")
    # Only writer roles get here, and tokens.issue gives every writer token both.
    assert principal.authority_id is not None and principal.region is not None
    draft = Draft(type_, Authority(principal.authority_id, principal.region), principal.actor, subject,
                  tuple(refs), request_id, body)
    return append_entries(engine, [draft], keyring, clock)[0]


def record_check(engine: Engine, keyring: Keyring, principal: Principal, *, subject: str, benefit: str,
                 programme: str, region: str, on: date, award_ref: str, officer: str, decision: str,
                 request_id: str, clock: Clock, approver: str | None = None, reason: str | None = None) -> Entry:
    """Ask the eligibility question and record the answer with the officer's decision
    (FAR 9.405-style: what the ledger said, at which size, and what was done).

    The answer is the ledger's, computed here: a client cannot record an answer
    the ledger did not give.
    """
    require(principal, Action.record_check)
    d = eligibility(engine, subject, benefit, programme, region, on)
    if d.answer != "eligible" and decision == "proceed":
        raise ValidationError([Problem("decision", f"the answer is {d.answer}: proceeding needs decision "
                                                   "'override' with an approver and a reason")])
    body = {"officer": officer, "programme": programme, "award_ref": award_ref, "benefit": benefit,
            "region": region, "on": on.isoformat(), "answer": d.answer, "tree_size": d.tree_size,
            "blocking": d.blocking_seqs, "decision": decision}
    body.update({k: v for k, v in (("approver", approver), ("reason", reason)) if v})
    return record(engine, keyring, principal, "eligibility.checked", subject=subject, refs=[],
                  request_id=request_id, body=body, clock=clock)


def entry_at(engine: Engine, seq: int) -> Entry:
    with engine.connect() as conn:
        row = conn.execute(select(entries.c.canonical).where(entries.c.seq == seq)).first()
    if row is None:
        raise NotFound(f"seq: no entry {seq}")
    return from_canonical(bytes(row.canonical))
