"""The pre-award eligibility rules (Art. 52, 65, 66). Pure: facts in, decision out.

"Is this subject barred, on the award date, from this kind of benefit in this
region and programme?" A listing is a decision over an interval:
in force is computed from dates at query time, never stored.

Rules, in order:
- **barred**: a sanction on the subject that is in force on ``on`` (effective
  period, not ended by then, not voided by a correction, not exempted) and
  whose scope covers the benefit, the region (GB/T 2260 prefix) and the
  programme (an empty programme list covers every programme).
- **needs review**: no bar on the subject itself, but an organisation the
  subject works for on ``on`` is barred in scope (a human decides), or a
  clawback's deadline has passed with money still outstanding.
- **eligible** otherwise.
Warnings: clawbacks outstanding before their deadline, sanctions in scope that
end within 30 days or start within 30 days, exemptions applied (Art. 52: a
neutralised failure never bars or flags the subject: it appears only here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TypedDict

from ledger.domain.programmes import programme_key
from ledger.domain.regions import covers

SOON = timedelta(days=30)


class LegalBasis(TypedDict):
    """A decision's legal basis, as ``records.legal_basis`` validates it."""

    article: str  # e.g. 条例第六十六条
    document_no: str  # the decision document number, e.g. 内人社发〔2026〕12号


@dataclass(frozen=True)
class Query:
    # None: a valid identifier that no subject in the vault holds. Nothing was
    # ever recorded about it (or it was erased after its retention ran out), so
    # the answer is "eligible, no record" (docs/effects.md).
    subject: str | None
    benefit: str  # honor | subsidy | talent_project
    programme: str | None  # a registered programme code; None: every programme
    region: str  # GB/T 2260 code of the award
    on: date  # business date of the award


@dataclass(frozen=True)
class Sanction:
    """A sanction as known at the tree size asked about."""

    seq: int
    subject: str
    severity: str
    effective_from: date
    effective_until: date | None  # None: indefinite
    benefits: tuple[str, ...]
    regions: tuple[str, ...]
    programmes: tuple[str, ...]  # () = every programme
    legal_basis: LegalBasis
    deciding_body: str
    version_seq: int  # the entry that set this period and scope
    ended_on: date | None = None
    ended_seq: int | None = None
    end_reason: str | None = None
    voided_seq: int | None = None
    exempted_seq: int | None = None

    def in_scope(self, q: Query) -> bool:
        # A question about every programme (None) is caught by a bar on any one of them.
        return (q.benefit in self.benefits and any(covers(r, q.region) for r in self.regions)
                and (not self.programmes or q.programme is None
                     or programme_key(q.programme) in {programme_key(p) for p in self.programmes}))

    def in_force(self, on: date) -> bool:
        if self.voided_seq is not None or self.exempted_seq is not None:
            return False
        if on < self.effective_from or (self.effective_until is not None and on > self.effective_until):
            return False
        return self.ended_on is None or on < self.ended_on


@dataclass(frozen=True)
class Move:
    """Money leaving a clawback's balance: a recovery (on ``recovered_on``) or a
    waiver (from its ``decision_date``)."""

    seq: int
    kind: str  # recovered | waived
    amount_fen: int
    on: date


@dataclass(frozen=True)
class Clawback:
    seq: int
    amount_fen: int
    recovered_fen: int  # every live recovery, whatever its date
    waived_fen: int  # every live waiver, whatever its date
    deadline: date
    voided_seq: int | None = None
    exempted_seq: int | None = None
    subject: str = ""
    grant_seqs: tuple[int, ...] = ()
    decision_date: date | None = None  # None: counts from any date
    moves: tuple[Move, ...] = ()

    @property
    def outstanding_fen(self) -> int:
        """What is still owed after every recorded recovery and waiver."""
        if self.voided_seq is not None or self.exempted_seq is not None:
            return 0
        return max(0, self.amount_fen - self.recovered_fen - self.waived_fen)

    def outstanding_on(self, on: date) -> int:
        """What was owed on ``on``: money counts from its own dates (docs/effects.md)."""
        if self.voided_seq is not None or self.exempted_seq is not None:
            return 0
        if self.decision_date is not None and on < self.decision_date:
            return 0
        if not self.moves:  # no dated moves known: the totals are all there is
            return self.outstanding_fen
        return max(0, self.amount_fen - sum(m.amount_fen for m in self.moves if m.on <= on))


@dataclass(frozen=True)
class Reason:
    kind: str  # sanction | employer_sanction | clawback_overdue | clawback_outstanding | ending_soon | starting_soon | exemption_applied
    seq: int
    message: str
    legal_basis: LegalBasis | None = None
    period: tuple[str, str | None] | None = None  # (from, until)
    amount_fen: int | None = None
    # The parameters a sentence needs, so a client words the reason in its own
    # language (``message`` stays, in English, for API compatibility).
    applies_to: str | None = None  # sanction | clawback: what ``seq`` names
    deciding_body: str | None = None  # of the sanction
    programmes: tuple[str, ...] = ()  # the programmes a bar is scoped to, when the question covered every programme
    employer: str | None = None  # the barred organisation's subject reference (employer_sanction)
    exempted_seq: int | None = None  # the exemption that neutralised it (exemption_applied)
    deadline: str | None = None  # the clawback's deadline (clawback_overdue, clawback_outstanding)


