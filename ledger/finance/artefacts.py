"""The night's artefacts between a task's scratch directory and a shared store.

Scope: copying the directories the nightly steps read and write
(``extract-<as_of>/``, ``reconciliation-<as_of>/`` and the refused results beside
it) from a store into a local scratch directory before a step, and back after
it, so that no task depends on another task's local disk (decision 0021). The
store is anything path-like with ``iterdir``, ``is_dir``, ``exists``,
``read_bytes``, ``write_bytes``, ``mkdir`` and ``/``: a ``pathlib.Path``, or
Airflow's ``ObjectStoragePath`` over any fsspec filesystem (the DAG's side:
dags/ledger_storage.py). No Airflow here: the core imports no edge.

Non-scope: deciding what may be written. The steps themselves never rewrite an
anchored snapshot or report (decision 0014); ``push`` copies what they left,
and refuses to replace a file whose bytes differ when ``immutable`` says its
directory is anchored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ledger.errors import ConfigError


def pull(store: Any, names: list[str], scratch: Path) -> list[str]:
    """Copy each directory ``store/name`` that exists into ``scratch/name``; return
    the names copied. A name absent from the store is absent from scratch."""
    copied = []
    for name in names:
        src = store / name
        if src.exists() and src.is_dir():
            _copy_down(src, scratch / name)
            copied.append(name)
    return copied


def _copy_down(src: Any, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for child in src.iterdir():
        if child.is_dir():
            _copy_down(child, dst / child.name)
        else:
            (dst / child.name).write_bytes(child.read_bytes())


def push(scratch: Path, store: Any, immutable: frozenset[str] = frozenset()) -> list[str]:
    """Copy every file under ``scratch`` to the same name under ``store`` whose bytes
    there differ or are missing; return the relative names written. Directories
    named in ``immutable`` (anchored) must already hold the same bytes: a
    difference raises ``ConfigError`` and nothing of that directory is written.
    Hidden entries (a staged directory's leftovers, ``.<name>.<hex>.new``) are skipped.

    What a crash leaves: objects are written one by one (one PUT each on an object
    store), each complete or absent; a directory may be partly copied until the
    step is run again, which copies the rest (each step is idempotent for its
    night). The report file is written last in each directory, so a report.json
    in the store means its directory is complete."""
    written = []
    for top in sorted(p for p in scratch.iterdir() if not p.name.startswith(".")):
        files = sorted(_files(top), key=lambda f: (f.name == "report.json", str(f)))
        plan = [(f, store / str(f.relative_to(scratch))) for f in files]
        changed = [(f, t) for f, t in plan if not (t.exists() and t.read_bytes() == f.read_bytes())]
        if changed and top.name in immutable:
            raise ConfigError(f"ledger_artefact_base: {top.name} is anchored and the store holds other bytes for "
                              f"{changed[0][1]}; anchored artefacts are never rewritten (decision 0014)")
        for f, t in changed:
            t.parent.mkdir(parents=True, exist_ok=True)
            t.write_bytes(f.read_bytes())
            _private(t, store)
            written.append(str(f.relative_to(scratch)))
    return written


def _local_path(target: Any) -> Path | None:
    """The file system path of ``target`` when it is on this machine's disk (a
    ``Path``, or an ``ObjectStoragePath`` over file://); None on an object store."""
    if isinstance(target, Path):
        return target
    return Path(target.path) if getattr(target, "protocol", None) in ("file", "local") else None


def _private(target: Any, store: Any) -> None:
    """Reports name subjects and amounts (PIPL): on a local or mounted store they are
    0600 and their directories up to the store's base 0700, like the ledger's own
    files, whatever the worker's umask. An object store's access rules are its own
    (docs/deployment.md)."""
    path, base = _local_path(target), _local_path(store)
    if path is None or base is None:
        return
    path.chmod(0o600)
    for parent in path.parents:
        if parent == base or base not in parent.parents:
            break
        parent.chmod(0o700)


def _files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return [directory]
    out: list[Path] = []
    for p in directory.iterdir():
        if p.name.startswith("."):
            continue
        out.extend(_files(p) if p.is_dir() else [p])
    return out
