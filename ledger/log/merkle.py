"""RFC 9162 §2.1 Merkle tree hashing, geometry, and proof building.

Scope: the hash functions, how a range of leaves splits into perfect subtrees,
and building inclusion and consistency proofs from stored perfect-subtree
hashes. Non-scope: storage (callers pass a ``NodeReader``) and verification
(``merkle_verify``, kept apart so verifiers never share a bug with builders).

A *node address* ``(level, index)`` names the perfect subtree over leaves
``[index << level, (index + 1) << level)``; level 0 is a leaf hash. Only perfect
subtrees are ever stored, so every tree size's hashes derive from them and
nothing stored changes when the log grows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

Address = tuple[int, int]
NodeReader = Callable[[int, int], bytes]

# RFC 9162 §2.1.1: domain separation between leaves and interior nodes.
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
# RFC 9162 §2.1.1: MTH({}) = SHA-256().
EMPTY_ROOT = hashlib.sha256(b"").digest()
HASH_SIZE = 32


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)`` (RFC 9162 §2.1.1)."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)`` (RFC 9162 §2.1.1)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """RFC 9162 §2.1.1: the largest power of two ``k`` with ``k < n`` (requires n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def perfect_pieces(start: int, end: int) -> list[Address]:
    """The perfect subtrees that make up ``[start, end)``, largest first.

    Precondition (true of every range RFC 9162's recursion produces): ``start``
    is aligned to a power of two at least ``end - start``.
    """
    pieces = []
    while start < end:
        level = (end - start).bit_length() - 1
        pieces.append((level, start >> level))
        start += 1 << level
    return pieces


def fold(hashes: list[bytes]) -> bytes:
    """Combine perfect pieces (largest first) right to left, as MTH does."""
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def subtree_root(read: NodeReader, start: int, end: int) -> bytes:
    """MTH(D[start:end]) from stored perfect subtrees (RFC 9162 §2.1.1)."""
    if start == end:
        return EMPTY_ROOT
    return fold([read(level, index) for level, index in perfect_pieces(start, end)])


def root(read: NodeReader, size: int) -> bytes:
    """The tree head of the first ``size`` leaves."""
    return subtree_root(read, 0, size)


def inclusion_proof(read: NodeReader, index: int, size: int) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]); requires ``0 <= index < size``."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is beyond tree size {size}")
    return _path(read, index, 0, size)


def _path(read: NodeReader, m: int, start: int, end: int) -> list[bytes]:
    n = end - start
    if n == 1:
        return []
    k = split_point(n)
    if m - start < k:
        return _path(read, m, start, start + k) + [subtree_root(read, start + k, end)]
    return _path(read, m, start + k, end) + [subtree_root(read, start, start + k)]


def consistency_proof(read: NodeReader, old: int, new: int) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(m, D[n]); empty when ``old`` is 0 or equals ``new``."""
    if not 0 <= old <= new:
        raise ValueError(f"old size {old} is beyond new size {new}")
    if old in (0, new):
        return []
    return _subproof(read, old, 0, new, True)


def _subproof(read: NodeReader, m: int, start: int, end: int, b: bool) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if b else [subtree_root(read, start, end)]
    k = split_point(n)
    if m <= k:
        return _subproof(read, m, start, start + k, b) + [subtree_root(read, start + k, end)]
    return _subproof(read, m - k, start + k, end, False) + [subtree_root(read, start, start + k)]


class AddressRecorder:
    """A ``NodeReader`` that records which addresses a computation needs.

    Proof building runs twice: once against a recorder to learn the O(log n)
    addresses, then against one batched read of exactly those. The first run's
    hashes are placeholders and are thrown away.
    """

    def __init__(self) -> None:
        self.addresses: set[Address] = set()

    def __call__(self, level: int, index: int) -> bytes:
        self.addresses.add((level, index))
        return bytes(HASH_SIZE)


def needed_addresses(compute: Callable[[NodeReader], object]) -> set[Address]:
    recorder = AddressRecorder()
    compute(recorder)
    return recorder.addresses


def reader_from(nodes: dict[Address, bytes]) -> NodeReader:
    def read(level: int, index: int) -> bytes:
        return nodes[(level, index)]

    return read


def completed_by(size: int, count: int) -> Iterable[Address]:
    """Interior addresses (level >= 1) that become perfect when leaves
    ``[size, size + count)`` are appended to a tree of ``size`` leaves."""
    new = size + count
    level = 1
    while (1 << level) <= new:
        first = size >> level  # perfect at this level before: [0, first)
        last = new >> level  # perfect after: [0, last)
        yield from ((level, i) for i in range(first, last))
        level += 1


def integrate(border: dict[Address, bytes], size: int, leaves: list[bytes]) -> dict[Address, bytes]:
    """Extend a tree of ``size`` leaves by ``leaves``; return every new interior node.

    ``border`` holds the perfect pieces of ``[0, size)`` (``perfect_pieces(0, size)``):
    the only old nodes a new interior node can have as a child (the compact
    range). Levels are completed bottom-up, so children always exist.
    """
    known = dict(border)
    known.update({(0, size + i): h for i, h in enumerate(leaves)})
    new: dict[Address, bytes] = {}
    for level, i in completed_by(size, len(leaves)):
        h = node_hash(known[(level - 1, 2 * i)], known[(level - 1, 2 * i + 1)])
        known[(level, i)] = new[(level, i)] = h
    return new


def next_border(border: dict[Address, bytes], size: int, leaves: list[bytes],
                new: dict[Address, bytes]) -> dict[Address, bytes]:
    """The border of the tree ``integrate(border, size, leaves)`` extended to
    ``size + len(leaves)`` leaves, given the ``new`` nodes it returned."""
    known = {**border, **new, **{(0, size + i): h for i, h in enumerate(leaves)}}
    return {a: known[a] for a in perfect_pieces(0, size + len(leaves))}
