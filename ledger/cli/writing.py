"""Writing: ``ledger init`` (create the log), ``ledger record`` (append JSON-lines
drafts; ``parse_drafts`` reads them) and ``ledger demo`` (demo entries)."""

from __future__ import annotations

import json

import click

from ledger.cli.edge import db_option, edge, json_option, now, print_entry_ack, progress_bar, settings_for
from ledger.cli.root import main
from ledger.errors import Problem, ValidationError
from ledger.log.append import append_entries
from ledger.log.entry import Authority, Draft
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
    drafts = parse_drafts(source.read())
    engine = make_engine(s.database_url)
    out = append_entries(engine, drafts, load_keyring(engine, s), now)
    if as_json:
        click.echo(json.dumps([{"seq": e.seq, "leaf_hash": e.leaf_hash.hex(), "request_id": e.request_id} for e in out]))
    else:
        click.echo(f"{len(out)} entries: seq {out[0].seq}-{out[-1].seq}" if out else "nothing to record")


def parse_drafts(data: bytes) -> list[Draft]:
    """JSON lines of {type, authority:{id,region}, actor, subject, refs, request_id, body}."""
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        raise ValidationError([Problem("input", f"is not UTF-8 (byte {e.start})")]) from e
    drafts = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            auth = obj["authority"]
            drafts.append(Draft(obj["type"], Authority(auth["id"], auth["region"]), obj["actor"],
                                obj.get("subject"), tuple(obj.get("refs", [])), obj["request_id"], obj.get("body", {})))
        except (ValueError, KeyError, TypeError) as e:
            raise ValidationError([Problem(f"line {n}", f"is not a draft entry ({e!r})")]) from e
    return drafts


@main.command("demo")
@click.option("--entries", "count", default=1000, show_default=True, help="Demo entries to append.")
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
