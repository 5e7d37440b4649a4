"""Who may do what (docs/api.md): roles, jurisdictions and courts' cases. Pure.

A ``Principal`` is what a bearer token stands for. Every API operation names
an ``Action``; ``require`` raises ``Forbidden`` unless the role has it, and the
jurisdiction and case checks below narrow it further:

- ``recorder``: appends records for its own authority, only when every region
  the record touches (the body's region, a sanction's scope, the regions of
  the entries it acts on) lies in its region subtree (GB/T 2260 prefix),
  judged in the append path under the lock (docs/authorities.md);
- ``programme_officer``: eligibility checks and subject status anywhere (a bar
  imposed elsewhere still bars, Art. 66); records eligibility checks in its own
  region subtree;
- ``auditor``: reads everything, proofs and checkpoints; writes nothing;
- ``court``: reads only the subjects named in its case (and proofs); requests
  evidence exports of them;
- ``admin``: issues and revokes tokens, enrols and revokes authorities' public
  keys, erases vault records; reads no records.
- ``auditor`` and ``admin``: the supervision figures (``read_supervision``:
  aggregates by league and month, overrides by authority and officer, the
  reconciliation nights; Art. 63, 68). The drill-down to the override entries
  (seqs, subject references, reasons) is entry content: it also needs
  ``read_entries``, so an admin sees the figures and not the entries. A token
  with a region sees only the figures under it.
- anyone, with or without a token (``PUBLIC``): the public publicity list of
  sanctions (``read_publicity``: masked, within publicity periods; Art. 66,
  docs/publicity.md). No other action is open without a token.

Reading an entry's content (its body, bytes and signature) has one rule,
``may_read_entry``, whatever path reaches the entry: ``entry``, a page of
``entries``, a subject's ``history``, an entry nested in any answer (a
mutation's ``Recorded``), the entry bytes in an inclusion proof's tlog-proof,
an evidence bundle's download (docs/api.md, Reading entries). Auditors and
recorders read every entry; a court the entries about the subjects of its case;
every token the entries it recorded itself; nobody else. A programme officer
reads a subject's status (``read_subject``), never its raw entries. Proofs are
hashes and are open to every ``read_proofs`` role; the entry bytes in them are
not (the API leaves them out).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from ledger.errors import Forbidden


class Role(str, Enum):
    recorder = "recorder"
    programme_officer = "programme_officer"
    auditor = "auditor"
    court = "court"
    admin = "admin"


class Action(str, Enum):
    check_eligibility = "check_eligibility"  # the pre-award question
    read_subject = "read_subject"  # status, honours, grants, clawbacks, history
    read_entries = "read_entries"  # raw entries, the log page by page
    read_proofs = "read_proofs"  # checkpoints, inclusion and consistency proofs
    add_subject = "add_subject"  # register an identifier in the vault
    record = "record"  # the domain's record types
    record_check = "record_check"  # eligibility.checked
    manage_tokens = "manage_tokens"
    manage_keys = "manage_keys"  # enrol (key.registered) and revoke authorities' public keys
    erase_subject = "erase_subject"
    request_export = "request_export"  # an evidence bundle for the court's case
    read_publicity = "read_publicity"  # the public, masked list of publicised sanctions (docs/publicity.md)
    read_supervision = "read_supervision"  # aggregate money, sanctions, overrides, nights (Art. 63, 68; docs/console.md)


R = Role
GRANTS: dict[Action, frozenset[Role]] = {
    Action.check_eligibility: frozenset({R.programme_officer, R.recorder, R.auditor, R.court}),
    Action.read_subject: frozenset({R.programme_officer, R.recorder, R.auditor, R.court}),
    Action.read_entries: frozenset({R.recorder, R.auditor, R.court}),
    Action.read_proofs: frozenset({R.programme_officer, R.recorder, R.auditor, R.court}),
    Action.add_subject: frozenset({R.recorder}),
    Action.record: frozenset({R.recorder}),
    Action.record_check: frozenset({R.programme_officer}),
    Action.manage_tokens: frozenset({R.admin}),
    Action.manage_keys: frozenset({R.admin}),
    Action.erase_subject: frozenset({R.admin}),
    Action.request_export: frozenset({R.court}),
    Action.read_publicity: frozenset(Role),  # every role, and anonymous callers (PUBLIC_ACTIONS)
    Action.read_supervision: frozenset({R.auditor, R.admin}),
}
# What a caller without a token may do: only what is published to everyone anyway.
PUBLIC_ACTIONS = frozenset({Action.read_publicity})
# Roles whose token must name an authority and a region (they write under them).
WRITERS = frozenset({R.recorder, R.programme_officer})


@dataclass(frozen=True)
class Principal:
    token_id: str
    role: Role
    authority_id: str | None = None
    region: str | None = None  # jurisdiction root
    case_ref: str | None = None  # court tokens
    subjects: frozenset[str] = field(default_factory=frozenset)  # court tokens: the case's subjects

    @property
    def actor(self) -> str:
        """How entries name who submitted them (no personal data: the token id)."""
        return f"token:{self.token_id}"


def require(p: Principal, action: Action) -> None:
    if p.role not in GRANTS[action]:
        raise Forbidden(f"role {p.role.value} may not {action.value.replace('_', ' ')}")


def require_public(p: Principal | None, action: Action) -> None:
    """``action`` by a caller who may have no token (``p`` None): only ``PUBLIC_ACTIONS``
    are open to anonymous callers; a token holder is judged by ``require``."""
    if p is None:
        if action not in PUBLIC_ACTIONS:
            raise Forbidden(f"{action.value.replace('_', ' ')} needs a token")
        return
    require(p, action)


def require_subject(p: Principal, action: Action, subject: str | None) -> None:
    """``action`` on one subject: courts only for the subjects of their case.
    ``subject`` None (an identifier no subject holds) is, for a court, simply not
    in its case: the same answer as for anyone else outside it, so a refusal
    never reveals who is in the vault."""
    require(p, action)
    if p.role is Role.court and subject not in p.subjects:
        raise Forbidden(f"subject is not named in case {p.case_ref}")


class EntryView(Protocol):
    """What the read rule needs of an entry: the log's ``Entry`` and the API's both fit."""

    @property
    def seq(self) -> int: ...

    @property
    def subject(self) -> str | None: ...

    @property
    def actor(self) -> str: ...


def may_read_entry(p: Principal, entry: EntryView) -> bool:
    """Whether ``p`` may see ``entry``'s content: the one read rule for entries.

    Its own records first: a token reads what it recorded (``actor`` is
    ``token:<id>``), so a mutation can answer with the entry it wrote. Then the
    roles that read entries (``Action.read_entries``): a court only entries whose
    subject is named in its case (an entry about no subject is in no case)."""
    if entry.actor == p.actor:
        return True
    if p.role not in GRANTS[Action.read_entries]:
        return False
    if p.role is Role.court:
        return entry.subject is not None and entry.subject in p.subjects
    return True


def require_entry(p: Principal, entry: EntryView) -> None:
    """``may_read_entry`` or ``Forbidden``."""
    if may_read_entry(p, entry):
        return
    if p.role is Role.court:
        raise Forbidden(f"entry {entry.seq} does not concern a subject of case {p.case_ref}")
    raise Forbidden(f"role {p.role.value} may not read entries")


def require_log(p: Principal) -> None:
    """A page of the whole log: for the roles that read every entry, never a court
    (its pages are one case subject's, ``require_entries``)."""
    require(p, Action.read_entries)
    if p.role is Role.court:
        raise Forbidden("a court token reads entries one case subject at a time: give subject")


def require_entries(p: Principal, subject: str | None) -> None:
    """A page of one subject's entries (``entries(subject:)``, ``history``). Pages are
    all or nothing, never thinned by the rule: every entry of a page allowed here
    passes ``may_read_entry``. ``subject`` None (an identifier no subject holds) is,
    for a court, outside its case like any other (no vault oracle)."""
    require_subject(p, Action.read_entries, subject)


def may_download_export(p: Principal, case: str, subjects: Collection[str]) -> bool:
    """An evidence bundle (``GET /exports/<id>.zip``) holds the entries and the vault
    disclosures (names, numbers) of ``subjects``: an auditor, or a court whose case
    is ``case`` and names every one of them. The case text alone is not enough:
    two court tokens may name the same case with different subjects."""
    if p.role is Role.auditor:
        return True
    return p.role is Role.court and p.case_ref == case and set(subjects) <= p.subjects


def require_export_download(p: Principal, case: str, subjects: Collection[str]) -> None:
    """``may_download_export`` or ``Forbidden``."""
    if not may_download_export(p, case, subjects):
        raise Forbidden("this export holds subjects outside this token's case")
