"""Publishing checkpoints: signing the stored tree head, reading stored
checkpoints back, and keeping witnesses' cosignatures (docs/contracts.md §2.3;
publishing is a step of its own, apart from sequencing and integration, §3).

Rules: at most one checkpoint per tree size, ever (primary key), and a new
checkpoint is signed only after the tree it commits to has been proved
consistent with the previous checkpoint from stored nodes: we never sign a fork.
The origin line and the signing key are the log's own, as its genesis entry
(seq 0, ``log.initialized``) fixed them: a configured origin or a key that
differs is refused before anything is signed (decision 0018).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Row, insert, select

from ledger.errors import (
    ConfigError,
    IntegrityError,
    LedgerError,
    NotFound,
    OriginMismatch,
    Problem,
    ProofError,
    ValidationError,
)
from ledger.log import merkle, tree, witness
from ledger.log.checkpoint import Checkpoint, open_checkpoint
from ledger.log.entry import format_time
from ledger.log.merkle_verify import verify_consistency
from ledger.signing import note
from ledger.signing.keys import Signer, VerifierKey
from ledger.store import log_store
from ledger.store.engine import APPEND_OPTION
from ledger.store.schema import checkpoints, cosignatures


def genesis_origin(conn: Connection) -> str:
    """The log's origin, as its genesis entry (seq 0) records it: the only source of
    the checkpoint origin line (C2SP tlog-checkpoint: the origin names the log)."""
    genesis = log_store.get_entry(conn, 0)
    if genesis is None or genesis.type != "log.initialized":
        raise ConfigError("the log has no genesis entry (seq 0): run `ledger init --origin <origin>` first")
    return str(genesis.body["origin"])


def log_origin(conn: Connection, configured: str | None) -> str:
    """The log's origin; a ``configured`` one (LEDGER_ORIGIN) must be the same, or
    ``OriginMismatch``: a second origin would be a second log's name on this tree."""
    origin = genesis_origin(conn)
    if configured is not None and configured != origin:
        raise OriginMismatch(configured, origin)
    return origin


def init_origin(conn: Connection, requested: str | None, configured: str | None) -> str:
    """The origin ``ledger init`` gives the genesis entry: ``requested`` (--origin) or
    ``configured`` (LEDGER_ORIGIN), which must agree. A log that has its genesis
    keeps its origin: a different one is refused (the re-run is then a no-op)."""
    if requested is not None and configured is not None and requested != configured:
        raise OriginMismatch(configured, requested, "LEDGER_ORIGIN")
    wanted = requested if requested is not None else configured
    genesis = log_store.get_entry(conn, 0)
    if genesis is not None:
        logged = genesis_origin(conn)
        if wanted is not None and wanted != logged:
            raise OriginMismatch(wanted, logged, "--origin" if requested is not None else "LEDGER_ORIGIN")
        return logged
    if wanted is None:
        raise ConfigError("choose the log's origin: `ledger init --origin <origin>` (or LEDGER_ORIGIN), e.g. "
                          "talent.nmg.gov.cn/integrity-ledger; the genesis entry fixes it for good (docs/operations.md)")
    return wanted


def publish(engine: Engine, signer: Signer, origin: str | None, clock: Callable[[], datetime], *,
            size: int | None = None) -> tuple[str, bool]:
    """Sign and store a checkpoint of the tree at ``size`` (default: the head); return
    (note, newly signed).

    ``origin`` is the configured origin, or None: the note always carries the log's
    own (genesis) origin, and a configured one that differs is refused. ``size``
    lets a caller sign only what it verified (the reconciliation night): any size
    from 0 to the head. Idempotent: a size that already has a checkpoint returns it.
    Nothing is written when it raises.
    """
    with engine.connect() as conn:
        conn.execution_options(**{APPEND_OPTION: True})
        with conn.begin():
            # Under the append lock so the head cannot move while we sign it.
            log_store.take_append_lock(conn)
            head = log_store.head(conn).size
            if size is not None and not 0 <= size <= head:
                raise ValidationError([Problem("size", f"{size} is not a tree size of this log (0 to its head, {head})")])
            size = head if size is None else size
            name = log_origin(conn, origin)  # docs/contracts.md §2.3: the log's origin, never a configured second one
            _require_log_key(conn, signer)
            existing = conn.execute(select(checkpoints.c.note).where(checkpoints.c.size == size)).first()
            if existing:
                return existing.note, False
            root = tree.tree_root(conn, size) if size else merkle.EMPTY_ROOT
            previous = conn.execute(
                select(checkpoints).where(checkpoints.c.size < size).order_by(checkpoints.c.size.desc()).limit(1)
            ).first()
            if previous is not None:
                # Never sign a fork: prove the new tree extends the last one we signed.
                try:
                    proof = tree.consistency_path(conn, previous.size, size)
                    verify_consistency(previous.size, size, bytes(previous.root), root, proof)
                except ProofError as e:
                    raise IntegrityError(previous.size, "consistency",
                                         f"refusing to sign: tree at {size} does not extend checkpoint {previous.size}: {e}") from e
            text = note.sign(Checkpoint(name, size, root).body(), signer).render()
            conn.execute(insert(checkpoints).values(size=size, root=root, note=text, created_at=format_time(clock())))
        # Committed: the checkpoint is durable. A crash before this line leaves no
        # checkpoint, and the next run signs the same size again (same tree, same body).
    return text, True


