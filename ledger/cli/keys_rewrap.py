"""``ledger keys rewrap``: re-encrypt private keys stored in the old format
(PKCS#8, PBKDF2-SHA256 at 2,048 iterations) or below the current scrypt cost
(docs/keys-and-files.md). A thin edge: one call into ``ledger.signing.keystore``."""

from __future__ import annotations

import json

import click

from ledger.cli.edge import edge, json_option, settings_for
from ledger.cli.keys import keys
from ledger.signing import keystore


@keys.command("rewrap")
@click.argument("names", nargs=-1)
@json_option
@edge
def keys_rewrap(names, as_json):
    """Re-encrypt keys in LEDGER_KEY_DIR (all, or NAMES) with scrypt N=2^17, r=8, p=1."""
    s = settings_for(None)
    done = keystore.rewrap(s.key_dir, s.passphrase, list(names) or None)
    if as_json:
        click.echo(json.dumps([{"name": r.name, "before": r.before, "after": r.after} for r in done]))
        return
    for r in done:
        click.echo(f"{r.name}: {r.before} -> {r.after}" if r.after else f"{r.name}: {r.before} (already strong)")
