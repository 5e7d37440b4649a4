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
@click.option("--trusted-vkey", "--log-vkey", "trusted", default=None, metavar="VKEY|FILE",
              help="The log key you trust, or a file holding it (else the bundle's own key: exit 3, "
                   "consistent, not authenticated).")
@click.option("--against", type=click.Path(exists=True, path_type=Path), default=None,
              help="An older bundle: check this one's checkpoint extends it.")
@json_option
@edge
def verify_bundle_cmd(bundle, trusted, against, as_json):
    """Verify an evidence bundle (.zip or its unzipped folder) offline, no database.

    Exit 0 verified against the key you trust; 3 consistent, not authenticated (no
    trusted key); 1 a check failed; 2 not a bundle (docs/evidence.md, "Verdicts")."""
    from ledger.evidence import standalone

    # The very code the bundle ships as verify_bundle.py (decision 0017): same checks, names, exit codes.
    argv = [str(bundle), *(["--log-vkey", trusted] if trusted is not None else []),
            *(["--against", str(against)] if against is not None else [])]
    code, _, r = standalone.run(argv)
    if as_json:
        echo_json(r)
    elif code in (standalone.EXIT_OK, standalone.EXIT_NOT_AUTHENTICATED):
        click.echo(printable(standalone.report_text(r)))
    else:  # the names and values come from the bundle: escaped, never markup
        label = "FAIL" if code == EXIT_VERIFICATION_FAILED else "UNREADABLE"
        err.print(f"[red]{label}[/red] {escape('[' + str(r['check']) + ']')} {escape(printable(r['file']))}"
                  f"\n  expected: {escape(printable(r['expected']))}\n  found:    {escape(printable(r['found']))}",
                  highlight=False)
    sys.exit(code)
