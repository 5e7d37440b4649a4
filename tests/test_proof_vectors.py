"""The ledger's verifiers (RFC 9162 §2.1.3.2, §2.1.4.2) against generated vectors.

``tests/proof_vectors.py`` builds happy and mutated cases from the RFC 9162
reference and marks each by the reference verifier's verdict (refusing to
generate a case whose verdict differs from what its mutation intends). Here
``ledger.log.merkle_verify`` must reach the same verdict, and reject with the
``ProofError`` subclass naming the first failed check.
"""

from __future__ import annotations

import pytest

from ledger import errors
from ledger.log.merkle_verify import verify_consistency, verify_inclusion
from tests import proof_vectors as pv
from tests import rfc9162_reference as ref

ERRORS = {
    "ProofError": errors.ProofError,
    "IndexBeyondSize": errors.IndexBeyondSize,
    "WrongProofLength": errors.WrongProofLength,
    "RootMismatch": errors.RootMismatch,
}


def params() -> list:
    return [pytest.param(c, id=c["name"]) for c in pv.generate()]


def run_ledger(case: dict) -> None:
    """The ledger verifier on one case; returns on accept, raises on reject."""
    if case["kind"] == "inclusion":
        verify_inclusion(case["index"], case["size"], case["leaf"], list(case["proof"]), case["root"])
    else:
        verify_consistency(case["old"], case["new"], case["old_root"], case["new_root"], list(case["proof"]))


def check_ledger(case: dict) -> None:
    """Accept what the reference accepts; reject the rest with the named error."""
    if case["want"] == pv.ACCEPT:
        run_ledger(case)
        return
    try:
        run_ledger(case)
    except errors.ProofError as e:
        assert isinstance(e, ERRORS[case["error"]]), f"raised {type(e).__name__}, want {case['error']}: {e}"
    else:
        pytest.fail(f"ledger accepted {case['name']}, which the RFC 9162 reference rejects")


@pytest.mark.parametrize("case", params())
def test_ledger_verifier_agrees_with_reference(case):
    check_ledger(case)


def test_ledger_checks_the_empty_trees_root():
    """Old size 0 with a root that is not MTH({}) = SHA-256() is rejected (RFC 9162 §2.1.1)."""
    cases = [c for c in pv.generate() if c["kind"] == "consistency" and c["old"] == 0
             and c["proof"] == [] and c["old_root"] != pv.EMPTY_ROOT]
    assert cases
    for case in cases:
        check_ledger(case)


def test_generator_covers_every_mutation_the_issue_asks_for():
    """Happy and mutated cases of every family, for every size, both verdicts and every error."""
    cases = pv.generate()
    families = {(c["kind"], c["name"].rsplit("/", 1)[1].split("[")[0]) for c in cases}
    assert {("inclusion", m) for m in ("happy", "flip-proof", "index+1", "index-1", "size-doubled", "size-halved",
                                       "short", "long", "wrong-leaf", "empty-tree")} <= families
    assert {("consistency", m) for m in ("happy", "flip-proof", "old+1", "old-1", "new-doubled", "new-halved",
                                         "short", "long", "swapped-roots", "empty-tree")} <= families
    for kind in ("inclusion", "consistency"):
        sizes = {c["size"] if kind == "inclusion" else c["new"] for c in cases
                 if c["kind"] == kind and c["name"].endswith("/happy")}
        assert set(pv.SIZES) <= sizes
    assert {c["error"] for c in cases} == {None, *ERRORS}
    flips = [c for c in cases if "/flip-proof[" in c["name"]]
    assert flips and all(c["want"] == pv.REJECT and c["error"] == "RootMismatch" for c in flips)


def test_only_the_provably_equivalent_mutations_are_accepted():
    """The mutations the reference accepts, each for a stated reason: a one-leaf
    tree's root is its leaf hash; nothing about the new tree is checked against
    the empty tree; and a consistency proof fixes the new size only up to the
    §2.1.4.2 hashing shape, which ``new`` and ``new + 1`` often share."""
    accepted = {(c["kind"], c["name"].rsplit("/", 1)[1]) for c in pv.generate()
                if c["want"] == pv.ACCEPT and not c["name"].endswith("/happy")}
    assert accepted == {("inclusion", "leaf-root-swapped"), ("consistency", "flip-new-root"),
                        ("consistency", "new+1"), ("consistency", "empty-tree")}
    for c in pv.generate():
        if c["want"] == pv.ACCEPT and c["name"].endswith("/flip-new-root"):
            assert c["old"] == 0
        if c["want"] == pv.ACCEPT and c["name"].endswith("/leaf-root-swapped"):
            assert c["size"] == 1


def test_generator_refuses_a_case_the_reference_contradicts():
    """The generator's guard is live: a mutation intended as accept but
    rejected by the reference (or the reverse) stops generation."""
    leaf, root = ref.MTH([pv.leaf_data(0)]), ref.MTH(pv.D(1))
    with pytest.raises(AssertionError, match="reference says reject"):
        pv.inclusion_case("bad", pv.ACCEPT, 0, 1, leaf, [], pv.flip(root, 0))
    with pytest.raises(AssertionError, match="reference says accept"):
        pv.consistency_case("bad", pv.REJECT, 1, 1, root, root, [])
