"""A directory replaced as a whole: its files are written into a fresh directory
beside it, which then takes its place by rename.

Scope: "the reports are complete or absent" (docs/reconciliation.md): a reader
of ``target`` sees the old complete set of files, the new complete set, or (for
the instant between two renames, or after a crash there) no directory, never a
mix or a half-written file. Non-scope: what the files hold.

POSIX rename(2) replaces a directory only if the target is empty, so an
existing target is first renamed aside, then removed.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ledger.signing.private_files import DIR_MODE, FILE_MODE, fsync_dir, private_dir


@contextmanager
def staged(target: Path) -> Iterator[Path]:
    """Yield a new empty directory; when the block succeeds it becomes ``target``
    (replacing any old one), when it raises it is removed and ``target`` is untouched."""
    private_dir(target.parent)
    stage = target.parent / f".{target.name}.{secrets.token_hex(6)}.new"
    # Reports name subjects and amounts: 0700 whatever the umask (docs/keys-and-files.md).
    stage.mkdir(mode=DIR_MODE)
    os.chmod(stage, DIR_MODE)
    try:
        yield stage
        fsync_dir(stage)  # the new files' names reach the disk before they go live
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    _swap(stage, target)


def write_file(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _swap(stage: Path, target: Path) -> None:
    try:
        os.rename(stage, target)  # no old directory (or an empty one): one atomic step
        return
    except OSError:
        if not os.path.lexists(target):
            raise
    aside = target.parent / f".{target.name}.{secrets.token_hex(6)}.old"
    os.rename(target, aside)
    # A crash here leaves no target and the old files in ``aside``: a re-run
    # writes the target again (a run is idempotent for its date).
    os.rename(stage, target)
    # A crash here leaves ``aside`` behind, which nothing reads.
    if aside.is_dir() and not aside.is_symlink():
        shutil.rmtree(aside, ignore_errors=True)
    else:
        aside.unlink(missing_ok=True)
