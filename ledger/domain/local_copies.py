"""Copies of a subject's personal data this host keeps outside the vault, and what
erasure does with them (docs/erasure.md; PIPL Art. 47).

In scope: evidence bundles the API keeps for download under the state
directory (``var/exports/<id>.zip`` with its ``<id>.json``; docs/evidence.md).
A bundle that discloses a subject holds its scheme, number, salt and name in
``subjects/<ref>.json`` (and its name in the report): erasure deletes the
bundle and its sidecar. The ``evidence.exported`` custody entry stays in the
log: it names only references, and it is the record of who received a copy.

Not in scope: bundles written by ``ledger export --out`` to a path the operator
chose, and bundles already handed to a court. The ledger does not keep them;
``custody`` lists the export entries that disclosed the subject so the data
protection officer can follow them up.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Connection, select

from ledger.log.entry import from_canonical
from ledger.store.schema import entries, subjects

MEMBER = re.compile(r"subjects/([0-9a-f]{64})\.json")  # docs/evidence.md: a disclosure
RAW_MEMBER = re.compile(MEMBER.pattern.encode())


def disclosed(bundle: Path) -> set[str]:
    """The references whose disclosure ``bundle`` holds. A bundle a crash left
    half-written (``.zip.tmp``) is read raw: zip headers carry member names uncompressed."""
    try:
        with zipfile.ZipFile(bundle) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError):
        return {m.decode() for m in RAW_MEMBER.findall(bundle.read_bytes())}
    return {m.group(1) for n in names if (m := MEMBER.fullmatch(n))}


def disclosing(export_dir: Path, refs: Iterable[str]) -> list[Path]:
    """Bundles under ``export_dir`` (complete, or half-written) that disclose any of ``refs``."""
    wanted = set(refs)
    if not wanted or not export_dir.is_dir():
        return []
    return [p for p in sorted(export_dir.iterdir())
            if p.name.endswith((".zip", ".zip.tmp")) and p.is_file() and disclosed(p) & wanted]


def remove_disclosing(export_dir: Path, refs: Iterable[str]) -> tuple[Path, ...]:
    """Delete every bundle (and its ``.json`` sidecar) that discloses any of ``refs``;
    return the bundles deleted. Idempotent."""
    removed = []
    for bundle in disclosing(export_dir, refs):
        _overwrite_and_unlink(bundle)
        bundle.with_name(bundle.name.split(".zip")[0] + ".json").unlink(missing_ok=True)
        removed.append(bundle)
    return tuple(removed)


def erased(conn: Connection) -> set[str]:
    """Every erased subject's reference: what ``ledger vault rotate`` sweeps the bundles for,
    so an erasure interrupted before its step 3 is completed too."""
    return set(conn.execute(select(subjects.c.ref).where(subjects.c.erased_seq.is_not(None))).scalars())


def custody(conn: Connection, ref: str) -> tuple[int, ...]:
    """Seqs of ``evidence.exported`` entries that released ``ref``'s identity."""
    rows = conn.execute(select(entries.c.seq, entries.c.canonical).where(entries.c.type == "evidence.exported")
                        .order_by(entries.c.seq))
    return tuple(int(r.seq) for r in rows if ref in from_canonical(bytes(r.canonical)).body.get("subjects", ()))


def _overwrite_and_unlink(path: Path) -> None:
    """Best effort against the file system keeping the blocks (see vault_keys)."""
    fd = os.open(path, os.O_RDWR)
    try:
        os.pwrite(fd, b"\0" * os.fstat(fd).st_size, 0)
        os.fsync(fd)
    finally:
        os.close(fd)
    path.unlink()
