"""``ledger witness cosign``: cosign checkpoints that extend the last one cosigned."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ledger.cli.edge import db_option, edge, now, settings_for
from ledger.cli.keys import key_file_name
from ledger.cli.root import main
from ledger.errors import Problem, ValidationError
from ledger.log import publish
from ledger.signing import keystore
from ledger.store.engine import make_engine


@main.group()
def witness() -> None:
    """Run as an independent witness (C2SP cosignature/v1)."""


@witness.command("cosign")
@click.option("--key", "key_name", required=True, help="The witness's key (generated with `ledger keys generate --witness`).")
@click.option("--state", "state_path", type=click.Path(path_type=Path), required=True, help="The witness's own state file.")
@click.option("--log-vkey", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--checkpoint", "cp_file", type=click.Path(exists=True, path_type=Path), default=None,
              help="Signed checkpoint to cosign (default: the latest in --db).")
@click.option("--proof", "proof_file", type=click.Path(exists=True, path_type=Path), default=None,
              help="Consistency proof JSON from the witness's last size (default: computed from --db).")
@click.option("--record/--no-record", default=True, help="Store the cosignature in the ledger database (with --db).")
@db_option
@edge
def witness_cosign(key_name, state_path, log_vkey, cp_file, proof_file, record, db_url):
    """Cosign a checkpoint only if it extends the last one this witness cosigned."""
    from ledger.log import witness as witnesses
    from ledger.log.checkpoint import open_checkpoint
    from ledger.log.publish import record_cosignature

    s = settings_for(db_url)
    log_key = keystore.read_vkey(log_vkey)
    signer = keystore.load(key_file_name(key_name), s.key_dir, s.passphrase, witness=True)
    # No database only with --checkpoint, --proof and --no-record: then nothing below reads it.
    engine = make_engine(s.database_url) if (cp_file is None or proof_file is None or record) else None
    if cp_file is None and proof_file is None:  # the usual round: the log's newest checkpoint
        assert engine is not None
        cosigned, _ = publish.cosign_latest(engine, state_path, signer, log_key, now, record=record)
        click.echo(cosigned, nl=False)
        return
    if cp_file:
        signed = cp_file.read_text()
    else:
        assert engine is not None
        with engine.connect() as conn:
            signed = publish.stored(conn).note
    state = witnesses.WitnessState.load(state_path)
    if proof_file:
        proof = _proof_hashes(proof_file)
    elif state:
        from ledger.log import prove as proofs

        size = open_checkpoint(signed, log_key).size
        assert engine is not None
        with engine.connect() as conn:
            proof = proofs.consistency(conn, state.size, size).proof if state.size <= size else []
    else:
        proof = []
    cosigned, line = witnesses.cosign(state_path, signer, log_key, signed, proof, now)
    if record and engine is not None:
        record_cosignature(engine, open_checkpoint(signed, log_key).size, line, now)
    click.echo(cosigned, nl=False)


def _proof_hashes(path: Path) -> list[bytes]:
    """The hashes of a consistency proof file (``ledger prove consistency --json``)."""
    try:
        hashes = json.loads(path.read_text(encoding="utf-8"))["proof"]
        return [bytes.fromhex(h) for h in hashes]
    except (ValueError, KeyError, TypeError) as e:  # not JSON, no "proof", not a list of hex strings
        raise ValidationError([Problem("proof", f"{path} is not a consistency proof: want JSON with "
                                                '"proof": [hex hashes] (`ledger prove consistency --json`)')]) from e
