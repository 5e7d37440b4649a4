"""Our own proof vector generator: happy and mutated inclusion and consistency cases.

Every case is built from the RFC 9162 reference (``rfc9162_reference``), never
from ``ledger``, over deterministic leaves. Each mutation states what it
*intends* (accept or reject); the case's ``want`` is what the reference
verifier actually says, and generation fails if the two differ. Mutations
intend ``reject`` except where acceptance is provable, each saying why:

* swapping leaf and root of a one-leaf tree (they are the same hash);
* a different new root against the empty old tree (nothing is claimed of it);
* changing only sizes where the verifier's hashing *shape* stays the same
  (``inclusion_shape``/``consistency_shape``): it then repeats the happy
  computation on the same hashes. In practice this is consistency ``new+1``,
  since §2.1.4.2 cannot tell ``new`` from ``new + 1`` when both put the last
  proof hash in the same place.

A case is a dict::

    inclusion:   {kind, name, index, size, leaf, root, proof, want, error}
    consistency: {kind, name, old, new, old_root, new_root, proof, want, error}

``leaf`` is a leaf hash (MTH({d}), RFC 9162 §2.1.1), hashes are ``bytes``, and
``error`` names the ``ledger.errors.ProofError`` subclass a rejecting verifier
that checks index, then proof length, then roots (as ``ledger.log.merkle_verify``
does) must raise — derived from the reference's PATH/PROOF lengths — or
``None`` when the case is accepted. Nothing is written to disk.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator

from tests import rfc9162_reference as ref

ACCEPT, REJECT = "accept", "reject"
SIZES = (*range(1, 21), 64, 65, 100)
EMPTY_ROOT = ref.MTH([])


def leaf_data(i: int) -> bytes:
    """Leaf ``i``: distinct (the ``i:`` prefix), of varying length; leaf 0 is empty."""
    if i == 0:
        return b""
    return b"%d:" % i + hashlib.sha256(b"proof-vectors/%d" % i).digest()[: i % 17]


@functools.cache
def leaves(n: int) -> tuple[bytes, ...]:
    return tuple(leaf_data(i) for i in range(n))


def D(n: int) -> list[bytes]:  # noqa: N802 (RFC name)
    """The RFC's D_n: the first ``n`` leaves."""
    return list(leaves(n))


