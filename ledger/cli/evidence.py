"""Evidence bundles: ``ledger export`` (a case's bundle, recorded in the log
first) and ``ledger verify-bundle`` (check one offline)."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import click
from rich.markup import escape

from ledger.cli.edge import (
    EXIT_VERIFICATION_FAILED,
    SEQ,
    db_option,
    echo_json,
    edge,
    err,
    json_option,
    now,
    printable,
    progress_bar,
    settings_for,
    subject_ref,
)
from ledger.cli.root import main
from ledger.signing import keystore
from ledger.store.engine import make_engine


@main.command("export")
@click.option("--case", required=True, help="Case or request number, e.g. (2026)内01行初1号.")
@click.option("--requested-by", required=True, help="Who asked (court, supervisory body).")
@click.option("--subject", "subjects_", multiple=True, help="A subject (scheme:number or reference); repeatable.")
@click.option("--seq", "seqs", multiple=True, type=SEQ, help="An entry; repeatable.")
@click.option("--consistency-from", type=SEQ, default=None,
              help="Include a consistency proof from this tree size (an earlier bundle's).")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True, help="The bundle (.zip).")
@click.option("--release-id", "release", default=None, metavar="ID",
              help="Name this release: a re-run with the same ID (after a failure) is a retry and records nothing "
                   "new. Without it every run is a new release with its own custody entry (docs/evidence.md).")
@db_option
@json_option
@edge
def export_cmd(case, requested_by, subjects_, seqs, consistency_from, out, release, db_url, as_json):
    """Export a self-verifying evidence bundle; the export is recorded in the log first."""
    from ledger.evidence import export as evidence
    from ledger.log.operator import load_keyring

    s = settings_for(db_url)
    engine = make_engine(s.database_url)
    vault = s.vault() if s.vault_key_file.exists() else None
    refs = [subject_ref(s, engine, x) for x in subjects_]
    with progress_bar("export") as bar:
        task = bar.add_task("export", total=None)
        b = evidence.export(engine, load_keyring(engine, s), vault, s, case=case, requested_by=requested_by,
                            subjects=refs, seqs=list(seqs), clock=now, consistency_from=consistency_from,
                            release=release, progress=lambda msg: bar.update(task, description=msg))
    evidence.write(b, out)
    info = {"bundle": str(out), "entries": sum(1 for f in b.manifest["files"] if f.startswith("entries/")),
            "custody_seq": b.custody.seq, "tree_size": b.manifest["tree_size"],
            "manifest_sha256": hashlib.sha256(json.dumps(b.manifest, sort_keys=True).encode()).hexdigest()}
    click.echo(json.dumps(info) if as_json else
               f"wrote {out}: {info['entries']} entries at tree size {info['tree_size']}; export recorded at seq {b.custody.seq}")


@main.command("verify-bundle")
@click.argument("bundle", type=click.Path(exists=True, path_type=Path))
@click.option("--trusted-vkey", type=click.Path(exists=True, path_type=Path), default=None,
              help="The log key you trust (else the bundle's own, which proves only internal consistency).")
@click.option("--against", type=click.Path(exists=True, path_type=Path), default=None,
              help="An older bundle: check this one's checkpoint extends it.")
@json_option
@edge
def verify_bundle_cmd(bundle, trusted_vkey, against, as_json):
    """Verify an evidence bundle offline (no database). Exit 0 pass, 1 fail."""
    from ledger.evidence.verifier import BundleError, verify_bundle

    trusted = keystore.read_vkey(trusted_vkey) if trusted_vkey else None
    try:
        r = verify_bundle(bundle.read_bytes(), trusted, against.read_bytes() if against else None)
    except BundleError as e:
        if as_json:
            echo_json({"ok": False, "error": "BundleError", "message": str(e), "exit_code": EXIT_VERIFICATION_FAILED,
                       "file": e.file, "expected": e.expected, "found": e.found})
        else:  # the names and values come from the bundle: escaped, never markup
            err.print(f"[red]FAIL[/red] {escape(printable(e.file))}\n  expected: {escape(printable(str(e.expected)))}"
                      f"\n  found:    {escape(printable(str(e.found)))}", highlight=False)
        sys.exit(EXIT_VERIFICATION_FAILED)
    if as_json:
        click.echo(json.dumps({"ok": True, **r.__dict__}, ensure_ascii=False))
    else:
        warn = "" if trusted else " (checked against the bundle's own log key: pass --trusted-vkey)"
        click.echo(f"OK: case {r.case}: {r.entries} entries, {r.subjects} disclosures; {r.origin} at tree size "
                   f"{r.tree_size} (root {r.root}); export recorded at seq {r.custody_seq}{warn}")
        if r.unauthenticated:
            click.echo(f"Not authenticated by the log (renderings and helpers; rely on the entries): "
                       f"{', '.join(r.unauthenticated)}")
