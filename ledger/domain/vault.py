"""The subject vault (docs/contracts.md §2.4): personal data outside the hashed log.

- A subject's reference is ``hex(SHA-256(salt || "<scheme>:<id>"))`` with a
  random 16-byte salt; entries carry only the reference.
- Name, identifier and salt are sealed with AES-256-GCM under a per-subject
  data key; the data key is wrapped (AES-256-GCM) under the vault's wrapping
  key. The reference is the associated data of both, so records cannot be
  swapped between subjects.
- Lookup by identifier goes through a blind index,
  ``HMAC-SHA256(index key, "<scheme>:<id>")``: the ID space (~10^11) is too
  small for a plain hash (PIPL; docs/contracts.md §2.4).
- Erasure destroys the wrapped key, the sealed record (with the salt) and the
  blind index. The reference stays, so every entry and proof still verifies,
  but nothing links it to a person any more.

The wrapping and index keys derive (HKDF-SHA256) from one 32-byte master
secret held outside the database (``LEDGER_VAULT_KEY_FILE``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ledger.domain.identifiers import Identifier
from ledger.errors import ConfigError

Random = Callable[[int], bytes]


def reference(salt: bytes, scheme: str, normalised_id: str) -> str:
    """docs/contracts.md §2.4: hex(SHA-256(salt || UTF-8("<scheme>:<normalised id>")))."""
    return hashlib.sha256(salt + f"{scheme}:{normalised_id}".encode()).hexdigest()


def subject_ref(salt: bytes, ident: Identifier) -> str:
    return reference(salt, ident.scheme, ident.value)


@dataclass(frozen=True)
class Disclosure:
    """What an evidence export discloses so a third party can recompute ``ref``."""

    ref: str
    scheme: str
    id: str
    salt: bytes
    name: str


@dataclass(frozen=True)
class SealedSubject:
    """A subject's vault row as stored: nothing in it opens without the master secret."""

    ref: str
    kind: str
    blind_index: str
    wrapped_key: bytes
    payload: bytes


class Vault:
    def __init__(self, master: bytes, random: Random = os.urandom):
        if len(master) != 32:
            raise ConfigError("the vault master secret must be 32 bytes")
        self._wrap = AESGCM(_derive(master, b"integrity-ledger vault wrap v1"))
        self._index_key = _derive(master, b"integrity-ledger vault index v1")
        self._random = random

    def blind_index(self, ident: Identifier) -> str:
        return hmac.new(self._index_key, str(ident).encode(), hashlib.sha256).hexdigest()

    def seal(self, ident: Identifier, name: str) -> SealedSubject:
        """A new subject: fresh salt and data key; the record sealed under the data key, the
        data key wrapped under the vault's wrapping key, both bound to the reference."""
        salt, data_key = self._random(16), self._random(32)
        ref = subject_ref(salt, ident)
        record = json.dumps({"scheme": ident.scheme, "id": ident.value, "salt": salt.hex(), "name": name},
                            ensure_ascii=False).encode()
        return SealedSubject(ref, ident.kind, self.blind_index(ident), self._seal(self._wrap, data_key, ref),
                             self._seal(AESGCM(data_key), record, ref))

    def open(self, ref: str, wrapped_key: bytes, payload: bytes) -> Disclosure:
        data_key = self._open(self._wrap, wrapped_key, ref)
        record = json.loads(self._open(AESGCM(data_key), payload, ref))
        return Disclosure(ref, record["scheme"], record["id"], bytes.fromhex(record["salt"]), record["name"])

    def _seal(self, aead: AESGCM, plaintext: bytes, ref: str) -> bytes:
        nonce = self._random(12)
        return nonce + aead.encrypt(nonce, plaintext, ref.encode())

    @staticmethod
    def _open(aead: AESGCM, sealed: bytes, ref: str) -> bytes:
        return aead.decrypt(sealed[:12], sealed[12:], ref.encode())


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


def load_master(path: Path) -> bytes:
    try:
        return base64.b64decode(path.read_text().strip(), validate=True)
    except FileNotFoundError as e:
        raise ConfigError(f"vault master secret {path} not found (set LEDGER_VAULT_KEY_FILE)") from e


def create_master(path: Path, random: Random = os.urandom) -> bytes:
    if path.exists():
        return load_master(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = random(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(secret).decode() + "\n")
    return secret
