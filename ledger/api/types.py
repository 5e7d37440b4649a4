"""Output types. Field names are the contract's (snake_case, as in entries and
exports): one name per fact across the API, the log and the evidence files."""

from __future__ import annotations

import base64
from datetime import date
from enum import Enum
from typing import Any

import strawberry
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.scalars import JSON
from strawberry.types import Info

from ledger.access import tokens
from ledger.access.policy import may_read_entry
from ledger.api.scalars import Fen
from ledger.domain import eligibility as elig
from ledger.log.entry import Entry as LedgerEntry


def cursor_of(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode()


def seq_of_cursor(cursor: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        kind, _, n = text.partition(":")
        if kind != "seq" or not (n.isascii() and n.isdigit()) or len(n) > 18:
            return None  # 18 digits: below 2^63, the seq column's range
        return int(n)
    except (ValueError, UnicodeError):
        return None


@strawberry.type
class Authority:
    id: str
    region: str


class EntryReadable(BasePermission):
    """The read rule (``ledger.access.policy.may_read_entry``) on every field of an
    entry, wherever the entry is nested: a resolver that reaches an entry by a new
    path cannot skip it. Resolvers check it first and answer ``Forbidden``; this is
    the backstop, a GraphQL error with code ``forbidden``."""

    message = "this token may not read this entry (docs/api.md, Reading entries)"
    error_extensions = {"code": "forbidden"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return may_read_entry(info.context.principal, source)


def _readable(description: str | None = None) -> Any:
    return strawberry.field(description=description,
                            extensions=[PermissionExtension([EntryReadable()], use_directives=False)])


@strawberry.type(description="One log entry exactly as recorded (docs/contracts.md §2.1, v2 §2.7). Every field passes the "
                             "entry read rule (docs/api.md, Reading entries).")
class Entry:
    v: int = _readable()
    version: int = _readable("Entry format: 1 (docs/contracts.md §2.1, signed by the log host) or 2 (§2.7, a "
                             "statement signed by its authority). The same as `v`.")
    seq: int = _readable()
    prev: str = _readable()
    type: str = _readable()
    recorded_at: str = _readable()
    authority: Authority = _readable()
    actor: str = _readable()
    subject: str | None = _readable()
    refs: list[int] = _readable()
    request_id: str = _readable()
    body: JSON = _readable()
    signer: str = _readable("The key that signed it (v2: the statement's `key`).")
    signed_at: str | None = _readable("v2: the signer's clock when it signed the statement (RFC 3339 UTC); "
                                      "null for v1.")
    sig: str = _readable()
    canonical: str = _readable("The RFC 8785 canonical bytes, as UTF-8 text.")
    canonical_base64: str = _readable("The canonical bytes, base64 (byte-exact).")
    leaf_hash: str = _readable("SHA-256(0x00 || canonical bytes), hex (RFC 9162 §2.1.1).")

    @classmethod
    def of(cls, e: LedgerEntry) -> Entry:
        return cls(v=e.v, version=e.v, seq=e.seq, prev=e.prev, type=e.type, recorded_at=e.recorded_at,
                   authority=Authority(id=e.authority.id, region=e.authority.region), actor=e.actor,
                   subject=e.subject, refs=list(e.refs), request_id=e.request_id, body=JSON(e.body), signer=e.signer,
                   signed_at=e.signed_at, sig=e.sig, canonical=e.canonical.decode(), canonical_base64=base64.b64encode(e.canonical).decode(),
                   leaf_hash=e.leaf_hash.hex())


@strawberry.type
class EntryEdge:
    cursor: str
    node: Entry


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type(description="A page of entries (Relay connection), read at tree_size.")
class EntryConnection:
    edges: list[EntryEdge]
    page_info: PageInfo
    tree_size: int

    @classmethod
    def of(cls, rows: list[LedgerEntry], first: int, size: int) -> EntryConnection:
        page = rows[:first]
        return cls(edges=[EntryEdge(cursor=cursor_of(e.seq), node=Entry.of(e)) for e in page],
                   page_info=PageInfo(has_next_page=len(rows) > first,
                                      end_cursor=cursor_of(page[-1].seq) if page else None),
                   tree_size=size)


@strawberry.type
class LegalBasis:
    article: str
    document_no: str


@strawberry.type(description="A reason the check gives (blocking or warning). Clients word it from `kind` and "
                               "its parameters; `message` is the same in English, kept for compatibility.")
class Reason:
    kind: str = strawberry.field(description="sanction | employer_sanction | clawback_overdue | clawback_outstanding | "
                                             "ending_soon | starting_soon | exemption_applied")
    seq: int
    message: str = strawberry.field(description="English text, for compatibility; the console words `kind` itself.")
    legal_basis: LegalBasis | None
    period_from: date | None
    period_until: date | None
    amount_fen: Fen | None
    applies_to: str | None = strawberry.field(description="What `seq` names: sanction | clawback.")
    deciding_body: str | None = strawberry.field(description="The sanction's deciding body (authority id).")
    programmes: list[str] = strawberry.field(description="The programmes the bar is scoped to, when the question "
                                                         "covered every programme; empty otherwise.")
    employer: str | None = strawberry.field(description="employer_sanction: the barred organisation's subject reference.")
    exempted_seq: int | None = strawberry.field(description="exemption_applied: the exemption entry (Art. 52).")
    deadline: date | None = strawberry.field(description="The clawback's repayment deadline.")

    @classmethod
    def of(cls, r: elig.Reason) -> Reason:
        lb = LegalBasis(**r.legal_basis) if r.legal_basis else None
        start, until = r.period if r.period else (None, None)
        return cls(kind=r.kind, seq=r.seq, message=r.message, legal_basis=lb,
                   period_from=date.fromisoformat(start) if start else None,
                   period_until=date.fromisoformat(until) if until else None,
                   amount_fen=Fen(r.amount_fen) if r.amount_fen is not None else None,
                   applies_to=r.applies_to, deciding_body=r.deciding_body, programmes=list(r.programmes),
                   employer=r.employer, exempted_seq=r.exempted_seq,
                   deadline=date.fromisoformat(r.deadline) if r.deadline else None)


@strawberry.enum(description="The check's answer.")
class Answer(Enum):
    eligible = "eligible"
    barred = "barred"
    needs_review = "needs_review"


@strawberry.type(description="Is the subject barred, on the award date, from this benefit here? (Art. 52, 65, 66)")
class Eligibility:
    answer: Answer
    subject: str | None = strawberry.field(description="The subject reference; null: the identifier is valid but no "
                                                       "subject in the vault holds it (see on_record).")
    on_record: bool = strawberry.field(description="False: nothing was ever recorded about this identifier (or it "
                                                   "was erased after its retention), so the answer rests on no record.")
    benefit: str
    programme: str | None = strawberry.field(description="The programme code asked about; null: every programme.")
    region: str
    on: date
    tree_size: int = strawberry.field(description="The log size the answer was computed at.")
    blocking: list[Reason]
    warnings: list[Reason]

    @classmethod
    def of(cls, d: elig.Decision) -> Eligibility:
        q = d.query
        return cls(answer=Answer[d.answer], subject=q.subject, on_record=d.on_record, benefit=q.benefit, programme=q.programme,
                   region=q.region, on=q.on, tree_size=d.tree_size, blocking=[Reason.of(r) for r in d.blocking],
                   warnings=[Reason.of(r) for r in d.warnings])


@strawberry.type
class Sanction:
    seq: int
    severity: str
    effective_from: date
    effective_until: date | None
    benefits: list[str]
    regions: list[str]
    programmes: list[str]
    legal_basis: LegalBasis
    deciding_body: str
    version_seq: int = strawberry.field(description="The entry that set this period and scope.")
    ended_on: date | None
    ended_seq: int | None
    end_reason: str | None
    voided_seq: int | None
    exempted_seq: int | None
    in_force: bool = strawberry.field(description="In force on the subject's `on` date.")

    @classmethod
    def of(cls, s: elig.Sanction, on: date) -> Sanction:
        return cls(seq=s.seq, severity=s.severity, effective_from=s.effective_from, effective_until=s.effective_until,
                   benefits=list(s.benefits), regions=list(s.regions), programmes=list(s.programmes),
                   legal_basis=LegalBasis(**s.legal_basis), deciding_body=s.deciding_body, version_seq=s.version_seq,
                   ended_on=s.ended_on, ended_seq=s.ended_seq, end_reason=s.end_reason, voided_seq=s.voided_seq,
                   exempted_seq=s.exempted_seq, in_force=s.in_force(on))


@strawberry.type
class Clawback:
    seq: int
    grant_seqs: list[int]
    amount_fen: Fen
    recovered_fen: Fen
    waived_fen: Fen
    outstanding_fen: Fen
    deadline: date
    overdue: bool = strawberry.field(description="Deadline passed before `on` with money outstanding.")
    voided_seq: int | None
    exempted_seq: int | None

    @classmethod
    def of(cls, c: elig.Clawback, on: date) -> Clawback:
        return cls(seq=c.seq, grant_seqs=list(c.grant_seqs), amount_fen=Fen(c.amount_fen),
                   recovered_fen=Fen(c.recovered_fen), waived_fen=Fen(c.waived_fen),
                   outstanding_fen=Fen(c.outstanding_fen), deadline=c.deadline,
                   overdue=c.outstanding_fen > 0 and c.deadline < on, voided_seq=c.voided_seq,
                   exempted_seq=c.exempted_seq)


@strawberry.type
class Honor:
    seq: int
    title: str
    level: str
    programme: str
    decision_date: date
    region: str
    status: str = strawberry.field(description="active, revoked, voided or exempted.")

    @classmethod
    def of(cls, h: dict) -> Honor:
        return cls(seq=h["seq"], title=h["title"], level=h["level"], programme=h["programme"],
                   decision_date=date.fromisoformat(h["decision_date"]), region=h["region"], status=h["status"])


@strawberry.type(description="Money granted. Recoveries are those of the clawbacks naming this grant "
                             "(a clawback naming several grants counts on each).")
class Grant:
    seq: int
    grant_ref: str = strawberry.field(description="The grant's reference as recorded (reconciliation matches it "
                                                  "trimmed and case-folded, docs/reconciliation.md).")
    programme: str
    kind: str
    amount_fen: Fen
    decision_date: date
    region: str
    status: str
    clawback_seqs: list[int]
    clawed_back_fen: Fen = strawberry.field(description="Ordered back by clawbacks in force.")
    recovered_fen: Fen
    outstanding_fen: Fen

    @classmethod
    def of(cls, g: dict, claws: list[elig.Clawback]) -> Grant:
        mine = [c for c in claws if g["seq"] in c.grant_seqs]
        live = [c for c in mine if c.voided_seq is None and c.exempted_seq is None]
        return cls(seq=g["seq"], grant_ref=g["grant_ref"], programme=g["programme"], kind=g["kind"],
                   amount_fen=g["amount_fen"], decision_date=date.fromisoformat(g["decision_date"]),
                   region=g["region"], status=g["status"], clawback_seqs=[c.seq for c in mine],
                   clawed_back_fen=Fen(sum(c.amount_fen for c in live)),
                   recovered_fen=Fen(sum(c.recovered_fen for c in mine)),
                   outstanding_fen=Fen(sum(c.outstanding_fen for c in live)))


@strawberry.type(description="A C2SP checkpoint (signed note) stored by the log.")
class Checkpoint:
    size: int
    root_hash: str
    created_at: str
    note: str = strawberry.field(description="The signed note text, with witness cosignatures; verify it offline.")


@strawberry.type(description="RFC 9162 §2.1.3 inclusion proof.")
class InclusionProof:
    seq: int
    tree_size: int
    leaf_hash: str
    root_hash: str
    hashes: list[str]
    tlog_proof: str | None = strawberry.field(
        description="C2SP tlog-proof text for `ledger verify-proof`, when tree_size is a checkpoint's size: the "
                    "checkpoint, and the entry's bytes in its `extra` line unless entry_withheld.")
    entry_withheld: bool = strawberry.field(
        description="True: this token may not read the entry (docs/api.md, Reading entries), so tlog_proof carries "
                    "hashes only; verify it with the entry from elsewhere (`ledger verify-proof FILE --entry E`).")


@strawberry.type(description="RFC 9162 §2.1.4 consistency proof.")
class ConsistencyProof:
    old_size: int
    new_size: int
    old_root_hash: str
    new_root_hash: str
    hashes: list[str]


# The token service's own record, exposed as is (one definition, two edges):
# strawberry.type marks the dataclass in place and returns it, so the alias
# below names the same class, for strawberry and for type checkers alike.
TokenInfo = tokens.TokenInfo
strawberry.type(TokenInfo, name="TokenInfo", description="An issued token (never its secret).")


@strawberry.type(description="Who this token is.")
class Me:
    token_id: str
    role: str
    authority_id: str | None
    region: str | None
    case_ref: str | None
    subjects: list[str]

