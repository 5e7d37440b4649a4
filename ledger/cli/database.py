"""The database: ``ledger db upgrade`` (the schema, Alembic) and ``ledger reindex``
(rebuild the projections from the log)."""

from __future__ import annotations

import json

import click

from ledger.cli.edge import db_option, edge, engine_for, json_option, progress_bar
from ledger.cli.root import main
from ledger.store.migrate import upgrade


@main.group()
def db() -> None:
    """Schema management (Alembic)."""


@db.command("upgrade")
@db_option
@click.option("--app-role", default=None, help="PostgreSQL role to grant SELECT/INSERT on the log tables.")
@edge
def db_upgrade(db_url, app_role):
    """Create or upgrade the schema (run as the schema owner)."""
    engine = engine_for(db_url)
    upgrade(engine, app_role=app_role)
    click.echo(f"schema at head on {engine.url.render_as_string(hide_password=True)}")


@main.command("reindex")
@db_option
@json_option
@edge
def reindex_cmd(db_url, as_json):
    """Rebuild every projection from the log (they are derived; the log is the truth)."""
    from ledger.log.reindex import reindex

    with progress_bar("reindex") as bar:
        task = bar.add_task("reindex", total=None)
        size = reindex(engine_for(db_url), progress=lambda done, total: bar.update(task, completed=done, total=total))
    click.echo(json.dumps({"size": size}) if as_json else f"projections rebuilt from {size} entries")
