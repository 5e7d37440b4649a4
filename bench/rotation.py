"""The cost of a vault key rotation with N live subjects (docs/erasure.md): what every
erasure and every ``ledger vault rotate`` pays.

Method: a fresh store (SQLite file, or a PostgreSQL schema as the application role)
with N subjects sealed under a key file in a temporary directory, inserted in bulk.
Timed: ``ledger.domain.vault_rotation.rotate``: the key file's lock, the append
lock, staging the next key (fsync), re-wrapping every live data key and
recomputing its blind index, the UPDATEs, the commit, the rename over the key
file (fsync), and on SQLite the TRUNCATE checkpoint. Also shown: the pure crypto
share (``vault.rewrap`` over the same rows, no database). Medians of --runs
rotations; each run rotates the previous run's epoch.

    .venv/bin/python bench/rotation.py [--quick] [--subjects 1000,10000] [--engines sqlite,postgresql] [--runs 5] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from common import check_postgres, fresh_store, median, utc_now  # noqa: I001
from sqlalchemy import insert, select

from ledger.domain.identifiers import Identifier
from ledger.domain.vault import EpochKeys, rewrap, seal
from ledger.domain.vault_keys import open_vault
from ledger.domain.vault_rotation import rotate
from ledger.store.schema import subjects


def seed(engine, vault, n: int) -> None:
    rows = []
    for i in range(n):
        s = seal(vault.current, Identifier("passport", f"DEU/E{i:08d}"), f"受试者{i}", os.urandom)
        rows.append({"ref": s.ref, "kind": s.kind, "blind_index": s.blind_index, "wrapped_key": s.wrapped_key,
                     "payload": s.payload, "created_at": "2026-01-01T00:00:00.000000Z", "erased_seq": None,
                     "key_epoch": s.epoch})
    with engine.begin() as conn:
        for lo in range(0, n, 10_000):
            conn.execute(insert(subjects), rows[lo:lo + 10_000])


def crypto_only(engine, keys: EpochKeys) -> float:
    with engine.connect() as conn:
        rows = conn.execute(select(subjects.c.ref, subjects.c.wrapped_key, subjects.c.payload)).all()
    new = EpochKeys(keys.epoch + 1, os.urandom(32))
    t0 = time.perf_counter()
    for r in rows:
        rewrap(keys, new, r.ref, bytes(r.wrapped_key), bytes(r.payload), os.urandom)
    return time.perf_counter() - t0


def measure(kind: str, n: int, runs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp, fresh_store(kind, Path(tmp)) as store:
        vault = open_vault(Path(tmp) / "var" / "vault.key", create=True)
        seed(store.engine, vault, n)
        crypto = crypto_only(store.engine, vault.current)
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            r = rotate(store.engine, vault, utc_now)
            times.append(time.perf_counter() - t0)
            assert r.subjects == n
        return {"engine": kind, "subjects": n, "runs": runs, "median_s": median(times), "min_s": min(times),
                "max_s": max(times), "crypto_s": crypto, "per_subject_us": median(times) / n * 1e6}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1,000 subjects, 3 runs")
    ap.add_argument("--subjects", default="1000,10000,100000")
    ap.add_argument("--engines", default="sqlite,postgresql")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    sizes = [1000] if a.quick else [int(x) for x in a.subjects.split(",")]
    runs = 3 if a.quick else a.runs
    engines = a.engines.split(",")
    if "postgresql" in engines and (why := check_postgres()):
        print(f"PostgreSQL skipped: {why}")
        engines.remove("postgresql")
    results = [measure(kind, n, runs) for kind in engines for n in sizes]
    print(f"{'engine':<11}{'subjects':>10}{'median s':>10}{'min s':>9}{'max s':>9}{'µs/subject':>12}{'crypto s':>10}")
    for r in results:
        print(f"{r['engine']:<11}{r['subjects']:>10,}{r['median_s']:>10.3f}{r['min_s']:>9.3f}{r['max_s']:>9.3f}"
              f"{r['per_subject_us']:>12.1f}{r['crypto_s']:>10.3f}")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps({"rotation": results}, indent=2))


if __name__ == "__main__":
    main()
