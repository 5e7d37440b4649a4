"""Mutations: one per record type, each a single call into ``ledger.access.recording``.

Every mutation takes a ``request_id`` (the client's idempotency key, unique per
authority): a retry after a lost answer returns the original entry; the same
request_id with different content is a ``Conflict``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Annotated, Any

import strawberry

from ledger.access import recording, tokens
from ledger.access.policy import Action, require, require_subject
from ledger.api.context import run
from ledger.api.errors import Barred, Conflict, Forbidden, NotFound, ValidationFailed
from ledger.api.inputs import (
    Benefit,
    CheckDecision,
    ClawbackOrderedBody,
    ClawbackRecoveredBody,
    ClawbackWaivedBody,
    EntryCorrectedBody,
    ExemptionGrantedBody,
    HonorGrantedBody,
    HonorRevokedBody,
    RoleName,
    SanctionAmendedBody,
    SanctionEndedBody,
    SanctionImposedBody,
    SubjectLinkedBody,
    SubsidyGrantedBody,
    body_of,
)
from ledger.api.query import Ctx
from ledger.api.resolve import lookup_ref, resolve_ref, union_result
from ledger.api.types import Entry, TokenInfo
from ledger.domain import subjects
from ledger.errors import ConfigError, Problem, ValidationError
from ledger.errors import NotFound as NotFoundError
from ledger.evidence import export as evidence
from ledger.log.entry import Entry as LedgerEntry
from ledger.log.operator import OPERATOR
from ledger.signing.private_files import private_dir, write_private


@strawberry.type(description="The entry as recorded (or as first recorded, for a retried request_id).")
class Recorded:
    entry: Entry
    tree_size: int = strawberry.field(description="The log size once this entry was appended (seq + 1).")


@strawberry.type
class SubjectAdded:
    ref: str = strawberry.field(description="The subject reference (docs/contracts.md §2.4) to use in records.")
    created: bool


@strawberry.type(description="A new token. The token text is shown only here, once.")
class TokenIssued:
    token: str
    info: TokenInfo


@strawberry.type(description="An evidence bundle for the court's case, recorded in the log before release.")
class ExportReady:
    export_id: str
    download_path: str = strawberry.field(description="GET it with the same bearer token.")
    custody_seq: int = strawberry.field(description="The evidence.exported entry.")
    tree_size: int
    entries: int


@strawberry.type(description="This server cannot do it as configured: no log key (tokens, keys, erasure, exports), "
                             "no vault, or, for a draft mutation, no key of the token's authority (the legacy path, "
                             "decision 0005: sign the statement elsewhere and use record_statements).")
class Unavailable:
    code: str
    message: str


RecordResult = Annotated[Recorded | ValidationFailed | Barred | NotFound | Conflict | Forbidden | Unavailable,
                         strawberry.union("RecordResult")]
SubjectAddedResult = Annotated[SubjectAdded | ValidationFailed | Forbidden | Unavailable,
                               strawberry.union("SubjectAddedResult")]
TokenIssuedResult = Annotated[TokenIssued | ValidationFailed | NotFound | Forbidden | Unavailable,
                              strawberry.union("TokenIssuedResult")]
ExportResult = Annotated[ExportReady | ValidationFailed | NotFound | Forbidden | Unavailable,
                         strawberry.union("ExportResult")]
TokenResult = Annotated[TokenInfo | NotFound | Forbidden | Unavailable, strawberry.union("TokenResult")]


def _unavailable(fn):
    """A missing signing key or vault is the server's configuration, reported as such."""
    import functools

    @functools.wraps(fn)
    async def wrapper(*args, **kwargs):
        try:
            return await fn(*args, **kwargs)
        except ConfigError as e:
            return Unavailable(code="unavailable", message=str(e))

    return wrapper


def _writable(ctx, action: Action):
    """Authorise ``action`` and make sure this server can sign (else ``Unavailable``)."""
    require(ctx.principal, action)
    if ctx.state.keyring is None:
        raise ConfigError("this server is read-only: no signing keys are loaded")
    return ctx.state


async def _record(info: Ctx, type_: str, request_id: str, subject: str, refs: list[int], body: dict) -> Recorded:
    ctx = info.context
    st = _writable(ctx, Action.record_check if type_ == "eligibility.checked" else Action.record)

    def write() -> LedgerEntry:
        ref = resolve_ref(st, subject)
        if type_ == "subject.linked":
            body["organisation"] = resolve_ref(st, body["organisation"], "body.organisation")
        return recording.record(st.engine, st.keyring, ctx.principal, type_, subject=ref, refs=refs,
                                request_id=request_id, body=body, clock=st.clock)

    e = await run(write)
    return Recorded(entry=Entry.of(e), tree_size=e.seq + 1)


