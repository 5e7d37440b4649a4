"""Proof generation cost at 10k, 100k and 1M entries (should stay flat), next to
the pymerkle library building the same proofs over the same leaves.
(Verification rates: bench/verify.py.)

Proofs only read the tree (entries.leaf_hash and tree_nodes), so the proof
trees are built directly: leaf hashes ``merkle.leaf_hash(d)`` of random 32-byte
inputs ``d`` (``leaf_inputs``), their perfect subtrees computed by
ledger.log.merkle.integrate and bulk-inserted. The tree has exactly the shape and
row counts of a real log of that size.

    .venv/bin/python bench/proofs.py [--quick] [--json OUT]

Every figure is the median of several runs (200 proofs per size, 50 with
--quick); baselines are measured in the same run: a primary-key lookup of one
entry row (the cheapest possible read).

The pymerkle baseline (pymerkle 7.0.0, pip install pymerkle==7.0.0). Its
defaults are RFC 9162 hashing: sha256, leaf = SHA-256(0x00 || d), node =
SHA-256(0x01 || l || r), the same left-heavy tree shape. It always hashes what
it is given, so it cannot take our leaf hashes as leaves; it is given the same
inputs ``d`` instead, and so holds the same leaf hashes and the same tree. Both
of its backends are measured, built from those inputs (build time reported
apart, never in the proof time), and asked for the same proofs as the ledger
(same random indices and old sizes; pymerkle counts leaves from 1):

- ``InmemoryTree``: the whole tree as Python node objects (several hundred MB
  at 1M); a proof walks parent pointers, no I/O. ``append_entries`` there is a
  per-entry loop, hence its build time.
- ``SqliteTree``: stores only the leaves (one ``leaf`` table); every interior
  hash is recomputed from the leaves when needed, subtrees of 128 leaves or
  more kept in an in-process LRU cache (1 GiB by default). Its proof cost
  depends on how warm that cache is: a proof recomputes the subtrees off its
  path that no earlier call needed, roughly n / (proofs made so far) leaves,
  so its median grows with n and shrinks with the number of proofs (--quick's
  50 gives other figures than 200), and the consistency proofs, timed after
  the inclusion proofs, meet a warmer cache. The checks below run first and
  warm the largest subtrees.

Checked before timing, not timed: pymerkle's root at n (and at 5 old sizes)
equals ``ledger.log.tree.tree_root``; its inclusion path is ``[leaf hash]`` followed
by exactly our RFC 9162 PATH (5 indices). Its consistency proofs are not RFC
9162 PROOF(m, D[n]): where RFC 9162 recurses left when m equals the left
subtree's size and ends with that subtree's hash (omitted at the left edge),
pymerkle recurses right and descends to the leftmost leaf of the right part,
so its path holds other hashes in another order (about one hash longer on
average at these sizes). They are checked to prove our two roots consistent
with pymerkle's own verifier (5 old sizes); ours are checked with ours.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from ledger.log import merkle
from ledger.log import tree as stored_tree  # noqa: E402
from ledger.log.merkle_verify import verify_consistency, verify_inclusion  # noqa: E402
from ledger.store.engine import make_engine  # noqa: E402
from ledger.store.migrate import upgrade  # noqa: E402
from ledger.store.schema import entries  # noqa: E402

try:
    import pymerkle
except ImportError:  # the baseline's library; checked when the proofs start
    pymerkle = None


def leaf_inputs(size: int, seed: int = 1) -> Iterator[bytes]:
    """The leaves' input bytes: random 32-byte strings, the same for a given seed.

    The stored tree's leaf hashes are ``merkle.leaf_hash`` of these (RFC 9162
    ``SHA-256(0x00 || d)``), so pymerkle, which hashes whatever it is given as a
    leaf, can be handed the very same inputs and build the very same tree.
    """
    rng = random.Random(seed)
    for _ in range(size):
        yield rng.randbytes(32)


def build_tree(path: Path, size: int, seed: int = 1) -> None:
    """The entries' leaf hashes and the perfect-subtree nodes of a tree of ``size``
    leaves, bulk-loaded into the migrated SQLite file at ``path`` through the
    driver (one connection, ``synchronous=OFF`` and a large page cache for the
    load only: random 32-byte leaf hashes make the unique index's inserts random,
    which a small cache turns into disk reads). Rows as the append path stores
    them; the other columns are placeholders proofs never read."""
    inputs = leaf_inputs(size, seed)
    border: dict = {}
    done = 0
    chunk = 100_000
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA cache_size=-1000000")
        while done < size:
            n = min(chunk, size - done)
            leaves = [merkle.leaf_hash(d) for d in itertools.islice(inputs, n)]
            nodes = merkle.integrate(border, done, leaves)
            db.execute("BEGIN")
            db.executemany(
                "INSERT INTO entries (seq, prev, leaf_hash, type, recorded_at, authority_id, subject, request_id, "
                "signer, canonical) VALUES (?, ?, ?, 'bench', '2026-01-01T00:00:00.000000Z', 'bench', NULL, ?, "
                "'bench', x'7b7d')",
                [(done + i, (done + i).to_bytes(32, "big"), h, str(done + i)) for i, h in enumerate(leaves)])
            db.executemany("INSERT INTO tree_nodes (level, idx, hash) VALUES (?, ?, ?)",
                           [(lv, ix, h) for (lv, ix), h in nodes.items()])
            db.execute("COMMIT")
            border = merkle.next_border(border, done, leaves, nodes)
            done += n
    finally:
        db.close()


def time_ms(f, runs: int) -> float:
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


PYMERKLE_KINDS = ("inmemory", "sqlite")


def bench_pymerkle(kind: str, size: int, tmp: Path, conn, root: bytes, idx: list[int], olds: list[int],
                   runs: int) -> dict:
    """pymerkle building the same proofs over the same leaves (RFC 9162 hashing:
    sha256, security prefixes on, its defaults). Checks, untimed, that its root
    is ours, that its inclusion paths are ours, and that its consistency proofs
    verify against our roots; then times the same proofs as the ledger's."""
    if kind == "inmemory":
        tree = pymerkle.InmemoryTree(algorithm="sha256")
    else:
        tree = pymerkle.SqliteTree(str(tmp / f"pymerkle-{size}.db"), algorithm="sha256")
    t0 = time.perf_counter()
    tree.append_entries(leaf_inputs(size))
    build_s = time.perf_counter() - t0
    # sanity (untimed): same tree, same proofs. pymerkle counts leaves from 1.
    assert tree.get_size() == size and tree.get_root(size) == root, f"pymerkle {kind}: root differs at {size}"
    for i in idx[:5]:
        leaf = bytes(conn.execute(sa.select(entries.c.leaf_hash).where(entries.c.seq == i)).scalar_one())
        proof = tree.prove_inclusion(i + 1, size)
        # pymerkle's path is [leaf hash] + RFC 9162 PATH(i, D[size])
        assert proof.path[0] == leaf and proof.path[1:] == stored_tree.inclusion_path(conn, i, size), \
            f"pymerkle {kind}: inclusion path differs for {i} in {size}"
        pymerkle.verify_inclusion(leaf, root, proof, index=i + 1, size=size)
    for o in olds[:5]:
        # pymerkle's consistency path is not RFC 9162's PROOF(m, D[n]) (see the
        # module docstring): check that it proves our two roots consistent
        old_root = stored_tree.tree_root(conn, o)
        assert tree.get_root(o) == old_root, f"pymerkle {kind}: root differs at {o}"
        pymerkle.verify_consistency(old_root, root, tree.prove_consistency(o, size), prior_size=o, later_size=size)
    it_i, it_o = iter(idx), iter(olds)
    incl = time_ms(lambda: tree.prove_inclusion(next(it_i) + 1, size), runs)
    cons = time_ms(lambda: tree.prove_consistency(next(it_o), size), runs)
    if kind == "sqlite":
        tree.close()
    return {"build_s": build_s, "inclusion_ms": incl, "consistency_ms": cons}


