"""The subject vault's cryptography (docs/contracts.md §2.4, docs/erasure.md). Pure:
no files, no database; keys and randomness come in as parameters.

Key hierarchy::

    epoch secret (32 random bytes; the key file; a new one at every rotation)
      ├── wrapping key = HKDF-SHA256(secret, info="integrity-ledger vault wrap v1")
      └── index key    = HKDF-SHA256(secret, info="integrity-ledger vault index v1")
    data key (32 random bytes per subject), wrapped with AES-256-GCM under the wrapping key
      └── record {scheme, id, salt, name}, sealed with AES-256-GCM under the data key

- A subject's reference is ``hex(SHA-256(salt || "<scheme>:<id>"))`` with a
  random 16-byte salt (§2.4, unchanged); entries carry only the reference. The
  reference is the associated data of both seals, so rows cannot be swapped.
- Lookup by identifier goes through a blind index,
  ``HMAC-SHA256(index key, "<scheme>:<id>")``: the ID space (~10^11) is too
  small for a plain hash (PIPL; §2.4).
- Erasure destroys the subject's row (wrapped key, sealed record, blind index),
  then a rotation re-wraps every *live* data key under a new epoch, recomputes
  their blind indexes, and destroys the old epoch secret
  (``ledger.domain.vault_rotation``). A copy of the erased row (a WAL frame, a
  free page, a heap file, a backup) then opens nothing: its wrapped key needs a
  secret that no longer exists, and its blind index was keyed with an index key
  that no longer exists, so it cannot confirm a guessed identifier (PIPL Art. 47).
- Epoch 0 is the 32-byte master of vaults made before epochs: the derivation
  above is the one it always used, so old rows open unchanged until their
  first rotation destroys it (docs/decisions/0012).

``EpochKeys`` is one epoch's keys; ``Vault`` is what a process holds: the
current epoch's keys and the ``KeyStore`` that gives it the next epoch's when
another process rotated (``ledger.domain.vault_keys`` for the key file,
``MemoryKeyStore`` for tests and benches).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ledger.domain.identifiers import Identifier
from ledger.errors import ConfigError

Random = Callable[[int], bytes]

SECRET_BYTES = 32
NONCE_BYTES = 12
WRAP_INFO = b"integrity-ledger vault wrap v1"
INDEX_INFO = b"integrity-ledger vault index v1"


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
    """A subject's vault row as stored: nothing in it opens without epoch ``epoch``'s secret."""

    ref: str
    kind: str
    blind_index: str  # hex HMAC-SHA256 under the epoch's index key
    wrapped_key: bytes  # nonce(12) || AES-256-GCM(wrapping key, data key, aad=ref)
    payload: bytes  # nonce(12) || AES-256-GCM(data key, record JSON, aad=ref)
    epoch: int = 0


@dataclass(frozen=True)
class Rewrapped:
    """A live subject's row under the next epoch (its payload and data key are unchanged)."""

    ref: str
    blind_index: str
    wrapped_key: bytes


class EpochPassed(ConfigError):
    """The epoch asked for has been destroyed by a rotation that committed since it
    was read: read the database again (it is re-wrapped under a newer epoch)."""

    def __init__(self, wanted: int, held: list[int]):
        self.wanted, self.held = wanted, held
        super().__init__(f"vault epoch {wanted} was rotated away (the key store holds epoch {held}): if a "
                         "rotation just ran, retry; if the database was restored from a backup older than the "
                         "key file, its subjects no longer open (docs/erasure.md)")


