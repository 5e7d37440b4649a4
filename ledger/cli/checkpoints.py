"""``ledger checkpoint``: sign the current tree head (or a tree size below it) as a
C2SP checkpoint under the log's own origin (its genesis entry's; LEDGER_ORIGIN, if
set, must match), or ``--show`` a stored one."""

from __future__ import annotations

import click

from ledger.cli.edge import SEQ, db_option, edge, err, now, settings_for
from ledger.cli.root import main
from ledger.log import publish
from ledger.store.engine import make_engine


@main.command("checkpoint")
@click.option("--show", is_flag=True, help="Print a stored checkpoint note exactly.")
@click.option("--size", type=SEQ, default=None,
              help="Sign the tree at this size (at most the head); with --show: the checkpoint at this size.")
@db_option
@edge
def checkpoint_cmd(show, size, db_url):
    """Sign the current tree head as a C2SP checkpoint (never a fork, one per size,
    always under the origin the log's genesis entry names)."""
    from ledger.log.operator import require_log_signer

    s = settings_for(db_url)
    engine = make_engine(s.database_url)
    if show:
        with engine.connect() as conn:
            click.echo(publish.stored(conn, size).note, nl=False)
        return
    text, new = publish.publish(engine, require_log_signer(s), s.origin, now, size=size)
    if not new:
        err.print("a checkpoint at this size already exists; showing it", highlight=False)
    click.echo(text, nl=False)
