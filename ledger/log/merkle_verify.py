"""RFC 9162 §2.1.3.2 and §2.1.4.2: verifying inclusion and consistency proofs.

Kept apart from ``merkle`` (which builds proofs) so that a bug in one is not
silently shared by the other; it imports only the two hash functions. Every
function raises a specific ``ProofError`` naming both sides; none returns a bool.
"""

from __future__ import annotations

from ledger.errors import IndexBeyondSize, ProofError, RootMismatch, WrongProofLength
from ledger.log.merkle import EMPTY_ROOT, HASH_SIZE, node_hash


def inclusion_proof_size(index: int, size: int) -> int:
    """Exact length of PATH(index, D[size]): the inner part below the point where
    the paths to ``index`` and to the last leaf part, plus one hash per set bit
    of ``index`` above it (the left siblings on the right border)."""
    inner = (index ^ (size - 1)).bit_length()
    border = bin(index >> inner).count("1")
    return inner + border


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> None:
    """Raise unless ``proof`` shows leaf hash ``leaf`` at ``index`` in the tree ``(size, root)``."""
    if index < 0 or size < 0:
        raise ProofError(f"negative index {index} or size {size}")
    if index >= size:
        raise IndexBeyondSize("leaf index", index, size)
    _check_hashes([leaf, root, *proof])
    want = inclusion_proof_size(index, size)
    if len(proof) != want:
        raise WrongProofLength(len(proof), want)
    computed = root_from_inclusion(index, size, leaf, proof)
    if computed != root:
        raise RootMismatch(computed, root)


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2 steps 2-6, literally."""
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise WrongProofLength(len(proof), inclusion_proof_size(index, size))
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise WrongProofLength(len(proof), inclusion_proof_size(index, size))
    return r


def consistency_proof_size(old: int, new: int) -> int:
    """Exact length of PROOF(old, D[new]) for ``0 < old < new``.

    The proof is the inclusion proof, in the tree scaled down by the largest
    power of two dividing ``old``, of the last perfect subtree ending at ``old``;
    that subtree's own hash leads the proof unless ``old`` is a power of two.
    """
    level = (old & -old).bit_length() - 1
    index = (old - 1) >> level
    size = ((new - 1) >> level) + 1
    return inclusion_proof_size(index, size) + (0 if index == 0 else 1)


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> None:
    """Raise unless ``proof`` shows the tree ``(old, old_root)`` is a prefix of ``(new, new_root)``."""
    if old < 0 or new < 0:
        raise ProofError(f"negative size {old} or {new}")
    if old > new:
        raise IndexBeyondSize("old size", old, new)
    _check_hashes([old_root, new_root, *proof])
    if old == new:
        if proof:
            raise WrongProofLength(len(proof), 0)
        if old_root != new_root:
            raise RootMismatch(old_root, new_root, "equal-size roots")
        if old == 0 and old_root != EMPTY_ROOT:
            raise RootMismatch(old_root, EMPTY_ROOT, "empty-tree root")
        return
    if old == 0:
        if proof:
            raise WrongProofLength(len(proof), 0)
        if old_root != EMPTY_ROOT:  # RFC 9162 §2.1.1: the empty tree's hash is SHA-256()
            raise RootMismatch(old_root, EMPTY_ROOT, "old (empty) root")
        return
    want = consistency_proof_size(old, new)
    if len(proof) != want:
        raise WrongProofLength(len(proof), want)
    computed_old, computed_new = roots_from_consistency(old, new, old_root, proof)
    if computed_old != old_root:
        raise RootMismatch(computed_old, old_root, "old root")
    if computed_new != new_root:
        raise RootMismatch(computed_new, new_root, "new root")


def roots_from_consistency(
    old: int, new: int, old_root: bytes, proof: list[bytes]
) -> tuple[bytes, bytes]:
    """RFC 9162 §2.1.4.2 steps 1-7, literally; returns (old root, new root) as computed."""
    c = list(proof)
    # Step 1: if old is an exact power of two, prepend old_root.
    if old & (old - 1) == 0:
        c.insert(0, old_root)
    # Step 2-3.
    fn, sn = old - 1, new - 1
    # Step 4: if LSB(fn) is set, shift both right until it is not.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5.
    fr = sr = c[0]
    # Step 6.
    for x in c[1:]:
        if sn == 0:
            raise WrongProofLength(len(proof), consistency_proof_size(old, new))
        if fn & 1 or fn == sn:
            fr = node_hash(x, fr)
            sr = node_hash(x, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, x)
        fn >>= 1
        sn >>= 1
    # Step 7.
    if sn != 0:
        raise WrongProofLength(len(proof), consistency_proof_size(old, new))
    return fr, sr


def _check_hashes(hashes: list[bytes]) -> None:
    for h in hashes:
        if not isinstance(h, (bytes, bytearray)) or len(h) != HASH_SIZE:
            raise ProofError(f"hash of {len(h) if hasattr(h, '__len__') else '?'} bytes, want {HASH_SIZE}")
