"""Append throughput, latency and where the time goes, on SQLite and PostgreSQL.

    .venv/bin/python bench/append.py [--quick] [--json OUT] [--engines sqlite,postgresql]

Each engine gets fresh stores: a new SQLite file in a temp dir (through
``make_engine``: WAL, synchronous=FULL), or a new schema in ledger_test
(migrated as ledger_owner, appended to as ledger_app, dropped afterwards).
Every figure is the median of several runs (5; 3 with --quick), each next to a
baseline measured in the same run on the same engine:

1. Bulk append: N note entries (20000; 3000 with --quick) in batches of 1000
   through ``append_entries`` with per-entry Ed25519 signatures, on a freshly
   bootstrapped log each run. Also the same with signing stubbed out (a Signer
   returning 64 zero bytes), to separate the signature cost from the rest.
   Baseline: SQLAlchemy Core ``executemany`` of the very same rows (the ledger's
   canonical bytes and columns, precomputed) into ``plain_entries``: the same
   columns, primary key only, no triggers, one transaction per 1000 rows.
2. Single-append latency with commit: one entry per ``append_entries`` call
   (300; 100 with --quick), p50/p99. Baseline: a one-row Core insert + commit of
   the same row. Then 8 writers as separate OS processes (multiprocessing,
   spawn), 50 appends each (20 with --quick), all released by one barrier:
   p50/p99 over all their calls and the aggregate appends/s; baseline: the same
   8 processes doing one-row inserts + commit of the rows they just appended.
3. A cProfile of one ``append_entries`` call with 5000 drafts: the cumulative
   (inclusive) share of the call spent in canonical encoding, signing, hashing,
   tree integration, storage and validation. Categories overlap where one calls
   another (validation encodes the body; integration computes node hashes).
   Profiling slows pure-Python code far more than C code (OpenSSL, SQLite), so
   the shares overstate Python work; use them to rank, not to add up.

4. ``--formats``: entry format v1 against v2 (docs/contracts.md §2.7) in the
   same run, and nothing else: bulk appends (as 1.), single appends with commit
   and 8 writer processes (as 2.), each on a fresh log bootstrapped in that
   format, the variants' order alternating between runs. Variants: ``v1`` (the
   host signs each entry under the append lock), ``v2`` (``append_entries``:
   the host signs each draft as a statement before the lock) and
   ``v2-statements`` (``append_statements`` of statements signed beforehand,
   as a client would: each signature is verified before the lock; signing is
   not timed). Ratios are against v1.

No assertions: this script measures and reports.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import multiprocessing as mp
import os
import platform
import pstats
import shlex
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console  # noqa: E402
from rich.markup import escape  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.common import (  # noqa: E402
    BAOTOU,
    HOHHOT,
    Store,
    bootstrap,
    check_postgres,
    entry_row,
    fresh_store,
    make_keyring,
    median,
    note,
    percentile,
    plain_entries,
    progress,
    server_version,
    utc_now,
)
from ledger.log import merkle  # noqa: E402
from ledger.log.append import append_entries, append_statements, sign_drafts  # noqa: E402
from ledger.log.operator import authority_draft, genesis_draft, key_draft  # noqa: E402
from ledger.signing.keyring import Keyring  # noqa: E402
from ledger.store import schema  # noqa: E402
from ledger.store.engine import make_engine  # noqa: E402

BATCH = 1000
PROFILE_BATCH = 5000
WRITERS = 8

# --- 1. Bulk append ---------------------------------------------------------------

def _ledger_bulk(store: Store, n: int, *, null_sign: bool, tag: str) -> tuple[float, list]:
    """Seconds to append n notes in batches of BATCH on a freshly bootstrapped log."""
    ring = make_keyring(null_sign=null_sign)
    bootstrap(store.engine, make_keyring())  # registers the real public keys
    batches = [[note(f"{tag}-{i}") for i in range(s, min(s + BATCH, n))] for s in range(0, n, BATCH)]
    gc.collect()
    t = time.perf_counter()
    out = []
    for b in batches:
        out += append_entries(store.engine, b, ring, utc_now)
    return time.perf_counter() - t, out


def _plain_bulk(store: Store, rows: list[dict]) -> float:
    chunks = [rows[s:s + BATCH] for s in range(0, len(rows), BATCH)]
    gc.collect()
    t = time.perf_counter()
    for chunk in chunks:
        with store.plain_engine.begin() as conn:
            conn.execute(plain_entries.insert(), chunk)
    return time.perf_counter() - t


def _schema_bulk(store: Store, rows: list[dict], node_batches: list[list[dict]]) -> float:
    """The same rows, and the tree nodes each batch completes, by Core executemany
    into the ledger's own tables (fresh, migrated: every index and trigger the
    append path pays for), no validation, encoding, signing or hashing."""
    chunks = [rows[s:s + BATCH] for s in range(0, len(rows), BATCH)]
    gc.collect()
    t = time.perf_counter()
    for chunk, nodes in zip(chunks, node_batches):
        with store.engine.begin() as conn:
            conn.execute(schema.entries.insert(), chunk)
            if nodes:
                conn.execute(schema.tree_nodes.insert(), nodes)
    return time.perf_counter() - t


def _node_batches(entries: list) -> list[list[dict]]:
    """The tree_nodes rows each BATCH of ``entries`` completes, as append_entries stores them."""
    border: dict = {}
    out = []
    for s in range(0, len(entries), BATCH):
        leaves = [e.leaf_hash for e in entries[s:s + BATCH]]
        nodes = merkle.integrate(border, s, leaves)
        out.append([{"level": lv, "idx": ix, "hash": h} for (lv, ix), h in nodes.items()])
        border = merkle.next_border(border, s, leaves, nodes)
    return out


def bench_bulk(kind: str, n: int, runs: int, tmp: Path) -> dict:
    ledger_s, nosig_s, plain_s, schema_s, sign_us = [], [], [], [], []
    signer = make_keyring().authorities[HOHHOT.id]
    for r in range(runs):
        progress(f"[{kind}] bulk run {r + 1}/{runs}: {n} entries, batches of {BATCH}")
        with fresh_store(kind, tmp) as store:
            secs, entries = _ledger_bulk(store, n, null_sign=False, tag=f"bulk{r}")
            ledger_s.append(secs)
            rows = [entry_row(e) for e in entries]  # precomputed: same bytes, same columns
            plain_s.append(_plain_bulk(store, rows))
            msgs = [e.signing_bytes for e in entries]
            t = time.perf_counter()
            for m in msgs:
                signer.sign(m)
            sign_us.append((time.perf_counter() - t) / len(msgs) * 1e6)
        with fresh_store(kind, tmp) as store:
            nosig_s.append(_ledger_bulk(store, n, null_sign=True, tag=f"nosig{r}")[0])
        # Baseline 2: the same rows into the ledger's own empty schema, with the
        # tree nodes of a tree over their leaves (as many as the append stores).
        with fresh_store(kind, tmp) as store:
            schema_s.append(_schema_bulk(store, rows, _node_batches(entries)))
    led, nos, pla, sch = median(ledger_s), median(nosig_s), median(plain_s), median(schema_s)
    return {
        "entries": n, "batch": BATCH, "runs": runs,
        "ledger_eps": n / led, "ledger_nosig_eps": n / nos, "plain_eps": n / pla,
        "ledger_us_per_row": led / n * 1e6, "ledger_nosig_us_per_row": nos / n * 1e6,
        "plain_us_per_row": pla / n * 1e6,
        "ratio": led / pla, "ratio_nosig": nos / pla,
        "schema_eps": n / sch, "schema_us_per_row": sch / n * 1e6,
        "ratio_schema": led / sch, "ratio_nosig_schema": nos / sch,
        "sign_us_per_entry": median(sign_us),
        "samples_s": {"ledger": ledger_s, "ledger_nosig": nosig_s, "plain": plain_s, "schema": schema_s},
    }


# --- 2. Latency: one writer, then WRITERS processes ---------------------------------

def bench_single(store: Store, calls: int, runs: int) -> dict:
    ring = make_keyring()
    append_entries(store.engine, [note("single-warm")], ring, utc_now)  # connect, caches
    with store.plain_engine.begin() as conn:  # connect; row seq -1 never collides
        conn.execute(plain_entries.insert(), {**_dummy_row(), "seq": -1})
    per_run = []
    for r in range(runs):
        progress(f"[{store.kind}] single-writer run {r + 1}/{runs}: {calls} appends + {calls} plain inserts")
        gc.collect()
        lat, rows = [], []
        for k in range(calls):
            d = note(f"single{r}-{k}")
            t = time.perf_counter()
            e = append_entries(store.engine, [d], ring, utc_now)[0]
            lat.append(time.perf_counter() - t)
            rows.append(entry_row(e))
        plat = []
        for row in rows:
            t = time.perf_counter()
            with store.plain_engine.begin() as conn:
                conn.execute(plain_entries.insert(), row)
            plat.append(time.perf_counter() - t)
        per_run.append({"ledger_p50": percentile(lat, 50), "ledger_p99": percentile(lat, 99),
                        "plain_p50": percentile(plat, 50), "plain_p99": percentile(plat, 99),
                        "ledger_rate": calls / sum(lat), "plain_rate": calls / sum(plat)})
    out = {k: median(x[k] for x in per_run) for k in per_run[0]}
    for k in list(out):
        if k.endswith(("p50", "p99")):
            out[k + "_ms"] = out.pop(k) * 1000
    return {"calls": calls, "runs": runs, **out}


def _dummy_row() -> dict:
    return {"seq": 0, "prev": bytes(32), "leaf_hash": bytes(32), "type": "x", "recorded_at": "x",
            "authority_id": "x", "subject": None, "request_id": "x", "signer": "x", "canonical": b"{}"}


def _writer(wid: int, url: str, plain_url: str, rounds: int, m: int, barrier, out) -> None:
    """One writer process: per round, m single appends, then m one-row plain inserts."""
    try:
        engine, plain_engine = make_engine(url), make_engine(plain_url)
        ring = make_keyring()
        authority = HOHHOT if wid % 2 == 0 else BAOTOU
        append_entries(engine, [note(f"w{wid}-warm", authority)], ring, utc_now)
        with plain_engine.begin() as conn:
            conn.execute(plain_entries.insert(), {**_dummy_row(), "seq": -2 - wid})
        for r in range(rounds):
            barrier.wait(timeout=600)
            rows, lat = [], []
            t0 = time.monotonic()
            for k in range(m):
                d = note(f"w{wid}-{r}-{k}", authority)
                t = time.perf_counter()
                e = append_entries(engine, [d], ring, utc_now)[0]
                lat.append(time.perf_counter() - t)
                rows.append(entry_row(e))
            out.put(("ledger", wid, r, t0, time.monotonic(), lat))
            barrier.wait(timeout=600)
            lat = []
            t0 = time.monotonic()
            for row in rows:
                t = time.perf_counter()
                with plain_engine.begin() as conn:
                    conn.execute(plain_entries.insert(), row)
                lat.append(time.perf_counter() - t)
            out.put(("plain", wid, r, t0, time.monotonic(), lat))
        engine.dispose()
        plain_engine.dispose()
    except BaseException:  # noqa: BLE001 - hand any failure to the parent
        out.put(("error", wid, -1, 0.0, 0.0, traceback.format_exc()))
        barrier.abort()


def bench_concurrent(store: Store, m: int, runs: int) -> dict:
    progress(f"[{store.kind}] {WRITERS} writer processes (spawn) x {runs} rounds x {m} appends + {m} plain inserts")
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(WRITERS), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(w, store.url, store.plain_url, runs, m, barrier, out))
             for w in range(WRITERS)]
    for p in procs:
        p.start()
    results: dict[tuple[str, int], list] = {}
    try:
        for _ in range(WRITERS * runs * 2):
            what, wid, r, t0, t1, lat = out.get(timeout=900)
            if what == "error":
                raise RuntimeError(f"writer {wid} failed:\n{lat}")
            results.setdefault((what, r), []).append((t0, t1, lat))
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.terminate()
    per_round = []
    for r in range(runs):
        row = {}
        for what in ("ledger", "plain"):
            parts = results[(what, r)]
            lat = [x for _, _, ls in parts for x in ls]
            wall = max(t1 for _, t1, _ in parts) - min(t0 for t0, _, _ in parts)
            row[f"{what}_p50"], row[f"{what}_p99"] = percentile(lat, 50), percentile(lat, 99)
            row[f"{what}_rate"] = len(lat) / wall
        per_round.append(row)
    res = {k: median(x[k] for x in per_round) for k in per_round[0]}
    for k in list(res):
        if k.endswith(("p50", "p99")):
            res[k + "_ms"] = res.pop(k) * 1000
    return {"writers": WRITERS, "appends_per_writer": m, "runs": runs, **res}


# --- 3. Profile ---------------------------------------------------------------------

def _fn(key) -> tuple[str, str]:
    filename, _, name = key
    return filename.replace(os.sep, "/"), name


CATEGORIES = {
    "canonical encoding": ("ledger.log.canonical.encode / rfc8785",
                           lambda f, n: f.endswith("ledger/log/canonical.py") or "/rfc8785/" in f),
    "signing": ("Signer.sign (Ed25519)", lambda f, n: f.endswith("ledger/signing/keys.py") and n == "sign"),
    "hashing": ("merkle.leaf_hash/node_hash, hashlib",
                lambda f, n: (f.endswith("ledger/log/merkle.py") and n in ("leaf_hash", "node_hash"))
                or "_hashlib" in n or "sha256" in n),
    "tree integration": ("merkle.integrate (incl. its node hashes), perfect_pieces",
                         lambda f, n: f.endswith("ledger/log/merkle.py")
                         and n in ("integrate", "completed_by", "perfect_pieces")),
    "storage": ("ledger.store.log_store, SQLAlchemy, driver, commit",
                lambda f, n: "ledger/store/" in f or "/sqlalchemy/" in f or "/psycopg" in f
                or "sqlite3" in f or "sqlite3" in n or "psycopg" in n),
    "  of which idempotency lookup": ("log_store.by_request (part of storage)",
                                      lambda f, n: f.endswith("ledger/store/log_store.py") and n == "by_request"),
    "validation": ("entry_types.validate (incl. its body encoding)",
                   lambda f, n: f.endswith(("ledger/log/entry_types.py", "ledger/log/body_schema.py"))),
}


def _inclusive(stats: dict, pred) -> float:
    """Time spent inside functions matching ``pred``, counted where the call enters
    the category from outside it (so nested calls inside it are not counted twice).

    A call coming through a C builtin (``operator.eq`` running SQLAlchemy's
    ``__eq__``, ``sorted`` running a key function) is taken to come from the
    builtin's own caller, which is nearly always in the same category; counting
    it again would double-count it."""
    total = 0.0
    for key, (_cc, _nc, _tt, ct, callers) in stats.items():
        if not pred(*_fn(key)):
            continue
        if not callers:
            total += ct
        for caller, v in callers.items():
            if caller[0] != "~" and not pred(*_fn(caller)):
                total += v[3]
    return total


def bench_profile(kind: str, tmp: Path, batch: int = PROFILE_BATCH) -> dict:
    progress(f"[{kind}] cProfile of one append_entries call with {batch} drafts")
    with fresh_store(kind, tmp) as store:
        ring = make_keyring()
        bootstrap(store.engine, ring)
        drafts = [note(f"prof-{i}") for i in range(batch)]
        append_entries(store.engine, [note("prof-warm")], ring, utc_now)
        gc.collect()
        t = time.perf_counter()
        unprofiled = append_entries(store.engine, [note(f"unprof-{i}") for i in range(batch)],
                                    ring, utc_now)
        unprofiled_s = time.perf_counter() - t
        assert len(unprofiled) == batch
        prof = cProfile.Profile()
        prof.enable()
        append_entries(store.engine, drafts, ring, utc_now)
        prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = _inclusive(stats, lambda f, n: f.endswith("ledger/log/append.py") and n == "append_entries")
    cats = {}
    for name, (what, pred) in CATEGORIES.items():
        s = _inclusive(stats, pred)
        cats[name] = {"what": what, "seconds": s, "share": s / total}
    top = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)[:12]
    top_self = [{"function": _short(k), "calls": v[1], "self_s": v[2], "cum_s": v[3],
                 "self_share": v[2] / total} for k, v in top]
    return {"batch": batch, "profiled_s": total, "unprofiled_s": unprofiled_s,
            "categories": cats, "top_self": top_self}


def _short(key) -> str:
    filename, line, name = key
    if filename == "~":
        return name
    f = filename.replace(os.sep, "/")
    for marker in ("/site-packages/", "/work/main/", "/lib/python3"):
        if marker in f:
            f = f.split(marker, 1)[1]
    return f"{f}:{line}({name})"


# --- 4. Entry format v1 against v2 ----------------------------------------------------

VARIANTS = ("v1", "v2", "v2-statements")


def _bootstrap_as(engine, ring: Keyring, variant: str) -> None:
    """bench.common.bootstrap's five entries, written in the variant's format (a v1
    log must begin in v1: the log refuses v1 after v2)."""
    version = 1 if variant == "v1" else 2
    log = Keyring(ring.log)
    append_entries(engine, [genesis_draft(ring.log.verifier.vkey(), "bench.example/ledger")], log, utc_now,
                   version=version)
    for authority_id, signer in ring.authorities.items():
        region = next(a.region for a in (HOHHOT, BAOTOU) if a.id == authority_id)
        append_entries(engine, [authority_draft(authority_id, f"{authority_id} 人社局", region),
                                key_draft(signer.verifier.vkey(), authority_id)], log, utc_now, version=version)


def _prepare(variant: str, ring: Keyring, drafts: list):
    """What the timed call takes: drafts, or (v2-statements) statements signed now, untimed."""
    return sign_drafts(drafts, ring, utc_now()) if variant == "v2-statements" else drafts


def _append_as(variant: str, engine, ring: Keyring, payload) -> list:
    if variant == "v1":
        return append_entries(engine, payload, ring, utc_now, version=1)
    if variant == "v2":
        return append_entries(engine, payload, ring, utc_now)
    return append_statements(engine, payload, utc_now)


def _formats_bulk(kind: str, variant: str, n: int, tmp: Path, tag: str) -> float:
    ring = make_keyring()
    with fresh_store(kind, tmp) as store:
        _bootstrap_as(store.engine, ring, variant)
        payloads = [_prepare(variant, ring, [note(f"{tag}-{i}") for i in range(s, min(s + BATCH, n))])
                    for s in range(0, n, BATCH)]
        gc.collect()
        t = time.perf_counter()
        for p in payloads:
            _append_as(variant, store.engine, ring, p)
        return time.perf_counter() - t


def _formats_single(kind: str, variant: str, calls: int, tmp: Path, tag: str) -> dict:
    ring = make_keyring()
    with fresh_store(kind, tmp) as store:
        _bootstrap_as(store.engine, ring, variant)
        _append_as(variant, store.engine, ring, _prepare(variant, ring, [note(f"{tag}-warm")]))
        payloads = [_prepare(variant, ring, [note(f"{tag}-{k}")]) for k in range(calls)]
        gc.collect()
        lat = []
        for p in payloads:
            t = time.perf_counter()
            _append_as(variant, store.engine, ring, p)
            lat.append(time.perf_counter() - t)
    return {"p50_ms": percentile(lat, 50) * 1000, "p99_ms": percentile(lat, 99) * 1000, "rate": calls / sum(lat)}


def _formats_writer(wid: int, url: str, variant: str, m: int, barrier, out) -> None:
    try:
        engine, ring = make_engine(url), make_keyring()
        authority = HOHHOT if wid % 2 == 0 else BAOTOU
        _append_as(variant, engine, ring, _prepare(variant, ring, [note(f"w{wid}-warm", authority)]))
        payloads = [_prepare(variant, ring, [note(f"w{wid}-{k}", authority)]) for k in range(m)]
        barrier.wait(timeout=600)
        lat = []
        t0 = time.monotonic()
        for p in payloads:
            t = time.perf_counter()
            _append_as(variant, engine, ring, p)
            lat.append(time.perf_counter() - t)
        out.put((wid, t0, time.monotonic(), lat))
        engine.dispose()
    except BaseException:  # noqa: BLE001 - hand any failure to the parent
        out.put((wid, 0.0, 0.0, traceback.format_exc()))
        barrier.abort()


def _formats_concurrent(kind: str, variant: str, m: int, tmp: Path) -> dict:
    ctx = mp.get_context("spawn")
    with fresh_store(kind, tmp) as store:
        _bootstrap_as(store.engine, make_keyring(), variant)
        barrier, out = ctx.Barrier(WRITERS), ctx.Queue()
        procs = [ctx.Process(target=_formats_writer, args=(w, store.url, variant, m, barrier, out))
                 for w in range(WRITERS)]
        for p in procs:
            p.start()
        parts = []
        try:
            for _ in range(WRITERS):
                wid, t0, t1, lat = out.get(timeout=900)
                if isinstance(lat, str):
                    raise RuntimeError(f"writer {wid} failed:\n{lat}")
                parts.append((t0, t1, lat))
        finally:
            for p in procs:
                p.join(timeout=60)
                if p.is_alive():
                    p.terminate()
    lat = [x for _, _, ls in parts for x in ls]
    wall = max(t1 for _, t1, _ in parts) - min(t0 for t0, _, _ in parts)
    return {"p50_ms": percentile(lat, 50) * 1000, "p99_ms": percentile(lat, 99) * 1000, "rate": len(lat) / wall}


def bench_formats(kind: str, params: dict, runs: int, tmp: Path) -> dict:
    bulk: dict[str, list[float]] = {v: [] for v in VARIANTS}
    single: dict[str, list[dict]] = {v: [] for v in VARIANTS}
    conc: dict[str, list[dict]] = {v: [] for v in VARIANTS}
    for r in range(runs):
        order = VARIANTS if r % 2 == 0 else tuple(reversed(VARIANTS))  # drift hits every variant alike
        for v in order:
            progress(f"[{kind}] formats run {r + 1}/{runs}: {v}: bulk {params['bulk_entries']}, "
                     f"single {params['single_calls']}, {WRITERS} writers x {params['concurrent_per_writer']}")
            bulk[v].append(params["bulk_entries"] / _formats_bulk(kind, v, params["bulk_entries"], tmp, f"b{r}"))
            single[v].append(_formats_single(kind, v, params["single_calls"], tmp, f"s{r}"))
            conc[v].append(_formats_concurrent(kind, v, params["concurrent_per_writer"], tmp))
    out: dict = {}
    for v in VARIANTS:
        out[v] = {"bulk_eps": median(bulk[v]),
                  **{f"single_{k}": median(x[k] for x in single[v]) for k in ("p50_ms", "p99_ms", "rate")},
                  **{f"concurrent_{k}": median(x[k] for x in conc[v]) for k in ("p50_ms", "p99_ms", "rate")},
                  "samples": {"bulk_eps": bulk[v], "single": single[v], "concurrent": conc[v]}}
    for v in VARIANTS:
        base = out["v1"]
        out[v]["ratio_to_v1"] = {k: out[v][k] / base[k] for k in
                                 ("bulk_eps", "single_p50_ms", "single_rate", "concurrent_p50_ms", "concurrent_rate")}
    return out


def render_formats(console: Console, result: dict) -> None:
    p = result["params"]
    t = Table(title=f"Entry format v1 vs v2 (medians of {p['runs']} runs): bulk {p['bulk_entries']} in batches of "
                    f"{BATCH}; 1 writer x {p['single_calls']}; {WRITERS} processes x {p['concurrent_per_writer']}")
    for c in ("engine", "variant", "bulk entries/s", "× v1", "single p50 ms", "× v1", "single appends/s",
              f"{WRITERS}-proc p50 ms", f"{WRITERS}-proc appends/s", "× v1"):
        t.add_column(c, justify="left" if c in ("engine", "variant") else "right")
    for kind, r in result["engines"].items():
        for v in VARIANTS:
            x, q = r["formats"][v], r["formats"][v]["ratio_to_v1"]
            t.add_row(kind if v == "v1" else "", v, _f(x["bulk_eps"]), _f(q["bulk_eps"], 2), _f(x["single_p50_ms"], 2),
                      _f(q["single_p50_ms"], 2), _f(x["single_rate"]), _f(x["concurrent_p50_ms"], 2),
                      _f(x["concurrent_rate"]), _f(q["concurrent_rate"], 2), end_section=v == VARIANTS[-1])
    console.print(t)


# --- Output ---------------------------------------------------------------------------

def _f(x: float, nd: int = 0) -> str:
    return f"{x:,.{nd}f}"


def render(console: Console, result: dict) -> None:
    console.rule("[bold]Integrity Ledger append benchmark[/bold]")
    console.print(f"command: {escape(result['command'])}", highlight=False, soft_wrap=True)
    env = result["environment"]
    console.print(f"{env['platform']}, {env['cpus']} CPUs, Python {env['python']}; "
                  + "; ".join(f"{k}: {v}" for k, v in env["servers"].items()), highlight=False)
    console.print(f"medians of {result['params']['runs']} runs; baselines measured in the same run", highlight=False)
    engines = result["engines"]

    t = Table(title=f"1. Bulk append: {result['params']['bulk_entries']} note entries, batches of {BATCH}")
    for c in ("engine", "variant", "entries/s", "µs/row", "× plain µs/row", "× same-schema µs/row"):
        t.add_column(c, justify="left" if c in ("engine", "variant") else "right")
    for kind, r in engines.items():
        b = r["bulk"]
        t.add_row(kind, "append_entries, Ed25519 per entry", _f(b["ledger_eps"]), _f(b["ledger_us_per_row"], 1),
                  _f(b["ratio"], 2), _f(b["ratio_schema"], 2))
        t.add_row("", "append_entries, signing stubbed", _f(b["ledger_nosig_eps"]),
                  _f(b["ledger_nosig_us_per_row"], 1), _f(b["ratio_nosig"], 2), _f(b["ratio_nosig_schema"], 2))
        t.add_row("", "baseline: plain Core executemany", _f(b["plain_eps"]), _f(b["plain_us_per_row"], 1), "1.00",
                  "")
        t.add_row("", "baseline 2: Core executemany, ledger schema", _f(b["schema_eps"]),
                  _f(b["schema_us_per_row"], 1), _f(b["plain_us_per_row"] and b["schema_us_per_row"] / b["plain_us_per_row"], 2), "1.00")
        t.add_row("", "(Ed25519 sign alone, µs/entry)", "", _f(b["sign_us_per_entry"], 1), "", "", end_section=True)
    console.print(t)

    p = result["params"]
    t = Table(title=f"2. Append latency with commit (one entry per call): 1 writer x {p['single_calls']}; "
                    f"{WRITERS} processes x {p['concurrent_per_writer']}")
    for c in ("engine", "writers", "variant", "p50 ms", "p99 ms", "appends/s"):
        t.add_column(c, justify="left" if c in ("engine", "variant") else "right")
    for kind, r in engines.items():
        s, c = r["single"], r["concurrent"]
        t.add_row(kind, "1", "append_entries", _f(s["ledger_p50_ms"], 2), _f(s["ledger_p99_ms"], 2),
                  _f(s["ledger_rate"]))
        t.add_row("", "1", "baseline: 1-row insert + commit", _f(s["plain_p50_ms"], 2), _f(s["plain_p99_ms"], 2),
                  _f(s["plain_rate"]))
        t.add_row("", str(WRITERS), "append_entries", _f(c["ledger_p50_ms"], 2), _f(c["ledger_p99_ms"], 2),
                  _f(c["ledger_rate"]))
        t.add_row("", str(WRITERS), "baseline: 1-row insert + commit", _f(c["plain_p50_ms"], 2),
                  _f(c["plain_p99_ms"], 2), _f(c["plain_rate"]), end_section=True)
    console.print(t)

    t = Table(title=f"3. Profile of one append_entries call with {result['params']['profile_batch']} drafts "
                    "(cumulative share; categories overlap)")
    t.add_column("category")
    t.add_column("covers")
    for kind in engines:
        t.add_column(f"{kind} share", justify="right")
    first = next(iter(engines.values()))["profile"]
    for name, cat in first["categories"].items():
        t.add_row(name, cat["what"], *(f"{engines[k]['profile']['categories'][name]['share']:.0%}" for k in engines))
    t.add_row("[dim]whole call, profiled / unprofiled (s)[/dim]", "", *(
        f"{engines[k]['profile']['profiled_s']:.2f} / {engines[k]['profile']['unprofiled_s']:.2f}" for k in engines))
    console.print(t)
    for kind in engines:
        t = Table(title=f"3b. {kind}: top functions by self time (profiled call)")
        for c in ("function", "calls", "self s", "self share"):
            t.add_column(c, justify="left" if c == "function" else "right")
        for row in engines[kind]["profile"]["top_self"][:10]:
            t.add_row(row["function"], _f(row["calls"]), f"{row['self_s']:.3f}", f"{row['self_share']:.0%}")
        console.print(t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="3000 entries, 3 runs, fewer latency samples")
    ap.add_argument("--json", dest="out", metavar="OUT", help="also write the results as JSON to OUT")
    ap.add_argument("--engines", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql")
    ap.add_argument("--runs", type=int, help="runs per figure (default 5; 3 with --quick)")
    ap.add_argument("--formats", action="store_true", help="only entry format v1 against v2 (section 4)")
    args = ap.parse_args()
    kinds = [k.strip() for k in args.engines.split(",") if k.strip()]
    for k in kinds:
        if k not in ("sqlite", "postgresql"):
            ap.error(f"unknown engine {k!r} (want sqlite and/or postgresql)")
    if "postgresql" in kinds and (problem := check_postgres()):
        ap.error(f"PostgreSQL is not reachable ({problem}); run `bash .ci/postgres-up`, "
                 "or pass --engines sqlite")

    runs = args.runs or (3 if args.quick else 5)
    params = {
        "runs": runs, "quick": args.quick,
        "bulk_entries": 3000 if args.quick else 20000, "batch": BATCH,
        "single_calls": 60 if args.quick else 300,
        "concurrent_writers": WRITERS, "concurrent_per_writer": 10 if args.quick else 50,
        "profile_batch": 2000 if args.quick else PROFILE_BATCH,
    }
    exe = os.path.relpath(sys.executable) if not os.path.relpath(sys.executable).startswith("..") else sys.executable
    command = shlex.join([exe, *sys.argv])
    progress(f"command: {command}")
    started = time.perf_counter()
    result: dict = {"command": command, "params": params, "environment": {
        "python": platform.python_version(), "platform": platform.platform(terse=True),
        "cpus": os.cpu_count(), "servers": {}}, "engines": {}}
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as d:
        tmp = Path(d)
        for kind in kinds:
            r: dict = {}
            if args.formats:
                with fresh_store(kind, tmp) as store:
                    result["environment"]["servers"][kind] = server_version(store.engine)
                r["formats"] = bench_formats(kind, params, runs, tmp)
                result["engines"][kind] = r
                continue
            r["bulk"] = bench_bulk(kind, params["bulk_entries"], runs, tmp)
            with fresh_store(kind, tmp) as store:
                result["environment"]["servers"][kind] = server_version(store.engine)
                bootstrap(store.engine, make_keyring())
                r["single"] = bench_single(store, params["single_calls"], runs)
                r["concurrent"] = bench_concurrent(store, params["concurrent_per_writer"], runs)
            r["profile"] = bench_profile(kind, tmp, params["profile_batch"])
            result["engines"][kind] = r
    result["elapsed_s"] = time.perf_counter() - started
    (render_formats if args.formats else render)(Console(width=max(Console().width, 120)), result)
    print(f"elapsed: {result['elapsed_s']:.0f} s")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