def _mutation(type_: str, body_type: type, ref_arg: str | None, description: str, *,
              many: bool = False) -> RecordResult:
    """The mutation for one record type: (request_id, subject, [ref], body) -> RecordResult.
    Typed as strawberry types fields, by the value they resolve to. ``body``'s
    annotation is set to ``body_type`` below, where strawberry reads it."""
    resolver: Callable[..., Awaitable[RecordResult]]  # one of three signatures
    if ref_arg is None:
        async def resolver(self, info: Ctx, request_id: str, subject: str, body: Any) -> RecordResult:
            return await _record(info, type_, request_id, subject, [], body_of(body))
    elif many:
        async def resolver(self, info: Ctx, request_id: str, subject: str, refs: list[int],
                           body: Any) -> RecordResult:
            return await _record(info, type_, request_id, subject, list(refs), body_of(body))
    else:
        async def resolver(self, info: Ctx, request_id: str, subject: str, ref: int, body: Any) -> RecordResult:
            return await _record(info, type_, request_id, subject, [ref], body_of(body))
    resolver.__annotations__ = {**resolver.__annotations__, "body": body_type, "info": Ctx,
                                "return": RecordResult}
    doc = f"{description} Records an entry of type `{type_}`."
    if ref_arg:
        doc += f" `{'refs' if many else 'ref'}`: {ref_arg}."
    return strawberry.mutation(resolver=union_result(_unavailable(resolver)), description=doc)


@strawberry.type
class RecordMutation:
    grant_honor = _mutation("honor.granted", HonorGrantedBody, None,
                            "Grant an honour (Art. 51, 62); refused as Barred unless overridden.")
    revoke_honor = _mutation("honor.revoked", HonorRevokedBody, "the honor.granted seq", "Revoke an honour (Art. 65).")
    grant_subsidy = _mutation("subsidy.granted", SubsidyGrantedBody, None,
                              "Grant money; refused as Barred unless overridden.")
    order_clawback = _mutation("clawback.ordered", ClawbackOrderedBody, "the subsidy.granted seqs",
                               "Order money back (Art. 65).", many=True)
    record_recovery = _mutation("clawback.recovered", ClawbackRecoveredBody, "the clawback.ordered seq",
                                "Record money recovered.")
    waive_clawback = _mutation("clawback.waived", ClawbackWaivedBody, "the clawback.ordered seq",
                               "Waive (part of) a clawback.")
    impose_sanction = _mutation("sanction.imposed", SanctionImposedBody, None,
                                "Impose a dishonesty sanction (Art. 66).")
    amend_sanction = _mutation("sanction.amended", SanctionAmendedBody, "the sanction.imposed seq",
                               "Change a sanction's period or scope.")
    end_sanction = _mutation("sanction.ended", SanctionEndedBody, "the sanction.imposed seq",
                             "End a sanction from a date (expiry, credit repair, appeal, ...).")
    grant_exemption = _mutation("exemption.granted", ExemptionGrantedBody,
                                "the sanction or clawback seqs it neutralises", "Fault tolerance (Art. 52).", many=True)
    correct_entry = _mutation("entry.corrected", EntryCorrectedBody, "the wrong entry's seq",
                              "Void an entry that was wrong from the start (not a lift).")
    link_subject = _mutation("subject.linked", SubjectLinkedBody, None, "A person works for an organisation.")

    @strawberry.mutation(description="Ask the eligibility question and record the answer with the decision "
                                     "(an `eligibility.checked` entry). The answer is the ledger's own.")
    @union_result
    @_unavailable
    async def record_eligibility_check(self, info: Ctx, request_id: str, subject: str, benefit: Benefit,
                                       programme: str, region: str, on: date, award_ref: str, officer: str,
                                       decision: CheckDecision, approver: str | None = None,
                                       reason: str | None = None) -> RecordResult:
        ctx = info.context
        st = _writable(ctx, Action.record_check)

        def write():
            ref = resolve_ref(st, subject)
            return recording.record_check(st.engine, st.keyring, ctx.principal, subject=ref, benefit=benefit.value,
                                          programme=programme, region=region, on=on, award_ref=award_ref,
                                          officer=officer, decision=decision.value, request_id=request_id,
                                          clock=st.clock, approver=approver, reason=reason)

        e = await run(write)
        return Recorded(entry=Entry.of(e), tree_size=e.seq + 1)

    @strawberry.mutation(description="Register an identifier in the encrypted vault; returns its reference. "
                                     "Idempotent: the same identifier gives the same reference.")
    @union_result
    @_unavailable
    async def add_subject(self, info: Ctx, identifier: str, name: str) -> SubjectAddedResult:
        ctx = info.context
        require(ctx.principal, Action.add_subject)
        if ctx.state.vault is None:
            raise ConfigError("this server has no vault key")
        ref, created = await run(subjects.add_subject, ctx.state.engine, ctx.state.vault, identifier, name,
                                 ctx.state.clock)
        return SubjectAdded(ref=ref, created=created)

    @strawberry.mutation(description="Issue a bearer token (admin). The token text is returned once; the issuance is "
                                     "recorded in the log (`token.issued`, naming this admin token as actor). A "
                                     "recorder or programme officer token names a registered authority and, if "
                                     "given, its registered region.")
    @union_result
    @_unavailable
    async def issue_token(self, info: Ctx, role: RoleName, authority_id: str | None = None,
                          region: str | None = None, case_ref: str | None = None,
                          subjects_: Annotated[list[str] | None, strawberry.argument(name="subjects")] = None,
                          label: str = "", expires_at: datetime | None = None) -> TokenIssuedResult:
        ctx = info.context
        st = _writable(ctx, Action.manage_tokens)  # the issuance is a log entry: it needs the log key
        if expires_at is not None and expires_at.tzinfo is None:
            raise ValidationError([Problem("expires_at", "must carry a time zone")])

        def write():
            refs = [resolve_ref(ctx.state, s, f"subjects.{i}") for i, s in enumerate(subjects_ or [])]
            return tokens.issue(st.engine, st.keyring, role.value, st.clock, actor=ctx.principal.actor,
                                authority_id=authority_id, region=region, case_ref=case_ref, subjects=refs,
                                label=label, expires_at=expires_at)

        text, t = await run(write)
        return TokenIssued(token=text, info=t)

    @strawberry.mutation(description="Revoke a token now (admin), recorded in the log (`token.revoked`).")
    @union_result
    @_unavailable
    async def revoke_token(self, info: Ctx, token_id: str) -> TokenResult:
        ctx = info.context
        st = _writable(ctx, Action.manage_tokens)
        return await run(lambda: tokens.revoke(st.engine, st.keyring, token_id, st.clock, actor=ctx.principal.actor))

    @strawberry.mutation(description="Destroy a subject's vault record (PIPL Art. 47; admin). The log keeps "
                                     "only the reference; a `subject.erased` entry signed by the log key records it.")
    @union_result
    @_unavailable
    async def erase_subject(self, info: Ctx, subject: str, reason: str,
                            legal_basis: str = "个人信息保护法第四十七条") -> RecordResult:
        ctx = info.context
        st = _writable(ctx, Action.erase_subject)

        def write():
            ref = resolve_ref(st, subject)
            # With the vault: the erasure is completed at once (epoch rotation and this
            # host's bundles that disclose the subject deleted; docs/erasure.md).
            return subjects.erase_subject(st.engine, st.keyring, ref, reason, legal_basis, ctx.principal.actor,
                                          OPERATOR, st.clock, vault=st.vault, export_dir=st.export_dir)

        e = await run(write)
        return Recorded(entry=Entry.of(e), tree_size=e.seq + 1)