@dataclass(frozen=True)
class Decision:
    answer: str  # eligible | barred | needs_review
    blocking: tuple[Reason, ...]
    warnings: tuple[Reason, ...]
    tree_size: int
    query: Query

    @property
    def on_record(self) -> bool:
        """False when the subject is not in the vault: the answer rests on no record."""
        return self.query.subject is not None

    @property
    def blocking_seqs(self) -> list[int]:
        return [r.seq for r in self.blocking]


@dataclass(frozen=True)
class Facts:
    """Everything the rules need about one subject, as known at ``tree_size``."""

    tree_size: int
    sanctions: tuple[Sanction, ...] = ()
    clawbacks: tuple[Clawback, ...] = ()
    employer_sanctions: tuple[Sanction, ...] = field(default_factory=tuple)  # of organisations linked on `on`


def decide(q: Query, facts: Facts) -> Decision:
    blocking: list[Reason] = []
    review: list[Reason] = []
    warnings: list[Reason] = []
    for s in facts.sanctions:
        if not s.in_scope(q):
            continue
        if s.exempted_seq is not None and s.voided_seq is None and _period_covers(s, q.on):
            warnings.append(Reason("exemption_applied", s.seq,
                                   f"sanction {s.seq} is neutralised by exemption {s.exempted_seq} (Art. 52)",
                                   applies_to="sanction", deciding_body=s.deciding_body, exempted_seq=s.exempted_seq))
        elif s.in_force(q.on):
            blocking.append(_sanction_reason("sanction", s, f"barred by sanction {s.seq} ({s.deciding_body})"
                                             + _programmes_note(s, q), q))
            if s.effective_until is not None and s.effective_until - q.on <= SOON:
                warnings.append(_sanction_reason("ending_soon", s, f"sanction {s.seq} ends on {s.effective_until}", q))
        elif s.voided_seq is None and s.exempted_seq is None and s.ended_on is None and q.on < s.effective_from <= q.on + SOON:
            warnings.append(_sanction_reason("starting_soon", s, f"sanction {s.seq} takes effect on {s.effective_from}", q))
    for s in facts.employer_sanctions:
        if s.in_scope(q) and s.in_force(q.on):
            review.append(_sanction_reason("employer_sanction", s,
                                           f"employer {s.subject[:12]}… is barred by sanction {s.seq}"
                                           + _programmes_note(s, q), q, employer=s.subject))
    for c in facts.clawbacks:
        owed = c.outstanding_on(q.on)  # on the award date, not today
        if c.exempted_seq is not None and c.voided_seq is None:
            warnings.append(Reason("exemption_applied", c.seq, f"clawback {c.seq} is neutralised by exemption {c.exempted_seq} (Art. 52)",
                                   applies_to="clawback", exempted_seq=c.exempted_seq, deadline=c.deadline.isoformat()))
        elif owed and q.on > c.deadline:
            review.append(Reason("clawback_overdue", c.seq, f"clawback {c.seq}: {owed} fen unrecovered since {c.deadline}",
                                 amount_fen=owed, applies_to="clawback", deadline=c.deadline.isoformat()))
        elif owed:
            warnings.append(Reason("clawback_outstanding", c.seq, f"clawback {c.seq}: {owed} fen outstanding, due {c.deadline}",
                                   amount_fen=owed, applies_to="clawback", deadline=c.deadline.isoformat()))
    if blocking:  # barred: the bar is the answer; review matters stay visible as warnings
        return Decision("barred", tuple(blocking), tuple(review + warnings), facts.tree_size, q)
    answer = "needs_review" if review else "eligible"
    return Decision(answer, tuple(review), tuple(warnings), facts.tree_size, q)


def _programmes_note(s: Sanction, q: Query) -> str:
    """A question about every programme names the programmes a bar is scoped to."""
    if q.programme is None and s.programmes:
        return f" in programme{'s' if len(s.programmes) > 1 else ''} {', '.join(s.programmes)}"
    return ""


def _period_covers(s: Sanction, on: date) -> bool:
    return s.effective_from <= on and (s.effective_until is None or on <= s.effective_until) and (s.ended_on is None or on < s.ended_on)


def _sanction_reason(kind: str, s: Sanction, message: str, q: Query, employer: str | None = None) -> Reason:
    until = s.effective_until.isoformat() if s.effective_until else None
    # The programmes are named only where _programmes_note names them (a question about every programme).
    programmes = tuple(s.programmes) if q.programme is None else ()
    return Reason(kind, s.seq, message, s.legal_basis, (s.effective_from.isoformat(), until),
                  applies_to="sanction", deciding_body=s.deciding_body, programmes=programmes, employer=employer)
