"""A literal, recursive transcription of RFC 9162 §2.1 — the test oracle.

Written from the RFC text, not from ``ledger`` (which it must never import), so
that the ledger's stored-subtree builders and its verifiers are checked against
an independent statement of the same definitions. It favours being obviously
equal to the RFC over being fast: every function recomputes whole subtrees.

Notation follows the RFC: ``D`` is a list of leaf *data* (``bytes``), ``D[k:n]``
is a Python slice, ``HASH`` is SHA-256, and the proofs are lists of hashes.
"""

from __future__ import annotations

import hashlib


def HASH(data: bytes) -> bytes:  # noqa: N802 (RFC name)
    """RFC 9162 §2.1: the hash algorithm used by the log, here SHA-256."""
    return hashlib.sha256(data).digest()


def largest_power_of_two_smaller_than(n: int) -> int:
    """RFC 9162 §2.1.1: "let k be the largest power of two smaller than n
    (i.e., k < n <= 2k)". Found by doubling, as the sentence reads."""
    assert n > 1
    k = 1
    while 2 * k < n:
        k *= 2
    assert k < n <= 2 * k
    return k


def MTH(D: list[bytes]) -> bytes:  # noqa: N802,N803 (RFC names)
    """RFC 9162 §2.1.1, the Merkle Tree Hash:

    MTH({}) = HASH().
    MTH({d(0)}) = HASH(0x00 || d(0)).
    MTH(D_n) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n])) for n > 1.
    """
    n = len(D)
    if n == 0:
        return HASH(b"")
    if n == 1:
        return HASH(b"\x00" + D[0])
    k = largest_power_of_two_smaller_than(n)
    return HASH(b"\x01" + MTH(D[0:k]) + MTH(D[k:n]))


def PATH(m: int, D: list[bytes]) -> list[bytes]:  # noqa: N802,N803 (RFC names)
    """RFC 9162 §2.1.3.1, the Merkle audit path for leaf ``m`` (0 <= m < n):

    PATH(0, {d(0)}) = {}.
    m < k:  PATH(m, D_n) = PATH(m, D[0:k]) : MTH(D[k:n]).
    m >= k: PATH(m, D_n) = PATH(m - k, D[k:n]) : MTH(D[0:k]).
    """
    n = len(D)
    assert 0 <= m < n, "PATH is defined for 0 <= m < n"
    if n == 1:
        return []
    k = largest_power_of_two_smaller_than(n)
    if m < k:
        return PATH(m, D[0:k]) + [MTH(D[k:n])]
    return PATH(m - k, D[k:n]) + [MTH(D[0:k])]


def PROOF(m: int, D: list[bytes]) -> list[bytes]:  # noqa: N802,N803 (RFC names)
    """RFC 9162 §2.1.4.1: PROOF(m, D_n) = SUBPROOF(m, D_n, true), for 0 < m < n."""
    assert 0 < m < len(D), "PROOF is defined for 0 < m < n"
    return SUBPROOF(m, D, True)


def SUBPROOF(m: int, D: list[bytes], b: bool) -> list[bytes]:  # noqa: N802,N803 (RFC names)
    """RFC 9162 §2.1.4.1:

    SUBPROOF(m, D[m], true) = {}.
    SUBPROOF(m, D[m], false) = {MTH(D[m])}.
    m <= k: SUBPROOF(m, D_n, b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n]).
    m > k:  SUBPROOF(m, D_n, b) = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k]).
    """
    n = len(D)
    if m == n:
        return [] if b else [MTH(D)]
    k = largest_power_of_two_smaller_than(n)
    if m <= k:
        return SUBPROOF(m, D[0:k], b) + [MTH(D[k:n])]
    return SUBPROOF(m - k, D[k:n], False) + [MTH(D[0:k])]


def _is_uint64(*values: int) -> bool:
    """Not an RFC step: sizes and indices are ``uint64`` on the wire (RFC 9162 §4),
    so a negative or oversized value is no proof at all. Without this guard the
    bit loops below would run on Python's negative integers."""
    return all(isinstance(v, int) and 0 <= v < 2**64 for v in values)


def LSB(x: int) -> bool:  # noqa: N802 (RFC name)
    """RFC 9162 §2.1.3.2: "LSB(fn) is set" — the least significant bit."""
    return x & 1 == 1