def _export(state, principal, subjects: list[str]) -> ExportReady:
    found = [lookup_ref(state, s, f"subjects.{i}") for i, s in enumerate(subjects)]
    for ref in found:  # authorise before NotFound: the answer must not tell who is in the vault
        require_subject(principal, Action.request_export, ref)
    missing = [f"subjects.{i}" for i, r in enumerate(found) if r is None]
    if missing:
        raise NotFoundError(f"{', '.join(missing)}: no subject with this identifier in the vault")
    refs = [r for r in found if r is not None]
    b = evidence.export(state.engine, state.keyring, state.vault, state.settings, case=principal.case_ref,
                        requested_by=f"{principal.actor} ({principal.case_ref})", subjects=refs, seqs=[],
                        clock=state.clock)
    export_id = hashlib.sha256(b.data).hexdigest()
    private_dir(state.export_dir)  # names and identity numbers: 0700, whatever the umask
    evidence.write(b, state.export_dir / f"{export_id}.zip")
    write_private(state.export_dir / f"{export_id}.json", json.dumps({"case": principal.case_ref,
                                                                      "custody_seq": b.custody.seq}))
    return ExportReady(export_id=export_id, download_path=f"/exports/{export_id}.zip", custody_seq=b.custody.seq,
                       tree_size=b.manifest["tree_size"],
                       entries=sum(1 for f in b.manifest["files"] if f.startswith("entries/")))


@strawberry.type
class ExportMutation:
    @strawberry.mutation(description="Court: export an evidence bundle of subjects named in the case (docs/evidence.md). "
                                      "The export is recorded in the log (evidence.exported) before release.")
    @union_result
    @_unavailable
    async def request_export(self, info: Ctx, subjects: list[str]) -> ExportResult:
        ctx = info.context
        _writable(ctx, Action.request_export)
        if not 1 <= len(subjects) <= 20:
            raise ValidationError([Problem("subjects", "must have 1-20 items")])
        return await run(_export, ctx.state, ctx.principal, subjects)


@strawberry.type
class Mutation(RecordMutation, ExportMutation):
    pass