def _require_log_key(conn: Connection, signer: Signer) -> None:
    """Only the key the genesis entry names signs checkpoints (docs/contracts.md §2.3): every
    verifier checks them against that key, so another one would sign nothing usable."""
    genesis = log_store.get_entry(conn, 0)
    logged = genesis.body["log_key"] if genesis is not None else None
    if signer.verifier.vkey() != logged:
        raise ConfigError(f"key {signer.verifier.name!r} is not this log's key (the genesis entry names "
                          f"{str(logged).split('+')[0]!r}); check LEDGER_LOG_KEY")


def stored(conn: Connection, size: int | None = None) -> Row[Any]:
    q = select(checkpoints)
    q = q.where(checkpoints.c.size == size) if size is not None else q.order_by(checkpoints.c.size.desc()).limit(1)
    row = conn.execute(q).first()
    if row is None:
        raise NotFound(f"no checkpoint{'' if size is None else f' at size {size}'}")
    return row


def verify_stored_checkpoint(conn: Connection, row: Row[Any], log_key: VerifierKey | None) -> None:
    """A stored checkpoint is signed by the log key, names the log's origin (its
    genesis entry's) and commits to the stored tree."""
    if log_key is None:
        raise IntegrityError(None, "checkpoint", "checkpoints exist but the log has no log key")
    try:
        cp = open_checkpoint(row.note, log_key, genesis_origin(conn))
    except LedgerError as e:
        raise IntegrityError(row.size, "checkpoint", f"checkpoint at size {row.size}: {e}") from e
    actual = tree.tree_root(conn, row.size) if row.size else merkle.EMPTY_ROOT
    if cp.size != row.size or cp.root != bytes(row.root) or cp.root != actual:
        raise IntegrityError(row.size, "checkpoint",
                             f"checkpoint at size {row.size} commits to root {cp.root.hex()}, tree has {actual.hex()}")


def with_cosignatures(conn: Connection, size: int) -> str:
    """The stored checkpoint at ``size`` plus every witness cosignature recorded for it."""
    signed = note.parse(stored(conn, size).note)
    for row in conn.execute(select(cosignatures.c.line).where(cosignatures.c.size == size).order_by(cosignatures.c.witness)):
        line = note.parse("x\n\n" + row.line + "\n").signatures[0]
        signed = note.add_signature(signed, line)
    return signed.render()


def record_cosignature(engine: Engine, size: int, line: note.SignatureLine, clock: Callable[[], datetime]) -> bool:
    """Store a witness's cosignature line for the checkpoint at ``size`` (once per witness)."""
    with engine.begin() as conn:
        stored(conn, size)
        exists = conn.execute(select(cosignatures.c.size).where(
            cosignatures.c.size == size, cosignatures.c.witness == line.name)).first()
        if exists:
            return False
        conn.execute(insert(cosignatures).values(size=size, witness=line.name, line=line.render().rstrip("\n"),
                                                 created_at=format_time(clock())))
    return True


def cosign_latest(engine: Engine, state_path: Path, witness_key: Signer, log_key: VerifierKey,
                  clock: Callable[[], datetime], *, record: bool = True) -> tuple[str, int]:
    """Cosign the log's newest stored checkpoint, proving consistency with this
    witness's last one from the log's own tree; store the cosignature with the
    checkpoint. Returns (the cosigned note, its size). A re-run at the same size
    cosigns the same checkpoint again (the state does not move)."""
    with engine.connect() as conn:
        signed = stored(conn).note
        size = open_checkpoint(signed, log_key).size
        state = witness.WitnessState.load(state_path)
        proof = tree.consistency_path(conn, state.size, size) if state and state.size <= size else []
    cosigned, line = witness.cosign(state_path, witness_key, log_key, signed, proof, clock)
    if record:
        record_cosignature(engine, size, line, clock)
    return cosigned, size