def verify_inclusion(leaf_index: int, tree_size: int, hash: bytes,  # noqa: A002 (RFC name)
                     inclusion_path: list[bytes], root_hash: bytes) -> bool:
    """RFC 9162 §2.1.3.2, "Verifying an Inclusion Proof", step by step.

    ``hash`` is the leaf's MTH({d}) = HASH(0x00 || d).
    """
    if not _is_uint64(leaf_index, tree_size):
        return False
    # 1. If leaf_index is greater than or equal to tree_size, fail.
    if leaf_index >= tree_size:
        return False
    # 2. Set fn to leaf_index and sn to tree_size - 1.
    fn, sn = leaf_index, tree_size - 1
    # 3. Set r to hash.
    r = hash
    # 4. For each value p in the inclusion_path array:
    for p in inclusion_path:
        # a. If sn is 0, stop the iteration and fail the proof verification.
        if sn == 0:
            return False
        # b. If LSB(fn) is set, or if fn is equal to sn, then:
        if LSB(fn) or fn == sn:
            # i. Set r to HASH(0x01 || p || r).
            r = HASH(b"\x01" + p + r)
            # ii. If LSB(fn) is not set, right-shift both fn and sn equally
            #     until either LSB(fn) is set or fn is 0.
            if not LSB(fn):
                while not (LSB(fn) or fn == 0):
                    fn >>= 1
                    sn >>= 1
        # Otherwise: i. Set r to HASH(0x01 || r || p).
        else:
            r = HASH(b"\x01" + r + p)
        # c. Finally, right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 5. Compare sn to 0 and r against root_hash: proven iff sn == 0 and r == root_hash.
    return sn == 0 and r == root_hash


def verify_consistency(first: int, second: int, first_hash: bytes, second_hash: bytes,
                       consistency_path: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2, "Verifying Consistency between Two Tree Heads", step by
    step. The RFC states it for ``0 < first < second``; outside that it fails
    (see ``verify_consistency_any_sizes`` for the trivial cases)."""
    if not (_is_uint64(first, second) and 0 < first < second):
        return False
    # 1. If consistency_path is an empty array, stop and fail the proof verification.
    if not consistency_path:
        return False
    path = list(consistency_path)
    # 2. If first is an exact power of 2, prepend first_hash to the consistency_path array.
    if first & (first - 1) == 0:
        path.insert(0, first_hash)
    # 3. Set fn to first - 1 and sn to second - 1.
    fn, sn = first - 1, second - 1
    # 4. If LSB(fn) is set, right-shift both fn and sn equally until LSB(fn) is not set.
    while LSB(fn):
        fn >>= 1
        sn >>= 1
    # 5. Set both fr and sr to the first value in the consistency_path array.
    fr = sr = path[0]
    # 6. For each subsequent value c in the consistency_path array:
    for c in path[1:]:
        # a. If sn is 0, stop the iteration and fail the proof verification.
        if sn == 0:
            return False
        # b. If LSB(fn) is set, or if fn is equal to sn, then:
        if LSB(fn) or fn == sn:
            # i. Set fr to HASH(0x01 || c || fr).
            fr = HASH(b"\x01" + c + fr)
            # ii. Set sr to HASH(0x01 || c || sr).
            sr = HASH(b"\x01" + c + sr)
            # iii. If LSB(fn) is not set, right-shift both fn and sn equally
            #      until either LSB(fn) is set or fn is 0.
            if not LSB(fn):
                while not (LSB(fn) or fn == 0):
                    fn >>= 1
                    sn >>= 1
        # Otherwise: i. Set sr to HASH(0x01 || sr || c).
        else:
            sr = HASH(b"\x01" + sr + c)
        # c. Finally, right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 7. Verify fr == first_hash, sr == second_hash and sn == 0.
    return fr == first_hash and sr == second_hash and sn == 0


def verify_consistency_any_sizes(first: int, second: int, first_hash: bytes, second_hash: bytes,
                                 consistency_path: list[bytes]) -> bool:
    """§2.1.4.2 extended to ``0 <= first <= second``. The two extra cases are
    not RFC steps; each follows from a definition:

    * ``first == second``: a tree is consistent with itself and PROOF needs no
      hashes, so the path must be empty and the two tree hashes equal.
    * ``first == 0``: every tree extends the empty one, so the path must be
      empty — and ``first_hash`` must be MTH({}) = HASH() (§2.1.1), since no
      other value is the hash of an empty tree (nor, when ``second`` is 0,
      ``second_hash``).
    """
    if not _is_uint64(first, second) or first > second:
        return False
    if first == 0:
        empty = MTH([])
        return consistency_path == [] and first_hash == empty and (second > 0 or second_hash == empty)
    if first == second:
        return consistency_path == [] and first_hash == second_hash
    return verify_consistency(first, second, first_hash, second_hash, consistency_path)
