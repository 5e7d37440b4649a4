"""The append path (docs/contracts.md §3): one straight-line function, because the order
of its steps is the design.

Format v2 (§2.7): the log appends *signed statements*. Their signatures are
checked before the append lock (against the key each statement names, read
from the key registry); under the lock only what depends on the head is
checked: the key is registered to that authority and valid at the head, refs
lie below the head, ``signed_at`` is at most ``SIGNED_AT_SKEW`` after
``recorded_at``. The log signs nothing: the tree and its checkpoints
authenticate order. ``append_entries`` keeps the old call shape for callers
that hold the keys (the CLI, the API host, the operator): it signs each draft
as a statement *before* taking the lock, then appends.

Sequencing, tree integration and projection updates happen in one database
transaction per batch, under the append lock, so a business-rule check and
the entry it guards are atomic, and a crash at any step before the commit
leaves nothing behind. Checkpoint publishing is a separate step
(``checkpoint``), as in Tessera.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import cast
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine

from ledger.errors import LedgerError, Problem, RequestConflict, SignatureError, ValidationError
from ledger.log import entry_types, merkle
from ledger.log.entry import FORMAT_V1, FORMAT_V2, FORMAT_VERSION, GENESIS_PREV, Draft, Entry, format_time
from ledger.log.projection import KeyProjection, Projection, default_projections, load_registry
from ledger.log.statement import (
    SignedStatement,
    Statement,
    order_problem,
    shape_problems,
    sign,
    skew_limit,
    skew_problem,
)
from ledger.log.verify import bad_signatures
from ledger.signing.key_registry import KeyRegistry
from ledger.signing.keyring import Keyring
from ledger.signing.keys import Signer, VerifierKey, parse_vkey
from ledger.store import log_store
from ledger.store.engine import APPEND_OPTION

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class _Pending:
    """One item of a batch on its way in: its content, and (v2) its signed statement
    with the key its signature was checked against before the lock."""

    draft: Draft
    signed: SignedStatement | None = None  # None: a v1 entry, signed under the lock
    key: VerifierKey | None = None


def append_statements(
    engine: Engine,
    signed: Sequence[SignedStatement],
    clock: Clock,
    *,
    projections: list[Projection] | None = None,
) -> list[Entry]:
    """Append signed statements (format v2) as one all-or-nothing batch; return their entries.

    Refused with ``ValidationError`` naming the field, nothing written: a
    signature that does not verify with the key the statement names (``sig``),
    a key not registered to the statement's authority or revoked at the head
    (``key``), refs at or beyond the head (``refs``), ``signed_at`` later than
    ``recorded_at`` plus ``SIGNED_AT_SKEW`` (``signed_at``), and every type and
    business rule as for any entry. A statement whose (authority, request_id)
    was recorded before returns the original entry if it states the same
    content, else raises ``RequestConflict``.
    """
    prepared = prepare_statements(engine, signed)
    if not prepared.items:
        return []
    return _append(engine, list(prepared.items), list(prepared.types), clock, projections)


@dataclass(frozen=True)
class PreparedStatements:
    """Statements that passed every check made before the lock (shape, type and
    body rules, signatures against the keys they name), ready to be appended in
    one batch or in chunks (``append_prepared``)."""

    items: tuple[_Pending, ...]
    types: tuple[entry_types.EntryType, ...]


def prepare_statements(engine: Engine, signed: Sequence[SignedStatement]) -> PreparedStatements:
    """Step 1 of ``append_statements``, for the whole input: ``ValidationError``
    naming the item (and nothing written) for the first statement that fails."""
    items = list(signed)
    if not items:
        return PreparedStatements((), ())
    index = _indexer(len(items))
    # 1a. Stateless validation first: bad input never waits for, or holds, the lock.
    for i, s in enumerate(items):
        problems = shape_problems(s)
        if problems:
            raise ValidationError(problems, index=index(i))
    types = [entry_types.validate(s.statement.draft, index=index(i)) for i, s in enumerate(items)]
    # 1b. Signatures, before the lock too (Ed25519 verification is the costly part):
    #     each against the key its statement names, as registered now. A name is
    #     bound to one key for good, so under the lock only validity is re-checked.
    #     Nothing is written before step 6: a crash up to the commit leaves nothing.
    keys = _named_keys(engine, items, index)
    # Verified as ``verify`` does (libsodium, docs/decisions/0009-verification-throughput.md),
    # so the log accepts exactly the signatures its verifier will.
    bad = bad_signatures([(i, k.public, s.statement.signed_bytes, s.signature)
                          for i, (s, k) in enumerate(zip(items, keys))])
    if bad:
        i = bad[0][0]
        raise ValidationError([Problem("sig", f"does not verify with key {items[i].statement.key!r} over the "
                                              "statement's signed bytes (docs/contracts.md §2.7)")], index=index(i))
    return PreparedStatements(tuple(_Pending(s.statement.draft, s, k) for s, k in zip(items, keys)), tuple(types))


def append_prepared(engine: Engine, prepared: PreparedStatements, lo: int, hi: int, clock: Clock, *,
                    projections: list[Projection] | None = None) -> list[Entry]:
    """Items ``[lo, hi)`` of ``prepared`` as one all-or-nothing batch (steps 2-9).
    A ``ValidationError`` names its item by its index in ``prepared`` (not in the slice)."""
    try:
        return _append(engine, list(prepared.items[lo:hi]), list(prepared.types[lo:hi]), clock, projections)
    except ValidationError as e:
        if len(prepared.items) == 1 or e.line is not None:
            raise
        raise ValidationError(e.problems, index=lo + (e.index or 0)) from e


def append_entries(
    engine: Engine,
    drafts: Sequence[Draft],
    keyring: Keyring,
    clock: Clock,
    *,
    projections: list[Projection] | None = None,
    version: int = FORMAT_VERSION,
) -> list[Entry]:
    """Append ``drafts`` as one all-or-nothing batch, signed with this host's keys; return their entries.

    Each draft is signed as a statement (§2.7) by the keyring's key for its
    authority (the log key for the log's own records) before the lock, then
    appended as by ``append_statements``. Our own signatures are not verified
    again: instead, under the lock, each key must be the one registered under
    its name (so no registry read before the lock either).

    ``version=1`` writes format v1 entries (§2.1, signed under the lock as
    before), for logs still in v1, the v1-then-v2 tests and the v1-vs-v2
    benchmark; refused once the log holds a v2 entry (§2.7).
    """
    drafts = list(drafts)
    if not drafts:
        return []
    index = _indexer(len(drafts))
    types = [entry_types.validate(d, index=index(i)) for i, d in enumerate(drafts)]
    if version == FORMAT_V1:
        return _append(engine, [_Pending(d) for d in drafts], types, clock, projections, keyring=keyring)
    if version != FORMAT_V2:
        raise ValueError(f"format version {version}: the log writes 1 or 2")
    signed_at = format_time(clock())  # the signer's clock: this host's, read once for the batch
    pending = []
    for d, t in zip(drafts, types):
        signer = keyring.log if t.signed_by == "log" else keyring.for_authority(d.authority.id)
        # ``key``: what the signature was made with; _v2_entry compares it with the registered one.
        pending.append(_Pending(d, sign(Statement.of(d, signer.name, signed_at), signer), signer.verifier))
    return _append(engine, pending, types, clock, projections)


def sign_drafts(drafts: Sequence[Draft], keyring: Keyring, signed_at: datetime) -> list[SignedStatement]:
    """Sign each draft as a statement with this host's key for its authority (log types: the log key)."""
    out, at = [], format_time(signed_at)
    for d in drafts:
        t = entry_types.get(d.type)
        signer: Signer = keyring.log if t.signed_by == "log" else keyring.for_authority(d.authority.id)
        out.append(sign(Statement.of(d, signer.name, at), signer))
    return out


def _append(
    engine: Engine,
    items: list[_Pending],
    types: list[entry_types.EntryType],
    clock: Clock,
    projections: list[Projection] | None,
    *,
    keyring: Keyring | None = None,
) -> list[Entry]:
    """The locked part: sequence, check against the head, chain, store, integrate, commit.
    ``keyring`` is given only for v1 items, which are signed here, under the lock."""
    drafts = [p.draft for p in items]
    index = _indexer(len(items))
    projections = projections if projections is not None else default_projections()
    keys = next(p for p in projections if isinstance(p, KeyProjection))

    with engine.connect() as conn:
        conn.execution_options(**{APPEND_OPTION: True})
        with conn.begin():
            # 2. The append lock. Until commit no other writer can read this head.
            log_store.take_append_lock(conn)
            head = log_store.head(conn)
            if keyring is not None:
                _refuse_v1_after_v2(conn, head.size)

            # 3. Idempotency: retried requests return their original entries. Per
            #    (authority, request_id), on content: a statement re-signed later or
            #    with a newer key, stating the same thing, is the same request.
            results: list[Entry | None] = [None] * len(drafts)
            # A fresh dict owned here; it also takes this batch's drafts, so widen its value type.
            seen = cast(dict[tuple[str, str], Entry | Draft],
                        log_store.by_request(conn, ((d.authority.id, d.request_id) for d in drafts)))
            fresh: list[int] = []
            for i, d in enumerate(drafts):
                original = seen.get((d.authority.id, d.request_id))
                if original is None:
                    fresh.append(i)
                    seen[(d.authority.id, d.request_id)] = d  # a duplicate later in this batch
                elif isinstance(original, Draft):
                    if original.content() != d.content():
                        raise RequestConflict(d.request_id, -1)
                elif original.content() != d.content():
                    raise RequestConflict(d.request_id, original.seq)
                else:
                    results[i] = original

            # 4. Business rules against the state under the lock.
            ref_entries = _load_refs(conn, [drafts[i] for i in fresh], head.size)
            recorded_at = max(format_time(clock()), head.recorded_at or "")  # never backwards
            limit = skew_limit(recorded_at)  # §2.7: the latest signed_at this batch accepts
            for p in projections:
                p.load(conn, [drafts[i] for i in fresh], ref_entries, recorded_at)

            # 5. Sequence and chain each new entry (v1: and sign it); later drafts see earlier ones.
            prev = head.leaf_hash.hex() if head.leaf_hash else GENESIS_PREV
            new: list[Entry] = []
            by_request: dict[tuple[str, str], Entry] = {}
            for i in fresh:
                d, seq = drafts[i], head.size + len(new)
                problems = _log_rules(d, seq, ref_entries)
                for p in projections:
                    problems += p.check(d, seq, ref_entries)
                if problems:
                    raise ValidationError(problems, index=index(i))
                log_signed = types[i].signed_by == "log"
                if keyring is None:
                    e = _v2_entry(items[i], seq, prev, recorded_at, keys.registry, log_signed, index=index(i),
                                  limit=limit)
                else:
                    e = _v1_entry(d, seq, prev, recorded_at, keyring, keys.registry, log_signed, index=index(i))
                for p in projections:
                    p.apply(e)
                new.append(e)
                ref_entries[seq] = e
                by_request[(d.authority.id, d.request_id)] = e
                prev = e.leaf_hash.hex()
            for i, d in enumerate(drafts):
                if results[i] is None:
                    results[i] = by_request[(d.authority.id, d.request_id)]

            # 6. Store the entries. (Crash before commit: rolled back, nothing stored.)
            if new:
                log_store.insert_entries(conn, new)
                # 7. Integrate: store each perfect subtree the batch completes. Only
                #    the O(log n) border nodes of the old tree are read.
                border = log_store.read_nodes(conn, merkle.perfect_pieces(0, head.size))
                nodes = merkle.integrate(border, head.size, [e.leaf_hash for e in new])
                log_store.insert_nodes(conn, nodes)
                # 8. Projections, in the same transaction.
                for p in projections:
                    p.flush(conn)
        # 9. Committed: the batch is durable and acknowledged. A crash from here
        #    on loses nothing; a retry with the same request_ids returns these entries.
    return cast(list[Entry], results)  # step 5 filled every None


def _indexer(n: int) -> Callable[[int], int | None]:
    """A batch names its bad item by index; a single draft is named by none."""
    return (lambda i: i) if n > 1 else (lambda i: None)


# Public keys by name, per log (engine). A name is registered once and never re-bound
# (KeyRegistry.problems), so a key read once stays right: a steady stream of statements
# then costs no database read before the lock. Validity (revocation) is judged under it.
_KEYS: WeakKeyDictionary[Engine, dict[str, VerifierKey]] = WeakKeyDictionary()


def _named_keys(engine: Engine, items: list[SignedStatement], index: Callable[[int], int | None]) -> list[VerifierKey]:
    """The public key each statement names, from the cache, else from the registry now."""
    known = _KEYS.setdefault(engine, {})
    if any(s.statement.key not in known for s in items):
        with engine.connect() as conn:
            registry = load_registry(conn)
        keys = [_named_key(registry, s, index(i)) for i, s in enumerate(items)]
        if registry.log_key is not None:  # the genesis statement's key is the log's only once it is in
            known.update((k.name, k) for k in keys)
        return keys
    return [known[s.statement.key] for s in items]


def _named_key(registry: KeyRegistry, s: SignedStatement, index: int | None) -> VerifierKey:
    """The public key a statement's ``key`` names, as registered before the lock.
    The genesis statement names the log key it introduces (in its body)."""
    st = s.statement
    if st.type == "log.initialized" and registry.log_key is None:
        try:
            key = parse_vkey(str(st.body.get("log_key")))
        except LedgerError as e:
            raise ValidationError([Problem("body.log_key", str(e))], index=index) from e
        if key.name == st.key:
            return key
    else:
        found = registry.public_key(st.key)
        if found is not None:
            return found
    raise ValidationError([Problem("key", f"{st.key!r} is not a registered key "
                                          "(register it with `ledger keys register`)")], index=index)


def _refuse_v1_after_v2(conn: Connection, size: int) -> None:
    """§2.7: a log holds v1 entries, then v2 entries, never the reverse."""
    last = log_store.get_canonical(conn, size - 1) if size else None
    # RFC 8785 sorts "v" last in both versions: the bytes end with "v":1} or "v":2}.
    problem = order_problem(FORMAT_V2, FORMAT_V1) if last is not None and last.endswith(b'"v":2}') else None
    if problem:
        raise ValidationError([Problem("v", problem)])
def _load_refs(conn: Connection, drafts: list[Draft], size: int) -> dict[int, Entry]:
    wanted = sorted({r for d in drafts for r in d.refs if r < size})
    out = {}
    for seq in wanted:
        e = log_store.get_entry(conn, seq)
        if e is not None:
            out[seq] = e
    return out


def _log_rules(d: Draft, seq: int, ref_entries: dict[int, Entry]) -> list[Problem]:
    problems = []
    if (seq == 0) != (d.type == "log.initialized"):
        problems.append(Problem("type", "the first entry, and only it, is log.initialized"))
    for r in d.refs:
        if r not in ref_entries:
            problems.append(Problem("refs", f"seq {r} does not exist before seq {seq}"))
    return problems


def _v2_entry(p: _Pending, seq: int, prev: str, recorded_at: str, registry: KeyRegistry, log_signed: bool, *,
              index: int | None, limit: str) -> Entry:
    """A v2 entry around a statement already verified with ``p.key``: under the lock only
    what depends on the head, the key's registration at this seq and the clock (§2.7)."""
    s = cast(SignedStatement, p.signed)
    st = s.statement
    e = Entry(v=FORMAT_V2, seq=seq, prev=prev, type=st.type, recorded_at=recorded_at, authority=st.authority,
              actor=st.actor, subject=st.subject, refs=st.refs, request_id=st.request_id, body=st.body,
              signer=st.key, sig=s.sig, signed_at=st.signed_at)
    try:
        key = registry.signing_key(e, log_signed=log_signed)
    except SignatureError as err:
        raise ValidationError([Problem("key", str(err))], index=index) from err
    if key != p.key:
        # A host configured with another key under a registered name (append_entries) would
        # write entries no verifier accepts (docs/contracts.md §2.7): refuse, nothing written.
        raise ValidationError([Problem("key", f"{st.key!r} signed with {cast(VerifierKey, p.key).vkey()}, "
                                              f"but the key registered under that name is {key.vkey()}")],
                              index=index)
    skew = skew_problem(st.signed_at, recorded_at, limit=limit)
    if skew:
        raise ValidationError([Problem("signed_at", skew)], index=index)
    # The statement's bytes were encoded when it was signed or parsed: splice them in (cached_property's slot).
    e.__dict__["statement_canonical"] = st.canonical
    e.__dict__["signing_bytes"] = st.signed_bytes
    return e


def _v1_entry(d: Draft, seq: int, prev: str, recorded_at: str, keyring: Keyring, registry: KeyRegistry,
              log_signed: bool, *, index: int | None) -> Entry:
    """A format v1 entry (§2.1), signed here by the host under the lock."""
    if log_signed and registry.log_key is not None and registry.log_key.vkey() != keyring.log.verifier.vkey():
        # A host configured with another log key would write entries no verifier accepts.
        raise ValidationError([Problem("signer", f"{keyring.log.name} is not this log's key "
                                                 f"({registry.log_key.name})")], index=index)
    signer = keyring.log if log_signed else keyring.for_authority(d.authority.id)
    unsigned = Entry(
        v=FORMAT_V1, seq=seq, prev=prev, type=d.type, recorded_at=recorded_at,
        authority=d.authority, actor=d.actor, subject=d.subject, refs=tuple(d.refs),
        request_id=d.request_id, body=d.body, signer=signer.name, sig="",
    )
    if not log_signed:
        try:
            registry.signing_key(unsigned, log_signed=False)
        except SignatureError as e:
            raise ValidationError([Problem("signer", str(e))], index=index) from e
    signing_bytes = unsigned.signing_bytes
    sig = base64.b64encode(signer.sign(signing_bytes)).decode()
    signed = replace(unsigned, sig=sig)
    # The signing bytes do not depend on ``sig``: keep the ones just signed
    # instead of encoding the entry again (cached_property's slot).
    signed.__dict__["signing_bytes"] = signing_bytes
    return signed