class EpochKeys:
    """One epoch's wrapping and index keys. Holds no copy of the secret itself."""

    __slots__ = ("epoch", "_wrap", "_index_key")

    def __init__(self, epoch: int, secret: bytes):
        if len(secret) != SECRET_BYTES:
            raise ConfigError(f"a vault epoch secret must be {SECRET_BYTES} bytes, got {len(secret)}")
        if epoch < 0:
            raise ConfigError(f"a vault epoch is a non-negative integer, got {epoch}")
        self.epoch = epoch
        self._wrap = AESGCM(derive(secret, WRAP_INFO))
        self._index_key = derive(secret, INDEX_INFO)

    def __repr__(self) -> str:
        return f"EpochKeys(epoch={self.epoch})"

    def blind_index(self, ident: Identifier) -> str:
        return hmac.new(self._index_key, str(ident).encode(), hashlib.sha256).hexdigest()

    def wrap(self, ref: str, data_key: bytes, nonce: bytes) -> bytes:
        return _seal(self._wrap, data_key, ref, nonce)

    def unwrap(self, ref: str, wrapped_key: bytes) -> bytes:
        """The data key; ``cryptography.exceptions.InvalidTag`` if this epoch did not wrap it for ``ref``."""
        return _open(self._wrap, wrapped_key, ref)


def derive(secret: bytes, info: bytes) -> bytes:
    """HKDF-SHA256 (RFC 5869), no salt, 32 bytes: the v1 derivation (epoch 0 is a pre-epoch master)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


def seal(keys: EpochKeys, ident: Identifier, name: str, random: Random) -> SealedSubject:
    """A new subject: fresh salt and data key; the record sealed under the data key,
    the data key wrapped under the epoch's wrapping key, both bound to the reference."""
    salt, data_key = random(16), random(32)
    ref = subject_ref(salt, ident)
    record = json.dumps({"scheme": ident.scheme, "id": ident.value, "salt": salt.hex(), "name": name},
                        ensure_ascii=False).encode()
    return SealedSubject(ref, ident.kind, keys.blind_index(ident), keys.wrap(ref, data_key, random(NONCE_BYTES)),
                         _seal(AESGCM(data_key), record, ref, random(NONCE_BYTES)), keys.epoch)


def open_sealed(keys: EpochKeys, ref: str, wrapped_key: bytes, payload: bytes) -> Disclosure:
    record = _record(keys.unwrap(ref, wrapped_key), ref, payload)
    return Disclosure(ref, record["scheme"], record["id"], bytes.fromhex(record["salt"]), record["name"])


def rewrap(old: EpochKeys, new: EpochKeys, ref: str, wrapped_key: bytes, payload: bytes,
           random: Random) -> Rewrapped:
    """The row of a live subject under ``new``: the same data key, wrapped afresh, and
    the blind index recomputed with the new index key (the identifier is read from
    the record, since the old index cannot be inverted)."""
    data_key = old.unwrap(ref, wrapped_key)
    record = _record(data_key, ref, payload)
    ident = Identifier(record["scheme"], record["id"])
    return Rewrapped(ref, new.blind_index(ident), new.wrap(ref, data_key, random(NONCE_BYTES)))


def _record(data_key: bytes, ref: str, payload: bytes) -> dict[str, str]:
    record: dict[str, str] = json.loads(_open(AESGCM(data_key), payload, ref))
    return record


def _seal(aead: AESGCM, plaintext: bytes, ref: str, nonce: bytes) -> bytes:
    """nonce(12) || ciphertext || tag(16); the reference is the associated data."""
    return nonce + aead.encrypt(nonce, plaintext, ref.encode())


def _open(aead: AESGCM, sealed: bytes, ref: str) -> bytes:
    return aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], ref.encode())


# --- where a process gets an epoch's keys ---------------------------------------------


class KeyStore(Protocol):
    """Where the epoch secrets live, outside the database. The rotation protocol
    (``ledger.domain.vault_rotation``) calls these in order: ``lock``, ``reconcile``,
    ``stage``, (database commit), ``promote``."""

    def load(self, epoch: int) -> EpochKeys:
        """The keys of ``epoch``; ``EpochPassed`` if only newer epochs are held, else ``ConfigError``."""
        ...

    def lock(self) -> AbstractContextManager[None]:
        """Exclusive: one rotation at a time."""
        ...

    def reconcile(self, epoch: int) -> None:
        """Under ``lock``: the database is at ``epoch``; finish or undo what a crashed rotation left."""
        ...

    def stage(self, epoch: int, secret: bytes) -> None:
        """Under ``lock``: keep the next epoch's secret durably beside the current one."""
        ...

    def promote(self, epoch: int) -> None:
        """Under ``lock``, after the database committed ``epoch``: make it the current
        secret and destroy the previous one."""
        ...


