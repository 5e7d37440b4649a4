"""Reading the log: ``ledger entry`` (one entry), ``ledger verify`` (the
whole-log verification) and ``ledger summary``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ledger.cli.edge import SEQ, db_option, edge, engine_for, json_option, progress_bar, settings_for
from ledger.cli.root import main
from ledger.errors import InputError
from ledger.log import tree as stored_tree
from ledger.signing import keystore
from ledger.store import log_store
from ledger.store.engine import make_engine


@main.command("entry")
@click.argument("seq", type=SEQ)
@click.option("--raw", is_flag=True, help="Write the exact canonical bytes (for recomputing the leaf hash).")
@db_option
@edge
def entry_cmd(seq, raw, db_url):
    """Show entry SEQ."""
    with engine_for(db_url).connect() as conn:
        data = log_store.get_canonical(conn, seq)
    if data is None:
        raise InputError(f"seq: no entry {seq}")
    if raw:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        click.echo(json.dumps(json.loads(data), ensure_ascii=False, indent=2))


@main.command("verify")
@click.option("--since-checkpoint", is_flag=True, help="Verify only what is new since this verifier's last run.")
@click.option("--trusted-vkey", type=click.Path(exists=True, path_type=Path), default=None,
              help="The log's verifier key; entry 0 must name it.")
@click.option("--state", "state_path", type=click.Path(path_type=Path), default=None,
              help="This verifier's state file (default var/verify-state.json).")
@click.option("--workers", type=click.IntRange(1, 256), default=None, help="Signature-checking processes (default: 2).")
@db_option
@json_option
@edge
def verify(since_checkpoint, trusted_vkey, state_path, workers, db_url, as_json):
    """Recompute every hash, link, signature and tree node; name the first bad seq.
    Then check the domain projections against the verified log (projection drift)."""
    from ledger.domain import projection_check
    from ledger.log.verify import VerifierState, verify_log

    s = settings_for(db_url)
    state_path = state_path or s.verify_state_path
    state = VerifierState.load(state_path) if since_checkpoint else None
    trusted = keystore.read_vkey(trusted_vkey) if trusted_vkey else None
    with progress_bar("verify") as bar:
        task = bar.add_task("verify", total=None)
        report, new_state = verify_log(make_engine(s.database_url), trusted_log_key=trusted, state=state, workers=workers,
                                       progress=lambda done, total: bar.update(task, completed=done, total=total))
    # After the log is verified (the rows are rebuilt from it): a drifted projection
    # raises ProjectionDrift, an IntegrityError (exit 1), naming the table and row.
    # The verifier state is saved before, since the log itself did verify.
    new_state.save(state_path)
    with make_engine(s.database_url).connect() as conn:
        rows = projection_check.check(conn, report.size)
    result = {"ok": True, "size": report.size, "root": report.root.hex(), "from_seq": report.start,
              "entries_checked": report.size - report.start, "signatures": report.signatures,
              "tree_nodes": report.nodes, "checkpoints": report.checkpoints, "projection_rows": rows}
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(f"OK: {result['entries_checked']} entries (seq {report.start}-{report.size - 1}) verified; "
                   f"{report.signatures} signatures, {report.nodes} tree nodes, {report.checkpoints} checkpoints; "
                   f"{rows} projection rows match the log; size {report.size} root {report.root.hex()}")


@main.command("summary")
@db_option
@json_option
@edge
def summary(db_url, as_json):
    """Size, root, entry types and latest checkpoint."""
    from sqlalchemy import func, select

    from ledger.store.schema import entries

    with engine_for(db_url).connect() as conn:
        size = log_store.size(conn)
        root = stored_tree.tree_root(conn, size).hex() if size else None
        by_type = dict(conn.execute(select(entries.c.type, func.count()).group_by(entries.c.type)).all())
    out = {"size": size, "root": root, "types": by_type}
    if as_json:
        click.echo(json.dumps(out))
    else:
        click.echo(f"size {size}\nroot {root}")
        for t, n in sorted(by_type.items()):
            click.echo(f"  {t:<24} {n}")