def bench_proofs(sizes: list[int], runs: int, tmp: Path) -> list[dict]:
    if pymerkle is None:
        sys.exit("bench/proofs.py needs pymerkle for its baseline: .venv/bin/pip install pymerkle==7.0.0")
    rows = []
    for size in sizes:
        engine = make_engine(f"sqlite:///{tmp}/proofs-{size}.db")
        upgrade(engine)
        engine.dispose()  # the load runs on its own connection
        t0 = time.perf_counter()
        build_tree(tmp / f"proofs-{size}.db", size)
        build_s = time.perf_counter() - t0
        rng = random.Random(size)
        with engine.connect() as conn:
            root = stored_tree.tree_root(conn, size)
            idx = [rng.randrange(size) for _ in range(runs)]
            olds = [rng.randrange(1, size) for _ in range(runs)]
            it_i, it_o = iter(idx), iter(olds)
            incl = time_ms(lambda: stored_tree.inclusion_path(conn, next(it_i), size), runs)
            cons = time_ms(lambda: stored_tree.consistency_path(conn, next(it_o), size), runs)
            lookup_ids = iter(idx)
            lookup = time_ms(lambda: conn.execute(sa.select(entries.c.leaf_hash).where(entries.c.seq == next(lookup_ids))).one(), runs)
            # sanity: the proofs verify
            i = idx[0]
            leaf = conn.execute(sa.select(entries.c.leaf_hash).where(entries.c.seq == i)).scalar_one()
            verify_inclusion(i, size, bytes(leaf), stored_tree.inclusion_path(conn, i, size), root)
            o = olds[0]
            verify_consistency(o, size, stored_tree.tree_root(conn, o), root, stored_tree.consistency_path(conn, o, size))
            row = {"size": size, "build_s": round(build_s, 2), "inclusion_ms": round(incl, 3),
                   "consistency_ms": round(cons, 3), "pk_lookup_ms": round(lookup, 3),
                   "inclusion_vs_lookup": round(incl / lookup, 1), "pymerkle": {}}
            for kind in PYMERKLE_KINDS:
                pm = bench_pymerkle(kind, size, tmp, conn, root, idx, olds, runs)
                # ledger ÷ pymerkle: below 1, the ledger is faster
                row["pymerkle"][kind] = {
                    "build_s": round(pm["build_s"], 2), "inclusion_ms": round(pm["inclusion_ms"], 3),
                    "consistency_ms": round(pm["consistency_ms"], 3),
                    "inclusion_ratio": round(incl / pm["inclusion_ms"], 2),
                    "consistency_ratio": round(cons / pm["consistency_ms"], 2)}
        rows.append(row)
        engine.dispose()
        print(json.dumps(rows[-1]), flush=True)
    return rows


