"""The nightly job's steps, one function each, so the Airflow DAG (and anything
else that schedules them) stays a thin edge: each task is one call here.

Every step is idempotent for its as-of date: a retry or a re-run does the same
thing again or nothing. Each returns a small JSON-able dict for the scheduler's
logs and XComs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from ledger.config import Settings
from ledger.errors import ConfigError, Problem, ValidationError
from ledger.finance import job as reconcile
from ledger.finance import snapshot
from ledger.finance.snapshot import SnapshotSource
from ledger.finance.sources import identity, open_source
from ledger.finance.staged_directory import staged, write_file
from ledger.log import publish, verifier_store
from ledger.log.operator import load_keyring, require_log_signer
from ledger.log.verify import verify_log
from ledger.signing import keystore
from ledger.signing.private_files import private_writer
from ledger.store.engine import make_engine

NIGHTLY_VERIFIER = "nightly"  # the row of ledger.store.schema.verifier_states this job resumes


def _now() -> datetime:
    return datetime.now(UTC)


def publish_checkpoint(settings: Settings, size: int | None = None) -> dict:
    """Sign the tree at ``size`` (the size the night verified; default the head). One
    checkpoint per size: a re-run returns the same."""
    engine = make_engine(settings.database_url)
    note, new = publish.publish(engine, require_log_signer(settings), settings.origin, _now, size=size)
    return {"size": int(note.splitlines()[1]), "new": new}


def verify_incremental(settings: Settings) -> dict:
    """Verify what is new since this job's last verified state, against the log's
    verifier key as published in the key directory. Raises ``IntegrityError`` naming
    the first bad seq: the run stops before anything is anchored. The state lives in
    the database (``ledger.log.verifier_store``, revision 0007), so any worker resumes
    it; it advances only after a successful verification, and is used only where a
    checkpoint signed by the trusted key vouches for it."""
    engine = make_engine(settings.database_url)
    vkey = keystore.vkey_path(settings.vkey_dir, settings.log_key_name)
    trusted = keystore.read_vkey(vkey) if vkey.exists() else None
    report, state = verify_log(engine, trusted_log_key=trusted, state=verifier_store.load(engine, NIGHTLY_VERIFIER, trusted),
                               workers=1)
    verifier_store.save(engine, NIGHTLY_VERIFIER, state, _now)  # a crash before this: the next night re-verifies more
    return {"size": report.size, "from_seq": report.start, "root": report.root.hex(),
            "checkpoints": report.checkpoints}


def snapshot_directory(out_dir: Path, as_of: date) -> Path:
    return out_dir / f"extract-{as_of.isoformat()}"


def extract(settings: Settings, source_spec: str, table: str | None, as_of: date, out_dir: Path,
            name: str | None = None) -> dict:
    """Snapshot the funding system's rows into ``out_dir/extract-<as_of>/funding.csv``
    (``ledger.finance.snapshot``: spreadsheet-safe, and read back exactly) so that
    reconciling and any re-run read exactly the same input.

    Once the night is anchored for this source, its snapshot is the anchored input:
    it is reused, never re-read from the live source nor rewritten (decision 0014).
    Otherwise the directory is written beside its place and renamed into it: a crash
    or a refused source leaves the previous snapshot or none, never half of one."""
    reconcile.check_finished(as_of, _now())
    label = identity(source_spec, table, name)
    target = snapshot_directory(out_dir, as_of)
    with make_engine(settings.database_url).connect() as conn:
        previous = reconcile.anchored(conn, as_of, label)
    if previous is not None and _snapshot_of(target) == label:
        # The anchored input. A snapshot changed since is caught by the reconcile
        # step: its report would differ from the anchored one, and be refused.
        return {"path": str(target / "funding.csv"), "rows": previous.body["input_rows"], "source": label,
                "reused": True}
    source = open_source(source_spec, table, name)
    if previous is not None and target.exists():
        # Anchored for this source, but the directory holds another source's snapshot: leave it.
        raise ConfigError(f"ledger_report_dir: {target} holds a snapshot of {_snapshot_of(target)}, not of {label}; "
                          "use another report directory per funding system")
    try:
        with staged(target) as stage:
            with private_writer(stage / "funding.csv", text=True, newline="") as f:
                rows = snapshot.write(f, source.rows())
            write_file(stage / "source.txt", (source.label + "\n").encode())
    except OSError as e:
        raise ConfigError(f"ledger_report_dir: cannot write the snapshot to {target}: {e.strerror or e}") from e
    return {"path": str(target / "funding.csv"), "rows": rows, "source": source.label, "reused": False}


def _snapshot_of(directory: Path) -> str | None:
    try:
        return (directory / "source.txt").read_text(encoding="utf-8").strip()
    except OSError:
        return None


def reconcile_snapshot(settings: Settings, snapshot_path: str, as_of: date, out_dir: Path,
                       unpaid_days: int = 90) -> dict:
    """Reconcile the snapshot ``extract`` wrote (under the original source's identity)."""
    label = _snapshot_of(Path(snapshot_path).parent)
    if label is None:
        raise ValidationError([Problem("snapshot", f"no source.txt beside {snapshot_path}: run the extract again")])
    engine = make_engine(settings.database_url)
    vault = settings.vault() if settings.vault_key_file.exists() else None
    p = reconcile.produce(engine, vault, SnapshotSource(Path(snapshot_path), label), as_of, out_dir,
                          now=_now(), unpaid_days=unpaid_days)
    return {"directory": str(p.directory), "report_sha256": p.report_sha256, "rows": p.result.rows,
            "counts": p.result.counts, "tree_size": p.report["tree_size"]}


def anchor_report(settings: Settings, directory: str) -> dict:
    engine = make_engine(settings.database_url)
    e = reconcile.anchor(engine, load_keyring(engine, settings), Path(directory), _now)
    return {"seq": e.seq, "report_sha256": e.body["report_sha256"], "as_of": e.body["as_of"]}


def witness_cosign(settings: Settings, witness_key: str, state_path: Path) -> dict:
    """The witness's round: cosign the newest checkpoint if it extends the last one
    this witness cosigned (else ``ForkDetected``, with an evidence file)."""

    signer = keystore.load(witness_key, settings.key_dir, settings.passphrase, witness=True)
    log_key = keystore.read_vkey(keystore.vkey_path(settings.vkey_dir, settings.log_key_name))
    _, size = publish.cosign_latest(make_engine(settings.database_url), state_path, signer, log_key, _now)
    return {"size": size, "witness": witness_key}
