"""Verification throughput: full verify on one and both cores, and incremental
verify of new entries on a large log, each next to baselines measured in the
same run.

    .venv/bin/python bench/verify.py [--quick] [--runs N] [--json OUT] [--cache DIR]

Logs are real: genesis, two authority keys, then ``note.recorded`` entries
appended through ``append_entries`` in batches (seeded Ed25519 keys, a fixed
clock), so every entry carries a real per-entry signature and the stored tree
is the append path's.

1. **Full verify** (``verify_log`` from an empty state) of a log of 50,000
   entries (10,000 with --quick; the rate does not depend on the size, and the
   1,000,000-entry full verify of section 2 gives a second figure), with ``workers=1`` (everything in one
   process) and ``workers=2`` (signatures in two worker processes while the
   main process decodes, hashes and chains). Baselines in the same run, over
   the same log: reading every row (``SELECT`` of the entries in chunks,
   nothing checked), and the signatures alone, checked by libsodium in two
   processes (the ceiling set by Ed25519 on this machine: verification can
   never beat it). With the two-core runs, the CPU time per entry of the main
   process and of the workers (``getrusage``): the main process's share caps
   the rate whatever the number of cores, the sum caps it on two.
2. **Incremental verify** of 10,000 new entries (1,000 with --quick) on a log
   of 1,000,000 (30,000): the verifier's saved state at the large size is
   read from the log this script built (``state_of_built_log``: the stored
   border and root, the last entry, the key entries replayed; exactly what a
   full verify would save, without its ~1.5 minutes), then 10,000 entries
   are appended and ``verify_log(state=...)`` timed (a copy of the state each
   run; a wrong state would fail its consistency check). Baseline: the same full-verify rate, i.e. what re-verifying only the
   new entries should cost; the ratio shows the fixed cost (consistency proof,
   checkpoints, process start).

Building the large log dominates the wall time (about 100-200 s at 1M);
``--cache DIR`` keeps the logs and the saved state and reuses them.
No assertions on timings: this script measures and reports.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.common import bootstrap, make_keyring, note, progress  # noqa: E402
from ledger.log import merkle  # noqa: E402
from ledger.log.append import append_entries  # noqa: E402
from ledger.log.entry import from_canonical  # noqa: E402
from ledger.log.verify import VerifierState, bad_signatures, verify_log  # noqa: E402
from ledger.store import log_store, schema  # noqa: E402
from ledger.store.engine import make_engine  # noqa: E402
from ledger.store.migrate import upgrade  # noqa: E402

BATCH = 5_000


class Clock:
    """Deterministic recorded_at (1 ms apart), resumable from the log's last entry."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


def _size(engine) -> int:
    with engine.connect() as conn:
        return log_store.size(conn)


def _extend(engine, ring, clock, upto: int, tag: str) -> float:
    """Append notes until the log holds ``upto`` entries; return the seconds taken."""
    have = _size(engine)
    t = time.perf_counter()
    while have < upto:
        n = min(BATCH, upto - have)
        append_entries(engine, [note(f"{tag}-{have + i}") for i in range(n)], ring, clock)
        have += n
        if have % 100_000 < n:
            progress(f"  {have:,} entries")
    return time.perf_counter() - t


def open_log(path: Path, size: int) -> tuple:
    """A signed log of exactly ``size`` entries at ``path`` (reused if it is that size)."""
    url = f"sqlite:///{path}"
    ring = make_keyring()
    if path.exists():
        engine = make_engine(url)
        if _size(engine) == size:
            return engine, ring, _clock_after(engine), 0.0
        engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = make_engine(url)
    upgrade(engine)
    clock = Clock(datetime(2026, 1, 5, 8, tzinfo=UTC))
    bootstrap(engine, ring, clock)
    progress(f"building a signed log of {size:,} entries at {path.name}")
    return engine, ring, clock, _extend(engine, ring, clock, size, "v")


def _clock_after(engine) -> Clock:
    with engine.connect() as conn:
        last = log_store.head(conn).recorded_at
    return Clock(datetime.strptime(last, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC))


def read_all(engine, chunk: int = 10_000) -> float:
    size, t = _size(engine), time.perf_counter()
    with engine.connect() as conn:
        for lo in range(0, size, chunk):
            for _ in log_store.entry_rows(conn, lo, min(lo + chunk, size)):
                pass
    return time.perf_counter() - t


