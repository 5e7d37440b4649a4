"""The stored tree: RFC 9162 roots and proof paths computed from the perfect
subtrees the append path stores (docs/decisions/0001), O(log n) node reads each."""

from __future__ import annotations

from sqlalchemy import Connection

from ledger.log import merkle
from ledger.store import log_store


def tree_root(conn: Connection, size: int) -> bytes:
    """RFC 9162 §2.1.1 root of the first ``size`` leaves, from stored nodes."""
    pieces = merkle.perfect_pieces(0, size)
    return merkle.root(merkle.reader_from(log_store.read_nodes(conn, pieces)), size)


def consistency_path(conn: Connection, old: int, new: int) -> list[bytes]:
    """RFC 9162 §2.1.4.1 consistency proof between two sizes, from stored nodes."""
    needed = merkle.needed_addresses(lambda r: merkle.consistency_proof(r, old, new))
    return merkle.consistency_proof(merkle.reader_from(log_store.read_nodes(conn, needed)), old, new)


def inclusion_path(conn: Connection, index: int, size: int) -> list[bytes]:
    """RFC 9162 §2.1.3.1 inclusion proof of leaf ``index`` in a tree of ``size``, from stored nodes."""
    needed = merkle.needed_addresses(lambda r: merkle.inclusion_proof(r, index, size))
    return merkle.inclusion_proof(merkle.reader_from(log_store.read_nodes(conn, needed)), index, size)