class MemoryKeyStore:
    """A key store that lives and dies with the process: for tests, benches and
    ``Vault(secret)``. A rotation destroys the old secret by dropping it."""

    def __init__(self, epoch: int, secret: bytes):
        self._current: tuple[int, bytes] = (epoch, secret)
        self._staged: tuple[int, bytes] | None = None
        self._mutex = threading.Lock()

    def load(self, epoch: int) -> EpochKeys:
        held = [self._current, *([self._staged] if self._staged else [])]
        for e, secret in held:
            if e == epoch:
                return EpochKeys(e, secret)
        epochs = [e for e, _ in held]
        if all(e > epoch for e in epochs):
            raise EpochPassed(epoch, epochs)
        raise ConfigError(f"this in-memory vault holds epoch {epochs}, the database is at epoch {epoch}")

    @contextmanager
    def lock(self) -> Iterator[None]:
        with self._mutex:
            yield

    def reconcile(self, epoch: int) -> None:
        if self._staged and self._staged[0] == epoch:
            self.promote(epoch)
        self._staged = None

    def stage(self, epoch: int, secret: bytes) -> None:
        self._staged = (epoch, secret)

    def promote(self, epoch: int) -> None:
        if self._staged is None or self._staged[0] != epoch:
            raise ConfigError(f"no staged vault epoch {epoch} to promote")
        self._current, self._staged = self._staged, None


class Vault:
    """The vault keys one process holds: the current epoch's, and the store that
    has the next epoch's after a rotation (by this process or another).

    ``keys(epoch)`` answers for the database's epoch and reloads when it moved;
    the previous epoch's keys are dropped, never kept beside the new ones, so a
    long-running process (the API) lets go of an erased subject's epoch at its
    first vault read after the rotation. (Python does not scrub the freed memory:
    a core dump of that process taken before then still holds it.) Thread-safe.

    ``Vault(secret)`` is an in-memory vault at epoch 0 (tests, benches); the key
    file's vault is ``ledger.domain.vault_keys.open_vault``.
    """

    def __init__(self, secret: bytes | EpochKeys, random: Random = os.urandom, *, epoch: int = 0,
                 store: KeyStore | None = None):
        if isinstance(secret, EpochKeys):
            keys = secret
        else:
            keys = EpochKeys(epoch, secret)
            store = store or MemoryKeyStore(epoch, secret)
        if store is None:
            raise ConfigError("a vault built from EpochKeys needs the store they came from")
        self._keys, self.store, self.random = keys, store, random
        self._mutex = threading.Lock()

    @property
    def current(self) -> EpochKeys:
        """The keys of the epoch this process last saw (no I/O); may be behind the database."""
        return self._keys

    @property
    def epoch(self) -> int:
        return self._keys.epoch

    def keys(self, epoch: int) -> EpochKeys:
        """The keys of ``epoch`` (the database's), reloading from the store if it moved."""
        with self._mutex:
            if self._keys.epoch != epoch:
                self._keys = self.store.load(epoch)
            return self._keys

    def adopt(self, keys: EpochKeys) -> None:
        """After this process's own rotation committed and promoted ``keys``."""
        with self._mutex:
            self._keys = keys

    # One-epoch conveniences on the current keys, for callers without a database
    # connection. With one, use ``vault_store.keys(conn, vault)``: it follows the database's epoch.
    def blind_index(self, ident: Identifier) -> str:
        return self._keys.blind_index(ident)

    def seal(self, ident: Identifier, name: str) -> SealedSubject:
        return seal(self._keys, ident, name, self.random)

    def open(self, ref: str, wrapped_key: bytes, payload: bytes) -> Disclosure:
        return open_sealed(self._keys, ref, wrapped_key, payload)

    # bench/reconcile.py writes rows with its own seeded salts and data keys through these.
    @property
    def _wrap(self) -> AESGCM:
        return self._keys._wrap

    def _seal(self, aead: AESGCM, plaintext: bytes, ref: str) -> bytes:
        return _seal(aead, plaintext, ref, self.random(NONCE_BYTES))
