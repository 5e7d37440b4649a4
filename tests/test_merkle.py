"""``ledger.log.merkle`` (RFC 9162 §2.1 over stored perfect subtrees) against the
published RFC 6962 vectors and the literal RFC 9162 reference.

The ledger stores only perfect subtrees, filled in by ``integrate`` as leaves
arrive, and builds every root and proof from them; the reference recomputes
everything from the leaf data by the RFC's recursions. They must agree for
every size, every index and every pair of sizes, however the leaves arrived.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import ProofError
from ledger.log import merkle
from ledger.log.merkle_verify import verify_consistency, verify_inclusion
from tests import rfc9162_reference as ref
from tests.proof_vectors import leaf_data

VECTORS = json.loads((Path(__file__).parent / "data" / "rfc6962_vectors.json").read_text())
CT_LEAVES = [bytes.fromhex(h) for h in VECTORS["leaves_hex"]]
CT_ROOTS = [bytes.fromhex(h) for h in VECTORS["roots_by_size"]]
MAX_SIZE = 300
LEAVES = [leaf_data(i) for i in range(MAX_SIZE)]
PROPERTY = settings(max_examples=300, deadline=None, database=None)

Nodes = dict[merkle.Address, bytes]


# --- building a stored tree --------------------------------------------------


def grow(nodes: Nodes, size: int, batch: list[bytes]) -> int:
    """Append ``batch`` (leaf data) to the stored tree ``nodes`` of ``size``
    leaves as the ledger does: store the leaf hashes, and the interior nodes
    ``integrate`` derives from them and the border alone. Returns the new size."""
    hashes = [merkle.leaf_hash(d) for d in batch]
    border = {a: nodes[a] for a in merkle.perfect_pieces(0, size)}
    new = merkle.integrate(border, size, hashes)
    assert all(level >= 1 for level, _ in new), "integrate returns interior nodes only"
    assert not new.keys() & nodes.keys(), "integrate never recomputes a stored node"
    nodes.update({(0, size + i): h for i, h in enumerate(hashes)})
    nodes.update(new)
    return size + len(batch)


def stored(leaves: list[bytes], cuts: list[int] = ()) -> Nodes:
    """Every perfect-subtree node of ``leaves``, appended in batches split at ``cuts``."""
    nodes: Nodes = {}
    size = 0
    bounds = [0, *sorted(cuts), len(leaves)]
    for start, end in zip(bounds, bounds[1:]):
        size = grow(nodes, size, leaves[start:end])
    assert size == len(leaves)
    return nodes


def perfect_addresses(size: int) -> set[merkle.Address]:
    """Every ``(level, index)`` whose leaves ``[index << level, (index + 1) << level)`` exist."""
    return {(level, i) for level in range(size.bit_length()) for i in range(size >> level)}


@st.composite
def grown_trees(draw, min_size: int = 1) -> tuple[int, list[int]]:
    """A tree size and the batch boundaries it grew by (empty batches included)."""
    size = draw(st.integers(min_size, MAX_SIZE))
    cuts = draw(st.lists(st.integers(0, size), max_size=12))
    return size, cuts


def log_bound(size: int) -> int:
    return 2 * size.bit_length() + 2


# --- fixed values ------------------------------------------------------------


def test_empty_root_is_sha256_of_nothing():
    """RFC 9162 §2.1.1: MTH({}) = SHA-256()."""
    assert merkle.EMPTY_ROOT == hashlib.sha256(b"").digest() == ref.MTH([]) == CT_ROOTS[0]
    assert merkle.root(merkle.reader_from({}), 0) == merkle.EMPTY_ROOT


def test_leaf_and_node_hashes_are_domain_separated():
    """RFC 9162 §2.1.1: leaves hash under 0x00, interior nodes under 0x01."""
    a, b = LEAVES[1], LEAVES[2]
    assert merkle.leaf_hash(b"") == ref.MTH([b""]) == CT_ROOTS[1]
    assert merkle.leaf_hash(a) == hashlib.sha256(b"\x00" + a).digest()
    left, right = merkle.leaf_hash(a), merkle.leaf_hash(b)
    assert merkle.node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest() == ref.MTH([a, b])
    assert merkle.leaf_hash(left + right) != merkle.node_hash(left, right)


def test_one_leaf_tree_root_is_its_leaf_hash():
    nodes = stored(LEAVES[:1])
    assert nodes == {(0, 0): merkle.leaf_hash(LEAVES[0])}
    assert merkle.root(merkle.reader_from(nodes), 1) == merkle.leaf_hash(LEAVES[0]) == ref.MTH(LEAVES[:1])
    assert merkle.inclusion_proof(merkle.reader_from(nodes), 0, 1) == []


def test_builders_refuse_impossible_requests():
    read = merkle.reader_from(stored(LEAVES[:4]))
    for index, size in ((4, 4), (-1, 4), (0, 0)):
        with pytest.raises(ValueError):
            merkle.inclusion_proof(read, index, size)
    for old, new in ((5, 4), (-1, 4)):
        with pytest.raises(ValueError):
            merkle.consistency_proof(read, old, new)


# --- the published RFC 6962 vectors --------------------------------------------

CT_NODES = stored(CT_LEAVES)
CT_READ = merkle.reader_from(CT_NODES)


@pytest.mark.parametrize("size", range(len(CT_ROOTS)))
def test_ct_roots(size):
    """Root of the first ``size`` leaves of the CT test tree, from one stored tree of 8."""
    assert merkle.root(CT_READ, size) == CT_ROOTS[size]
    assert ref.MTH(CT_LEAVES[:size]) == CT_ROOTS[size]


@pytest.mark.parametrize("vector", VECTORS["inclusion"], ids=lambda v: f"i{v['index']}-n{v['size']}")
def test_ct_inclusion_proofs(vector):
    """RFC 9162 §2.1.3.1 paths equal the published ones; §2.1.3.2 accepts them."""
    index, size, want = vector["index"], vector["size"], [bytes.fromhex(h) for h in vector["proof"]]
    leaf, root = merkle.leaf_hash(CT_LEAVES[index]), CT_ROOTS[size]
    assert merkle.inclusion_proof(CT_READ, index, size) == want
    assert ref.PATH(index, CT_LEAVES[:size]) == want
    verify_inclusion(index, size, leaf, want, root)
    assert ref.verify_inclusion(index, size, leaf, want, root)


@pytest.mark.parametrize("vector", VECTORS["consistency"], ids=lambda v: f"m{v['old']}-n{v['new']}")
def test_ct_consistency_proofs(vector):
    """RFC 9162 §2.1.4.1 proofs equal the published ones; §2.1.4.2 accepts them."""
    old, new, want = vector["old"], vector["new"], [bytes.fromhex(h) for h in vector["proof"]]
    old_root, new_root = CT_ROOTS[old], CT_ROOTS[new]
    assert merkle.consistency_proof(CT_READ, old, new) == want
    verify_consistency(old, new, old_root, new_root, want)
    assert ref.verify_consistency_any_sizes(old, new, old_root, new_root, want)
    if old < new:
        assert ref.PROOF(old, CT_LEAVES[:new]) == want
        assert ref.verify_consistency(old, new, old_root, new_root, want)


def test_ct_vectors_reject_a_neighbouring_leaf():
    """The published proofs bind their leaf: the same proof for the next leaf fails."""
    vector = VECTORS["inclusion"][0]
    proof = [bytes.fromhex(h) for h in vector["proof"]]
    other = merkle.leaf_hash(CT_LEAVES[vector["index"] + 1])
    with pytest.raises(ProofError):
        verify_inclusion(vector["index"], vector["size"], other, proof, CT_ROOTS[vector["size"]])
    assert not ref.verify_inclusion(vector["index"], vector["size"], other, proof, CT_ROOTS[vector["size"]])


# --- properties over stored trees grown in random batches ---------------------


@PROPERTY
@given(grown_trees(min_size=0))
def test_integrate_in_batches_equals_one_shot(tree):
    """However the leaves arrive, the stored nodes are exactly the perfect subtrees, with the same hashes."""
    size, cuts = tree
    batched = stored(LEAVES[:size], cuts)
    assert batched == stored(LEAVES[:size])
    assert set(batched) == perfect_addresses(size)


@PROPERTY
@given(grown_trees(), st.data())
def test_stored_roots_equal_reference_for_every_prefix(tree, data):
    """RFC 9162 §2.1.1 MTH of any prefix, from nodes stored for the full size."""
    size, cuts = tree
    read = merkle.reader_from(stored(LEAVES[:size], cuts))
    prefix = data.draw(st.integers(0, size), label="prefix")
    assert merkle.root(read, size) == ref.MTH(LEAVES[:size])
    assert merkle.root(read, prefix) == ref.MTH(LEAVES[:prefix])


@PROPERTY
@given(grown_trees(), st.data())
def test_inclusion_proofs_equal_reference_and_verify(tree, data):
    """RFC 9162 §2.1.3.1 PATH from stored nodes, at any tree size up to the stored one."""
    size, cuts = tree
    nodes = stored(LEAVES[:size], cuts)
    at = data.draw(st.integers(1, size), label="tree size")
    index = data.draw(st.integers(0, at - 1), label="index")
    proof = merkle.inclusion_proof(merkle.reader_from(nodes), index, at)
    assert proof == ref.PATH(index, LEAVES[:at])
    leaf, root = merkle.leaf_hash(LEAVES[index]), ref.MTH(LEAVES[:at])
    verify_inclusion(index, at, leaf, proof, root)
    assert ref.verify_inclusion(index, at, leaf, proof, root)
    assert_needed_addresses_suffice(nodes, lambda r: merkle.inclusion_proof(r, index, at), proof, at)


@PROPERTY
@given(grown_trees(), st.data())
def test_consistency_proofs_equal_reference_and_verify(tree, data):
    """RFC 9162 §2.1.4.1 PROOF from stored nodes, for any 0 <= old <= new <= stored size."""
    size, cuts = tree
    nodes = stored(LEAVES[:size], cuts)
    new = data.draw(st.integers(1, size), label="new")
    old = data.draw(st.integers(0, new), label="old")
    proof = merkle.consistency_proof(merkle.reader_from(nodes), old, new)
    assert proof == (ref.PROOF(old, LEAVES[:new]) if 0 < old < new else [])
    old_root, new_root = ref.MTH(LEAVES[:old]), ref.MTH(LEAVES[:new])
    verify_consistency(old, new, old_root, new_root, proof)
    assert ref.verify_consistency_any_sizes(old, new, old_root, new_root, proof)
    assert_needed_addresses_suffice(nodes, lambda r: merkle.consistency_proof(r, old, new), proof, new)


def assert_needed_addresses_suffice(nodes: Nodes, compute, proof: list[bytes], size: int) -> None:
    """``needed_addresses`` names O(log n) stored nodes, and those alone rebuild ``proof``."""
    needed = merkle.needed_addresses(compute)
    assert len(needed) <= log_bound(size), f"{len(needed)} nodes for size {size}"
    assert needed <= nodes.keys()
    assert compute(merkle.reader_from({a: nodes[a] for a in needed})) == proof


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 63, 64, 65, 255, 256, 257, MAX_SIZE])
def test_needed_addresses_stay_logarithmic_for_every_index(size):
    """Exhaustively over one size: every inclusion and consistency proof reads
    at most 2·bit_length(size)+2 stored nodes."""
    for i in range(size):
        assert len(merkle.needed_addresses(lambda r: merkle.inclusion_proof(r, i, size))) <= log_bound(size)
    for old in range(size + 1):
        assert len(merkle.needed_addresses(lambda r: merkle.consistency_proof(r, old, size))) <= log_bound(size)
