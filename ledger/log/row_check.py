"""The checks of stored entry rows that need only a key registry: what ``verify``'s
worker processes run.

A *segment* is a run of consecutive rows over which the key registry does not
change (it changes only after ``log.initialized``, ``key.registered`` and
``key.revoked``, so such an entry is always the last row of its segment). For
each row, in this order, the first failure naming the row's seq: the bytes
parse and are canonical (``encoding``); every indexed column equals the field
in the bytes (``column``); the stored leaf hash is the hash of the bytes
(``hash``); ``prev`` is the previous row's leaf hash (``chain``),
``recorded_at`` does not go back (``time``), v1 never follows v2 (``version``,
docs/contracts.md §2.7), the three skipped for the segment's first row, whose
predecessor the caller checks (``SegmentResult.head``); a v2 statement's
``signed_at`` is within ``SIGNED_AT_SKEW`` of ``recorded_at`` (``time``); the
signer is the key valid for the entry's authority at its seq, or the log key
for the log's own records (``signature``); the Ed25519 signature verifies
(``signature``).

Pure: rows in, a result out, no I/O. The segment stops at its first bad row
(a verifier names the lowest bad seq, and every later row of the segment is
higher), except for a signature that does not verify: that is noted and the
scan goes on, as a single pass over the log does, so that a tree node over the
entry is still compared (a node problem at or before the seq is named first). Moving these checks out of the main process is what lets verify use
both cores for more than signatures (docs/decisions/0009-verification-throughput.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ledger.errors import LedgerError
from ledger.log import entry_types, merkle
from ledger.log.entry import Entry, from_canonical, parse_time
from ledger.log.statement import order_problem, skew_limit, skew_problem
from ledger.signing.key_registry import KeyRegistry
from ledger.signing.keys import VerifierKey

# The columns a row carries, in this order (log_store.entry_check_rows).
ROW_COLUMNS = ("seq", "canonical", "type", "recorded_at", "authority_id", "subject", "request_id", "signer",
               "prev", "leaf_hash")
_COMPARED = ("seq", "type", "recorded_at", "authority_id", "subject", "request_id", "signer", "prev")

# Where each kind of problem stands among the checks of one seq: when two checks
# fail at the same seq, the verifier names the one that runs first in a single
# pass (the order above, then the tree nodes starting at that seq, then the
# signature itself, which a node problem at the same seq outranks).
RANK = {"gap": 0, "encoding": 0, "column": 1, "hash": 2, "chain": 3, "time": 4, "version": 5, "skew": 6,
        "signer": 7, "node": 8, "signature": 9}


@dataclass(frozen=True)
class Problem:
    """A failed check: at ``seq``, of ``kind`` (an ``IntegrityError`` kind), ranked for ties."""

    seq: int
    rank: int
    kind: str
    detail: str


@dataclass(frozen=True)
class SegmentResult:
    """What a checked segment hands back: small, because it crosses a process boundary."""

    first: int  # seq of the segment's first row
    leaves: bytes  # the leaf hashes of the rows before the first problem, 32 bytes each, concatenated
    head: tuple[str, str, int] | None  # the first row's (prev, recorded_at, v), if its own checks passed
    tail: tuple[str, int] | None  # the last good row's (recorded_at, v)
    problem: Problem | None  # the first problem other than a bad signature; the segment stops there
    bad_signature: Problem | None = None  # the first signature that does not verify (the scan goes on)


def check_segment(rows: Sequence[Sequence[Any]], registry: KeyRegistry,
                  trusted_log_key: VerifierKey | None = None) -> SegmentResult:
    """Check ``rows`` (``ROW_COLUMNS``, consecutive seqs, ``registry`` valid for every one)."""
    from nacl.exceptions import BadSignatureError
    from nacl.signing import VerifyKey

    nacl_keys: dict[bytes, VerifyKey] = {}
    leaves: list[bytes] = []
    head: tuple[str, str, int] | None = None
    last: tuple[str, str, int] | None = None  # (leaf hex, recorded_at, v) of the previous good row
    skew = _SkewLimit()
    bad: Problem | None = None
    first = rows[0][0] if rows else 0
    for row in rows:
        seq = row[0]
        try:
            e, leaf = _decoded(row)
            if last is None:
                head = (e.prev, e.recorded_at, e.v)
            else:
                _in_order(e, *last)
            problem = skew(e)
            if problem:
                raise _Failed("skew", problem)
            key = _signing_key(registry, e, trusted_log_key)
        except _Failed as f:
            return SegmentResult(first, b"".join(leaves), head, last and last[1:], f.problem(seq), bad)
        # libsodium (PyNaCl), not OpenSSL: 1.7x faster here and stricter (decision 0009).
        nacl_key = nacl_keys.get(key.public) or nacl_keys.setdefault(key.public, VerifyKey(key.public))
        try:
            nacl_key.verify(e.signing_bytes, e.signature)
        except (BadSignatureError, ValueError, TypeError):
            # Kept going, as a single pass does: the entry's leaf still counts, so a tree node
            # over it (starting at or before it) is compared and, if wrong, named first.
            bad = bad or Problem(seq, RANK["signature"], "signature",
                                 "Ed25519 signature does not verify with the signer's key")
        leaves.append(leaf)
        last = (leaf.hex(), e.recorded_at, e.v)
    return SegmentResult(first, b"".join(leaves), head, last and last[1:], None, bad)


def boundary_problem(seq: int, head: tuple[str, str, int], prev_leaf: str, prev_recorded_at: str,
                     prev_version: int | None) -> Problem | None:
    """The chain, time and version checks of a segment's first row against the row before
    it (checked in another segment, perhaps another process)."""
    prev, recorded_at, v = head
    try:
        _in_order_values(prev, recorded_at, v, prev_leaf, prev_recorded_at, prev_version, seq)
    except _Failed as f:
        return f.problem(seq)
    return None


# The IntegrityError kind of a check whose rank has its own name.
_KIND = {"skew": "time", "signer": "signature"}


class _Failed(Exception):  # noqa: N818 - internal control flow, never escapes this module
    def __init__(self, check: str, detail: str):
        self.rank, self.kind, self.detail = RANK[check], _KIND.get(check, check), detail

    def problem(self, seq: int) -> Problem:
        return Problem(seq, self.rank, self.kind, self.detail)


def _decoded(row: Sequence[Any]) -> tuple[Entry, bytes]:
    seq, data = row[0], column_bytes(row[1])
    try:
        e = from_canonical(data)
    except LedgerError as err:
        raise _Failed("encoding", str(err)) from err
    leaf = merkle.leaf_hash(data)  # of the stored bytes themselves (decode proved them canonical)
    stored = (seq, row[2], row[3], row[4], row[5], row[6], row[7], column_bytes(row[8]).hex())
    inside = (e.seq, e.type, e.recorded_at, e.authority.id, e.subject, e.request_id, e.signer, e.prev)
    if stored != inside:  # one tuple comparison on the hot path; name the column only on failure
        name, got, want = next(c for c in zip(_COMPARED, stored, inside) if c[1] != c[2])
        raise _Failed("column", f"stored {name} {got!r} differs from the entry's {want!r}")
    if column_bytes(row[9]) != leaf:
        raise _Failed("hash", f"stored leaf hash {column_bytes(row[9]).hex()}, computed {leaf.hex()}")
    return e, leaf


def _in_order(e: Entry, prev_leaf: str, prev_recorded_at: str, prev_version: int | None) -> None:
    _in_order_values(e.prev, e.recorded_at, e.v, prev_leaf, prev_recorded_at, prev_version, e.seq)


def _in_order_values(prev: str, recorded_at: str, v: int, prev_leaf: str, prev_recorded_at: str,
                     prev_version: int | None, seq: int) -> None:
    if prev != prev_leaf:
        raise _Failed("chain", f"prev is {prev}, but entry {seq - 1} hashes to {prev_leaf}")
    if type(recorded_at) is not str or recorded_at < prev_recorded_at:
        raise _Failed("time", f"recorded_at {recorded_at} is before {prev_recorded_at}")
    order = order_problem(prev_version, v)
    if order:
        raise _Failed("version", order)


class _SkewLimit:
    """§2.7 ``signed_at`` skew, with the limit computed once per ``recorded_at``: a
    batch's entries share one, and formatting a time per entry cost more than the check."""

    def __init__(self) -> None:
        self._limit = self._limit_for = ""

    def __call__(self, e: Entry) -> str | None:
        if e.v != 2:
            return None
        try:
            if e.recorded_at != self._limit_for:
                self._limit, self._limit_for = skew_limit(e.recorded_at), e.recorded_at
            parse_time(e.signed_at)  # type: ignore[arg-type]  # a non-text value is refused here
        except (ValueError, TypeError) as err:
            return f"signed_at: {err}"
        problem = skew_problem(e.signed_at, e.recorded_at, limit=self._limit)  # type: ignore[arg-type]
        return f"signed_at: {problem}" if problem else None


def _signing_key(registry: KeyRegistry, e: Entry, trusted: VerifierKey | None) -> VerifierKey:
    try:
        key = registry.signing_key(e, log_signed=entry_types.get(e.type).signed_by == "log")
    except LedgerError as err:
        raise _Failed("signer", str(err)) from err
    if e.seq == 0 and trusted and key != trusted:
        raise _Failed("signer", f"log key {key.vkey()} is not the trusted {trusted.vkey()}")
    return key


def column_bytes(value: object) -> bytes:
    """Column bytes as stored. SQLite lets an attacker store TEXT in a BLOB column;
    we compare its UTF-8 bytes, which then fail the hash checks, rather than crash."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return str(value).encode("utf-8", errors="surrogatepass")
