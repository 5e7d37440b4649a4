"""Input types, one per record body (ledger/domain/records.py). GraphQL checks shapes
and enums; the ledger's own schema then checks every domain rule and reports
each problem by its path (``body.amount_fen``), which is the input's path."""

from __future__ import annotations

import dataclasses
from datetime import date
from enum import Enum
from typing import Any

import strawberry

from ledger.api.scalars import Fen
from ledger.domain import records


# The enums are written out so that type checkers see classes; the ones that
# mirror ledger/domain/records.py are checked against it below, at import.
@strawberry.enum(description="Benefit categories barred by Art. 66.")
class Benefit(Enum):
    honor = "honor"
    subsidy = "subsidy"
    talent_project = "talent_project"


@strawberry.enum(description="Level of the awarding body.")
class HonorLevel(Enum):
    national = "national"
    regional = "regional"
    league_city = "league_city"
    county = "county"


@strawberry.enum(description="What the money is for.")
class SubsidyKind(Enum):
    research_funding = "research_funding"
    living_allowance = "living_allowance"
    housing = "housing"
    startup = "startup"
    award = "award"
    project = "project"
    other = "other"


@strawberry.enum(description="Art. 66: serious or general dishonesty.")
class Severity(Enum):
    serious = "serious"
    general = "general"


@strawberry.enum(description="Why a sanction stops applying.")
class EndReason(Enum):
    expiry = "expiry"
    credit_repair = "credit_repair"
    correction = "correction"
    appeal_upheld = "appeal_upheld"
    court_deletion = "court_deletion"
    superseded = "superseded"


@strawberry.enum(description="A person's tie to an organisation.")
class Relation(Enum):
    employee = "employee"
    team_member = "team_member"
    leader = "leader"


@strawberry.enum(description="What the officer did with the answer.")
class CheckDecision(Enum):
    proceed = "proceed"
    refuse = "refuse"
    override = "override"


@strawberry.enum(description="API roles.")
class RoleName(Enum):
    recorder = "recorder"
    programme_officer = "programme_officer"
    auditor = "auditor"
    court = "court"
    admin = "admin"


def _check_mirrors() -> None:
    """Each enum that mirrors a tuple of records.py has its values, in its order."""
    mirrors: tuple[tuple[type[Enum], tuple[str, ...]], ...] = (
        (Benefit, records.BENEFITS), (HonorLevel, records.HONOR_LEVELS), (SubsidyKind, records.SUBSIDY_KINDS),
        (EndReason, records.END_REASONS), (CheckDecision, records.DECISIONS))
    for enum, values in mirrors:
        if tuple(m.value for m in enum) != tuple(values):
            raise RuntimeError(f"ledger.api.inputs.{enum.__name__} differs from ledger.domain.records: {values}")


_check_mirrors()


@strawberry.input
class LegalBasisInput:
    article: str
    document_no: str


@strawberry.input
class OverrideInput:
    approver: str
    reason: str


@strawberry.input
class ScopeInput:
    benefits: list[Benefit]
    regions: list[str]
    programmes: list[str] | None = None


@strawberry.input
class HonorGrantedBody:
    title: str
    level: HonorLevel
    programme: str
    awarding_body: str
    decision_date: date
    region: str
    document_no: str | None = None
    override: OverrideInput | None = None


@strawberry.input
class HonorRevokedBody:
    grounds: str
    legal_basis: LegalBasisInput
    decision_date: date
    deciding_body: str


@strawberry.input
class SubsidyGrantedBody:
    programme: str
    kind: SubsidyKind
    amount_fen: Fen
    grant_ref: str
    budget_account: str
    decision_date: date
    region: str
    override: OverrideInput | None = None


@strawberry.input
class ClawbackOrderedBody:
    amount_fen: Fen
    deadline: date
    grounds: str
    legal_basis: LegalBasisInput
    decision_date: date
    deciding_body: str


@strawberry.input
class ClawbackRecoveredBody:
    amount_fen: Fen
    recovered_on: date
    payment_ref: str | None = None


@strawberry.input
class ClawbackWaivedBody:
    amount_fen: Fen
    reason: str
    decision_date: date
    deciding_body: str


@strawberry.input
class SanctionImposedBody:
    severity: Severity
    grounds: str
    legal_basis: LegalBasisInput
    deciding_body: str
    decision_date: date
    effective_from: date
    scope: ScopeInput
    effective_until: date | None = None
    publicity_until: date | None = None


@strawberry.input
class SanctionAmendedBody:
    reason: str
    decision_date: date
    deciding_body: str
    effective_from: date | None = None
    effective_until: date | None = None
    indefinite: bool | None = strawberry.field(default=None, description="true: open-ended from now on.")
    scope: ScopeInput | None = None


@strawberry.input
class SanctionEndedBody:
    reason: EndReason
    ended_on: date
    deciding_body: str
    note: str | None = None


@strawberry.input
class ExemptionGrantedBody:
    project: str
    finding: str
    decision_date: date
    deciding_body: str


@strawberry.input
class EntryCorrectedBody:
    reason: str
    deciding_body: str


@strawberry.input
class SubjectLinkedBody:
    organisation: str = strawberry.field(description="The organisation: subject reference or scheme:number.")
    relation: Relation
    valid_from: date
    valid_until: date | None = None


def body_of(obj: Any) -> dict:
    """An input object as an entry body: unset optionals dropped, enums and dates as text."""
    def plain(v: Any) -> Any:
        if isinstance(v, Enum):
            return v.value
        if isinstance(v, date):
            return v.isoformat()
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items() if x is not None}
        if isinstance(v, list):
            return [plain(x) for x in v]
        return v

    body = plain(dataclasses.asdict(obj))
    if body.get("indefinite") is True:
        body["indefinite"] = "yes"
    elif "indefinite" in body:
        del body["indefinite"]
    return body
