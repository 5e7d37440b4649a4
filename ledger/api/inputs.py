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


def _enum(name: str, values, description: str) -> type[Enum]:
    return strawberry.enum(Enum(name, {v: v for v in values}), description=description)


Benefit = _enum("Benefit", records.BENEFITS, "Benefit categories barred by Art. 66.")
HonorLevel = _enum("HonorLevel", records.HONOR_LEVELS, "Level of the awarding body.")
SubsidyKind = _enum("SubsidyKind", records.SUBSIDY_KINDS, "What the money is for.")
Severity = _enum("Severity", ("serious", "general"), "Art. 66: serious or general dishonesty.")
EndReason = _enum("EndReason", records.END_REASONS, "Why a sanction stops applying.")
Relation = _enum("Relation", ("employee", "team_member", "leader"), "A person's tie to an organisation.")
CheckDecision = _enum("CheckDecision", records.DECISIONS, "What the officer did with the answer.")
RoleName = _enum("RoleName", ("recorder", "programme_officer", "auditor", "court", "admin"), "API roles.")


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
