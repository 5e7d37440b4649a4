"""Writing: ``ledger init`` (create the log), ``ledger record`` (append JSON-lines
drafts, read by ``ledger.cli.draft_lines``) and ``ledger demo`` (demo entries)."""

from __future__ import annotations

import json
from typing import cast

import click

from ledger.cli.chunk_size import ChunkSize
from ledger.cli.draft_lines import Batch, read_batch
from ledger.cli.draft_lines import parse_drafts as parse_drafts  # re-exported: tests import it from here
from ledger.cli.edge import db_option, edge, json_option, now, parse_date, print_entry_ack, progress_bar, settings_for
from ledger.cli.root import main
from ledger.errors import ValidationError
from ledger.log.append import append_statements, sign_drafts
from ledger.log.entry import Draft
from ledger.log.statement import SignedStatement
from ledger.store import log_store
from ledger.store.engine import make_engine
from ledger.store.migrate import upgrade


@main.command("init")
@click.option("--origin", default=None, metavar="ORIGIN",
              help="The log's name on every checkpoint (C2SP origin, e.g. talent.nmg.gov.cn/integrity-ledger), "
                   "fixed for good by the genesis entry: choose it first (docs/operations.md). Default: LEDGER_ORIGIN.")
@db_option
@json_option
@edge
def init(origin, db_url, as_json):
    """Upgrade the schema and append the genesis entry (log.initialized), which fixes
    the log's origin and key; a re-run with the same origin is a no-op."""
    from ledger.log.operator import init_log, require_log_signer
    from ledger.log.publish import init_origin

    s = settings_for(db_url)
    engine = make_engine(s.database_url)
    upgrade(engine)
    signer = require_log_signer(s)
    with engine.connect() as conn:
        chosen = init_origin(conn, origin, s.origin)
    print_entry_ack(init_log(engine, signer, chosen, now), as_json)


@main.command("record")
@click.argument("source", type=click.File("rb"))
@click.option("--chunk-size", type=ChunkSize(), default=None, metavar="N|auto",
              help="An import: append N entries per transaction (auto: about 0.5 s of lock each), "
                   "releasing the lock between them, instead of one all-or-nothing batch; re-run the "
                   "same file to resume (docs/cli.md).")
@db_option
@json_option
@edge
def record(source, chunk_size, db_url, as_json):
    """Append the JSON lines in SOURCE (or -) as one all-or-nothing batch: drafts, which
    are signed with this host's key for their authority, or statements signed
    elsewhere (`ledger sign`), which need no key here (docs/contracts.md §2.7)."""
    s = settings_for(db_url)
    batch = read_batch(source.read())
    engine = make_engine(s.database_url)
    try:
        if chunk_size is None:
            out = append_statements(engine, _signed(engine, s, batch), now)
        else:
            out = _import(engine, _signed(engine, s, batch), None if chunk_size == "auto" else chunk_size)
    except ValidationError as e:
        raise _on_its_line(e, batch) from e
    if as_json:
        click.echo(json.dumps([{"seq": e.seq, "leaf_hash": e.leaf_hash.hex(), "request_id": e.request_id} for e in out]))
    else:
        click.echo(f"{len(out)} entries: seq {out[0].seq}-{out[-1].seq}" if out else "nothing to record")


def _import(engine, signed: list[SignedStatement], chunk_size: int | None):
    from ledger.log.imports import append_in_chunks

    with progress_bar("record") as bar:
        task = bar.add_task("record", total=len(signed))
        return append_in_chunks(engine, signed, now, chunk_size=chunk_size,
                                progress=lambda done, total: bar.update(task, completed=done)).entries


def _signed(engine, s, batch: Batch) -> list[SignedStatement]:
    """The batch's items as signed statements: drafts signed here, now, with this host's
    keys (loaded only if there are drafts); statements signed elsewhere as they are."""
    from ledger.log.operator import load_keyring

    if not batch.drafts:
        return [cast(SignedStatement, i) for i in batch.items]
    ring, at = load_keyring(engine, s), now()
    return [sign_drafts([i], ring, at)[0] if isinstance(i, Draft) else i for i in batch.items]


def _on_its_line(e: ValidationError, batch: Batch) -> ValidationError:
    """The append names a batch's item by its index (or none, for a batch of one):
    name the input line instead, which is what the user can find."""
    index = e.index if e.index is not None else 0 if len(batch.lines) == 1 else None
    if index is None or e.line is not None or not 0 <= index < len(batch.lines):
        return e
    return ValidationError(e.problems, line=batch.lines[index])


def _steady_clock(day):
    """A clock from 01:00 on ``day`` in Asia/Shanghai, one millisecond a reading."""
    from datetime import timedelta

    from ledger.finance.business_day import start_of

    at = [start_of(day) + timedelta(hours=1)]

    def clock():
        at[0] += timedelta(milliseconds=1)
        return at[0]

    return clock


@main.command("demo")
@click.option("--entries", "count", type=click.IntRange(min=0), default=1000, show_default=True, help="Demo entries to append.")
@click.option("--seed", default=1, show_default=True)
@click.option("--recorded-on", "recorded_on", default=None, metavar="DATE",
              help="Record the entries on this past business day (Asia/Shanghai), so that a finished night can be "
                   "reconciled (make reconcile). The log never goes back in time: after later entries, they are "
                   "recorded at the head's time.")
@db_option
@json_option
@edge
def demo(count, seed, recorded_on, db_url, as_json):
    """Append COUNT realistic-looking entries (deterministic content by --seed)."""
    from ledger.demo.region import build_demo

    clock = now if recorded_on is None else _steady_clock(parse_date(recorded_on))
    s = settings_for(db_url)
    engine = make_engine(s.database_url)
    upgrade(engine)
    with progress_bar("demo") as bar:
        task = bar.add_task("append", total=count)
        written = build_demo(engine, s, clock, entries=count, seed=seed,
                             progress=lambda n: bar.update(task, advance=min(n, count - bar.tasks[0].completed)))
    with engine.connect() as conn:
        size = log_store.size(conn)
    if as_json:
        click.echo(json.dumps({"written": written, "size": size}))
    else:
        click.echo(f"demo: {written} new entries, log size {size}")
