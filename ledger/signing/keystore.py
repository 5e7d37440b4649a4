"""Private keys at rest: one file per key, encrypted with a passphrase, mode 0600,
in a directory (0700) outside git (docs/contracts.md §2.3). Public halves are
written as C2SP vkey strings to the verifier-key directory (``keys/`` in the repo).

The file format (``integrity-ledger/private-key`` version 1) is in
docs/keys-and-files.md: the 32-byte Ed25519 private key sealed with AES-256-GCM
under a key derived from the passphrase with scrypt (RFC 7914), every other
field of the file bound as associated data. Files written by earlier versions
(PKCS#8 PEM, PBKDF2-SHA256 at 2,048 iterations) still load, with a warning;
``rewrap`` re-encrypts them (``ledger keys rewrap``).

The passphrase comes from ``LEDGER_KEY_PASSPHRASE`` or the file named by
``LEDGER_KEY_PASSPHRASE_FILE`` (resolved by ``config``, passed in here).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from ledger.errors import ConfigError, KeyFormatError, Problem, ValidationError
from ledger.log import canonical
from ledger.signing.keys import COSIGNATURE_TYPE, ED25519_TYPE, Signer, VerifierKey, check_key_name, parse_vkey
from ledger.signing.private_files import write_private

log = logging.getLogger("ledger.keystore")

FORMAT = "integrity-ledger/private-key"
VERSION = 1
LEGACY_PEM = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"


@dataclass(frozen=True)
class ScryptCost:
    """scrypt's cost parameters (RFC 7914 §2): CPU/memory cost ``n`` (a power of
    two), block size ``r``, parallelism ``p``. Memory is 128·n·r bytes."""

    n: int
    r: int = 8
    p: int = 1

    def at_least(self, other: ScryptCost) -> bool:
        return self.n >= other.n and self.r >= other.r and self.p >= other.p


# OWASP Password Storage Cheat Sheet: scrypt with N=2^17, r=8, p=1 (128 MiB) at the
# least. Measured here: ~0.33 s per derivation (bench/kdf.py, docs/keys-and-files.md).
STRONG = ScryptCost(n=2**17, r=8, p=1)
# The cost new keys are written with. Tests lower it (tests/conftest.py); nothing else should.
KDF_COST = STRONG
# What a file may ask for on load: a damaged or hostile file must not make us
# allocate gigabytes (1 GiB = 128 · 2^20 · 8).
_MAX_N, _MAX_R, _MAX_P = 2**20, 32, 16
_SALT_BYTES, _NONCE_BYTES = 16, 12  # NIST SP 800-38D §8.2.2: 96-bit random nonces


def private_path(key_dir: Path, name: str) -> Path:
    return key_dir / f"{file_name(name)}.key"


def vkey_path(vkey_dir: Path, name: str) -> Path:
    return vkey_dir / f"{file_name(name)}.vkey"


def file_name(name: str) -> str:
    """A key name that names a file inside its directory: ``/``, ``\\``, a NUL or a
    leading ``.`` would reach outside it (``../x``), whoever calls (CLI, library)."""
    if not name or "/" in name or "\\" in name or "\0" in name or name.startswith("."):
        raise ValidationError([Problem("name", "must be a plain file name: no '/', no '\\', no leading '.'")])
    return name


def generate(name: str, key_dir: Path, vkey_dir: Path, passphrase: bytes, *, exist_ok: bool = False,
             witness: bool = False, cost: ScryptCost | None = None) -> Signer:
    """Create a key pair; refuse to overwrite an existing private key.

    ``witness`` keys sign C2SP cosignatures (vkey type 0x04) instead of notes.
    ``cost`` defaults to ``KDF_COST`` (scrypt N=2^17, r=8, p=1).
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
    sealed = seal(name, signer.private_key, passphrase, cost or KDF_COST, salt=_directory_salt(key_dir, cost or KDF_COST))
    try:
        # 0600 from the first byte, and never over an existing key (exclusive link).
        write_private(path, sealed, exclusive=True)
    except FileExistsError as e:
        raise ConfigError(f"private key {path} already exists") from e
    write_vkey(signer.verifier, vkey_dir)
    return signer


def write_vkey(key: VerifierKey, vkey_dir: Path) -> Path:
    """The public half: a verifier key is public (committed to ``keys/``), so 0644 is right."""
    vkey_dir.mkdir(parents=True, exist_ok=True)
    path = vkey_path(vkey_dir, key.name)
    path.write_text(key.vkey() + "\n")
    return path


