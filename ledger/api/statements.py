"""Signed statements and key enrolment over GraphQL (docs/api.md, Signed statements; docs/contracts.md §2.7).

Thin: each resolver makes one call into ``ledger.access.statements`` or
``ledger.access.key_enrolment`` (which authorise), in a worker thread. None of
them needs an authority key on this host: ``record_statements`` needs no key
at all, ``register_key``/``revoke_key`` the log key (the log's own records).
"""

from __future__ import annotations

import base64
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from ledger.access import key_enrolment, statements
from ledger.access.policy import Action, may_read_entry, require
from ledger.api.context import run
from ledger.api.errors import Barred, Conflict, Forbidden, NotFound, ValidationFailed
from ledger.api.mutation import Unavailable, _unavailable
from ledger.api.query import Ctx
from ledger.api.resolve import resolve_ref, union_result
from ledger.api.types import Entry
from ledger.errors import ConfigError


@strawberry.type(description="The statement a draft becomes (docs/contracts.md §2.7), and the exact bytes to sign.")
class StatementToSign:
    statement: str = strawberry.field(
        description="RFC 8785 JSON text of the statement, signed_at from this server's clock. Sign it unchanged: "
                    "the signed statement is {\"statement\": <this, as a JSON object>, \"sig\": <base64 signature>}.")
    signed_bytes: str = strawberry.field(
        description="Base64 of the bytes to sign with Ed25519: \"integrity-ledger/statement/v2\\n\" followed by "
                    "the statement's RFC 8785 bytes.")


@strawberry.type(description="One statement of the batch, as recorded (or as first recorded, when retried).")
class RecordedStatement:
    index: int = strawberry.field(description="Its position in `statements`.")
    seq: int
    leaf_hash: str = strawberry.field(description="SHA-256(0x00 || canonical bytes), hex (RFC 9162 §2.1.1).")
    retried: bool = strawberry.field(description="True: this content was recorded before (the original entry).")
    entry: Entry | None = strawberry.field(description="The entry, when this token may read it (docs/api.md, "
                                                       "Reading entries); null otherwise.")


@strawberry.type(description="Every statement of the batch was appended (all or nothing).")
class StatementsRecorded:
    recorded: list[RecordedStatement]
    tree_size: int = strawberry.field(description="The highest seq of the batch + 1: the log holds at least this.")


@strawberry.type(description="An authority's public key as the log registered it.")
class KeyInfo:
    name: str = strawberry.field(description="The key name statements give as `key`.")
    authority_id: str
    vkey: str = strawberry.field(description="C2SP verifier key: name+keyid+base64(0x01 || key).")
    fingerprint: str = strawberry.field(description="SHA-256 of the raw 32-byte public key, hex.")
    registered_seq: int
    revoked_seq: int | None
    valid: bool = strawberry.field(description="May sign the next entry: registered and not revoked.")

    @classmethod
    def of(cls, k: key_enrolment.EnrolledKey) -> KeyInfo:
        return cls(name=k.name, authority_id=k.authority_id, vkey=k.vkey, fingerprint=k.fingerprint,
                   registered_seq=k.registered_seq, revoked_seq=k.revoked_seq, valid=k.valid)


@strawberry.type
class KeyList:
    keys: list[KeyInfo]


@strawberry.type(description="A key.registered or key.revoked entry was appended (signed by the log key).")
class KeyRecorded:
    seq: int = strawberry.field(description="The key.registered or key.revoked entry.")
    key: KeyInfo


StatementToSignResult = Annotated[StatementToSign | ValidationFailed | NotFound | Forbidden,
                                  strawberry.union("StatementToSignResult")]
StatementsResult = Annotated[StatementsRecorded | ValidationFailed | Barred | NotFound | Conflict | Forbidden,
                             strawberry.union("StatementsResult")]
KeyResult = Annotated[KeyRecorded | ValidationFailed | NotFound | Conflict | Forbidden | Unavailable,
                      strawberry.union("KeyResult")]


def _log_signer(info: Ctx):
    ring = info.context.state.keyring
    if ring is None:
        raise ConfigError("this server holds no log key (LEDGER_KEY_PASSPHRASE_FILE): the key record cannot be "
                          "signed here; use `ledger keys register` on the log host")
    return ring.log


def _key_info(engine, name: str) -> KeyInfo:
    return next(KeyInfo.of(k) for k in key_enrolment.list_keys(engine) if k.name == name)


