"""``ledger verify``: recompute the whole log from its entries and compare.

Checks, in seq order: no gap; canonical bytes parse and are canonical; every
indexed column equals the field in the bytes; leaf hash; ``prev`` chain;
``recorded_at`` non-decreasing (across format versions too); v1 entries
only before the first v2 entry (docs/contracts.md §2.7); a v2 statement's
``signed_at`` at most ``SIGNED_AT_SKEW`` after ``recorded_at``; the signer (v2:
the statement's ``key``) was the valid key for that authority at that seq (the
log key for the log's own records) and the signature verifies (v2: over the
statement's signed bytes); every stored tree node
equals the node recomputed from the leaves; no node beyond the log; every
stored checkpoint matches the tree at its size and is signed by the log key.

The first problem raises ``IntegrityError`` naming the lowest bad seq and
what is wrong. The per-entry checks (``ledger.log.row_check``: decode,
columns, leaf hash, chain, time, signer, signature) run in worker processes
on both cores, a segment of rows at a time; the main process reads rows,
applies key entries to the registry, checks where segments meet, and
recomputes the tree.

Incremental mode starts from a ``VerifierState`` saved by an earlier run:
the verifier's own trusted record of (size, root, tree border, chain tail,
key registry). It checks only the new entries, and a consistency proof from
the saved root to the new one.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Engine

from ledger.errors import IntegrityError, LedgerError, ProofError
from ledger.log import merkle
from ledger.log.canonical import JSON
from ledger.log.entry import GENESIS_PREV, from_canonical
from ledger.log.merkle_verify import verify_consistency
from ledger.log.row_check import RANK, Problem, SegmentResult, boundary_problem, check_segment, column_bytes
from ledger.signing.key_registry import KEY_ENTRY_TYPES, KeyRegistry
from ledger.signing.keys import VerifierKey
from ledger.signing.private_files import write_private
from ledger.store import log_store

Progress = Callable[[int, int], None]
CHUNK = 10_000
PIECES_PER_CHUNK = 4  # per chunk, so that both workers have work while the main process reads
IN_FLIGHT = 2  # chunks read ahead of the one being taken back
PARALLEL_THRESHOLD = 20_000  # below this, process start-up costs more than it saves
SignatureCheck = tuple[int, bytes, bytes, bytes]  # (seq, public key, signing bytes, signature)
BadSignatures = list[tuple[int, str]]  # (seq, why), from a worker


@dataclass
class VerifierState:
    """What a verifier trusts after verifying a log up to ``size`` (its own file)."""

    size: int = 0
    root: bytes = merkle.EMPTY_ROOT
    last_leaf_hash: str = GENESIS_PREV
    last_recorded_at: str = ""
    border: dict[merkle.Address, bytes] = field(default_factory=dict)
    registry: KeyRegistry = field(default_factory=KeyRegistry)
    last_version: int | None = None  # of entry size-1: after a v2 entry only v2 (§2.7)

    def to_json(self) -> dict[str, JSON]:
        return {
            "size": self.size, "root": self.root.hex(), "last_leaf_hash": self.last_leaf_hash,
            "last_recorded_at": self.last_recorded_at, "last_version": self.last_version,
            "border": [[lvl, idx, h.hex()] for (lvl, idx), h in sorted(self.border.items())],
            "registry": self.registry.to_json(),
        }

    @classmethod
    def from_json(cls, obj: dict[str, JSON]) -> VerifierState:
        return cls(
            size=obj["size"], root=bytes.fromhex(obj["root"]), last_leaf_hash=obj["last_leaf_hash"],
            last_recorded_at=obj["last_recorded_at"],
            border={(lvl, idx): bytes.fromhex(h) for lvl, idx, h in obj["border"]},
            registry=KeyRegistry.from_json(obj["registry"]),
            # A state saved before format v2 existed covered v1 entries only.
            last_version=obj.get("last_version", 1 if obj["size"] else None),
        )

    def save(self, path: Path) -> None:
        # 0600, atomic: a crash leaves the old state or the new, never half.
        write_private(path, json.dumps(self.to_json(), indent=1))

    @classmethod
    def load(cls, path: Path) -> VerifierState | None:
        return cls.from_json(json.loads(path.read_text())) if path.exists() else None


@dataclass(frozen=True)
class VerifyReport:
    size: int
    root: bytes
    start: int  # first seq checked (0 for a full run)
    signatures: int
    nodes: int
    checkpoints: int


def verify_log(
    engine: Engine,
    *,
    trusted_log_key: VerifierKey | None = None,
    state: VerifierState | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    chunk: int = CHUNK,
) -> tuple[VerifyReport, VerifierState]:
    """Verify the log (from ``state`` on, if given); return the report and the new state."""
    st = state or VerifierState()
    start, root_before, size_before = st.size, st.root, st.size
    with engine.connect() as conn:
        size = log_store.head(conn).size
        if size < start:
            raise IntegrityError(size, "truncated", f"log has {size} entries, fewer than the {start} verified before")
        pool = ProcessPoolExecutor(workers or 2) if (workers != 1 and size - start >= PARALLEL_THRESHOLD) else None
        scan = _Scan(st, trusted_log_key, pool)
        # Chunks read ahead while the workers check earlier ones; the main process
        # keeps only the sequential part (segment boundaries, the tree).
        ahead = IN_FLIGHT if pool else 0
        try:
            for lo in range(start, size, chunk):
                scan.submit(lo, min(lo + chunk, size), log_store.entry_check_rows(conn, lo, min(lo + chunk, size)))
                while scan.in_flight() > ahead and scan.problem is None:
                    scan.drain(conn, progress, start, size)
                if scan.problem:
                    break
            while scan.in_flight() and scan.problem is None:
                scan.drain(conn, progress, start, size)
        finally:
            if pool:
                pool.shutdown(cancel_futures=True)
        p = _lowest(scan.problem, scan.bad_signature)
        if p:
            raise IntegrityError(p.seq, p.kind, p.detail)
        extra = log_store.count_nodes_beyond(conn, size)
        if extra:
            lvl, idx = extra[0]
            raise IntegrityError(
                size, "node", f"tree node (level {lvl}, index {idx}) covers seqs {idx << lvl}-{((idx + 1) << lvl) - 1}"
                f" but the log has only {size} entries (tail removed?)")
        new_root = merkle.fold([st.border[a] for a in merkle.perfect_pieces(0, size)]) if size else merkle.EMPTY_ROOT
        _check_consistency(conn, size_before, root_before, size, new_root)
        checkpoints = _check_checkpoints(conn, size, st.registry)
    st.size, st.root = size, new_root
    return VerifyReport(size, new_root, start, scan.signatures, scan.node_count, checkpoints), st


@dataclass
class _Chunk:
    lo: int
    hi: int
    pieces: list[Future[SegmentResult]]
    gap: Problem | None  # a missing seq inside [lo, hi), found when the rows were read


class _Scan:
    """Hands segments of rows to the workers in seq order and takes their results back
    in the same order; keeps the key registry, the chain tail and the tree border."""

    def __init__(self, st: VerifierState, trusted_log_key: VerifierKey | None, pool: ProcessPoolExecutor | None):
        self.st, self.trusted, self.pool = st, trusted_log_key, pool
        self.chunks: deque[_Chunk] = deque()
        self.problem: Problem | None = None  # stops the scan
        self.bad_signature: Problem | None = None  # the lowest; the scan goes on (a node before it may be wrong)
        self.signatures = self.node_count = 0
        self._next = st.size  # the seq the next row read must have

    def in_flight(self) -> int:
        return len(self.chunks)

    def submit(self, lo: int, hi: int, rows: Iterable[Sequence[Any]]) -> None:
        """Split ``rows`` into segments at the entries that change the key registry
        (each the last row of its segment) and start checking them."""
        pieces: list[Future[SegmentResult]] = []
        run: list[Sequence[Any]] = []
        gap = None
        for row in rows:
            if row[0] != self._next:
                gap = Problem(self._next, RANK["gap"], "gap", f"entry {self._next} is missing (next stored seq is {row[0]})")
                break
            self._next += 1
            if row[2] in KEY_ENTRY_TYPES:
                # Checked here, alone, with the registry in force at this row (the one after
                # every earlier key entry), then applied: the rows after it get the new one.
                self._start(pieces, run)
                run = []
                pieces.append(self._key_entry(row))
            else:
                run.append(row)
        else:
            if self._next != hi:
                gap = Problem(self._next, RANK["gap"], "gap", f"entry {self._next} is missing (log ends at {self._next})")
        if run:
            self._start(pieces, run)
        self.chunks.append(_Chunk(lo, hi, pieces, gap))

    def _start(self, pieces: list[Future[SegmentResult]], run: list[Sequence[Any]]) -> None:
        if not run:
            return
        # A copy of the registry: the main process goes on applying key entries
        # while a worker still holds this segment.
        registry = KeyRegistry(self.st.registry.log_key, self.st.registry.records)
        if self.pool is None:
            pieces.append(_done(check_segment(run, registry, self.trusted)))
            return
        step = max(1, -(-len(run) // PIECES_PER_CHUNK))
        for i in range(0, len(run), step):
            pieces.append(self.pool.submit(check_segment, run[i:i + step], registry, self.trusted))

    def _key_entry(self, row: Sequence[Any]) -> Future[SegmentResult]:
        """Check a key entry in this process (such entries are few) and apply it to the
        registry if its checks passed; one that passed but cannot be applied (a key that
        does not parse, a revocation of no registered key) is its own problem."""
        result = check_segment([row], KeyRegistry(self.st.registry.log_key, self.st.registry.records), self.trusted)
        if result.problem is None and result.bad_signature is None:
            try:
                self.st.registry.apply(from_canonical(column_bytes(row[1])))
            except (LedgerError, KeyError, ValueError, TypeError) as e:
                result = SegmentResult(row[0], b"", None, None, Problem(
                    row[0], RANK["signer"], "signature", f"key entry cannot be applied to the key history: {e}"))
        return _done(result)

    def drain(self, conn: Connection, progress: Progress | None, start: int, size: int) -> None:
        """Take the oldest chunk's results in seq order: segment boundaries, then the tree."""
        c = self.chunks.popleft()
        st, leaves, found = self.st, [], c.gap
        for f in c.pieces:
            r = f.result()
            if r.head is not None:
                at_boundary = boundary_problem(r.first, r.head, st.last_leaf_hash, st.last_recorded_at, st.last_version)
                if at_boundary:
                    found = _lowest(found, at_boundary)
                    break
            good = [r.leaves[i:i + 32] for i in range(0, len(r.leaves), 32)]
            if good:
                leaves.extend(good)
                st.size += len(good)
                st.last_leaf_hash = good[-1].hex()
                st.last_recorded_at, st.last_version = cast(tuple[str, int], r.tail)
            self.bad_signature = _lowest(self.bad_signature, r.bad_signature)
            if r.problem:
                found = _lowest(found, r.problem)
                break
        self.signatures += len(leaves)
        found = _lowest(found, self._nodes(conn, c.lo, leaves))
        if found:
            self.problem = found
        elif progress:
            progress(c.hi - start, size - start)

    def _nodes(self, conn: Connection, lo: int, leaves: list[bytes]) -> Problem | None:
        """Recompute the interior nodes completed by ``leaves`` (from seq ``lo``) and compare."""
        new = merkle.integrate(self.st.border, lo, leaves)
        self.st.border = merkle.next_border(self.st.border, lo, leaves, new)
        found: Problem | None = None
        found_key: tuple[int, int] | None = None
        by_level: dict[int, list[int]] = {}
        for lvl, idx in new:
            by_level.setdefault(lvl, []).append(idx)
        for lvl in sorted(by_level):
            idxs = by_level[lvl]
            stored = log_store.nodes_in_range(conn, lvl, min(idxs), max(idxs) + 1)
            for idx in sorted(idxs):
                got = stored.get(idx)
                if got != new[(lvl, idx)]:
                    what = "missing" if got is None else f"stored {got.hex()}, recomputed {new[(lvl, idx)].hex()}"
                    # The node a pass in seq order completes first (ties: the lower level, the
                    # narrower range), whatever the chunk size: a rewritten entry is named by the
                    # smallest node over it, two wrong nodes by the one completed earlier.
                    key = (((idx + 1) << lvl) - 1, lvl)
                    if found_key is None or key < found_key:
                        found_key, found = key, Problem(idx << lvl, RANK["node"], "node",
                                                        f"tree node (level {lvl}, index {idx}) over seqs "
                                                        f"{idx << lvl}-{((idx + 1) << lvl) - 1}: {what}")
                    break
        self.node_count += len(new)
        return found


