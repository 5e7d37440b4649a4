"""Checkpoints: C2SP tlog-checkpoint bodies signed as C2SP signed-notes, and
the publishing step (design §3: separate from sequencing and integration).

Body (c2sp.org/tlog-checkpoint)::

    <origin>\\n
    <tree size, decimal>\\n
    <base64 root hash>\\n
    [extension lines\\n]

Rules: at most one checkpoint per tree size, ever (primary key), and a new
checkpoint is signed only after the tree it commits to has been proved
consistent with the previous checkpoint from stored nodes: we never sign a fork.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, insert, select

from ledger.log import merkle
from ledger.signing import note
from ledger.log.entry import format_time
from ledger.errors import IntegrityError, KeyFormatError, LedgerError, NotFound, ProofError
from ledger.signing.keys import Signer, VerifierKey
from ledger.log.merkle_verify import verify_consistency
from ledger.store import log_store
from ledger.store.engine import APPEND_OPTION
from ledger.store.schema import checkpoints


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return "".join(line + "\n" for line in lines)


def parse_body(text: str) -> Checkpoint:
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise KeyFormatError("checkpoint: want origin, size and root lines, each ending in newline")
    origin, size_text, root_text, *ext = lines[:-1]
    if not origin or not (size_text.isascii() and size_text.isdigit()) or (size_text != "0" and size_text.startswith("0")):
        raise KeyFormatError(f"checkpoint: bad origin or size line {size_text!r}")
    try:
        root = base64.b64decode(root_text, validate=True)
    except (binascii.Error, ValueError) as e:  # ValueError: non-ASCII input
        raise KeyFormatError("checkpoint: root is not base64") from e
    if len(root) != 32:
        raise KeyFormatError(f"checkpoint: root is {len(root)} bytes, want 32")
    if any(not line for line in ext):
        raise KeyFormatError("checkpoint: empty extension line")
    return Checkpoint(origin, int(size_text), root, tuple(ext))


def open_checkpoint(signed: str, log_key: VerifierKey, origin: str | None = None) -> Checkpoint:
    """Verify a signed checkpoint note with ``log_key``; return its body."""
    n = note.parse(signed)
    note.verify(n, [log_key])
    cp = parse_body(n.text)
    if origin is not None and cp.origin != origin:
        raise KeyFormatError(f"checkpoint origin {cp.origin!r}, want {origin!r}")
    return cp


def tree_root(conn: Connection, size: int) -> bytes:
    pieces = merkle.perfect_pieces(0, size)
    return merkle.root(merkle.reader_from(log_store.read_nodes(conn, pieces)), size)


def consistency_proof(conn: Connection, old: int, new: int) -> list[bytes]:
    needed = merkle.needed_addresses(lambda r: merkle.consistency_proof(r, old, new))
    return merkle.consistency_proof(merkle.reader_from(log_store.read_nodes(conn, needed)), old, new)


def inclusion_proof(conn: Connection, index: int, size: int) -> list[bytes]:
    needed = merkle.needed_addresses(lambda r: merkle.inclusion_proof(r, index, size))
    return merkle.inclusion_proof(merkle.reader_from(log_store.read_nodes(conn, needed)), index, size)


def publish(engine: Engine, signer: Signer, origin: str, clock: Callable[[], datetime]) -> tuple[str, bool]:
    """Sign and store a checkpoint of the current tree; return (note, newly signed).

    Idempotent: if the current size already has a checkpoint it is returned as is.
    """
    with engine.connect() as conn:
        conn.execution_options(**{APPEND_OPTION: True})
        with conn.begin():
            # Under the append lock so the head cannot move while we sign it.
            log_store.take_append_lock(conn)
            size = log_store.head(conn).size
            existing = conn.execute(select(checkpoints.c.note).where(checkpoints.c.size == size)).first()
            if existing:
                return existing.note, False
            root = tree_root(conn, size) if size else merkle.EMPTY_ROOT
            previous = conn.execute(
                select(checkpoints).where(checkpoints.c.size < size).order_by(checkpoints.c.size.desc()).limit(1)
            ).first()
            if previous is not None:
                # Never sign a fork: prove the new tree extends the last one we signed.
                try:
                    proof = consistency_proof(conn, previous.size, size)
                    verify_consistency(previous.size, size, bytes(previous.root), root, proof)
                except ProofError as e:
                    raise IntegrityError(previous.size, "consistency",
                                         f"refusing to sign: tree at {size} does not extend checkpoint {previous.size}: {e}") from e
            text = note.sign(Checkpoint(origin, size, root).body(), signer).render()
            conn.execute(insert(checkpoints).values(size=size, root=root, note=text, created_at=format_time(clock())))
        # Committed: the checkpoint is durable. A crash before this line leaves no
        # checkpoint, and the next run signs the same size again (same tree, same body).
    return text, True


def stored(conn: Connection, size: int | None = None):
    q = select(checkpoints)
    q = q.where(checkpoints.c.size == size) if size is not None else q.order_by(checkpoints.c.size.desc()).limit(1)
    row = conn.execute(q).first()
    if row is None:
        raise NotFound(f"no checkpoint{'' if size is None else f' at size {size}'}")
    return row


def verify_stored_checkpoint(conn: Connection, row, log_key: VerifierKey | None) -> None:
    """A stored checkpoint is signed by the log key and commits to the stored tree."""
    if log_key is None:
        raise IntegrityError(None, "checkpoint", "checkpoints exist but the log has no log key")
    try:
        cp = open_checkpoint(row.note, log_key)
    except LedgerError as e:
        raise IntegrityError(row.size, "checkpoint", f"checkpoint at size {row.size}: {e}") from e
    actual = tree_root(conn, row.size) if row.size else merkle.EMPTY_ROOT
    if cp.size != row.size or cp.root != bytes(row.root) or cp.root != actual:
        raise IntegrityError(row.size, "checkpoint",
                             f"checkpoint at size {row.size} commits to root {cp.root.hex()}, tree has {actual.hex()}")


def with_cosignatures(conn: Connection, size: int) -> str:
    """The stored checkpoint at ``size`` plus every witness cosignature recorded for it."""
    from ledger.store.schema import cosignatures

    signed = note.parse(stored(conn, size).note)
    for row in conn.execute(select(cosignatures.c.line).where(cosignatures.c.size == size).order_by(cosignatures.c.witness)):
        line = note.parse("x\n\n" + row.line + "\n").signatures[0]
        signed = note.add_signature(signed, line)
    return signed.render()


def record_cosignature(engine: Engine, size: int, line: note.SignatureLine, clock: Callable[[], datetime]) -> bool:
    """Store a witness's cosignature line for the checkpoint at ``size`` (once per witness)."""
    from ledger.store.schema import cosignatures

    with engine.begin() as conn:
        stored(conn, size)
        exists = conn.execute(select(cosignatures.c.size).where(
            cosignatures.c.size == size, cosignatures.c.witness == line.name)).first()
        if exists:
            return False
        conn.execute(insert(cosignatures).values(size=size, witness=line.name, line=line.render().rstrip("\n"),
                                                 created_at=format_time(clock())))
    return True
