"""The vault's key file (``LEDGER_VAULT_KEY_FILE``, default ``var/vault.key``): the
current epoch's secret, outside the database (docs/erasure.md).

Files, all mode 0600 whatever the umask, in the key file's directory::

    vault.key          ledger-vault-key v2 <epoch> <base64 secret>     the current epoch
    vault.key.next     the same format: the next epoch, only between rotation steps 1 and 4
    vault.key.next.tmp written, fsync'd, then renamed to vault.key.next (never read)
    vault.key.lock     flock(2): one rotation at a time on this host
    vault.key.*.new    a first key file being created (linked into place, then removed)

A key file of one base64 line (the format before epochs) is epoch 0.

Scope: the files and their durable steps. The order of the steps is the
rotation's (``ledger.domain.vault_rotation``); which epoch is current is the
database's (``vault_meta``). Not in scope: the file system under the files.
Overwriting a retired secret before unlinking it is best effort: a journalling
or copy-on-write file system, a snapshot or an SSD's spare blocks may keep the
old bytes; keep the key directory off snapshots and backups you cannot expire.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ledger.domain.vault import SECRET_BYTES, EpochKeys, EpochPassed, Random, Vault
from ledger.errors import ConfigError
from ledger.signing.private_files import fsync_dir

MAGIC = "ledger-vault-key"
VERSION = "v2"
READ_ATTEMPTS = 3  # a rename between reading .next and the key file: read both again


def encode(epoch: int, secret: bytes) -> bytes:
    return f"{MAGIC} {VERSION} {epoch} {base64.b64encode(secret).decode()}\n".encode()


def decode(data: bytes) -> tuple[int, bytes] | None:
    """(epoch, secret), or None for anything else (partly written, overwritten, empty)."""
    try:
        words = data.decode("ascii").split()
        if len(words) == 1:  # before epochs: the 32-byte master is epoch 0
            epoch, secret = 0, base64.b64decode(words[0], validate=True)
        elif len(words) == 4 and words[:2] == [MAGIC, VERSION]:
            epoch, secret = int(words[2]), base64.b64decode(words[3], validate=True)
        else:
            return None
    except (UnicodeDecodeError, ValueError, binascii.Error):
        return None
    return (epoch, secret) if len(secret) == SECRET_BYTES and epoch >= 0 else None


@dataclass(frozen=True)
class FileKeyStore:
    """``ledger.domain.vault.KeyStore`` on the key file and its side file."""

    path: Path

    @property
    def next(self) -> Path:
        return self.path.with_name(self.path.name + ".next")

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def read(self) -> tuple[int, bytes] | None:
        """The key file's (epoch, secret), or None."""
        return _read(self.path)

    def epochs(self) -> dict[str, int | None]:
        """What each file holds (``ledger vault status``)."""
        return {p.name: (r[0] if (r := _read(p)) else None) for p in (self.path, self.next) if p.exists()}

    def load(self, epoch: int) -> EpochKeys:
        """The keys of ``epoch`` from .next or the key file. The side file is read
        first: a rotation renames it over the key file, so an epoch the database
        has committed is always in one of the two at the moment each is read."""
        held: list[int] = []
        for attempt in range(READ_ATTEMPTS):
            held = []
            for p in (self.next, self.path):
                found = _read(p)
                if found and found[0] == epoch:
                    return EpochKeys(*found)
                if found:
                    held.append(found[0])
            time.sleep(0.01 * attempt)
        if held and all(e > epoch for e in held):
            raise EpochPassed(epoch, held)
        raise ConfigError(f"vault key file {self.path} holds epoch {held or 'none'}, the database is at epoch "
                          f"{epoch}: restore the key file of that epoch (docs/erasure.md)")

    def current(self) -> EpochKeys:
        """The key file's keys, for a process that has not read the database yet.
        After a crash between rotation steps 3 and 4 this is one epoch behind;
        ``Vault.keys`` catches up at the first database read."""
        found = _read(self.path) or _read(self.next)
        if found is None:
            raise ConfigError(f"vault key file {self.path} not found or not a key (set LEDGER_VAULT_KEY_FILE)")
        return EpochKeys(*found)

    def create(self, random: Random) -> EpochKeys:
        """A new vault at epoch 0, or the existing key file's keys."""
        if self.path.exists():
            return self.current()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        secret = random(SECRET_BYTES)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.{time.monotonic_ns()}.new")  # one per creator
        _write_durably(tmp, encode(0, secret))
        try:
            os.link(tmp, self.path)  # fails if another process created it first: theirs wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
        fsync_dir(self.path.parent)
        return self.current()

    # --- the rotation's file steps (ledger.domain.vault_rotation), under lock() ---------

    @contextmanager
    def lock(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # released by close, or by the kernel if the process dies
            yield
        finally:
            os.close(fd)

    def reconcile(self, epoch: int) -> None:
        """The database is at ``epoch``. A .next of that epoch is a committed rotation
        whose step 4 did not run: finish it. Any other .next is from a rotation that
        never committed: it protects nothing, destroy it."""
        staged = _read(self.next)
        if staged and staged[0] == epoch:
            self.promote(epoch)
        elif self.next.exists():
            _destroy(self.next)
        self.next.with_name(self.next.name + ".tmp").unlink(missing_ok=True)
        current = _read(self.path)
        if current is None or current[0] != epoch:
            raise ConfigError(f"vault key file {self.path} holds epoch {current[0] if current else 'none'}, the "
                              f"database is at epoch {epoch}: restore the key file of that epoch (docs/erasure.md)")

    def stage(self, epoch: int, secret: bytes) -> None:
        """Rotation step 1: .next holds the next epoch, durably (file and directory fsync'd)."""
        tmp = self.next.with_name(self.next.name + ".tmp")
        _write_durably(tmp, encode(epoch, secret))
        os.replace(tmp, self.next)
        fsync_dir(self.path.parent)

    def promote(self, epoch: int) -> None:
        """Rotation step 4: .next renamed over the key file (atomic; fsync'd directory),
        then the old secret's blocks overwritten through a descriptor opened before."""
        staged = _read(self.next)
        if staged is None or staged[0] != epoch:
            raise ConfigError(f"{self.next} does not hold vault epoch {epoch}")
        old = os.open(self.path, os.O_RDWR) if self.path.exists() else None
        try:
            os.replace(self.next, self.path)
            fsync_dir(self.path.parent)
            # The key file now names the new epoch; a crash from here on leaves only
            # the old secret's unlinked blocks, which the overwrite below zeroes.
            if old is not None:
                _zero(old)
        finally:
            if old is not None:
                os.close(old)


def open_vault(path: Path, *, create: bool = False, random: Random = os.urandom) -> Vault:
    """The vault of the key file at ``path``: its keys now, the next epoch's after a rotation."""
    store = FileKeyStore(path)
    return Vault(store.create(random) if create else store.current(), random, store=store)


def _read(path: Path) -> tuple[int, bytes] | None:
    try:
        return decode(path.read_bytes())
    except FileNotFoundError:
        return None


def _write_durably(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _zero(fd: int) -> None:
    size = os.fstat(fd).st_size
    os.pwrite(fd, b"\0" * size, 0)
    os.fsync(fd)


def _destroy(path: Path) -> None:
    fd = os.open(path, os.O_RDWR)
    try:
        _zero(fd)
    finally:
        os.close(fd)
    path.unlink()
    fsync_dir(path.parent)
