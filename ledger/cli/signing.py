"""Signing: ``ledger sign`` turns drafts into statements signed by an authority's key
(docs/contracts.md §2.7), for award systems and batch imports that sign where the
key lives and hand the statements to a log host that holds no authority key.

Input: JSON lines of drafts, as ``ledger record`` reads them
(``ledger.cli.draft_lines``). Output: one ``{"statement": …, "sig": …}`` per
line, RFC 8785 bytes, in input order; ``ledger record`` appends them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from ledger.cli.draft_lines import read_batch
from ledger.cli.edge import edge, json_option, now, settings_for
from ledger.cli.root import main
from ledger.cli.token_options import token_options, token_slot
from ledger.errors import Problem, ValidationError
from ledger.log import canonical
from ledger.log.statement import SignedStatement, sign_statement
from ledger.signing import keystore
from ledger.signing.keys import SigningKey
from ledger.signing.private_files import write_private


@main.command("sign")
@click.argument("source", type=click.File("rb"))
@click.option("--key", "key_name", required=True, metavar="NAME",
              help="The authority's key, from LEDGER_AUTHORITY_KEY_DIR, else LEDGER_KEY_DIR (its name is the "
                   "statement's key).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the signed statements here (0600) instead of standard output.")
@token_options
@json_option
@edge
def sign(source, key_name, out_path, pkcs11_module, token_label, pin_file, as_json):
    """Sign the JSON-lines drafts in SOURCE (or -) as statements by key NAME.

    The key is NAME.key in LEDGER_AUTHORITY_KEY_DIR, else LEDGER_KEY_DIR, or, with --pkcs11-module and --token,
    the Ed25519 key labelled NAME on a hardware token (it never leaves it)."""
    batch = read_batch(source.read())
    slot = token_slot(pkcs11_module, token_label, pin_file)
    if slot is None:
        s = settings_for(None)
        # An authority's key: its own directory first (decision 0015), else the key directory.
        where = s.authority_key_dir if keystore.private_path(s.authority_key_dir, key_name).exists() else s.key_dir
        signer: SigningKey = keystore.load(key_name, where, s.passphrase)
        signed = sign_drafts_with(list(batch.drafts), batch.lines, signer, now())
    else:
        from ledger.signing.token_key import TokenKey

        with TokenKey(slot, key_name) as signer:
            signed = sign_drafts_with(list(batch.drafts), batch.lines, signer, now())
    text = "".join(canonical.encode(x.to_json()).decode("utf-8") + "\n" for x in signed)
    if out_path is None:
        click.echo(text, nl=False)
    else:
        # The statements name subject references (docs/contracts.md §2.4): private, written whole.
        write_private(out_path, text)
        if as_json:
            click.echo(f'{{"signed": {len(signed)}, "key": "{signer.name}"}}')
        else:
            click.echo(f"{len(signed)} statements signed by {signer.name}: {out_path}")


def sign_drafts_with(drafts: list, lines: tuple[int, ...], signer: SigningKey, at: datetime) -> list[SignedStatement]:
    """Each draft signed by ``signer`` at ``at``; an input line that is already signed is refused."""
    if len(drafts) != len(lines):
        raise ValidationError([Problem("input", "holds signed statements: `ledger sign` signs drafts only")])
    return [sign_statement(d, signer, at) for d in drafts]
