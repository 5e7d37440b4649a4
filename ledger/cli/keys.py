"""``ledger keys``: generate, register and revoke authority and witness keys."""

from __future__ import annotations

import click

from ledger.cli.edge import db_option, edge, json_option, now, print_entry_ack, settings_for
from ledger.cli.root import main
from ledger.cli.token_options import token_options, token_slot
from ledger.signing import keystore
from ledger.store.engine import make_engine


@main.group()
def keys() -> None:
    """Ed25519 keys: generate, register in the log, revoke."""


def key_file_name(name: str) -> str:
    """A key NAME that names a file inside its directory: the key files are
    ``LEDGER_KEY_DIR/NAME.key`` and ``LEDGER_VKEY_DIR/NAME.vkey``, so ``/``, ``\\``,
    a leading ``.`` or a NUL would write or read outside them (``../x``)."""
    from ledger.signing.keystore import file_name

    return file_name(name)


@keys.command("generate")
@click.argument("name")
@click.option("--witness", is_flag=True, help="A witness key (C2SP cosignature/v1, vkey type 0x04).")
@token_options
@edge
def keys_generate(name, witness, pkcs11_module, token_label, pin_file):
    """Create key NAME: encrypted private half in LEDGER_KEY_DIR, vkey in keys/NAME.vkey.

    With --pkcs11-module and --token the key pair is generated on the hardware
    token instead (sensitive, non-extractable): only keys/NAME.vkey is written here."""
    s = settings_for(None)
    slot = token_slot(pkcs11_module, token_label, pin_file)
    if slot is None:
        signer = keystore.generate(key_file_name(name), s.key_dir, s.vkey_dir, s.passphrase, witness=witness)
        click.echo(signer.verifier.vkey())
        return
    if witness:
        raise click.UsageError("--witness: witness keys are key files; a token holds statement keys")
    from ledger.signing.token_key import generate_on_token

    # The vkey file is written after the key exists on the token: a crash between
    # leaves a key on the token and no vkey; `keys generate` again refuses the
    # label, and the token's public key can be read back with its own tools.
    vkey = generate_on_token(slot, key_file_name(name))
    keystore.write_vkey(vkey, s.vkey_dir)
    click.echo(vkey.vkey())


@keys.command("register")
@click.argument("name")
@click.option("--authority", "authority_id", required=True, help="Authority that will sign with the key.")
@click.option("--purpose", default="records")
@click.option("--holder", default=None, help="Who holds the private half.")
@db_option
@json_option
@edge
def keys_register(name, authority_id, purpose, holder, db_url, as_json):
    """Record key.registered for keys/NAME.vkey, signed by the log key."""
    from ledger.log.operator import register_key, require_log_signer

    s = settings_for(db_url)
    vkey = keystore.read_vkey(keystore.vkey_path(s.vkey_dir, key_file_name(name)))
    e = register_key(make_engine(s.database_url), require_log_signer(s), vkey.vkey(), authority_id, now,
                     purpose=purpose, holder=holder)
    print_entry_ack(e, as_json)


@keys.command("revoke")
@click.argument("name")
@click.option("--reason", required=True)
@db_option
@json_option
@edge
def keys_revoke(name, reason, db_url, as_json):
    """Record key.revoked: NAME signs nothing after this entry."""
    from ledger.log.operator import require_log_signer, revoke_key

    s = settings_for(db_url)
    e = revoke_key(make_engine(s.database_url), require_log_signer(s), name, reason, now)
    print_entry_ack(e, as_json)