def signatures_only(engine, workers: int = 2) -> float:
    """libsodium over every entry's (key, signing bytes, signature), in ``workers``
    processes, the work prepared beforehand (untimed): the Ed25519 ceiling."""
    from ledger.log import entry_types
    from ledger.log.entry import from_canonical
    from ledger.signing.key_registry import KeyRegistry

    size, registry, batch = _size(engine), KeyRegistry(), []
    with engine.connect() as conn:
        for row in log_store.entry_rows(conn, 0, size):
            e = from_canonical(bytes(row.canonical))
            key = registry.signing_key(e, log_signed=entry_types.get(e.type).signed_by == "log")
            batch.append((e.seq, key.public, e.signing_bytes, e.signature))
            registry.apply(e)
    step = len(batch) // (workers * 4) + 1
    parts = [batch[i:i + step] for i in range(0, len(batch), step)]
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(bad_signatures, parts[:workers]))  # start the workers before timing
        t = time.perf_counter()
        bad = [b for r in pool.map(bad_signatures, parts) for b in r]
        secs = time.perf_counter() - t
    assert not bad, bad[:3]
    return secs


def bench_full(engine, runs: int) -> dict:
    size = _size(engine)
    samples: dict[str, list[float]] = {"one": [], "two": [], "read": [], "sigs": [], "main_cpu": [], "worker_cpu": []}
    for r in range(runs):
        progress(f"full verify run {r + 1}/{runs} ({size:,} entries)")
        for name, workers in (("one", 1), ("two", 2)) if r % 2 == 0 else (("two", 2), ("one", 1)):
            cpu = _cpu()
            t = time.perf_counter()
            report, _ = verify_log(engine, workers=workers)
            samples[name].append(time.perf_counter() - t)
            assert report.size == size and report.signatures == size
            if name == "two":  # where the work went: the main process's share bounds the rate on any number of cores
                main, workers_cpu = (b - a for a, b in zip(cpu, _cpu()))
                samples["main_cpu"].append(main)
                samples["worker_cpu"].append(workers_cpu)
        samples["read"].append(read_all(engine))
        samples["sigs"].append(signatures_only(engine))
    med = {k: statistics.median(v) for k, v in samples.items()}
    return {"entries": size, "runs": runs, "one_core_eps": size / med["one"], "two_cores_eps": size / med["two"],
            "read_rows_eps": size / med["read"], "signatures_only_eps": size / med["sigs"],
            "speedup": med["one"] / med["two"], "share_of_ceiling": med["sigs"] / med["two"],
            "main_cpu_us": med["main_cpu"] / size * 1e6, "worker_cpu_us": med["worker_cpu"] / size * 1e6,
            "signature_cpu_us": 2 * med["sigs"] / size * 1e6, "samples_s": samples}


def _cpu() -> tuple[float, float]:
    """CPU seconds so far of this process and of its finished children (the pool's workers)."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def state_of_built_log(engine, size: int) -> VerifierState:
    """The verifier state at ``size`` of a log this script appended itself: tree
    border and root from the stored nodes, the last entry's hash and time, the
    key registry replayed from the log's key entries."""
    with engine.connect() as conn:
        border = log_store.read_nodes(conn, merkle.perfect_pieces(0, size))
        last = next(iter(log_store.entry_rows(conn, size - 1, size)))
        st = VerifierState(size=size, root=merkle.fold([border[a] for a in merkle.perfect_pieces(0, size)]),
                           last_leaf_hash=bytes(last.leaf_hash).hex(), last_recorded_at=last.recorded_at,
                           border=border)
        keys = conn.execute(sa.select(schema.entries.c.canonical).where(
            schema.entries.c.type.in_(("log.initialized", "key.registered", "key.revoked")),
            schema.entries.c.seq < size).order_by(schema.entries.c.seq))
        for (data,) in keys:
            st.registry.apply(from_canonical(bytes(data)))
    return st


