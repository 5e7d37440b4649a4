"""``ledger serve``: the GraphQL API and the web console on uvicorn (their
bearer tokens are ``ledger tokens``, in ``ledger.cli.tokens``)."""

from __future__ import annotations

import click

from ledger.cli.edge import db_option, edge, err, now, settings_for
from ledger.cli.root import main
from ledger.errors import ConfigError


class _Limit(click.ParamType):
    """A number, or ``off`` (``None`` in ``Limits``: the limit switched off)."""

    name = "N|off"

    def __init__(self, kind: type) -> None:
        self.kind = kind

    def convert(self, value, param, ctx):
        if value is None or isinstance(value, (int, float)):
            return value
        if str(value).strip().lower() == "off":
            return None
        try:
            n = self.kind(value)
        except ValueError:
            self.fail(f"{value!r} is not a number or 'off'", param, ctx)
        if n <= 0:
            self.fail(f"{value!r} must be above 0 (or 'off')", param, ctx)
        return n


def _default(name: str):
    from ledger.api.context import Limits

    return getattr(Limits(), name)


# docs/limits.md gives each number's reason; these only change them for one process.
_LIMIT_OPTIONS = [
    ("--max-cost", "max_cost", int, True, "Estimated cost one operation may have (docs/limits.md)."),
    ("--cost-per-second", "cost_per_second", float, True, "Rate at which a token's cost bucket refills."),
    ("--cost-burst", "cost_burst", int, False, "Size of a token's cost bucket (at least --max-cost)."),
    ("--max-in-flight", "max_in_flight", int, True, "Requests of one token running at once."),
    ("--max-queued", "max_queued", int, False, "Requests of one token waiting beyond those (then 429)."),
    ("--max-response-bytes", "max_response_bytes", int, True, "Largest JSON answer."),
    ("--max-page", "max_page", int, False, "Largest first:/ids: page."),
]


def _limit_options(f):
    for flag, name, kind, may_be_off, text in reversed(_LIMIT_OPTIONS):
        kind_of = _Limit(kind) if may_be_off else click.IntRange(min=0 if name == "max_queued" else 1)
        f = click.option(flag, name, type=kind_of, default=None, show_default=str(_default(name)),
                         help=text + (" 'off' switches it off." if may_be_off else ""))(f)
    return f


def _given(name: str) -> bool:
    """Whether ``--NAME`` was on the command line (``off`` arrives as None too)."""
    ctx = click.get_current_context()
    return ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--introspection/--no-introspection", default=None,
              help="Allow schema introspection (default: LEDGER_API_INTROSPECTION, else off).")
@click.option("--demo-tokens", is_flag=True, help="Issue and print a 7-day demo token per role first.")
@_limit_options
@db_option
@edge
def serve(host, port, introspection, demo_tokens, db_url, **limits):
    """Serve the GraphQL API on uvicorn (POST /graphql, bearer tokens; GET /healthz) and the web console (/console/)."""
    import os

    import uvicorn

    from ledger.api.app import create_app, state_from_settings
    from ledger.api.context import Limits

    if introspection is None:
        introspection = os.environ.get("LEDGER_API_INTROSPECTION", "") in ("1", "true", "yes")
    chosen = {k: v for k, v in limits.items() if v is not None or _given(k)}
    try:
        bounds = Limits(introspection=introspection, **chosen)
    except ValueError as e:  # e.g. a burst below the cost limit
        raise click.BadParameter(str(e)) from e
    state = state_from_settings(settings_for(db_url), bounds)
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
    # Decision 0015: records arrive as statements signed by their authority; this host
    # signs drafts only in the legacy set-up, with authority keys in its key directory.
    if state.keyring is None:
        mode = "signed statements only (no LEDGER_KEY_PASSPHRASE: no log key, no token or key records)"
    elif state.keyring.authorities:
        mode = (f"legacy: holds {len(state.keyring.authorities)} authority keys and signs drafts for them "
                "(decision 0005); record_statements needs none")
    else:
        mode = "log key only: records arrive as signed statements (record_statements)"
    err.print(f"serving {url} — {mode}; vault {'loaded' if state.vault else 'absent'}", highlight=False)
    # The console logs in with any of the tokens above (docs/console.md).
    click.echo(f"Web console: http://{host}:{port}/console/   (log in with a token)")
    uvicorn.run(create_app(state), host=host, port=port, log_level="warning")