def _lowest(a: Problem | None, b: Problem | None) -> Problem | None:
    """The problem a single pass in seq order meets first."""
    if a is None or (b is not None and (b.seq, b.rank) < (a.seq, a.rank)):
        return b
    return a


def _done(result: SegmentResult) -> Future[SegmentResult]:
    f: Future[SegmentResult] = Future()
    f.set_result(result)
    return f


def bad_signatures(batch: list[SignatureCheck]) -> BadSignatures:
    """The seqs in ``batch`` whose Ed25519 signature does not verify (the append path's
    check of a batch of statements before it is sealed).

    libsodium (PyNaCl) rather than OpenSSL (cryptography) here: measured 1.7x
    faster per verification on this machine (bench/verify.py), and stricter
    (it also refuses small-order keys and non-canonical points, which no
    signer of ours produces), so nothing OpenSSL would reject passes here.
    See docs/decisions/0009-verification-throughput.md.
    """
    from nacl.exceptions import BadSignatureError
    from nacl.signing import VerifyKey

    keys: dict[bytes, VerifyKey] = {}
    bad = []
    for seq, public, message, sig in batch:
        key = keys.get(public) or keys.setdefault(public, VerifyKey(public))
        try:
            key.verify(message, sig)
        except (BadSignatureError, ValueError, TypeError):
            bad.append((seq, "Ed25519 signature does not verify with the signer's key"))
    return bad


def _check_consistency(conn: Connection, old: int, old_root: bytes, new: int, new_root: bytes) -> None:
    """The tree we verified before is a prefix of today's: prove it from stored nodes."""
    if old == 0 or old == new:
        return
    needed = merkle.needed_addresses(lambda r: merkle.consistency_proof(r, old, new))
    proof = merkle.consistency_proof(merkle.reader_from(log_store.read_nodes(conn, needed)), old, new)
    try:
        verify_consistency(old, new, old_root, new_root, proof)
    except ProofError as e:
        raise IntegrityError(old, "consistency", f"log at {new} does not extend the verified log at {old}: {e}") from e


def _check_checkpoints(conn: Connection, size: int, registry: KeyRegistry) -> int:
    from ledger.log.publish import verify_stored_checkpoint

    rows = log_store.checkpoint_rows(conn)
    for row in rows:
        if row.size > size:
            raise IntegrityError(size, "truncated", f"a checkpoint was signed at size {row.size}, but the log has {size} entries")
        verify_stored_checkpoint(conn, row, registry.log_key)
    return len(rows)
