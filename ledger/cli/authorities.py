"""``ledger authorities``: register the authorities whose keys sign records, and list them."""

from __future__ import annotations

import json

import click

from ledger.cli.edge import db_option, edge, engine_for, json_option, now, print_entry_ack, settings_for
from ledger.cli.root import main
from ledger.store.engine import make_engine


@main.group()
def authorities() -> None:
    """Authorities and their regions (docs/authorities.md)."""


@authorities.command("register")
@click.argument("authority_id")
@click.option("--name", required=True, help="Its name, e.g. 包头市人力资源和社会保障局.")
@click.option("--region", required=True, help="Its GB/T 2260 region: it records only inside it.")
@click.option("--parent", default=None, help="The registered authority above it (its region must cover this one).")
@db_option
@json_option
@edge
def authorities_register(authority_id, name, region, parent, db_url, as_json):
    """Record authority.registered, signed by the log key."""
    from ledger.log.operator import register_authority, require_log_signer

    s = settings_for(db_url)
    e = register_authority(make_engine(s.database_url), require_log_signer(s), authority_id, name, region, now,
                           parent=parent)
    print_entry_ack(e, as_json)


@authorities.command("list")
@db_option
@json_option
@edge
def authorities_list(db_url, as_json):
    """Every registered authority with its region."""
    from ledger.domain.facts import authority_registry
    from ledger.store import log_store

    with engine_for(db_url).connect() as conn:
        reg = authority_registry(conn, log_store.size(conn))
    rows = [{"id": r.id, "name": r.name, "region": r.region, "parent": r.parent, "seq": r.seq}
            for r in sorted(reg.records.values(), key=lambda r: r.seq)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in sorted(reg.records.values(), key=lambda r: r.seq):
        under = f", under {r.parent}" if r.parent else ""
        click.echo(f"{r.id:<24} {r.region}  {r.name}  (seq {r.seq}{under})")