def load(name: str, key_dir: Path, passphrase: bytes, *, witness: bool = False) -> Signer:
    """Decrypt key ``name``. ``ConfigError`` if the file is missing or the passphrase
    is wrong; ``KeyFormatError`` if the file is not a key file this version reads."""
    data = _read(name, key_dir)
    if data.lstrip().startswith(LEGACY_PEM):
        private = _open_legacy(name, data, passphrase)
        log.warning("private key %r is in the old PKCS#8 format (PBKDF2-SHA256, 2,048 iterations): "
                    "re-encrypt it with `ledger keys rewrap` (docs/keys-and-files.md)", name)
    else:
        private = unseal(name, data, passphrase)
    return Signer(name, private, COSIGNATURE_TYPE if witness else ED25519_TYPE)


def read_vkey(path: Path) -> VerifierKey:
    return parse_vkey(path.read_text())


# --- the file format (docs/keys-and-files.md) ------------------------------------

def seal(name: str, private: Ed25519PrivateKey, passphrase: bytes, cost: ScryptCost, *,
         salt: bytes | None = None) -> bytes:
    """The key file's bytes: JSON whose ``ciphertext`` is AES-256-GCM(KEK, nonce,
    raw private key, AAD = RFC 8785 bytes of every other member), KEK = scrypt(passphrase, salt)."""
    salt = salt or os.urandom(_SALT_BYTES)
    nonce = os.urandom(_NONCE_BYTES)
    header: dict[str, Any] = {
        "format": FORMAT, "version": VERSION, "name": name,
        "public": _b64(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)),
        "kdf": {"name": "scrypt", "n": cost.n, "r": cost.r, "p": cost.p, "salt": _b64(salt)},
        "cipher": {"name": "aes-256-gcm", "nonce": _b64(nonce)},
    }
    kek = _kek(passphrase, cost, salt)
    raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    sealed = AESGCM(kek).encrypt(nonce, raw, canonical.encode(header))
    return (json.dumps({**header, "ciphertext": _b64(sealed)}, indent=1, sort_keys=True) + "\n").encode()


def unseal(name: str, data: bytes, passphrase: bytes) -> Ed25519PrivateKey:
    header, ciphertext = _parse(name, data)
    kdf = header["kdf"]
    kek = _kek(passphrase, ScryptCost(kdf["n"], kdf["r"], kdf["p"]), _unb64(kdf["salt"]))
    try:
        raw = AESGCM(kek).decrypt(_unb64(header["cipher"]["nonce"]), ciphertext, canonical.encode(header))
    except InvalidTag as e:
        # GCM cannot tell a wrong passphrase from an edited file; the passphrase is the usual cause.
        raise ConfigError(f"wrong passphrase for key {name!r} (or its file was altered)") from e
    private = Ed25519PrivateKey.from_private_bytes(raw)
    if private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) != _unb64(header["public"]):
        raise KeyFormatError(f"private key {name!r}: the private half does not match the public key in the file")
    return private


def file_cost(name: str, key_dir: Path) -> ScryptCost | None:
    """The scrypt cost key ``name`` is stored with; None for the old PKCS#8 format."""
    data = _read(name, key_dir)
    if data.lstrip().startswith(LEGACY_PEM):
        return None
    kdf = _parse(name, data)[0]["kdf"]
    return ScryptCost(kdf["n"], kdf["r"], kdf["p"])


def _parse(name: str, data: bytes) -> tuple[dict[str, Any], bytes]:
    """The header (every member but ``ciphertext``) and the ciphertext; ``KeyFormatError``
    unless every member is present, of its type and within bounds."""
    bad = KeyFormatError(f"private key {name!r}: not an {FORMAT} file this version reads")
    try:
        obj = json.loads(data)
        kdf, cipher = obj["kdf"], obj["cipher"]
        ok = (obj.get("format") == FORMAT and obj.get("version") == VERSION and obj.get("name") == name
              and set(obj) == {"format", "version", "name", "public", "kdf", "cipher", "ciphertext"}
              and kdf.get("name") == "scrypt" and cipher.get("name") == "aes-256-gcm"
              and set(kdf) == {"name", "n", "r", "p", "salt"} and set(cipher) == {"name", "nonce"}
              and all(type(kdf[k]) is int for k in ("n", "r", "p"))
              and 2 <= kdf["n"] <= _MAX_N and kdf["n"] & (kdf["n"] - 1) == 0
              and 1 <= kdf["r"] <= _MAX_R and 1 <= kdf["p"] <= _MAX_P
              and len(_unb64(kdf["salt"])) >= _SALT_BYTES and len(_unb64(cipher["nonce"])) == _NONCE_BYTES
              and len(_unb64(obj["public"])) == 32)
        ciphertext = _unb64(obj["ciphertext"])
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as e:
        raise bad from e
    if not ok or len(ciphertext) != 32 + 16:
        raise bad
    return {k: v for k, v in obj.items() if k != "ciphertext"}, ciphertext


