"""Queries. Each resolver authorises, then makes one call into ``ledger``.

Entries are read under one rule (``ledger.access.policy.may_read_entry``,
docs/api.md, Reading entries): ``entry`` checks the entry, ``entries`` and
``history`` check the page and then every entry in it, ``inclusion_proof``
leaves the entry's bytes out of the tlog-proof for a token that may not read
it, and the ``Entry`` type checks every field again wherever it is nested."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from ledger.access import tokens
from ledger.access.policy import (
    Action,
    Principal,
    may_read_entry,
    require,
    require_entries,
    require_entry,
    require_log,
    require_subject,
)
from ledger.access.recording import entry_at
from ledger.api.context import Context, run
from ledger.api.errors import Forbidden as ForbiddenT
from ledger.api.errors import NotFound as NotFoundT
from ledger.api.errors import ValidationFailed
from ledger.api.inputs import Benefit
from ledger.api.resolve import ArgumentError, FieldForbidden, check_page, lookup_ref_async, page_size, union_result
from ledger.api.types import (
    Checkpoint,
    Clawback,
    ConsistencyProof,
    Eligibility,
    Entry,
    EntryConnection,
    Grant,
    Honor,
    InclusionProof,
    Me,
    Sanction,
    TokenInfo,
    seq_of_cursor,
)
from ledger.domain.status import eligibility as check_eligibility
from ledger.domain.status import entries_page
from ledger.errors import Forbidden, NotFound, Problem, ValidationError
from ledger.log import prove, publish
from ledger.log.body_schema import control_characters
from ledger.log.entry import Entry as LedgerEntry
from ledger.log.entry import from_canonical
from ledger.log.tlog_proof import TlogProof

Ctx = Info[Context, None]


def _page(p: Principal, rows: list[LedgerEntry], first: int, size: int) -> EntryConnection:
    """A page the caller was allowed to ask for, each entry checked again (all or nothing)."""
    for e in rows[:first]:
        require_entry(p, e)
    return EntryConnection.of(rows, first, size)


def _after(cursor: str | None, argument: str = "after") -> int:
    if cursor is None:
        return -1
    seq = seq_of_cursor(cursor)
    if seq is None:
        raise ValidationError([Problem(argument, "is not a cursor from this API")])
    return seq


@strawberry.type(description="A subject (person or organisation) as the ledger knew it at tree_size.")
class Subject:
    ref: str
    on: date = strawberry.field(description="The business date for in_force and overdue.")
    tree_size: int

    @strawberry.field
    async def sanctions(self, info: Ctx, in_force_only: bool = False) -> list[Sanction]:
        rows = await info.context.sanctions.load((self.ref, self.tree_size))
        out = [Sanction.of(s, self.on) for s in rows]
        return [s for s in out if s.in_force] if in_force_only else out

    @strawberry.field
    async def honors(self, info: Ctx) -> list[Honor]:
        return [Honor.of(h) for h in await info.context.honors.load((self.ref, self.tree_size))]

    @strawberry.field
    async def grants(self, info: Ctx) -> list[Grant]:
        claws = await info.context.clawbacks.load((self.ref, self.tree_size))
        return [Grant.of(g, claws) for g in await info.context.grants.load((self.ref, self.tree_size))]

    @strawberry.field
    async def clawbacks(self, info: Ctx) -> list[Clawback]:
        return [Clawback.of(c, self.on) for c in await info.context.clawbacks.load((self.ref, self.tree_size))]

    @strawberry.field(description="The subject's entries in seq order (Relay connection). Null, with an error of "
                                  "code `forbidden`, for a token that may not read entries (a programme officer "
                                  "reads the status above, not the raw entries; docs/api.md, Reading entries).")
    async def history(self, info: Ctx, first: int = 20, after: str | None = None, types: list[str] | None = None,
                      recorded_from: date | None = None,
                      recorded_until: date | None = None) -> EntryConnection | None:
        p = info.context.principal
        try:
            require_entries(p, self.ref)
        except Forbidden as e:
            raise FieldForbidden(str(e)) from e
        n = page_size(info.context, first)
        if any(control_characters(t) for t in types or []):
            raise ArgumentError("types", "must not contain control characters")
        start = seq_of_cursor(after) if after is not None else -1
        if start is None:
            raise ArgumentError("after", "is not a cursor from this API")
        engine = info.context.state.engine

        def read():
            with engine.connect() as conn:
                return entries_page(conn, self.tree_size, subject=self.ref, types=types, recorded_from=recorded_from,
                                    recorded_until=recorded_until, after=start, limit=n + 1)

        try:
            return _page(p, await run(read), n, self.tree_size)
        except Forbidden as e:
            raise FieldForbidden(str(e)) from e


@strawberry.type
class SubjectList:
    tree_size: int
    subjects: list[Subject]


EligibilityResult = Annotated[Eligibility | ValidationFailed | NotFoundT | ForbiddenT,
                              strawberry.union("EligibilityResult")]
SubjectResult = Annotated[Subject | ValidationFailed | NotFoundT | ForbiddenT, strawberry.union("SubjectResult")]
SubjectsResult = Annotated[SubjectList | ValidationFailed | NotFoundT | ForbiddenT,
                           strawberry.union("SubjectsResult")]
EntryResult = Annotated[Entry | NotFoundT | ForbiddenT, strawberry.union("EntryResult")]
EntriesResult = Annotated[EntryConnection | ValidationFailed | NotFoundT | ForbiddenT,
                          strawberry.union("EntriesResult")]
CheckpointResult = Annotated[Checkpoint | NotFoundT | ForbiddenT, strawberry.union("CheckpointResult")]
InclusionProofResult = Annotated[InclusionProof | ValidationFailed | NotFoundT | ForbiddenT,
                                 strawberry.union("InclusionProofResult")]
ConsistencyProofResult = Annotated[ConsistencyProof | ValidationFailed | ForbiddenT,
                                   strawberry.union("ConsistencyProofResult")]


@strawberry.type
class TokenList:
    tokens: list[TokenInfo]


TokensResult = Annotated[TokenList | ForbiddenT, strawberry.union("TokensResult")]


def _on(ctx: Context, on: date | None) -> date:
    return on or ctx.state.today()


def _known_at(size: int | None, moment: datetime | None):
    if size is not None and moment is not None:
        raise ValidationError([Problem("known_at", "give known_at_size or known_at, not both")])
    if size is not None and size < 0:
        raise ValidationError([Problem("known_at_size", "must be at least 0")])
    if moment is not None:
        if moment.tzinfo is None:
            raise ValidationError([Problem("known_at", "must carry a time zone")])
        try:
            moment.astimezone(UTC)
        except OverflowError:
            raise ValidationError([Problem("known_at", "is outside the representable range")]) from None
    return size if size is not None else moment


def _filters(**values: list[str] | str | None) -> None:
    """Free-text filters go into SQL: refuse control characters (PostgreSQL rejects NUL)."""
    for name, v in values.items():
        items = [v] if isinstance(v, str) else (v or [])
        if any(control_characters(x) for x in items):
            raise ValidationError([Problem(name, "must not contain control characters")])


def _checkpoint(row) -> Checkpoint:
    return Checkpoint(size=row.size, root_hash=bytes(row.root).hex(), created_at=row.created_at, note=row.note)


@strawberry.type
class Query:
    @strawberry.field(description="The principal behind the bearer token.")
    def me(self, info: Ctx) -> Me:
        p = info.context.principal
        return Me(token_id=p.token_id, role=p.role.value, authority_id=p.authority_id, region=p.region,
                  case_ref=p.case_ref, subjects=sorted(p.subjects))

    @strawberry.field(description="The pre-award check (Art. 52, 65, 66), bitemporal: `on` is the award's "
                                  "business date; known_at_size / known_at ask what the ledger knew then.")
    @union_result
    async def eligibility(self, info: Ctx, subject: str, benefit: Benefit, region: str,
                          programme: str | None = None, on: date | None = None, known_at_size: int | None = None,
                          known_at: datetime | None = None) -> EligibilityResult:
        ctx = info.context
        known = _known_at(known_at_size, known_at)
        # Authorise before resolving: the answer must not tell who is in the vault.
        require(ctx.principal, Action.check_eligibility)
        ref = await lookup_ref_async(ctx.state, subject)
        require_subject(ctx.principal, Action.check_eligibility, ref)
        size = await ctx.size(known)
        d = await run(check_eligibility, ctx.state.engine, ref, benefit.value, programme, region, _on(ctx, on), size)
        return Eligibility.of(d)

    @strawberry.field(description="One subject's standing: sanctions, honours, grants, clawbacks, history.")
    @union_result
    async def subject(self, info: Ctx, id: str, on: date | None = None, known_at_size: int | None = None,
                      known_at: datetime | None = None) -> SubjectResult:
        ctx = info.context
        known = _known_at(known_at_size, known_at)
        require(ctx.principal, Action.read_subject)
        ref = await lookup_ref_async(ctx.state, id, "id")
        require_subject(ctx.principal, Action.read_subject, ref)
        if ref is None:
            raise NotFound("id: no subject with this identifier in the vault")
        return Subject(ref=ref, on=_on(ctx, on), tree_size=await ctx.size(known))

    @strawberry.field(description="Several subjects at one tree size (e.g. a shortlist before an award).")
    @union_result
    async def subjects(self, info: Ctx, ids: list[str], on: date | None = None) -> SubjectsResult:
        ctx = info.context
        if not 1 <= len(ids) <= ctx.state.limits.max_page:
            raise ValidationError([Problem("ids", f"must have 1-{ctx.state.limits.max_page} items")])
        require(ctx.principal, Action.read_subject)
        found = [await lookup_ref_async(ctx.state, x, f"ids.{i}") for i, x in enumerate(ids)]
        for ref in found:
            require_subject(ctx.principal, Action.read_subject, ref)
        missing = [f"ids.{i}" for i, r in enumerate(found) if r is None]
        if missing:
            raise NotFound(f"{', '.join(missing)}: no subject with this identifier in the vault")
        refs = [r for r in found if r is not None]
        size = await ctx.size()
        return SubjectList(tree_size=size, subjects=[Subject(ref=r, on=_on(ctx, on), tree_size=size) for r in refs])

    @strawberry.field(description="One entry, with its canonical bytes and leaf hash.")
    @union_result
    async def entry(self, info: Ctx, seq: int) -> EntryResult:
        ctx = info.context
        if seq < 0 or seq >= await ctx.size():
            raise NotFound(f"seq: no entry {seq} in a tree of size {await ctx.size()}")
        e = await run(entry_at, ctx.state.engine, seq)
        require_entry(ctx.principal, e)
        return Entry.of(e)

    @strawberry.field(description="The log page by page (Relay connection), filtered.")
    @union_result
    async def entries(self, info: Ctx, first: int = 20, after: str | None = None, types: list[str] | None = None,
                      subject: str | None = None, authority: str | None = None,
                      recorded_from: date | None = None, recorded_until: date | None = None) -> EntriesResult:
        ctx = info.context
        require(ctx.principal, Action.read_entries)
        check_page(ctx, first)
        _filters(types=types, authority=authority)
        start = _after(after)
        ref: str | None = None
        if subject is None:
            require_log(ctx.principal)
        else:
            ref = await lookup_ref_async(ctx.state, subject)
            require_entries(ctx.principal, ref)  # before NotFound: no vault oracle
            if ref is None:
                raise NotFound("subject: no subject with this identifier in the vault")
        size = await ctx.size()

        def read():
            with ctx.state.engine.connect() as conn:
                return entries_page(conn, size, subject=ref, types=types, authority=authority,
                                    recorded_from=recorded_from, recorded_until=recorded_until,
                                    after=start, limit=first + 1)

        return _page(ctx.principal, await run(read), first, size)

    @strawberry.field(description="The stored checkpoint at this size.")
    @union_result
    async def checkpoint(self, info: Ctx, size: int) -> CheckpointResult:
        require(info.context.principal, Action.read_proofs)
        return _checkpoint(await run(_stored, info.context.state.engine, size))

    @strawberry.field(description="The newest signed checkpoint.")
    @union_result
    async def latest_checkpoint(self, info: Ctx) -> CheckpointResult:
        require(info.context.principal, Action.read_proofs)
        return _checkpoint(await run(_stored, info.context.state.engine, None))

    @strawberry.field(description="Inclusion proof of entry `seq` in the tree of `tree_size` (default: the "
                                  "newest checkpoint covering it, else the current size). Hashes for every "
                                  "proof reader; the entry's bytes only for a token that may read the entry.")
    @union_result
    async def inclusion_proof(self, info: Ctx, seq: int, tree_size: int | None = None) -> InclusionProofResult:
        require(info.context.principal, Action.read_proofs)
        if seq < 0:
            raise ValidationError([Problem("seq", "must be at least 0")])
        return await run(_inclusion, info.context.state.engine, info.context.principal, seq, tree_size)

    @strawberry.field(description="Consistency proof between two tree sizes (RFC 9162 §2.1.4).")
    @union_result
    async def consistency_proof(self, info: Ctx, old_size: int, new_size: int) -> ConsistencyProofResult:
        require(info.context.principal, Action.read_proofs)
        if old_size < 0:
            raise ValidationError([Problem("old_size", "must be at least 0")])
        p = await run(_consistency, info.context.state.engine, old_size, new_size)
        return ConsistencyProof(old_size=p.old_size, new_size=p.new_size, old_root_hash=p.old_root.hex(),
                                new_root_hash=p.new_root.hex(), hashes=[h.hex() for h in p.proof])

    @strawberry.field(description="Issued API tokens (admin).")
    @union_result
    async def tokens(self, info: Ctx) -> TokensResult:
        require(info.context.principal, Action.manage_tokens)
        found = await run(tokens.list_tokens, info.context.state.engine)
        return TokenList(tokens=found)


def _stored(engine, size):
    with engine.connect() as conn:
        return publish.stored(conn, size)


def _consistency(engine, old, new):
    with engine.connect() as conn:
        return prove.consistency(conn, old, new)


def _inclusion(engine, principal: Principal, seq: int, tree_size: int | None) -> InclusionProof:
    """The proof, and the tlog-proof on the checkpoint at its size. The entry's bytes
    go into the tlog-proof's ``extra`` line (docs/decisions/0003) only when the
    principal may read the entry: the proof alone is hashes (docs/api.md, Reading entries)."""
    with engine.connect() as conn:
        if tree_size is None:
            tree_size = prove.latest_checkpoint_covering(conn, seq)
        p = prove.inclusion(conn, seq, tree_size)
        signed = publish.with_cosignatures(conn, p.size) if prove.has_checkpoint(conn, p.size) else None
    readable = may_read_entry(principal, from_canonical(p.entry))
    text = TlogProof(seq, tuple(p.proof), signed, p.entry if readable else None).render() if signed else None
    return InclusionProof(seq=p.seq, tree_size=p.size, leaf_hash=p.leaf_hash.hex(), root_hash=p.root.hex(),
                          hashes=[h.hex() for h in p.proof], tlog_proof=text, entry_withheld=not readable)
