"""Proof generation cost at 10k, 100k and 1M entries (should stay flat), and
full / incremental verification rates.

Proofs only read the tree (entries.leaf_hash and tree_nodes), so the proof
trees are built directly: random 32-byte leaf hashes, their perfect subtrees
computed by ledger.merkle.integrate and bulk-inserted. The tree has exactly the
shape and row counts of a real log of that size. Verification needs real
signed entries, so it runs on a log built through append_entries.

    .venv/bin/python bench/proofs.py [--quick] [--json OUT]

Every figure is the median of several runs; baselines are measured in the
same run: a primary-key lookup of one entry row (the cheapest possible read)
for proofs, and one process for verification.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from ledger import checkpoint, merkle  # noqa: E402
from ledger.merkle_verify import verify_consistency, verify_inclusion  # noqa: E402
from ledger.store.engine import make_engine  # noqa: E402
from ledger.store.migrate import upgrade  # noqa: E402
from ledger.store.schema import entries, tree_nodes  # noqa: E402


def build_tree(engine, size: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    border: dict = {}
    done = 0
    chunk = 100_000
    while done < size:
        n = min(chunk, size - done)
        leaves = [rng.randbytes(32) for _ in range(n)]
        nodes = merkle.integrate(border, done, leaves)
        with engine.begin() as conn:
            conn.execute(entries.insert(), [
                {"seq": done + i, "prev": (done + i).to_bytes(32, "big"), "leaf_hash": h, "type": "bench",
                 "recorded_at": "2026-01-01T00:00:00.000000Z", "authority_id": "bench", "subject": None,
                 "request_id": str(done + i), "signer": "bench", "canonical": b"{}"} for i, h in enumerate(leaves)])
            conn.execute(tree_nodes.insert(), [{"level": lv, "idx": ix, "hash": h} for (lv, ix), h in nodes.items()])
        known = {**border, **nodes, **{(0, done + i): h for i, h in enumerate(leaves)}}
        done += n
        border = {a: known[a] for a in merkle.perfect_pieces(0, done)}


def time_ms(f, runs: int) -> float:
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def bench_proofs(sizes: list[int], runs: int, tmp: Path) -> list[dict]:
    rows = []
    for size in sizes:
        engine = make_engine(f"sqlite:///{tmp}/proofs-{size}.db")
        upgrade(engine)
        t0 = time.perf_counter()
        build_tree(engine, size)
        build_s = time.perf_counter() - t0
        rng = random.Random(size)
        with engine.connect() as conn:
            root = checkpoint.tree_root(conn, size)
            idx = [rng.randrange(size) for _ in range(runs)]
            olds = [rng.randrange(1, size) for _ in range(runs)]
            it_i, it_o = iter(idx), iter(olds)
            incl = time_ms(lambda: checkpoint.inclusion_proof(conn, next(it_i), size), runs)
            cons = time_ms(lambda: checkpoint.consistency_proof(conn, next(it_o), size), runs)
            lookup_ids = iter(idx)
            lookup = time_ms(lambda: conn.execute(sa.select(entries.c.leaf_hash).where(entries.c.seq == next(lookup_ids))).one(), runs)
            # sanity: the proofs verify
            i = idx[0]
            leaf = conn.execute(sa.select(entries.c.leaf_hash).where(entries.c.seq == i)).scalar_one()
            verify_inclusion(i, size, bytes(leaf), checkpoint.inclusion_proof(conn, i, size), root)
            o = olds[0]
            verify_consistency(o, size, checkpoint.tree_root(conn, o), root, checkpoint.consistency_proof(conn, o, size))
        rows.append({"size": size, "build_s": round(build_s, 1), "inclusion_ms": round(incl, 3),
                     "consistency_ms": round(cons, 3), "pk_lookup_ms": round(lookup, 3),
                     "inclusion_vs_lookup": round(incl / lookup, 1)})
        engine.dispose()
        print(json.dumps(rows[-1]), flush=True)
    return rows


def bench_verify(count: int, extra: int, runs: int, tmp: Path) -> dict:
    from ledger.append import append_entries
    from tests.conftest import FixedClock, bootstrap, make_keyring, note

    engine = make_engine(f"sqlite:///{tmp}/verify.db")
    upgrade(engine)
    ring, clock = make_keyring(), FixedClock()
    bootstrap(engine, ring, clock)
    for start in range(0, count, 2000):
        append_entries(engine, [note(f"v{i}") for i in range(start, min(start + 2000, count))], ring, clock)
    from ledger.verify import verify_log

    def full(workers):
        t = time.perf_counter()
        report, state = verify_log(engine, workers=workers)
        return report.size / (time.perf_counter() - t), state

    one = statistics.median(full(1)[0] for _ in range(runs))
    two = statistics.median(full(2)[0] for _ in range(runs))
    _, state = full(2)
    for start in range(count, count + extra, 2000):
        append_entries(engine, [note(f"v{i}") for i in range(start, min(start + 2000, count + extra))], ring, clock)
    import copy

    samples = []
    for _ in range(runs):
        s = copy.deepcopy(state)
        t = time.perf_counter()
        verify_log(engine, workers=2, state=s)
        samples.append(time.perf_counter() - t)
    inc = statistics.median(samples)
    return {"log_size": count + 3, "full_1_core_eps": round(one), "full_2_cores_eps": round(two),
            "speedup": round(two / one, 2), "incremental_new_entries": extra,
            "incremental_s": round(inc, 2), "incremental_eps": round(extra / inc)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", dest="out")
    ap.add_argument("--skip-verify", action="store_true")
    args = ap.parse_args()
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    runs = 50 if args.quick else 200
    print(f"# command: .venv/bin/python bench/proofs.py{' --quick' if args.quick else ''}", flush=True)
    with tempfile.TemporaryDirectory() as d:
        result = {"proofs": bench_proofs(sizes, runs, Path(d))}
        if not args.skip_verify:
            result["verify"] = bench_verify(20_000 if args.quick else 100_000, 2_000 if args.quick else 10_000,
                                            3, Path(d))
            print(json.dumps(result["verify"]), flush=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
