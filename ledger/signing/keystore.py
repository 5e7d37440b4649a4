"""Private keys at rest: one PKCS#8 PEM file per key, encrypted with a passphrase,
mode 0600, in a directory outside git (docs/contracts.md §2.3). Public halves are written
as C2SP vkey strings to the verifier-key directory (``keys/`` in the repo).

The passphrase comes from ``LEDGER_KEY_PASSPHRASE`` or the file named by
``LEDGER_KEY_PASSPHRASE_FILE`` (resolved by ``config``, passed in here).
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    PrivateFormat,
    load_pem_private_key,
)

from ledger.errors import ConfigError, KeyFormatError
from ledger.signing.keys import COSIGNATURE_TYPE, ED25519_TYPE, Signer, VerifierKey, check_key_name, parse_vkey


def private_path(key_dir: Path, name: str) -> Path:
    return key_dir / f"{name}.key"


def vkey_path(vkey_dir: Path, name: str) -> Path:
    return vkey_dir / f"{name}.vkey"


def generate(name: str, key_dir: Path, vkey_dir: Path, passphrase: bytes, *, exist_ok: bool = False,
             witness: bool = False) -> Signer:
    """Create a key pair; refuse to overwrite an existing private key.

    ``witness`` keys sign C2SP cosignatures (vkey type 0x04) instead of notes.
    """
    check_key_name(name)
    path = private_path(key_dir, name)
    if path.exists():
        if exist_ok:
            return load(name, key_dir, passphrase, witness=witness)
        raise ConfigError(f"private key {path} already exists")
    if not passphrase:
        raise ConfigError("a passphrase is required to store a private key")
    signer = Signer.generate(name, COSIGNATURE_TYPE if witness else ED25519_TYPE)
    pem = signer.private_key.private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(passphrase)
    )
    key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    # O_EXCL + 0600 from the first byte: the key is never world-readable, even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    write_vkey(signer.verifier, vkey_dir)
    return signer


def write_vkey(key: VerifierKey, vkey_dir: Path) -> Path:
    vkey_dir.mkdir(parents=True, exist_ok=True)
    path = vkey_path(vkey_dir, key.name)
    path.write_text(key.vkey() + "\n")
    return path


def load(name: str, key_dir: Path, passphrase: bytes, *, witness: bool = False) -> Signer:
    path = private_path(key_dir, name)
    try:
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise ConfigError(f"no private key {name!r} in {key_dir}") from e
    try:
        private = load_pem_private_key(data, password=passphrase)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"private key {name!r}: wrong passphrase or damaged file") from e
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyFormatError(f"private key {name!r} is not Ed25519")
    return Signer(name, private, COSIGNATURE_TYPE if witness else ED25519_TYPE)


def read_vkey(path: Path) -> VerifierKey:
    return parse_vkey(path.read_text())
