"""Eligibility / status latency at scale (docs/benchmarks.md §4): ``ledger status`` answers
from the projections with a handful of indexed reads, so its cost should not
grow with the log.

The log is synthetic but shaped like the real one: N subjects with sanctions,
grants and clawbacks spread over `size` entries. Projection rows and entry
rows are bulk-inserted directly (building a million signed entries through the
append path takes longer than this benchmark's budget; bench/append.py
measures that path). The baseline is one primary-key lookup of an entry row,
measured in the same run.

    .venv/bin/python bench/status.py [--quick] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from bench.common import bulk_load  # noqa: E402
from ledger.domain import status  # noqa: E402
from ledger.store.engine import make_engine  # noqa: E402
from ledger.store.migrate import upgrade  # noqa: E402
from ledger.store.schema import entries  # noqa: E402


def build(path: Path, size: int, subjects: int, seed: int = 1) -> list[str]:
    """``subjects`` random references and ``size`` entry rows over them with their
    projection rows (5% sanctions, some ended; 45% grants; 5% clawbacks), loaded
    through the driver (bench.common.bulk_load); returns the references."""
    rng = random.Random(seed)
    refs = [rng.randbytes(32).hex() for _ in range(subjects)]
    bulk_load(path, size, refs, seed)
    return refs


def median_ms(f, items) -> float:
    samples = []
    for x in items:
        t = time.perf_counter()
        f(x)
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", dest="out")
    args = ap.parse_args()
    size, subjects = (100_000, 10_000) if args.quick else (1_000_000, 100_000)
    print(f"# command: .venv/bin/python bench/status.py{' --quick' if args.quick else ''}", flush=True)
    with tempfile.TemporaryDirectory() as d:
        engine = make_engine(f"sqlite:///{d}/status.db")
        upgrade(engine)
        engine.dispose()  # the load runs on its own connection
        t = time.perf_counter()
        refs = build(Path(d) / "status.db", size, subjects)
        build_s = time.perf_counter() - t
        rng = random.Random(2)
        sample = [rng.choice(refs) for _ in range(300)]
        on = date(2026, 7, 1)
        elig = median_ms(lambda s: status.eligibility(engine, s, "subsidy", None, "150102", on), sample)
        past = median_ms(lambda s: status.eligibility(engine, s, "subsidy", None, "150102", on, size // 2), sample)
        stat = median_ms(lambda s: status.status(engine, s, on), sample)
        with engine.connect() as conn:
            seqs = iter(rng.randrange(size) for _ in range(300))
            lookup = median_ms(lambda _: conn.execute(sa.select(entries.c.type).where(entries.c.seq == next(seqs))).one(),
                               range(300))
    result = {"entries": size, "subjects": subjects, "build_s": round(build_s, 1),
              "eligibility_ms": round(elig, 3), "eligibility_known_at_ms": round(past, 3),
              "status_ms": round(stat, 3), "pk_lookup_ms": round(lookup, 3),
              "eligibility_vs_lookup": round(elig / lookup, 1)}
    print(json.dumps(result), flush=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
