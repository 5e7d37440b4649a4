"""The subject vault (contract 2.4): personal data outside the hashed log.

- A subject's reference is ``hex(SHA-256(salt || "<scheme>:<id>"))`` with a
  random 16-byte salt; entries carry only the reference.
- Name, identifier and salt are sealed with AES-256-GCM under a per-subject
  data key; the data key is wrapped (AES-256-GCM) under the vault's wrapping
  key. The reference is the associated data of both, so records cannot be
  swapped between subjects.
- Lookup by identifier goes through a blind index,
  ``HMAC-SHA256(index key, "<scheme>:<id>")``: the ID space (~10^11) is too
  small for a plain hash (domain brief, PIPL).
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
from sqlalchemy import Connection, insert, select, update

from ledger.errors import ConfigError, NotFound
from ledger.domain.identifiers import Identifier
from ledger.store.schema import subjects

Random = Callable[[int], bytes]


def subject_ref(salt: bytes, ident: Identifier) -> str:
    """Contract 2.4: hex(SHA-256(salt || UTF-8("<scheme>:<normalised id>")))."""
    return hashlib.sha256(salt + str(ident).encode()).hexdigest()


@dataclass(frozen=True)
class Disclosure:
    """What an evidence export discloses so a third party can recompute ``ref``."""

    ref: str
    scheme: str
    id: str
    salt: bytes
    name: str

    def recompute(self) -> str:
        return hashlib.sha256(self.salt + f"{self.scheme}:{self.id}".encode()).hexdigest()


class Vault:
    def __init__(self, master: bytes, random: Random = os.urandom):
        if len(master) != 32:
            raise ConfigError("the vault master secret must be 32 bytes")
        self._wrap = AESGCM(_derive(master, b"integrity-ledger vault wrap v1"))
        self._index_key = _derive(master, b"integrity-ledger vault index v1")
        self._random = random

    def blind_index(self, ident: Identifier) -> str:
        return hmac.new(self._index_key, str(ident).encode(), hashlib.sha256).hexdigest()

    def lookup(self, conn: Connection, ident: Identifier) -> str | None:
        row = conn.execute(select(subjects.c.ref).where(subjects.c.blind_index == self.blind_index(ident))).first()
        return row.ref if row else None

    def add(self, conn: Connection, ident: Identifier, name: str, created_at: str) -> tuple[str, bool]:
        """Register a subject; return (reference, newly added). Idempotent by identifier."""
        existing = self.lookup(conn, ident)
        if existing:
            return existing, False
        salt, data_key = self._random(16), self._random(32)
        ref = subject_ref(salt, ident)
        record = json.dumps({"scheme": ident.scheme, "id": ident.value, "salt": salt.hex(), "name": name},
                            ensure_ascii=False).encode()
        conn.execute(insert(subjects).values(
            ref=ref, kind=ident.kind, blind_index=self.blind_index(ident),
            wrapped_key=self._seal(self._wrap, data_key, ref), payload=self._seal(AESGCM(data_key), record, ref),
            created_at=created_at, erased_seq=None))
        return ref, True

    def reveal(self, conn: Connection, ref: str) -> Disclosure:
        row = conn.execute(select(subjects).where(subjects.c.ref == ref)).first()
        if row is None:
            raise NotFound(f"subject {ref} is not in the vault")
        if row.erased_seq is not None:
            raise NotFound(f"subject {ref} was erased at seq {row.erased_seq}")
        data_key = self._open(self._wrap, bytes(row.wrapped_key), ref)
        record = json.loads(self._open(AESGCM(data_key), bytes(row.payload), ref))
        return Disclosure(ref, record["scheme"], record["id"], bytes.fromhex(record["salt"]), record["name"])

    def _seal(self, aead: AESGCM, plaintext: bytes, ref: str) -> bytes:
        nonce = self._random(12)
        return nonce + aead.encrypt(nonce, plaintext, ref.encode())

    @staticmethod
    def _open(aead: AESGCM, sealed: bytes, ref: str) -> bytes:
        return aead.decrypt(sealed[:12], sealed[12:], ref.encode())


def erase(conn: Connection, ref: str, seq: int) -> None:
    """Destroy the subject's key, sealed record (with its salt) and blind index."""
    conn.execute(update(subjects).where(subjects.c.ref == ref)
                 .values(blind_index=None, wrapped_key=None, payload=None, erased_seq=seq))


def subject_state(conn: Connection, ref: str) -> tuple[str, int | None] | None:
    """(kind, erased_seq) of a known subject, or None."""
    row = conn.execute(select(subjects.c.kind, subjects.c.erased_seq).where(subjects.c.ref == ref)).first()
    return (row.kind, row.erased_seq) if row else None


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
