"""Writing: ``ledger init`` (create the log), ``ledger record`` (append JSON-lines
drafts, read by ``ledger.cli.draft_lines``) and ``ledger demo`` (demo entries)."""

from __future__ import annotations

import json

import click

from ledger.cli.draft_lines import Batch, read_batch
from ledger.cli.draft_lines import parse_drafts as parse_drafts  # re-exported: tests import it from here
from ledger.cli.edge import db_option, edge, json_option, now, print_entry_ack, progress_bar, settings_for
from ledger.cli.root import main
from ledger.errors import ValidationError
from ledger.log.append import append_entries
from ledger.store import log_store
from ledger.store.engine import make_engine
from ledger.store.migrate import upgrade


@main.command("init")
@db_option
@json_option
@edge
def init(db_url, as_json):
    """Upgrade the schema and append the genesis entry (log.initialized)."""
    from ledger.log.operator import init_log, require_log_signer

    s = settings_for(db_url)
    engine = make_engine(s.database_url)
    upgrade(engine)
    print_entry_ack(init_log(engine, require_log_signer(s), s.origin, now), as_json)


@main.command("record")
@click.argument("source", type=click.File("rb"))
@db_option
@json_option
@edge
def record(source, db_url, as_json):
    """Append the JSON-lines drafts in SOURCE (or -) as one all-or-nothing batch."""
    from ledger.log.operator import load_keyring

    s = settings_for(db_url)
    batch = read_batch(source.read())
    engine = make_engine(s.database_url)
    try:
        out = append_entries(engine, list(batch.drafts), load_keyring(engine, s), now)
    except ValidationError as e:
        raise _on_its_line(e, batch) from e
    if as_json:
        click.echo(json.dumps([{"seq": e.seq, "leaf_hash": e.leaf_hash.hex(), "request_id": e.request_id} for e in out]))
    else:
        click.echo(f"{len(out)} entries: seq {out[0].seq}-{out[-1].seq}" if out else "nothing to record")


def _on_its_line(e: ValidationError, batch: Batch) -> ValidationError:
    """The append names a batch's item by its index (or none, for a batch of one):
    name the input line instead, which is what the user can find."""
    index = e.index if e.index is not None else 0 if len(batch.lines) == 1 else None
    if index is None or e.line is not None or not 0 <= index < len(batch.lines):
        return e
    return ValidationError(e.problems, line=batch.lines[index])


@main.command("demo")
@click.option("--entries", "count", type=click.IntRange(min=0), default=1000, show_default=True, help="Demo entries to append.")
@click.option("--seed", default=1, show_default=True)
@db_option
@json_option
@edge
def demo(count, seed, db_url, as_json):
    """Append COUNT realistic-looking entries (deterministic content by --seed)."""
    from ledger.demo.region import build_demo

    s = settings_for(db_url)
    engine = make_engine(s.database_url)
    upgrade(engine)
    with progress_bar("demo") as bar:
        task = bar.add_task("append", total=count)
        written = build_demo(engine, s, now, entries=count, seed=seed,
                             progress=lambda n: bar.update(task, advance=min(n, count - bar.tasks[0].completed)))
    with engine.connect() as conn:
        size = log_store.size(conn)
    if as_json:
        click.echo(json.dumps({"written": written, "size": size}))
    else:
        click.echo(f"demo: {written} new entries, log size {size}")