def flip(h: bytes, bit: int) -> bytes:
    """``h`` with one bit inverted."""
    b = bytearray(h)
    b[(bit // 8) % len(b)] ^= 1 << (bit % 8)
    return bytes(b)


def replaced(proof: list[bytes], j: int, h: bytes) -> list[bytes]:
    return [h if k == j else p for k, p in enumerate(proof)]


def other_hash(*avoid: bytes) -> bytes:
    """A 32-byte hash equal to none of ``avoid`` (for over-long proofs)."""
    h = ref.HASH(b"not part of any tree")
    assert h not in avoid
    return h


# --- shapes: when a size mutation is provably no mutation -------------------


def _shift(fn: int, sn: int) -> tuple[int, int]:
    return fn >> 1, sn >> 1


def inclusion_shape(index: int, size: int, length: int) -> tuple[str, ...] | None:
    """The hashing RFC 9162 §2.1.3.2 does for a path of ``length`` hashes, from
    the sizes alone: per element ``p|r`` (step 4.b.i) or ``r|p`` (otherwise);
    ``None`` if the sizes alone fail (steps 1, 4.a, 5). Two parameter sets with
    the same shape hash the same inputs the same way, so any verifier of the
    RFC must give both the same verdict."""
    if not 0 <= index < size:
        return None
    fn, sn, ops = index, size - 1, []
    for _ in range(length):
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            ops.append("p|r")
            while not fn & 1 and fn != 0:
                fn, sn = _shift(fn, sn)
        else:
            ops.append("r|p")
        fn, sn = _shift(fn, sn)
    return tuple(ops) if sn == 0 else None


def consistency_shape(old: int, new: int, length: int) -> tuple[str, ...] | None:
    """The same for RFC 9162 §2.1.4.2 and a path of ``length`` hashes: whether
    step 2 seeds with ``first_hash``, then per element ``c|fr,c|sr`` (6.b.i-ii)
    or ``sr|c`` (otherwise); ``None`` if the sizes alone fail (steps 1, 6.a, 7)."""
    if not 0 < old < new or length == 0:
        return None
    seeded = old & (old - 1) == 0
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = _shift(fn, sn)
    ops = ["seed=first_hash" if seeded else "seed=c[0]"]
    for _ in range(length - (0 if seeded else 1)):
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            ops.append("c|fr,c|sr")
            while not fn & 1 and fn != 0:
                fn, sn = _shift(fn, sn)
        else:
            ops.append("sr|c")
        fn, sn = _shift(fn, sn)
    return tuple(ops) if sn == 0 else None


def intent_of_resize(shape, before: tuple[int, int], after: tuple[int, int], length: int) -> str:
    """A mutation of sizes only (proof, leaf and roots unchanged) is rejected —
    unless both sizes give the same, succeeding shape, in which case the
    verifier provably repeats the happy computation and must accept."""
    same = shape(*before, length) is not None and shape(*before, length) == shape(*after, length)
    return ACCEPT if same else REJECT


# --- inclusion -------------------------------------------------------------


def inclusion_error(index: int, size: int, proof: list[bytes]) -> str:
    """Which check a rejecting verifier trips first: index, then length, then root."""
    if index < 0 or size < 0:
        return "ProofError"
    if index >= size:
        return "IndexBeyondSize"
    if len(proof) != len(ref.PATH(index, D(size))):
        return "WrongProofLength"
    return "RootMismatch"


def inclusion_case(name: str, intent: str, index: int, size: int, leaf: bytes,
                   proof: list[bytes], root: bytes) -> dict:
    """One case, marked by the RFC 9162 §2.1.3.2 reference; fails loudly if the
    reference disagrees with what the mutation intends."""
    want = ACCEPT if ref.verify_inclusion(index, size, leaf, proof, root) else REJECT
    if want != intent:
        raise AssertionError(f"{name}: intended {intent}, but the RFC 9162 reference says {want}")
    return {"kind": "inclusion", "name": name, "index": index, "size": size, "leaf": leaf,
            "root": root, "proof": proof, "want": want,
            "error": None if want == ACCEPT else inclusion_error(index, size, proof)}


def inclusion_cases(index: int, size: int) -> Iterator[dict]:
    """The happy PATH(index, D_size) (RFC 9162 §2.1.3.1) and its mutations."""
    d = D(size)
    leaf, proof, root = ref.MTH([d[index]]), ref.PATH(index, d), ref.MTH(d)
    tag = f"inclusion/n{size}/i{index}"

    def case(mutation: str, intent: str, index: int = index, size: int = size, leaf: bytes = leaf,
             proof: list[bytes] = proof, root: bytes = root) -> dict:
        return inclusion_case(f"{tag}/{mutation}", intent, index, size, leaf, proof, root)

    yield case("happy", ACCEPT)
    for j, p in enumerate(proof):
        yield case(f"flip-proof[{j}]", REJECT, proof=replaced(proof, j, flip(p, 8 * j + index)))
    yield case("wrong-leaf", REJECT, leaf=ref.MTH([d[index] + b"!"]))
    yield case("flip-leaf", REJECT, leaf=flip(leaf, index))
    yield case("flip-root", REJECT, root=flip(root, size))
    if size > 1:
        yield case("neighbour-leaf", REJECT, leaf=ref.MTH([d[index ^ 1 if index ^ 1 < size else index - 1]]))
    for mutation, after in (("index+1", (index + 1, size)), ("index-1", (index - 1, size)),
                            ("size-doubled", (index, 2 * size)), ("size-halved", (index, size // 2))):
        intent = intent_of_resize(inclusion_shape, (index, size), after, len(proof))
        yield case(mutation, intent, index=after[0], size=after[1])
    if proof:
        yield case("short", REJECT, proof=proof[:-1])
        yield case("short-first", REJECT, proof=proof[1:])
    yield case("long", REJECT, proof=[*proof, other_hash(*proof)])
    # With one leaf the root *is* the leaf hash and the path is empty: swapping
    # them changes nothing, so the "mutation" is the happy case again.
    yield case("leaf-root-swapped", ACCEPT if size == 1 else REJECT, leaf=root, root=leaf)


def inclusion_edge_cases() -> Iterator[dict]:
    """The empty tree has no leaf to include (§2.1.3.2 step 1)."""
    leaf = ref.MTH([leaf_data(0)])
    yield inclusion_case("inclusion/n0/i0/empty-tree", REJECT, 0, 0, leaf, [], EMPTY_ROOT)
    yield inclusion_case("inclusion/n0/i0/empty-tree-root-as-leaf", REJECT, 0, 0, EMPTY_ROOT, [], EMPTY_ROOT)


# --- consistency -----------------------------------------------------------


def consistency_error(old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes]) -> str:
    """Which check a rejecting verifier trips first: sizes, then length, then roots."""
    if old < 0 or new < 0:
        return "ProofError"
    if old > new:
        return "IndexBeyondSize"
    want_length = len(ref.PROOF(old, D(new))) if 0 < old < new else 0
    if len(proof) != want_length:
        return "WrongProofLength"
    return "RootMismatch"


def consistency_case(name: str, intent: str, old: int, new: int, old_root: bytes,
                     new_root: bytes, proof: list[bytes]) -> dict:
    """One case, marked by the RFC 9162 §2.1.4.2 reference (extended to the
    trivial sizes); fails loudly if it disagrees with what the mutation intends."""
    ok = ref.verify_consistency_any_sizes(old, new, old_root, new_root, proof)
    want = ACCEPT if ok else REJECT
    if want != intent:
        raise AssertionError(f"{name}: intended {intent}, but the RFC 9162 reference says {want}")
    return {"kind": "consistency", "name": name, "old": old, "new": new, "old_root": old_root,
            "new_root": new_root, "proof": proof, "want": want,
            "error": None if want == ACCEPT else consistency_error(old, new, old_root, new_root, proof)}


def consistency_cases(old: int, new: int) -> Iterator[dict]:
    """The happy PROOF(old, D_new) (RFC 9162 §2.1.4.1; empty when old is 0 or
    new) and its mutations."""
    old_root, new_root = ref.MTH(D(old)), ref.MTH(D(new))
    proof = ref.PROOF(old, D(new)) if 0 < old < new else []
    tag = f"consistency/n{new}/m{old}"

    def case(mutation: str, intent: str, old: int = old, new: int = new, old_root: bytes = old_root,
             new_root: bytes = new_root, proof: list[bytes] = proof) -> dict:
        return consistency_case(f"{tag}/{mutation}", intent, old, new, old_root, new_root, proof)

    yield case("happy", ACCEPT)
    yield case("flip-old-root", REJECT, old_root=flip(old_root, old))
    yield case("old+1", intent_of_resize(consistency_shape, (old, new), (old + 1, new), len(proof)),
               old=old + 1)
    yield case("long", REJECT, proof=[*proof, other_hash(*proof)])
    if 0 < old < new:
        yield from proper_consistency_mutations(case, old, new, old_root, new_root, proof)
    else:
        yield from trivial_consistency_mutations(case, old, new, old_root, new_root)


def proper_consistency_mutations(case, old: int, new: int, old_root: bytes, new_root: bytes,
                                 proof: list[bytes]) -> Iterator[dict]:
    """Mutations of a real proof, 0 < old < new: each one must be rejected."""
    for j, p in enumerate(proof):
        yield case(f"flip-proof[{j}]", REJECT, proof=replaced(proof, j, flip(p, 8 * j + old)))
    yield case("flip-new-root", REJECT, new_root=flip(new_root, new))
    yield case("swapped-roots", REJECT, old_root=new_root, new_root=old_root)
    for mutation, after in (("old-1", (old - 1, new)), ("new+1", (old, new + 1)),
                            ("new-doubled", (old, 2 * new)), ("new-halved", (old, new // 2))):
        intent = intent_of_resize(consistency_shape, (old, new), after, len(proof))
        yield case(mutation, intent, old=after[0], new=after[1])
    yield case("short", REJECT, proof=proof[:-1])
    yield case("short-first", REJECT, proof=proof[1:])
    yield case("empty-proof", REJECT, proof=[])


def trivial_consistency_mutations(case, old: int, new: int, old_root: bytes,
                                  new_root: bytes) -> Iterator[dict]:
    """Mutations when old is 0 or equals new, where the proof is empty."""
    if old == new:
        yield case("flip-new-root", REJECT, new_root=flip(new_root, new))
        # Equal sizes, equal roots: swapping them is the happy case again.
        return
    # old == 0 < new: every tree extends the empty one and the (empty) proof
    # says nothing about the new tree, so a different new root is still
    # consistent with the empty tree.
    yield case("flip-new-root", ACCEPT, new_root=flip(new_root, new))
    yield case("swapped-roots", REJECT, old_root=new_root, new_root=old_root)


def consistency_edge_cases() -> Iterator[dict]:
    """The empty tree against itself (RFC 9162 §2.1.1: MTH({}) = HASH())."""
    e = EMPTY_ROOT
    yield consistency_case("consistency/n0/m0/empty-tree", ACCEPT, 0, 0, e, e, [])
    yield consistency_case("consistency/n0/m0/empty-tree-proof-given", REJECT, 0, 0, e, e, [e])
    yield consistency_case("consistency/n0/m0/empty-tree-wrong-root", REJECT, 0, 0, e, flip(e, 0), [])
    yield consistency_case("consistency/n0/m0/empty-tree-both-roots-wrong", REJECT, 0, 0,
                           flip(e, 0), flip(e, 0), [])
    yield consistency_case("consistency/n0/m1/old-beyond-new", REJECT, 1, 0, ref.MTH(D(1)), e, [])


# --- the whole set ---------------------------------------------------------


def indices(n: int) -> list[int]:
    """Leaf indices to prove in a tree of ``n``: all of them for small trees;
    for large ones the edges, the middle and the power-of-two boundaries,
    where the proof shapes change."""
    if n <= 20:
        return list(range(n))
    picks = {0, 1, 2, n // 2 - 1, n // 2, n // 2 + 1, n - 2, n - 1, 31, 32, 33, 63, 64}
    return sorted(i for i in picks if i < n)


def old_sizes(n: int) -> list[int]:
    """Old sizes ``0..n`` to prove consistency from, sampled the same way."""
    return [*indices(n), n] if n <= 20 else sorted({*indices(n), 3, n})


def generate() -> list[dict]:
    """Every case for every size in ``SIZES``, names unique."""
    return list(_generate())


@functools.cache
def _generate() -> tuple[dict, ...]:
    cases = [*inclusion_edge_cases(), *consistency_edge_cases()]
    for n in SIZES:
        for i in indices(n):
            cases.extend(inclusion_cases(i, n))
        for m in old_sizes(n):
            cases.extend(consistency_cases(m, n))
    names = [c["name"] for c in cases]
    assert len(set(names)) == len(names), "case names must be unique"
    return tuple(cases)
