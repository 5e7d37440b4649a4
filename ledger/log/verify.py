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
what is wrong. Signatures are checked in worker processes (both cores) while
the main process hashes the next chunk.

Incremental mode starts from a ``VerifierState`` saved by an earlier run:
the verifier's own trusted record of (size, root, tree border, chain tail,
key registry). It checks only the new entries, and a consistency proof from
the saved root to the new one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Engine, Row

from ledger.errors import IntegrityError, LedgerError, ProofError
from ledger.log import entry_types, merkle
from ledger.log.canonical import JSON
from ledger.log.entry import GENESIS_PREV, Entry, from_canonical, parse_time
from ledger.log.merkle_verify import verify_consistency
from ledger.log.statement import order_problem, skew_limit, skew_problem
from ledger.signing.key_registry import KeyRegistry
from ledger.signing.keys import VerifierKey
from ledger.signing.private_files import write_private
from ledger.store import log_store

Progress = Callable[[int, int], None]
CHUNK = 10_000
_COLUMNS = ("seq", "type", "recorded_at", "authority_id", "subject", "request_id", "signer", "prev")
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
        scan = _Scan(st, trusted_log_key)
        pool = ProcessPoolExecutor(workers or 2) if (workers != 1 and size - start >= PARALLEL_THRESHOLD) else None
        pending: list[Future[BadSignatures]] = []
        try:
            for lo in range(start, size, chunk):
                hi = min(lo + chunk, size)
                rows = list(log_store.entry_rows(conn, lo, hi))
                scan.entries(rows, hi)
                scan.nodes(conn, lo, hi)
                _submit(pool, pending, scan.take_signatures())
                if scan.error:
                    break
                if progress:
                    progress(hi - start, size - start)
            bad_sig = _collect(pending)
        finally:
            if pool:
                pool.shutdown(cancel_futures=True)
        _raise_first(scan.error, bad_sig)
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


