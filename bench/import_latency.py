"""A write waiting behind an import: one batch against chunks (ledger/log/imports.py).

    .venv/bin/python bench/import_latency.py [--quick] [--runs N] [--json OUT] [--engines sqlite,postgresql]

An import of N statements (100,000; 20,000 with --quick), signed beforehand
(untimed), is appended while a second process writes one statement every 50 ms
(``append_statements`` of one signed statement: what the API's mutation does
once its request is parsed) and records how long each write took, from the
call to its commit. Two ways to import, each in a fresh store, in the same run:

- **one batch**: ``append_statements`` of all N (the lock held throughout);
- **chunks**: ``append_in_chunks`` with the default chunk size and pause.

Reported per engine: the import's wall time and rate (chunks' rate as a ratio
of one batch's: what sharing the lock costs), and the writer's p50, p99 and
worst latency and its timeouts (a write that fails). Medians over --runs runs
(3; 1 with --quick). The writer's figure does not include the API's own
request handling (parsing, auth, the cost budget: bench/api.py measures those).
No assertions on timings: this script measures and reports.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402  # noqa: E402
    BAOTOU,
    HOHHOT,
    bootstrap,
    check_postgres,
    fresh_store,
    make_keyring,
    median,
    note,
    percentile,
    progress,
)
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from ledger.log.append import append_statements  # noqa: E402
from ledger.log.imports import CHUNK_SECONDS, append_in_chunks  # noqa: E402
from ledger.log.statement import sign_statement  # noqa: E402
from ledger.store.engine import make_engine  # noqa: E402

PROBE_EVERY = 0.05


def utc_now() -> datetime:
    return datetime.now(UTC)


def _probe(url: str, stop, ready, out) -> None:
    """The other writer: one statement every PROBE_EVERY s until ``stop``; its latencies."""
    engine, ring = make_engine(url), make_keyring()
    signer = ring.authorities[BAOTOU.id]
    latencies, failures, i = [], 0, 0
    ready.set()
    while not stop.is_set():
        s = sign_statement(note(f"probe-{time.monotonic_ns()}-{i}", BAOTOU), signer, utc_now())
        t = time.perf_counter()
        try:
            append_statements(engine, [s], utc_now)
            latencies.append(time.perf_counter() - t)
        except Exception:  # a timeout ("database is locked") or any failure: counted, not hidden
            failures += 1
        i += 1
        time.sleep(PROBE_EVERY)
    engine.dispose()
    out.put((latencies, failures))


def one_run(kind: str, mode: str, n: int, tmp: Path) -> dict:
    with fresh_store(kind, tmp) as store:
        ring = make_keyring()
        bootstrap(store.engine, ring)
        signer = ring.authorities[HOHHOT.id]
        at = utc_now()
        statements = [sign_statement(note(f"import-{i}"), signer, at) for i in range(n)]
        ctx = mp.get_context("spawn")
        stop, ready, out = ctx.Event(), ctx.Event(), ctx.Queue()
        probe = ctx.Process(target=_probe, args=(store.url, stop, ready, out))
        probe.start()
        ready.wait(60)
        time.sleep(0.5)  # a few uncontended writes first
        t = time.perf_counter()
        if mode == "batch":
            append_statements(store.engine, statements, utc_now)
        else:
            append_in_chunks(store.engine, statements, utc_now)  # sized by time
        secs = time.perf_counter() - t
        time.sleep(0.3)
        stop.set()
        latencies, failures = out.get(timeout=120)
        probe.join(30)
        return {"import_s": secs, "rate": n / secs, "p50": percentile(latencies, 50) if latencies else None,
                "p99": percentile(latencies, 99) if latencies else None,
                "max": max(latencies) if latencies else None, "writes": len(latencies), "failures": failures}


def bench(kind: str, n: int, runs: int, tmp: Path) -> dict:
    result = {}
    for mode in ("batch", "chunks"):
        samples = []
        for r in range(runs):
            progress(f"{kind}: import of {n:,} as {mode}, run {r + 1}/{runs}")
            samples.append(one_run(kind, mode, n, tmp))
        result[mode] = {k: median([s[k] for s in samples]) if all(s[k] is not None for s in samples) else None
                        for k in samples[0]}
        result[mode]["samples"] = samples
    result["chunk_rate_ratio"] = result["chunks"]["rate"] / result["batch"]["rate"]
    return result


def render(console: Console, results: dict) -> None:
    t = Table(title=f"A write during an import of {results['n']:,} statements (chunks of about {CHUNK_SECONDS} s of lock)")
    for col in ("engine", "import as", "import s", "entries/s", "write p50 ms", "write p99 ms", "worst ms",
                "writes", "failed"):
        t.add_column(col, justify="right" if col not in ("engine", "import as") else "left")
    for kind, r in results["engines"].items():
        for mode in ("batch", "chunks"):
            m = r[mode]

            def ms(x):
                return "-" if x is None else f"{x * 1000:,.0f}"
            t.add_row(kind, mode, f"{m['import_s']:.1f}", f"{m['rate']:,.0f}", ms(m["p50"]), ms(m["p99"]),
                      ms(m["max"]), f"{m['writes']:.0f}", f"{m['failures']:.0f}")
        t.add_row(kind, "chunks ÷ batch", "", f"{r['chunk_rate_ratio']:.2f}×", "", "", "", "", "")
    console.print(t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--engines", default="sqlite,postgresql")
    args = ap.parse_args()
    n = 20_000 if args.quick else 100_000
    runs = args.runs or (1 if args.quick else 3)
    results: dict = {"n": n, "runs": runs, "chunk_seconds": CHUNK_SECONDS, "engines": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.engines.split(","):
            if kind == "postgresql" and (why := check_postgres()):
                progress(f"skipping PostgreSQL: {why}")
                continue
            results["engines"][kind] = bench(kind, n, runs, Path(tmp))
    render(Console(), results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
