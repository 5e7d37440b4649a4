"""The append path (docs/contracts.md §3): one straight-line function, because the order
of its steps is the design.

Sequencing, signing, tree integration and projection updates happen in one
database transaction per batch, under the append lock, so a business-rule
check and the entry it guards are atomic, and a crash at any step before the
commit leaves nothing behind. Checkpoint publishing is a separate step
(``checkpoint``), as in Tessera.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import cast

from sqlalchemy import Connection, Engine

from ledger.errors import Problem, RequestConflict, SignatureError, ValidationError
from ledger.log import entry_types, merkle
from ledger.log.entry import FORMAT_VERSION, GENESIS_PREV, Draft, Entry, format_time
from ledger.log.projection import KeyProjection, Projection, default_projections
from ledger.signing.key_registry import KeyRegistry
from ledger.signing.keyring import Keyring
from ledger.store import log_store
from ledger.store.engine import APPEND_OPTION

Clock = Callable[[], datetime]


def append_entries(
    engine: Engine,
    drafts: Sequence[Draft],
    keyring: Keyring,
    clock: Clock,
    *,
    projections: list[Projection] | None = None,
) -> list[Entry]:
    """Append ``drafts`` as one all-or-nothing batch; return their entries in order.

    A draft whose (authority, request_id) was recorded before comes back as the
    original entry (a retry); with different content it raises ``RequestConflict``.
    Any problem with any draft raises before anything is written.
    """
    drafts = list(drafts)
    if not drafts:
        return []
    batch = len(drafts) > 1
    # 1. Stateless validation first: bad input never waits for, or holds, the lock.
    types = [entry_types.validate(d, index=i if batch else None) for i, d in enumerate(drafts)]
    projections = projections if projections is not None else default_projections()
    keys = next(p for p in projections if isinstance(p, KeyProjection))

    with engine.connect() as conn:
        conn.execution_options(**{APPEND_OPTION: True})
        with conn.begin():
            # 2. The append lock. Until commit no other writer can read this head.
            log_store.take_append_lock(conn)
            head = log_store.head(conn)

            # 3. Idempotency: retried requests return their original entries.
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
            for p in projections:
                p.load(conn, [drafts[i] for i in fresh], ref_entries, recorded_at)

            # 5. Sequence, sign and chain each new entry; later drafts see earlier ones.
            prev = head.leaf_hash.hex() if head.leaf_hash else GENESIS_PREV
            new: list[Entry] = []
            by_request: dict[tuple[str, str], Entry] = {}
            for i in fresh:
                d, seq = drafts[i], head.size + len(new)
                problems = _log_rules(d, seq, ref_entries)
                for p in projections:
                    problems += p.check(d, seq, ref_entries)
                if problems:
                    raise ValidationError(problems, index=i if batch else None)
                key = keys.registry if types[i].signed_by == "authority" else None
                if key is None and keys.registry.log_key is not None \
                        and keys.registry.log_key.vkey() != keyring.log.verifier.vkey():
                    # A host configured with another log key would write entries no
                    # verifier accepts (docs/contracts.md §2.1): refuse, nothing written.
                    raise ValidationError([Problem("signer", f"{keyring.log.name} is not this log's key "
                                                             f"({keys.registry.log_key.name})")],
                                          index=i if batch else None)
                e = _seal(d, seq, prev, recorded_at, keyring, key, index=i if batch else None)
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


def _seal(d: Draft, seq: int, prev: str, recorded_at: str, keyring: Keyring, registry: KeyRegistry | None, *,
          index: int | None) -> Entry:
    signer = keyring.log if registry is None else keyring.for_authority(d.authority.id)
    unsigned = Entry(
        v=FORMAT_VERSION, seq=seq, prev=prev, type=d.type, recorded_at=recorded_at,
        authority=d.authority, actor=d.actor, subject=d.subject, refs=tuple(d.refs),
        request_id=d.request_id, body=d.body, signer=signer.name, sig="",
    )
    if registry is not None:
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
