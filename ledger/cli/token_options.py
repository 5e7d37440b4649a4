"""Options naming a hardware token (PKCS#11) for ``ledger keys generate`` and ``ledger sign``.

The PIN is read from a file (``--pin-file`` or LEDGER_PKCS11_PIN_FILE), never
taken on the command line, where ``ps`` and shell history would show it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ledger.signing.token_key import TokenSlot


def token_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--pin-file", type=click.Path(dir_okay=False, path_type=Path), envvar="LEDGER_PKCS11_PIN_FILE",
                      default=None, help="File holding the token's user PIN (first line).")(fn)
    fn = click.option("--token", "token_label", envvar="LEDGER_PKCS11_TOKEN", default=None, metavar="LABEL",
                      help="The token's label (with --pkcs11-module).")(fn)
    fn = click.option("--pkcs11-module", envvar="LEDGER_PKCS11_MODULE", default=None, metavar="PATH",
                      help="PKCS#11 module of a hardware token holding the key (e.g. SoftHSM2's "
                           "/usr/lib/softhsm/libsofthsm2.so); the private key never leaves the token.")(fn)
    return fn


def token_slot(module: str | None, label: str | None, pin_file: Path | None) -> TokenSlot | None:
    """The token the options name, or None for a key file; a partial set is a usage error."""
    if module is None and label is None:
        return None
    if not module or not label:
        raise click.UsageError("--pkcs11-module and --token go together")
    if pin_file is None:
        raise click.UsageError("--pin-file (or LEDGER_PKCS11_PIN_FILE): the token's user PIN")
    try:
        pin = pin_file.read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, UnicodeDecodeError, IndexError) as e:
        raise click.BadParameter(f"{pin_file}: a file whose first line is the PIN ({e.__class__.__name__})",
                                 param_hint="--pin-file") from None
    return TokenSlot(module, label, pin)
