"""Proof service: inclusion and consistency proofs from the stored tree, as
values for JSON and as C2SP tlog-proof text. O(log n) node reads per proof."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import Connection, Engine, select

from ledger.errors import IndexBeyondSize, NotFound
from ledger.log import publish, tree
from ledger.log.canonical import JSON
from ledger.log.merkle import EMPTY_ROOT, leaf_hash
from ledger.log.tlog_proof import TlogProof
from ledger.store import log_store
from ledger.store.schema import checkpoints


@dataclass(frozen=True)
class InclusionProof:
    seq: int
    size: int
    leaf_hash: bytes
    root: bytes
    proof: list[bytes]
    entry: bytes  # canonical bytes

    def to_json(self) -> dict[str, JSON]:
        return {"seq": self.seq, "tree_size": self.size, "leaf_hash": self.leaf_hash.hex(),
                "root": self.root.hex(), "proof": [h.hex() for h in self.proof]}


@dataclass(frozen=True)
class ConsistencyProof:
    old_size: int
    new_size: int
    old_root: bytes
    new_root: bytes
    proof: list[bytes]

    def to_json(self) -> dict[str, JSON]:
        return {"old_size": self.old_size, "new_size": self.new_size, "old_root": self.old_root.hex(),
                "new_root": self.new_root.hex(), "proof": [h.hex() for h in self.proof]}


def _checked_size(conn: Connection, size: int | None) -> int:
    current = log_store.size(conn)
    if size is None:
        return current
    if size > current:
        raise IndexBeyondSize("tree size", size, current)
    return size


def inclusion(conn: Connection, seq: int, size: int | None = None) -> InclusionProof:
    size = _checked_size(conn, size)
    if not 0 <= seq < size:
        raise IndexBeyondSize("seq", seq, size)
    # 0 <= seq < size <= stored size, so the entry exists (a gap fails later in leaf_hash, as before).
    data = cast(bytes, log_store.get_canonical(conn, seq))
    return InclusionProof(seq, size, leaf_hash(data), tree.tree_root(conn, size),
                          tree.inclusion_path(conn, seq, size), data)


def consistency(conn: Connection, old: int, new: int) -> ConsistencyProof:
    new = _checked_size(conn, new)
    if not 0 <= old <= new:
        raise IndexBeyondSize("old size", old, new)
    old_root = tree.tree_root(conn, old) if old else EMPTY_ROOT
    new_root = tree.tree_root(conn, new) if new else EMPTY_ROOT
    return ConsistencyProof(old, new, old_root, new_root, tree.consistency_path(conn, old, new))


def latest_checkpoint_covering(conn: Connection, seq: int) -> int | None:
    """The size of the latest checkpoint whose tree contains ``seq``, if any."""
    latest = conn.execute(select(checkpoints.c.size).order_by(checkpoints.c.size.desc()).limit(1)).scalar()
    return latest if latest is not None and seq < latest else None


def has_checkpoint(conn: Connection, size: int) -> bool:
    return conn.execute(select(checkpoints.c.size).where(checkpoints.c.size == size)).first() is not None


def covering_checkpoint_size(conn: Connection, seq: int, size: int | None) -> int:
    """The checkpoint a tlog-proof is built on: at ``size``, else the latest one covering ``seq``."""
    if size is None:
        size = conn.execute(select(checkpoints.c.size).order_by(checkpoints.c.size.desc()).limit(1)).scalar()
        if size is None:
            raise NotFound("no checkpoint yet: run `ledger checkpoint` first")
    if seq >= size:
        raise NotFound(f"seq {seq} is not covered by the checkpoint at size {size}: run `ledger checkpoint`")
    return size


def tlog_proof(engine: Engine, seq: int, size: int | None = None) -> str:
    with engine.connect() as conn:
        size = covering_checkpoint_size(conn, seq, size)
        signed = publish.with_cosignatures(conn, size)
        p = inclusion(conn, seq, size)
    return TlogProof(seq, tuple(p.proof), signed, p.entry).render()
