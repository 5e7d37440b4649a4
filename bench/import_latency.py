"""A write waiting behind an import: one batch against chunks (ledger/log/imports.py).

    .venv/bin/python bench/import_latency.py [--quick] [--entries N] [--mix domain|note] [--runs N]
                                             [--json OUT] [--engines sqlite,postgresql]

An import of N statements (20,000; 5,000 with --quick; ``--entries 100000`` for
the target's size), signed beforehand (untimed), is appended while a second
process writes one statement every 50 ms (``append_statements`` of one signed
statement: what the API's mutation does once its request is parsed) and
records how long each write took, from the call to its commit.

The import is the domain mix of bench/domain_append.py (``--mix domain``, the
default): grants, honours, sanctions and links over many subjects (added to the
vault beforehand, untimed), each type's rules checked under the lock. Only its
entries without refs: a statement's refs are seqs fixed when it is signed, and
the other writer's entries move every seq after them, so an import whose
entries ref each other cannot run beside another writer (that is the statement
format, not this script). ``--mix note``: ``note.recorded`` statements, the
cheapest entry. Two ways to import, each in a fresh store, in the same run:

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

from common import (  # noqa: E402
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
from domain_append import build_mix, programme_drafts  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from ledger.domain import vault_store  # noqa: E402
from ledger.domain.identifiers import parse  # noqa: E402
from ledger.domain.vault import Vault  # noqa: E402
from ledger.log.append import append_entries, append_statements  # noqa: E402
from ledger.log.entry import format_time  # noqa: E402
from ledger.log.imports import CHUNK_SECONDS_BY_DIALECT, append_in_chunks  # noqa: E402
from ledger.log.statement import sign_statement  # noqa: E402
from ledger.store import log_store  # noqa: E402
from ledger.store.engine import APPEND_OPTION, make_engine  # noqa: E402

PROBE_EVERY = 0.05
TARGET_P99_S = 1.0  # the other writer's p99 while the import runs in chunks, and no failure


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


def domain_drafts(engine, ring, n: int) -> list:
    """``n`` drafts of the domain mix without refs; the programmes registered and the
    subjects in the vault first (one transaction: not what is measured)."""
    append_entries(engine, programme_drafts(), ring, utc_now)
    vault, added = Vault(bytes(range(32))), format_time(utc_now())
    with engine.connect() as conn:
        base = log_store.size(conn)
    with engine.connect() as conn:
        conn.execution_options(**{APPEND_OPTION: True})
        with conn.begin():
            def ref_of(identifier: str) -> str:
                return vault_store.add(conn, vault, parse(identifier), "测试人员", added)[0]
            # About two in three of the mix's entries carry no refs; eligibility checks name seqs in their body.
            drafts = [d for d in build_mix(2 * n, base, ref_of) if not d.refs and d.type != "eligibility.checked"]
    if len(drafts) < n:
        raise SystemExit(f"the mix gave {len(drafts)} entries without refs, fewer than {n}")
    return drafts[:n]


def one_run(kind: str, mode: str, n: int, tmp: Path, mix: str = "domain") -> dict:
    with fresh_store(kind, tmp) as store:
        ring = make_keyring()
        bootstrap(store.engine, ring)
        signer = ring.authorities[HOHHOT.id]
        at = utc_now()
        drafts = domain_drafts(store.engine, ring, n) if mix == "domain" else [note(f"import-{i}") for i in range(n)]
        statements = [sign_statement(d, signer, at) for d in drafts]
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
                "p99": percentile(latencies, 99) if latencies else None, "p99_ok": bool(latencies) and not failures
                and percentile(latencies, 99) <= TARGET_P99_S,
                "max": max(latencies) if latencies else None, "writes": len(latencies), "failures": failures}


def bench(kind: str, n: int, runs: int, tmp: Path, mix: str = "domain") -> dict:
    result = {}
    for mode in ("batch", "chunks"):
        samples = []
        for r in range(runs):
            progress(f"{kind}: import of {n:,} ({mix}) as {mode}, run {r + 1}/{runs}")
            samples.append(one_run(kind, mode, n, tmp, mix))
        result[mode] = {k: median([s[k] for s in samples]) if all(s[k] is not None for s in samples) else None
                        for k in samples[0] if k != "p99_ok"}
        result[mode]["p99_ok"] = all(s["p99_ok"] for s in samples)
        result[mode]["samples"] = samples
    result["chunk_rate_ratio"] = result["chunks"]["rate"] / result["batch"]["rate"]
    return result


def render(console: Console, results: dict) -> None:
    t = Table(title=f"A write during an import of {results['n']:,} statements ({results['mix']} mix; chunks of about "
                    + ", ".join(f"{s} s of lock on {k}" for k, s in results["chunk_seconds"].items()) + ")")
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
    for kind, r in results["engines"].items():
        console.print(f"target ({kind}): a write's p99 ≤ {TARGET_P99_S:.0f} s and no failure during the import in "
                      f"chunks, every run: {'met' if r['chunks']['p99_ok'] else 'NOT met'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--entries", type=int, default=None, help="entries in the import (20,000; 5,000 with --quick)")
    ap.add_argument("--mix", choices=("domain", "note"), default="domain")
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--engines", default="sqlite,postgresql")
    args = ap.parse_args()
    n = args.entries or (5_000 if args.quick else 20_000)
    runs = args.runs or (1 if args.quick else 3)
    results: dict = {"n": n, "mix": args.mix, "runs": runs, "chunk_seconds": CHUNK_SECONDS_BY_DIALECT,
                     "target_p99_s": TARGET_P99_S, "engines": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.engines.split(","):
            if kind == "postgresql" and (why := check_postgres()):
                progress(f"skipping PostgreSQL: {why}")
                continue
            results["engines"][kind] = bench(kind, n, runs, Path(tmp), args.mix)
    render(Console(), results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