def print_proofs_table(rows: list[dict]) -> None:
    """Ledger next to pymerkle: proof medians in ms, ratio ledger ÷ pymerkle."""
    print("\n| entries | proof | ledger ms | pymerkle in-memory ms | ledger ÷ in-memory "
          "| pymerkle SQLite ms | ledger ÷ SQLite |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for r in rows:
        mem, lite = r["pymerkle"]["inmemory"], r["pymerkle"]["sqlite"]
        for proof in ("inclusion", "consistency"):
            print(f"| {r['size']:,} | {proof} | {r[proof + '_ms']} | {mem[proof + '_ms']} | {mem[proof + '_ratio']} "
                  f"| {lite[proof + '_ms']} | {lite[proof + '_ratio']} |")
    print("\n| entries | ledger build s | pymerkle in-memory build s | pymerkle SQLite build s | ledger PK lookup ms |")
    print("|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['size']:,} | {r['build_s']} | {r['pymerkle']['inmemory']['build_s']} "
              f"| {r['pymerkle']['sqlite']['build_s']} | {r['pk_lookup_ms']} |")
    print(flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", dest="out")
    args = ap.parse_args()
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    runs = 50 if args.quick else 200
    print(f"# command: .venv/bin/python bench/proofs.py{' --quick' if args.quick else ''}", flush=True)
    with tempfile.TemporaryDirectory() as d:
        result = {"proofs": bench_proofs(sizes, runs, Path(d))}
        print_proofs_table(result["proofs"])
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
