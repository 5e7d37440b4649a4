"""Proofs: ``ledger prove inclusion`` and ``ledger prove consistency`` from the
database, and ``ledger verify-proof`` (check a tlog-proof offline)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from ledger.cli.edge import SEQ, db_option, edge, engine_for, json_option
from ledger.cli.root import main
from ledger.errors import IndexBeyondSize, Problem, ValidationError
from ledger.signing import keystore


@main.group()
def prove() -> None:
    """Inclusion and consistency proofs (RFC 9162 §2.1.3-2.1.4)."""


@prove.command("inclusion")
@click.argument("seq", type=SEQ)
@click.option("--size", type=SEQ, default=None, help="Tree size (default: latest checkpoint for tlog-proof, else current).")
@click.option("--format", "fmt", type=click.Choice(["json", "tlog-proof"]), default="json", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@db_option
@edge
def prove_inclusion(seq, size, fmt, as_json, db_url):
    """Prove entry SEQ is in the tree of SIZE entries."""
    from ledger.log import prove as proofs

    engine = engine_for(db_url)
    with _arguments_beyond_the_tree({"seq": "seq", "tree size": "size"}):
        if fmt == "tlog-proof" and not as_json:
            click.echo(proofs.tlog_proof(engine, seq, size), nl=False)
            return
        with engine.connect() as conn:
            click.echo(json.dumps(proofs.inclusion(conn, seq, size).to_json(), indent=1))


@prove.command("consistency")
@click.argument("old", type=SEQ)
@click.argument("new", type=SEQ)
@click.option("--json", "as_json", is_flag=True, help="JSON output (the default and only format).")
@db_option
@edge
def prove_consistency(old, new, as_json, db_url):
    """Prove the tree of OLD entries is a prefix of the tree of NEW entries."""
    from ledger.log import prove as proofs

    with _arguments_beyond_the_tree({"old size": "old", "tree size": "new"}), engine_for(db_url).connect() as conn:
        click.echo(json.dumps(proofs.consistency(conn, old, new).to_json(), indent=1))


@contextmanager
def _arguments_beyond_the_tree(arguments: dict[str, str]) -> Iterator[None]:
    """A seq or size beyond the stored tree is a bad argument (exit 2), not a proof
    that failed to verify (``IndexBeyondSize`` is a ``ProofError``, exit 1, when a
    verifier meets it in a proof it was given). ``arguments``: what the library
    calls the value -> the argument that gave it."""
    try:
        yield
    except IndexBeyondSize as e:
        if e.index < 0:
            rule = "must be 0 or more"
        elif e.what == "old size":
            rule = f"{e.index} is more than the new size {e.size}"
        else:
            rule = f"{e.index} is beyond the tree (size {e.size})"
        raise ValidationError([Problem(arguments.get(e.what, e.what), rule)]) from e


@main.command("verify-proof")
@click.argument("proof_file", type=click.Path(exists=True, path_type=Path))
@click.option("--vkey", "vkey_file", type=click.Path(exists=True, path_type=Path), required=True,
              help="The log's verifier key file.")
@click.option("--entry", "entry_file", type=click.Path(exists=True, path_type=Path), default=None,
              help="The entry's canonical bytes (from `ledger entry SEQ --raw`).")
@click.option("--witness", "witness_files", type=click.Path(exists=True, path_type=Path), multiple=True,
              help="A witness verifier key (repeatable).")
@click.option("--quorum", type=click.IntRange(min=0), default=0, help="Witness cosignatures required.")
@json_option
@edge
def verify_proof(proof_file, vkey_file, entry_file, witness_files, quorum, as_json):
    """Check a C2SP tlog-proof offline: checkpoint signature and inclusion."""
    from ledger.log import tlog_proof

    p = tlog_proof.parse(proof_file.read_text())
    entry = entry_file.read_bytes() if entry_file else None
    cp = tlog_proof.verify(p, keystore.read_vkey(vkey_file), entry,
                           witnesses=[keystore.read_vkey(w) for w in witness_files], quorum=quorum)
    if as_json:
        click.echo(json.dumps({"ok": True, "index": p.index, "tree_size": cp.size, "root": cp.root.hex(), "origin": cp.origin}))
    else:
        click.echo(f"OK: entry {p.index} is in {cp.origin} at tree size {cp.size} (root {cp.root.hex()})")