def _open_legacy(name: str, data: bytes, passphrase: bytes) -> Ed25519PrivateKey:
    try:
        private = load_pem_private_key(data, password=passphrase)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"wrong passphrase for key {name!r} (or its file is damaged)") from e
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyFormatError(f"private key {name!r} is not Ed25519")
    return private


def _read(name: str, key_dir: Path) -> bytes:
    check_key_name(name)
    try:
        return private_path(key_dir, name).read_bytes()
    except FileNotFoundError as e:
        raise ConfigError(f"no private key {name!r} in {key_dir}") from e


# --- the key-encryption key ---------------------------------------------------------
# One scrypt derivation per (passphrase, cost, salt) per process. New keys in a
# directory reuse the salt of the keys already there (same cost), so loading a
# keyring of many keys costs one derivation, not one per key. The passphrase is
# shared by the directory's keys anyway, so per-file salts would add nothing
# against an attacker holding the directory; the salt still defeats
# precomputation across hosts.
_keks: dict[tuple[bytes, ScryptCost, bytes], bytes] = {}


def _kek(passphrase: bytes, cost: ScryptCost, salt: bytes) -> bytes:
    key = (bytes(passphrase), cost, salt)
    if key not in _keks:
        # RFC 7914 §2: scrypt(P, S, N, r, p, dkLen); 32 bytes for AES-256.
        _keks[key] = Scrypt(salt=salt, length=32, n=cost.n, r=cost.r, p=cost.p).derive(passphrase)
    return _keks[key]


def _directory_salt(key_dir: Path, cost: ScryptCost) -> bytes:
    """The salt of a key already in ``key_dir`` with this cost, else a new random one."""
    for path in sorted(key_dir.glob("*.key")) if key_dir.is_dir() else []:
        try:
            header, _ = _parse(path.stem, path.read_bytes())
        except (KeyFormatError, OSError):
            continue
        kdf = header["kdf"]
        if ScryptCost(kdf["n"], kdf["r"], kdf["p"]) == cost:
            return _unb64(kdf["salt"])
    return os.urandom(_SALT_BYTES)


# --- re-encryption --------------------------------------------------------------------

@dataclass(frozen=True)
class Rewrapped:
    name: str
    before: str  # "pkcs8-pbkdf2" or "scrypt n=… r=… p=…"
    after: str | None  # None: already at the cost asked for, left alone


def rewrap(key_dir: Path, passphrase: bytes, names: list[str] | None = None,
           cost: ScryptCost | None = None) -> list[Rewrapped]:
    """Re-encrypt keys stored in the old format or below ``cost`` (default ``KDF_COST``),
    each atomically (a crash leaves the old file or the new one). Every key is
    decrypted first, so a wrong passphrase changes nothing."""
    target = cost or KDF_COST
    chosen = names if names else sorted(p.stem for p in key_dir.glob("*.key"))
    if not chosen:
        raise ConfigError(f"no private keys in {key_dir}")
    opened = {name: load(name, key_dir, passphrase) for name in chosen}
    salt = _directory_salt(key_dir, target)
    done = []
    for name, signer in opened.items():
        was = file_cost(name, key_dir)
        before = "pkcs8-pbkdf2" if was is None else f"scrypt n={was.n} r={was.r} p={was.p}"
        if was is not None and was.at_least(target):
            done.append(Rewrapped(name, before, None))
            continue
        write_private(private_path(key_dir, name), seal(name, signer.private_key, passphrase, target, salt=salt))
        done.append(Rewrapped(name, before, f"scrypt n={target.n} r={target.r} p={target.p}"))
    return done


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise TypeError("want base64 text")
    return base64.b64decode(text, validate=True)
