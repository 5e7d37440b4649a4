"""``ledger serve``: the GraphQL API and the web console on uvicorn (their
bearer tokens are ``ledger tokens``, in ``ledger.cli.tokens``)."""

from __future__ import annotations

import click

from ledger.cli.edge import db_option, edge, err, now, settings_for
from ledger.cli.root import main
from ledger.errors import ConfigError


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--introspection/--no-introspection", default=None,
              help="Allow schema introspection (default: LEDGER_API_INTROSPECTION, else off).")
@click.option("--demo-tokens", is_flag=True, help="Issue and print a 7-day demo token per role first.")
@db_option
@edge
def serve(host, port, introspection, demo_tokens, db_url):
    """Serve the GraphQL API on uvicorn (POST /graphql, bearer tokens; GET /healthz) and the web console (/console/)."""
    import os

    import uvicorn

    from ledger.api.app import create_app, state_from_settings
    from ledger.api.context import Limits

    if introspection is None:
        introspection = os.environ.get("LEDGER_API_INTROSPECTION", "") in ("1", "true", "yes")
    state = state_from_settings(settings_for(db_url), Limits(introspection=introspection))
    url = f"http://{host}:{port}/graphql"
    if demo_tokens:
        from ledger.demo.region import demo_tokens as issue_demo

        click.echo(f"GraphQL API: {url}   (POST, header 'Authorization: Bearer <token>')")
        if state.keyring is None:
            raise ConfigError("--demo-tokens records each issuance in the log, which needs the log key: "
                              "set LEDGER_KEY_PASSPHRASE_FILE (make run does)")
        issued = issue_demo(state.engine, state.keyring, now)
        for role, scope, text in issued:
            click.echo(f"  {role:<18} {scope}\n    {text}")
        officer = next(t for r, _, t in issued if r == "programme_officer")
        click.echo(f"Pre-award check with curl (README, 'Programme officers'):\n"
                   f"  TOKEN={officer} AUDITOR_TOKEN={next(t for r, _, t in issued if r == 'auditor')} "
                   f"URL={url} bash docs/examples/pre-award.sh")
    mode = "read-write" if state.keyring else "read-only (no LEDGER_KEY_PASSPHRASE: no signing keys)"
    err.print(f"serving {url} — {mode}; vault {'loaded' if state.vault else 'absent'}", highlight=False)
    # The console logs in with any of the tokens above (docs/console.md).
    click.echo(f"Web console: http://{host}:{port}/console/   (log in with a token)")
    uvicorn.run(create_app(state), host=host, port=port, log_level="warning")