def bench_incremental(engine, ring, clock, state_path: Path, base: int, extra: int, runs: int) -> dict:
    out: dict = {"base": base, "new_entries": extra}
    state = VerifierState.load(state_path) if state_path.exists() else None
    if state is None or state.size != base:
        # The state a full verify of the log we just built would end with, read
        # from that log (a full verify of 1M entries would add ~1.5 minutes to
        # `make bench`). A wrong state cannot pass unnoticed: the incremental
        # verify below proves the grown tree consistent with this root.
        t = time.perf_counter()
        state = state_of_built_log(engine, base)
        out["state_from_build_s"] = time.perf_counter() - t
        state.save(state_path)
    progress(f"appending {extra:,} new entries")
    _extend(engine, ring, clock, base + extra, "new")
    samples = []
    for _ in range(runs):
        s = copy.deepcopy(state)
        t = time.perf_counter()
        report, _ = verify_log(engine, workers=2, state=s)
        samples.append(time.perf_counter() - t)
        assert report.start == base and report.size == base + extra
    out.update({"runs": runs, "incremental_s": statistics.median(samples),
                "incremental_eps": extra / statistics.median(samples), "samples_s": samples})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="10k / 30k-entry logs, 1,000 new entries")
    ap.add_argument("--runs", type=int, help="runs per figure (default 3)")
    ap.add_argument("--json", dest="out", metavar="OUT")
    ap.add_argument("--cache", metavar="DIR", type=Path, help="keep the logs (and the verifier state) here")
    args = ap.parse_args()
    runs = args.runs or 3
    full_n, base, extra = (10_000, 30_000, 1_000) if args.quick else (50_000, 1_000_000, 10_000)
    started = time.perf_counter()
    tmp = tempfile.TemporaryDirectory(prefix="bench-verify-")
    d = args.cache or Path(tmp.name)
    d.mkdir(parents=True, exist_ok=True)
    result: dict = {"command": " ".join(shlex.quote(a) for a in [".venv/bin/python", "bench/verify.py", *sys.argv[1:]]),
                    "environment": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                    "platform": platform.platform()}}
    engine, _, _, built = open_log(d / f"full-{full_n}.db", full_n)
    result["full"] = bench_full(engine, runs) | {"build_s": built}
    engine.dispose()
    # The incremental log grows by `extra` each run of the script: rebuild it from a
    # copy-free start by trimming is impossible (append-only), so a cached log is
    # reused only at exactly `base` entries, and the new entries go into a scratch copy.
    big = d / f"incremental-{base}.db"
    engine, ring, clock, built = open_log(big, base)
    engine.dispose()
    scratch = Path(tmp.name) / "incremental-scratch.db"
    _copy_sqlite(big, scratch)
    engine = make_engine(f"sqlite:///{scratch}")
    result["incremental"] = bench_incremental(engine, ring, _clock_after(engine), d / f"state-{base}.json", base,
                                              extra, runs) | {"build_s": built}
    engine.dispose()
    result["elapsed_s"] = time.perf_counter() - started
    render(Console(), result)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1))
    tmp.cleanup()


def _copy_sqlite(src: Path, dst: Path) -> None:
    """A consistent copy of a SQLite database (the backup API; WAL included)."""
    import sqlite3

    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)


def render(console: Console, r: dict) -> None:
    f, inc = r["full"], r["incremental"]
    console.print(f"command: {r['command']}", highlight=False)
    t = Table(title=f"Full verify of {f['entries']:,} signed entries (medians of {f['runs']})")
    for c in ("what", "entries/s", "vs two-core verify"):
        t.add_column(c, justify="left" if c == "what" else "right")
    t.add_row("verify_log, 1 process", f"{f['one_core_eps']:,.0f}", f"{f['one_core_eps'] / f['two_cores_eps']:.2f}×")
    t.add_row("verify_log, both cores (workers=2)", f"{f['two_cores_eps']:,.0f}", "1.00×")
    t.add_row("baseline: read every row, nothing checked", f"{f['read_rows_eps']:,.0f}",
              f"{f['read_rows_eps'] / f['two_cores_eps']:.2f}×")
    t.add_row("baseline: signatures alone, libsodium, 2 processes", f"{f['signatures_only_eps']:,.0f}",
              f"{f['signatures_only_eps'] / f['two_cores_eps']:.2f}×")
    console.print(t)
    console.print(f"CPU per entry, both cores: main process {f['main_cpu_us']:.1f} µs, workers {f['worker_cpu_us']:.1f} µs;"
                  f" the signatures alone {f['signature_cpu_us']:.1f} µs", highlight=False)
    t = Table(title=f"Incremental verify of {inc['new_entries']:,} new entries on a log of {inc['base']:,} "
                    f"(median of {inc['runs']})")
    for c in ("what", "seconds", "entries/s"):
        t.add_column(c, justify="left" if c == "what" else "right")
    t.add_row("verify_log(state=saved at the base size)", f"{inc['incremental_s']:.2f}", f"{inc['incremental_eps']:,.0f}")
    if "full_verify_at_base_s" in inc:
        t.add_row(f"(one full verify of the {inc['base']:,}-entry log, both cores)", f"{inc['full_verify_at_base_s']:.1f}",
                  f"{inc['full_verify_at_base_eps']:,.0f}")
    t.add_row("baseline: the full-verify rate for the same number of entries",
              f"{inc['new_entries'] / f['two_cores_eps']:.2f}", f"{f['two_cores_eps']:,.0f}")
    console.print(t)
    console.print(f"elapsed: {r['elapsed_s']:.0f} s", highlight=False)


if __name__ == "__main__":
    main()