@strawberry.type
class StatementQuery:
    @strawberry.field(description="The statement a draft becomes and the exact bytes to sign (docs/api.md, Signed "
                                  "statements). Authorised like recording it; writes nothing. `subject` is a "
                                  "reference or scheme:number (via the vault); `key` a key registered to the "
                                  "token's authority; `actor` defaults to this token.")
    @union_result
    async def statement_to_sign(self, info: Ctx, type: str, request_id: str, body: JSON, key: str,
                                subject: str | None = None, refs: list[int] | None = None,
                                authority_id: str | None = None, actor: str | None = None) -> StatementToSignResult:
        ctx = info.context
        st = await run(statements.statement_to_sign, ctx.state.engine, ctx.principal, type_=type,
                       authority_id=authority_id, actor=actor, subject=subject, refs=list(refs or []),
                       request_id=request_id, body=body, key=key, clock=ctx.state.clock,
                       resolve_subject=lambda text: resolve_ref(ctx.state, text))
        return StatementToSign(statement=st.canonical.decode("utf-8"),
                               signed_bytes=base64.b64encode(st.signed_bytes).decode("ascii"))

    @strawberry.field(description="Registered authority keys (of one authority, or all) with their validity: "
                                  "whether a key is enrolled. The key registry is public (keys/, the log).")
    async def keys(self, info: Ctx, authority_id: str | None = None) -> KeyList:
        found = await run(key_enrolment.list_keys, info.context.state.engine, authority_id)
        return KeyList(keys=[KeyInfo.of(k) for k in found])


@strawberry.type
class StatementMutation:
    @strawberry.mutation(description="Append statements signed where their authority's key is (JSON text each, "
                                     "as `ledger sign` writes: {\"statement\", \"sig\"}), all or nothing. Needs no "
                                     "key on this server. A token submits only statements of its own authority and "
                                     "region, of types its role records (docs/api.md, Signed statements). Problems "
                                     "name statements.<index>.<field>.")
    @union_result
    async def record_statements(self, info: Ctx, statements_: Annotated[
            list[str], strawberry.argument(name="statements")]) -> StatementsResult:
        ctx = info.context

        def write():
            signed = statements.parse_signed(statements_)
            return statements.record_statements(ctx.state.engine, ctx.principal, signed, ctx.state.clock)

        out = await run(write)
        p = ctx.principal
        return StatementsRecorded(
            recorded=[RecordedStatement(index=i, seq=r.entry.seq, leaf_hash=r.entry.leaf_hash.hex(), retried=r.retried,
                                        entry=Entry.of(r.entry) if may_read_entry(p, r.entry) else None)
                      for i, r in enumerate(out)],
            tree_size=max(r.entry.seq for r in out) + 1)

    @strawberry.mutation(description="Enrol a public key generated elsewhere for an authority (admin): appends "
                                     "key.registered, signed by the log key. `public_key`: a C2SP verifier key "
                                     "(name+keyid+base64), or base64 of the raw 32-byte Ed25519 key or of its SPKI "
                                     "DER, or a PEM block. `name`: required to match a verifier key's; else "
                                     "defaults to <authority_id>-<8 fingerprint digits>.")
    @union_result
    @_unavailable
    async def register_key(self, info: Ctx, authority_id: str, public_key: str, name: str | None = None,
                           holder: str | None = None) -> KeyResult:
        ctx = info.context
        require(ctx.principal, Action.manage_keys)  # before the server's configuration: no probing it
        signer = _log_signer(info)
        e = await run(key_enrolment.register_public_key, ctx.state.engine, signer, ctx.principal,
                      authority_id=authority_id, public_key=public_key, name=name, clock=ctx.state.clock,
                      holder=holder)
        return KeyRecorded(seq=e.seq, key=await run(_key_info, ctx.state.engine, e.body["vkey"].split("+")[0]))

    @strawberry.mutation(description="Revoke an authority's key (admin): appends key.revoked; statements it "
                                     "signs are refused from that seq on. Entries it signed before stay valid.")
    @union_result
    @_unavailable
    async def revoke_key(self, info: Ctx, name: str, reason: str) -> KeyResult:
        ctx = info.context
        require(ctx.principal, Action.manage_keys)
        signer = _log_signer(info)
        e = await run(key_enrolment.revoke, ctx.state.engine, signer, ctx.principal, name=name, reason=reason,
                      clock=ctx.state.clock)
        return KeyRecorded(seq=e.seq, key=await run(_key_info, ctx.state.engine, name))
