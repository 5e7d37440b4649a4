"""``ledger tokens``: issue, list and revoke the GraphQL API's bearer tokens."""

from __future__ import annotations

import json

import click

from ledger.cli.edge import db_option, edge, engine_for, err, json_option, now, parse_moment, settings_for, subject_ref
from ledger.cli.root import main
from ledger.store.engine import make_engine


@main.group()
def tokens() -> None:
    """Bearer tokens for the GraphQL API (stored hashed; shown once)."""


def _operator() -> str:
    """Who runs this command, for the entry's actor (Art. 68): the host login."""
    import getpass

    try:
        return f"operator:{getpass.getuser()}"[:128]
    except (KeyError, OSError):  # no login name (some containers)
        return "operator"


actor_option = click.option("--actor", default=_operator, show_default="operator:<login>",
                            help="Who does this, as the log entry records it (Art. 68).")


def _expiry(value: str | None):
    """``30d``, ``12h`` or an RFC 3339 moment."""
    from datetime import timedelta

    if value is None:
        return None
    if value[:-1].isdigit() and value[-1] in "dh":
        n = int(value[:-1])
        return now() + (timedelta(days=n) if value[-1] == "d" else timedelta(hours=n))
    return parse_moment(value, "expires", "must be like 30d, 12h or an RFC 3339 time")


@tokens.command("issue")
@click.option("--role", required=True, type=click.Choice(["recorder", "programme_officer", "auditor", "court", "admin"]))
@click.option("--authority", "authority_id", default=None, help="Authority the token records for (recorder, programme_officer).")
@click.option("--region", default=None, help="Jurisdiction root, a GB/T 2260 code (recorder, programme_officer).")
@click.option("--case", "case_ref", default=None, help="Court: the case number.")
@click.option("--subject", "subjects_", multiple=True, help="Court: a subject of the case (scheme:number or reference; repeatable).")
@click.option("--label", default="", help="Who holds it, for listings.")
@click.option("--expires", default=None, help="30d, 12h or an RFC 3339 time (default: never).")
@actor_option
@db_option
@json_option
@edge
def tokens_issue(role, authority_id, region, case_ref, subjects_, label, expires, actor, db_url, as_json):
    """Issue a token, recorded in the log as token.issued (signed by the log key). The token
    text is printed once and never stored."""
    from ledger.access.tokens import issue
    from ledger.log.operator import load_keyring

    s = settings_for(db_url)
    engine = make_engine(s.database_url)
    refs = [subject_ref(s, engine, x) for x in subjects_]
    text, info = issue(engine, load_keyring(engine, s), role, now, actor=actor, authority_id=authority_id,
                       region=region, case_ref=case_ref, subjects=refs, label=label, expires_at=_expiry(expires))
    if as_json:
        click.echo(json.dumps({"token": text, **info.to_json()}, ensure_ascii=False))
    else:
        click.echo(text)
        err.print(f"token {info.token_id} ({role}) issued; expires {info.expires_at or 'never'}. "
                  "It is not stored: keep it now.", highlight=False)


@tokens.command("revoke")
@click.argument("token_id")
@actor_option
@db_option
@json_option
@edge
def tokens_revoke(token_id, actor, db_url, as_json):
    """Revoke a token (by its id, the part after il_) at once, recorded as token.revoked."""
    from ledger.access.tokens import revoke
    from ledger.log.operator import load_keyring

    s = settings_for(db_url)
    engine = make_engine(s.database_url)
    info = revoke(engine, load_keyring(engine, s), token_id.removeprefix("il_").split("_")[0], now, actor=actor)
    click.echo(json.dumps(info.to_json(), ensure_ascii=False) if as_json else f"token {info.token_id} revoked at {info.revoked_at}")


@tokens.command("list")
@db_option
@json_option
@edge
def tokens_list(db_url, as_json):
    from ledger.access.tokens import list_tokens

    found = list_tokens(engine_for(db_url))
    if as_json:
        click.echo(json.dumps([t.to_json() for t in found], ensure_ascii=False))
        return
    for t in found:
        state = "revoked" if t.revoked_at else f"expires {t.expires_at or 'never'}"
        click.echo(f"{t.token_id}  {t.role:<18} {t.authority_id or '-':<18} {t.region or '-':<7} {state}  {t.label}")
