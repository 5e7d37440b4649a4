"""A witness: an independent party that cosigns a log's checkpoints only after
checking that each one extends the last one it cosigned (C2SP tlog-witness
semantics, cosignature/v1 lines).

The witness trusts nothing but its own state file (origin, log key, the last
size and root it cosigned) and its own key. Given two validly signed
checkpoints that cannot both be true (a fork or split view), it refuses, and
writes a self-contained fork-evidence file: both signed notes, the proof that
failed, and the log key, so anyone can check the log's misbehaviour.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from ledger.errors import ConfigError, ForkDetected, ProofError
from ledger.log.checkpoint import open_checkpoint
from ledger.log.merkle_verify import verify_consistency
from ledger.signing import note
from ledger.signing.keys import Signer, VerifierKey, parse_vkey
from ledger.signing.private_files import private_dir, write_private


@dataclass
class WitnessState:
    origin: str
    log_vkey: str
    size: int
    root: str  # hex
    note: str  # the last checkpoint cosigned, verbatim

    @classmethod
    def load(cls, path: Path) -> WitnessState | None:
        return cls(**json.loads(path.read_text())) if path.exists() else None

    def save(self, path: Path) -> None:
        # 0600, atomic: after a crash the witness holds the old state or the new.
        write_private(path, json.dumps(asdict(self), indent=1))


def cosign(state_path: Path, witness: Signer, log_key: VerifierKey, signed_checkpoint: str,
           proof: list[bytes], clock: Callable[[], datetime], *, origin: str | None = None,
           evidence_dir: Path | None = None) -> tuple[str, note.SignatureLine]:
    """Check ``signed_checkpoint`` against this witness's state; cosign it and advance.

    ``proof`` is the consistency proof from the state's size to the new size
    (ignored on the first cosignature, when the state is created).
    """
    state = WitnessState.load(state_path)
    if state and parse_vkey(state.log_vkey) != log_key:
        raise ConfigError(f"witness state at {state_path} follows another log key")
    cp = open_checkpoint(signed_checkpoint, log_key, origin or (state.origin if state else None))
    if state:
        old_root = bytes.fromhex(state.root)
        if cp.size < state.size:
            raise ProofError(f"checkpoint size {cp.size} is older than the {state.size} already cosigned")
        try:
            verify_consistency(state.size, cp.size, old_root, cp.root, proof)
        except ProofError as e:
            path = write_fork_evidence(evidence_dir or state_path.parent, state, signed_checkpoint, proof, str(e))
            raise ForkDetected(f"checkpoint {cp.size} does not extend the cosigned {state.size}: {e}", str(path)) from e
    signed = note.parse(signed_checkpoint)
    line = note.cosign(signed.text, witness, int(clock().timestamp()))
    cosigned = note.add_signature(signed, line).render()
    WitnessState(cp.origin, log_key.vkey(), cp.size, cp.root.hex(), signed_checkpoint).save(state_path)
    return cosigned, line


def write_fork_evidence(directory: Path, state: WitnessState, new_note: str, proof: list[bytes], error: str) -> Path:
    private_dir(directory)
    new = open_checkpoint(new_note, parse_vkey(state.log_vkey))
    path = directory / f"fork-evidence-{state.size}-{new.size}.json"
    path.write_text(json.dumps({
        "format": "integrity-ledger/fork-evidence@v1",
        "explanation": "Both checkpoints verify with log_vkey, and the consistency proof from the "
                       "first to the second fails (RFC 9162 §2.1.4.2): the log showed two histories.",
        "log_vkey": state.log_vkey,
        "first_checkpoint": state.note,
        "second_checkpoint": new_note,
        "consistency_proof": [h.hex() for h in proof],
        "error": error,
    }, indent=1, ensure_ascii=False))
    return path
