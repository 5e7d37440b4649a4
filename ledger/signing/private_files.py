"""Files at rest that only the ledger's own user may read: private keys, evidence
exports, reconciliation reports, state files (docs/keys-and-files.md).

Scope: creating such files 0600 and their directories 0700 whatever the
process's umask, atomically (temporary file in the same directory, fsync,
rename, fsync of the directory). Non-scope: what goes in them, the SQLite
database file (``ledger.store.engine``), and public files (verifier keys).

Why here and not in a top-level module: the layer rules allow only ``config``
and ``errors`` at the top of ``ledger`` (docs/decisions/0010). ``signing`` is
below every writer that needs it (log, domain, finance, evidence, api).

Rules:
- A file is created with ``O_CREAT | O_EXCL`` and mode 0600, then ``fchmod``-ed to
  exactly 0600, so it is never readable by group or others, even for an instant,
  and a umask that strips owner bits cannot leave it unreadable either.
- Directories the ledger creates are 0700. Directories that already exist are
  left as they are: the operator's ``--out`` directory is the operator's choice.
- A crash leaves the old file or the new one, never half of one (rename is
  atomic on POSIX); a stray ``.<name>.<random>.tmp`` may remain and is ignored.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents, each new one 0700; return ``path``."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=DIR_MODE)
        except FileExistsError:  # created meanwhile by another process: not ours to change
            continue
        os.chmod(d, DIR_MODE)  # mkdir's mode is masked by the umask; state it exactly
    return path


@contextlib.contextmanager
def private_writer(path: Path, *, text: bool = False, exclusive: bool = False,
                   newline: str | None = None) -> Iterator[IO[Any]]:
    """Write ``path`` 0600, atomically: yield the temporary file; on a clean exit
    it is flushed, fsynced and renamed over ``path`` (or, with ``exclusive``,
    linked to ``path`` only if nothing is there yet: ``FileExistsError`` otherwise)."""
    directory = private_dir(path.parent)
    tmp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        mode = "w" if text else "wb"
        with os.fdopen(fd, mode, encoding="utf-8" if text else None, newline=newline if text else None) as f:
            fd = -1  # the file object owns it now
            yield f
            f.flush()
            os.fsync(f.fileno())
        if exclusive:
            os.link(tmp, path)  # fails if path exists: never overwrite (a private key)
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
        fsync_dir(directory)  # the rename itself is durable
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_private(path: Path, data: bytes | str, *, exclusive: bool = False) -> Path:
    """Write ``data`` to ``path``, 0600, atomically (``private_writer``)."""
    with private_writer(path, text=isinstance(data, str), exclusive=exclusive) as f:
        f.write(data)
    return path


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable (the directory entry itself)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