class _Scan:
    """Streaming checks over entry rows; keeps the chain tail and tree border."""

    def __init__(self, st: VerifierState, trusted_log_key: VerifierKey | None):
        self.st, self.trusted = st, trusted_log_key
        self.error: IntegrityError | None = None
        self.batch: list[SignatureCheck] = []
        self.signatures = self.node_count = 0
        self.leaves: list[bytes] = []
        self._limit = self._limit_for = ""

    def entries(self, rows: Iterable[Row[Any]], hi: int) -> None:
        st, expected = self.st, self.st.size
        self.leaves = []
        for row in rows:
            if row.seq != expected:
                return self._fail(expected, "gap", f"entry {expected} is missing (next stored seq is {row.seq})")
            try:
                e, leaf = self._entry(row)
            except IntegrityError as err:
                # _entry raises only with the row's seq, never None
                return self._fail(cast(int, err.seq), err.kind, err.detail)
            self.leaves.append(leaf)
            st.size = expected = expected + 1
            st.last_leaf_hash, st.last_recorded_at, st.last_version = leaf.hex(), e.recorded_at, e.v
        if expected != hi:
            self._fail(expected, "gap", f"entry {expected} is missing (log ends at {expected})")

    def _entry(self, row: Row[Any]) -> tuple[Entry, bytes]:
        seq, data = row.seq, _blob(row.canonical)
        try:
            e = from_canonical(data)
        except LedgerError as err:
            raise IntegrityError(seq, "encoding", str(err)) from err
        leaf = merkle.leaf_hash(data)  # of the stored bytes themselves (decode proved them canonical)
        stored = (row.seq, row.type, row.recorded_at, row.authority_id, row.subject, row.request_id, row.signer,
                  _blob(row.prev).hex())
        inside = (e.seq, e.type, e.recorded_at, e.authority.id, e.subject, e.request_id, e.signer, e.prev)
        if stored != inside:  # one tuple comparison on the hot path; name the column only on failure
            name, got, want = next(c for c in zip(_COLUMNS, stored, inside) if c[1] != c[2])
            raise IntegrityError(seq, "column", f"stored {name} {got!r} differs from the entry's {want!r}")
        if _blob(row.leaf_hash) != leaf:
            raise IntegrityError(seq, "hash", f"stored leaf hash {_blob(row.leaf_hash).hex()}, computed {leaf.hex()}")
        if e.prev != self.st.last_leaf_hash:
            raise IntegrityError(seq, "chain", f"prev is {e.prev}, but entry {seq - 1} hashes to {self.st.last_leaf_hash}")
        if e.recorded_at < self.st.last_recorded_at:
            raise IntegrityError(seq, "time", f"recorded_at {e.recorded_at} is before {self.st.last_recorded_at}")
        order = order_problem(self.st.last_version, e.v)
        if order:
            raise IntegrityError(seq, "version", order)
        if e.v == 2:
            skew = self._skew(cast(str, e.signed_at), e.recorded_at)
            if skew:
                raise IntegrityError(seq, "time", f"signed_at: {skew}")
        try:
            t = entry_types.get(e.type)
            key = self.st.registry.signing_key(e, log_signed=t.signed_by == "log")
        except LedgerError as err:
            raise IntegrityError(seq, "signature", str(err)) from err
        if seq == 0 and self.trusted and key != self.trusted:
            raise IntegrityError(0, "signature", f"log key {key.vkey()} is not the trusted {self.trusted.vkey()}")
        self.batch.append((seq, key.public, e.signing_bytes, e.signature))
        self.st.registry.apply(e)
        return e, leaf

    def _skew(self, signed_at: str, recorded_at: str) -> str | None:
        """``skew_problem``, with the limit computed once per ``recorded_at``: a batch's
        entries share one, and formatting a time per entry cost more than the check."""
        try:
            if recorded_at != self._limit_for:
                self._limit, self._limit_for = skew_limit(recorded_at), recorded_at
            parse_time(signed_at)
        except (ValueError, TypeError) as err:
            return str(err)
        return skew_problem(signed_at, recorded_at, limit=self._limit)

    def nodes(self, conn: Connection, lo: int, hi: int) -> None:
        """Recompute the interior nodes completed by leaves [lo, lo+len) and compare."""
        new = merkle.integrate(self.st.border, lo, self.leaves)
        self.st.border = merkle.next_border(self.st.border, lo, self.leaves, new)
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
                    self._fail(idx << lvl, "node", f"tree node (level {lvl}, index {idx}) over seqs "
                               f"{idx << lvl}-{((idx + 1) << lvl) - 1}: {what}")
                    return
        self.node_count += len(new)

    def take_signatures(self) -> list[SignatureCheck]:
        batch, self.batch = self.batch, []
        self.signatures += len(batch)
        return batch

    def _fail(self, seq: int, kind: str, detail: str) -> None:
        if self.error is None or seq < (self.error.seq or 0):
            self.error = IntegrityError(seq, kind, detail)


def _blob(value: object) -> bytes:
    """Column bytes as stored. SQLite lets an attacker store TEXT in a BLOB column;
    we compare its UTF-8 bytes, which then fail the hash checks, rather than crash."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return str(value).encode("utf-8", errors="surrogatepass")


def _submit(pool: ProcessPoolExecutor | None, pending: list[Future[BadSignatures]],
            batch: list[SignatureCheck]) -> None:
    if not batch:
        return
    if pool is None:
        f: Future[BadSignatures] = Future()
        f.set_result(bad_signatures(batch))
        pending.append(f)
        return
    step = max(1, len(batch) // 4)
    for i in range(0, len(batch), step):
        pending.append(pool.submit(bad_signatures, batch[i : i + step]))
    while sum(not f.done() for f in pending) > 16:  # bound memory held by queued work
        next(f for f in pending if not f.done()).result()


def _collect(pending: list[Future[BadSignatures]]) -> BadSignatures:
    bad = []
    for f in pending:
        bad.extend(f.result())
    return sorted(bad)


def bad_signatures(batch: list[SignatureCheck]) -> BadSignatures:
    """Worker: the seqs in ``batch`` whose Ed25519 signature does not verify.

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


def _raise_first(error: IntegrityError | None, bad_sig: BadSignatures) -> None:
    if bad_sig and (error is None or bad_sig[0][0] < (error.seq or 0)):
        raise IntegrityError(bad_sig[0][0], "signature", bad_sig[0][1])
    if error:
        raise error


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
