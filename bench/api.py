"""Eligibility over HTTP: the GraphQL API's pre-award check, latency and
throughput at the demo size, next to a bare Starlette endpoint answering the
same question from the same function (ratio measured in one run).

    .venv/bin/python bench/api.py [--quick] [--runs N] [--json OUT] [--cache DIR]

The ledger is ``ledger demo``'s synthetic region (``build_demo``, seed 1, 6000
domain entries; 600 with --quick), built fresh in a temp dir with its own dev
keys, vault and SQLite file (through ``make_engine``: WAL). ``--cache DIR``
keeps that ledger in DIR and reuses it on later runs with the same size.

The question: ``eligibility(subject, benefit: subsidy, programme: "x",
region: "150102", on: "2026-12-01")`` for 200 subjects (a seeded sample, the
same in every run), half taken from the subjects of ``sanction.imposed`` entries and half from those of
``subsidy.granted`` entries, so the answers mix barred, needs review and
eligible.

Two uvicorn servers (asyncio loop, h11) run on loopback, each in its own
process, started the same way and configured alike:

- the API: ``create_app(state_from_settings(...))``, exactly what ``ledger
  serve`` runs; requests carry a ``programme_officer`` bearer token
  (nmg-talent-office, region 150000) and the query
  ``eligibility { __typename ... on Eligibility { answer tree_size blocking
  { kind seq message } } }``;
- the baseline: a bare Starlette app, one route ``POST /eligibility`` (a JSON
  body with the same arguments) that calls the same
  ``ledger.status.eligibility`` through ``asyncio.to_thread`` (as the API's
  resolvers do) and returns the same fields as JSON. No authentication, so the
  ratio prices authentication (one token lookup), GraphQL parsing, validation
  and execution, the API's extra steps (a separate read of the request's tree
  size, subject resolution) and the larger response together.

Before any timing, every subject's answer is fetched from both servers and
compared (answer, tree size, blocking reasons); they must be equal, and equal
to an in-process call of the function.

The client is this process: ``httpx.Client`` (sync, keep-alive, one connection
per client). Each run measures, for each server (the order alternates between
runs): sequential latency, p50/p99 over 500 requests after 50 warm-up requests
(200 and 20 with --quick); then throughput with 8 concurrent clients (threads,
one connection each) for 5 s (2 s with --quick), requests completed ÷ wall
time, with the latency under that load. The in-process function call (no
HTTP) is timed too, for scale. Figures are medians over the runs (5; 3 with
--quick); the ratios are computed within each run, then their median taken.
Client and server share the machine's cores (for both servers alike).

No assertions on timings: this script measures and reports.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shlex
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.markup import escape  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.common import median, percentile  # noqa: E402

SEED = 1
BENEFIT, PROGRAMME, REGION, ON = "subsidy", "x", "150102", "2026-12-01"
CLIENTS = 8
PASSPHRASE = "bench-api-passphrase"  # encrypts the throwaway dev keys of the bench ledger
CACHE_MARKER = "bench-api-ledger.json"
QUERY = ("query($s: String!) { eligibility(subject: $s, benefit: subsidy, programme: \"x\", region: \"150102\", "
         "on: \"2026-12-01\") { __typename ... on Eligibility { answer tree_size blocking { kind seq message } } } }")

err = Console(stderr=True, highlight=False)


def progress(msg: str) -> None:
    err.print(f"[dim]{time.strftime('%H:%M:%S')}  {escape(msg)}[/dim]")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


# --- The servers (each in its own process: `bench/api.py --serve api|bare`) ------------

def bare_app(engine):
    """The baseline: one route, the same function, the same thread hand-off, no auth."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from ledger import status

    async def eligibility(request: Request) -> JSONResponse:
        q = await request.json()
        d = await asyncio.to_thread(status.eligibility, engine, q["subject"], q["benefit"], q["programme"],
                                    q["region"], date.fromisoformat(q["on"]))
        return JSONResponse({"answer": d.answer, "tree_size": d.tree_size,
                             "blocking": [{"kind": r.kind, "seq": r.seq, "message": r.message} for r in d.blocking]})

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/eligibility", eligibility, methods=["POST"]), Route("/healthz", healthz)])


def serve(kind: str) -> None:
    """Child process: build the app from the environment's settings, bind a
    loopback port, print it, serve until terminated."""
    import uvicorn

    from ledger.config import Settings

    settings = Settings.from_env()
    if kind == "api":
        from ledger.api.app import create_app, state_from_settings

        app = create_app(state_from_settings(settings))
    else:
        from ledger.store.engine import make_engine

        app = bare_app(make_engine(settings.database_url))
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only
    # when the listening socket says TCP; with proto 0 Nagle meets delayed ACK (+40 ms).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(f"port {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


@contextmanager
def server(kind: str):
    """Start `bench/api.py --serve kind`, wait until it answers /healthz, yield its base URL."""
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve", kind],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        line = proc.stdout.readline()
        if not line.startswith("port "):
            raise RuntimeError(f"{kind} server did not start (exit code {proc.poll()})")
        base = f"http://127.0.0.1:{int(line.split()[1])}"
        deadline = time.monotonic() + 30
        with httpx.Client(trust_env=False, timeout=5) as c:
            while True:
                try:
                    if c.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"{kind} server not answering on {base}")
                time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- The two clients: one request each, and the answer it carries -------------------

class Target:
    """How to ask one server the question: a URL, headers, a body per subject."""

    def __init__(self, name: str, url: str, headers: dict, body, check: bytes):
        self.name, self.url, self.headers, self.body, self.check = name, url, headers, body, check

    def client(self) -> httpx.Client:
        return httpx.Client(headers=self.headers, timeout=30, trust_env=False)

    def ask(self, c: httpx.Client, subject: str) -> httpx.Response:
        r = c.post(self.url, json=self.body(subject))
        if r.status_code != 200 or self.check not in r.content:
            raise RuntimeError(f"{self.name}: unexpected response {r.status_code}: {r.text[:300]}")
        return r


def api_target(base: str, token: str) -> Target:
    return Target("api", f"{base}/graphql", {"Authorization": f"Bearer {token}"},
                  lambda s: {"query": QUERY, "variables": {"s": s}}, b'"__typename":"Eligibility"')


def bare_target(base: str) -> Target:
    return Target("bare", f"{base}/eligibility", {},
                  lambda s: {"subject": s, "benefit": BENEFIT, "programme": PROGRAMME, "region": REGION, "on": ON},
                  b'"answer"')


def answer_of(target: Target, r: httpx.Response) -> dict:
    body = r.json()
    if target.name == "api":
        body = dict(body["data"]["eligibility"])
        body.pop("__typename")
    return body


# --- The ledger -----------------------------------------------------------------------

def configure(d: Path) -> dict:
    """Point the ledger's settings at d (database, keys, vault, state); children inherit them."""
    env = {"LEDGER_KEY_PASSPHRASE": PASSPHRASE, "LEDGER_STATE_DIR": str(d / "var"),
           "LEDGER_KEY_DIR": str(d / "private-keys"), "LEDGER_VKEY_DIR": str(d / "keys"),
           "LEDGER_VAULT_KEY_FILE": str(d / "var" / "vault.key"), "LEDGER_DATABASE_URL": f"sqlite:///{d}/ledger.db"}
    for name in ("LEDGER_KEY_PASSPHRASE_FILE", "LEDGER_ORIGIN", "LEDGER_LOG_KEY"):
        os.environ.pop(name, None)
    os.environ.update(env)
    return env


def build_ledger(d: Path, entries: int, cache: bool) -> dict:
    """A demo ledger of `entries` domain entries in d (reused if d caches one of that size)."""
    from ledger.config import Settings
    from ledger.demo import build_demo
    from ledger.store import log_store
    from ledger.store.engine import make_engine
    from ledger.store.migrate import upgrade

    configure(d)
    marker = d / CACHE_MARKER
    if cache and marker.exists():
        info = json.loads(marker.read_text())
        if info["entries"] == entries and info["seed"] == SEED:
            progress(f"reusing the cached demo ledger in {d} ({info['tree_size']} entries)")
            return {**info, "cached": True}
    if (d / "ledger.db").exists():
        raise SystemExit(f"{d} holds a ledger that is not this benchmark's cache for --entries {entries}; "
                         "remove it or choose another --cache directory")
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    progress(f"building the demo ledger: {entries} entries, seed {SEED} (build_demo, Ed25519 per entry)")
    done = [0, 0]

    def tick(n: int) -> None:
        done[0] += n
        if done[0] - done[1] >= 1000:
            done[1] = done[0]
            progress(f"  {done[0]} entries")

    t = time.perf_counter()
    build_demo(engine, settings, utc_now, entries=entries, seed=SEED, progress=tick)
    build_s = time.perf_counter() - t
    with engine.connect() as conn:
        size = log_store.size(conn)
    engine.dispose()
    info = {"entries": entries, "seed": SEED, "tree_size": size, "build_s": round(build_s, 1)}
    if cache:
        marker.write_text(json.dumps(info) + "\n")
    return {**info, "cached": False}


def pick_subjects(engine, n: int) -> list[str]:
    """Half from subjects with a sanction.imposed entry, the rest from subsidy.granted, shuffled."""
    from sqlalchemy import select

    from ledger.store.schema import entries

    def subjects_of(conn, type_: str) -> list[str]:
        q = select(entries.c.subject).where(entries.c.type == type_, entries.c.subject.is_not(None)).distinct()
        return sorted(conn.execute(q).scalars())

    with engine.connect() as conn:
        sanctioned, granted = subjects_of(conn, "sanction.imposed"), subjects_of(conn, "subsidy.granted")
    rng = random.Random(2)
    picked = rng.sample(sanctioned, min(n // 2, len(sanctioned)))
    rest = [s for s in granted if s not in set(picked)]
    picked += rng.sample(rest, min(n - len(picked), len(rest)))
    rng.shuffle(picked)
    return picked


# --- Measurements ---------------------------------------------------------------------

def sequential(target: Target, subjects: list[str], requests: int, warmup: int) -> dict:
    with target.client() as c:
        for k in range(warmup):
            target.ask(c, subjects[k % len(subjects)])
        lat = []
        t0 = time.perf_counter()
        for k in range(requests):
            s = subjects[k % len(subjects)]
            t = time.perf_counter()
            target.ask(c, s)
            lat.append(time.perf_counter() - t)
        wall = time.perf_counter() - t0
    return {"p50_ms": percentile(lat, 50) * 1e3, "p99_ms": percentile(lat, 99) * 1e3, "rps": requests / wall}


def concurrent(target: Target, subjects: list[str], clients: int, seconds: float) -> dict:
    """`clients` threads, one keep-alive connection each, released together; each
    asks until the deadline. Rate: requests completed ÷ wall time to the last finish."""
    barrier = threading.Barrier(clients + 1)
    lat: list[list[float]] = [[] for _ in range(clients)]
    errors: list[BaseException] = []
    start = [0.0]

    def worker(i: int) -> None:
        try:
            with target.client() as c:
                target.ask(c, subjects[i % len(subjects)])  # connect
                barrier.wait()
                deadline = start[0] + seconds
                k = i * 7919
                while True:
                    t = time.perf_counter()
                    if t >= deadline:
                        break
                    target.ask(c, subjects[k % len(subjects)])
                    lat[i].append(time.perf_counter() - t)
                    k += 1
        except BaseException as e:  # noqa: BLE001 - reported after join
            errors.append(e)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for th in threads:
        th.start()
    start[0] = time.perf_counter()
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        pass
    for th in threads:
        th.join()
    wall = time.perf_counter() - start[0]
    if errors:
        raise errors[0]
    every = [x for xs in lat for x in xs]
    return {"rps": len(every) / wall, "requests": len(every), "p50_ms": percentile(every, 50) * 1e3,
            "p99_ms": percentile(every, 99) * 1e3}


def direct(engine, subjects: list[str], requests: int, warmup: int) -> dict:
    from ledger import status

    on = date.fromisoformat(ON)
    for k in range(warmup):
        status.eligibility(engine, subjects[k % len(subjects)], BENEFIT, PROGRAMME, REGION, on)
    lat = []
    for k in range(requests):
        t = time.perf_counter()
        status.eligibility(engine, subjects[k % len(subjects)], BENEFIT, PROGRAMME, REGION, on)
        lat.append(time.perf_counter() - t)
    return {"p50_ms": percentile(lat, 50) * 1e3, "p99_ms": percentile(lat, 99) * 1e3}


def check_answers(engine, targets: list[Target], subjects: list[str]) -> dict[str, int]:
    """Every subject's answer from every server, equal to each other and to an
    in-process call; returns the mix of answers."""
    from ledger import status

    on = date.fromisoformat(ON)
    mix: dict[str, int] = {}
    clients = [t.client() for t in targets]
    try:
        for s in subjects:
            d = status.eligibility(engine, s, BENEFIT, PROGRAMME, REGION, on)
            want = {"answer": d.answer, "tree_size": d.tree_size,
                    "blocking": [{"kind": r.kind, "seq": r.seq, "message": r.message} for r in d.blocking]}
            for t, c in zip(targets, clients):
                got = answer_of(t, t.ask(c, s))
                if got != want:
                    raise AssertionError(f"{t.name} answers {got} for {s}; the function answers {want}")
            mix[d.answer] = mix.get(d.answer, 0) + 1
    finally:
        for c in clients:
            c.close()
    return mix


# --- Report ---------------------------------------------------------------------------

def summarise(runs: list[dict]) -> dict:
    def med(path: str) -> float:
        keys = path.split(".")
        vals = []
        for r in runs:
            v = r
            for k in keys:
                v = v[k]
            vals.append(v)
        return median(vals)

    out = {}
    for name in ("api", "bare"):
        out[name] = {f"seq_{k}": med(f"{name}.seq.{k}") for k in ("p50_ms", "p99_ms", "rps")}
        out[name].update({f"conc_{k}": med(f"{name}.conc.{k}") for k in ("rps", "p50_ms", "p99_ms")})
    out["direct"] = {k: med(f"direct.{k}") for k in ("p50_ms", "p99_ms")}
    out["ratio"] = {k: med(f"ratio.{k}") for k in runs[0]["ratio"]}
    return out


def _f(x: float, nd: int = 0) -> str:
    return f"{x:,.{nd}f}"


def render(console: Console, result: dict) -> None:
    p, env, led, s = result["params"], result["environment"], result["ledger"], result["summary"]
    console.rule("[bold]Integrity Ledger GraphQL API: eligibility over HTTP[/bold]")
    console.print(f"command: {escape(result['command'])}", highlight=False, soft_wrap=True)
    console.print(f"{env['platform']}, {env['cpus']} CPUs, Python {env['python']}, SQLite {env['sqlite']}; "
                  f"uvicorn {env['uvicorn']}, starlette {env['starlette']}, strawberry {env['strawberry']}, "
                  f"httpx {env['httpx']}", highlight=False)
    built = "cached" if led["cached"] else f"built in {led['build_s']:.0f} s"
    mix = ", ".join(f"{k} {v}" for k, v in sorted(led["answers"].items()))
    console.print(f"demo ledger: {led['tree_size']:,} entries ({built}); {len(result['subjects'])} subjects "
                  f"({mix}); answers equal on both servers and in-process", highlight=False)
    console.print(f"medians of {p['runs']} runs; ratios taken within each run", highlight=False)
    t = Table(title=f"eligibility: sequential {p['requests']} requests (after {p['warmup']} warm-up); "
                    f"{p['clients']} concurrent clients for {p['seconds']:g} s")
    for c in ("endpoint", "p50 ms", "p99 ms", "req/s", f"C={p['clients']} req/s", f"C={p['clients']} p50 ms",
              f"C={p['clients']} p99 ms"):
        t.add_column(c, justify="left" if c == "endpoint" else "right")
    for name, label in (("api", "GraphQL API (token, /graphql)"), ("bare", "baseline: bare Starlette route")):
        r = s[name]
        t.add_row(label, _f(r["seq_p50_ms"], 2), _f(r["seq_p99_ms"], 2), _f(r["seq_rps"]), _f(r["conc_rps"]),
                  _f(r["conc_p50_ms"], 2), _f(r["conc_p99_ms"], 2))
    t.add_row("[dim]in-process call, no HTTP[/dim]", _f(s["direct"]["p50_ms"], 2), _f(s["direct"]["p99_ms"], 2),
              "", "", "", "", end_section=True)
    q = s["ratio"]
    t.add_row("API ÷ baseline", f"{q['p50']:.2f}×", f"{q['p99']:.2f}×", f"{q['seq_rps']:.2f}×",
              f"{q['conc_rps']:.2f}×", f"{q['conc_p50']:.2f}×", f"{q['conc_p99']:.2f}×")
    console.print(t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="600 entries, 3 runs, 200 requests, 2 s of load")
    ap.add_argument("--runs", type=int, help="runs per figure (default 5; 3 with --quick)")
    ap.add_argument("--json", dest="out", metavar="OUT", help="also write the results as JSON to OUT")
    ap.add_argument("--cache", metavar="DIR", type=Path,
                    help="keep the demo ledger (database, keys, vault) in DIR and reuse it when DIR already holds "
                         "one of this size; default: build a fresh one in a temp dir")
    ap.add_argument("--serve", choices=("api", "bare"), help=argparse.SUPPRESS)  # the server processes
    args = ap.parse_args()
    if args.serve:
        serve(args.serve)
        return

    from importlib.metadata import version

    import starlette
    import uvicorn

    from ledger import tokens
    from ledger.store.engine import make_engine

    params = {"entries": 600 if args.quick else 6000, "runs": args.runs or (3 if args.quick else 5),
              "quick": args.quick, "subjects": 200, "requests": 200 if args.quick else 500,
              "warmup": 20 if args.quick else 50, "clients": CLIENTS, "seconds": 2.0 if args.quick else 5.0,
              "question": {"benefit": BENEFIT, "programme": PROGRAMME, "region": REGION, "on": ON}}
    exe = os.path.relpath(sys.executable) if not os.path.relpath(sys.executable).startswith("..") else sys.executable
    command = shlex.join([exe, *sys.argv])
    progress(f"command: {command}")
    started = time.perf_counter()
    result: dict = {"command": command, "params": params, "environment": {
        "python": platform.python_version(), "platform": platform.platform(terse=True), "cpus": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version, "uvicorn": uvicorn.__version__, "starlette": starlette.__version__,
        "strawberry": version("strawberry-graphql"), "httpx": httpx.__version__}}
    with ExitStack() as stack:
        if args.cache:
            d = args.cache.resolve()
            d.mkdir(parents=True, exist_ok=True)
        else:
            d = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ledger-bench-api-")))
        info = build_ledger(d, params["entries"], cache=bool(args.cache))
        engine = make_engine(os.environ["LEDGER_DATABASE_URL"])
        stack.callback(engine.dispose)
        token, _ = tokens.issue(engine, "programme_officer", utc_now, authority_id="nmg-talent-office",
                                region="150000", label="bench/api.py", expires_at=utc_now() + timedelta(days=1))
        subjects = pick_subjects(engine, params["subjects"])
        api = api_target(stack.enter_context(server("api")), token)
        bare = bare_target(stack.enter_context(server("bare")))
        progress(f"checking {len(subjects)} subjects' answers on both servers against the function")
        info["answers"] = check_answers(engine, [api, bare], subjects)
        result["ledger"], result["subjects"] = info, subjects
        runs = []
        for r in range(params["runs"]):
            order = (api, bare) if r % 2 == 0 else (bare, api)
            progress(f"run {r + 1}/{params['runs']}: {' then '.join(t.name for t in order)}")
            run: dict = {"order": [t.name for t in order]}
            for t in order:
                run[t.name] = {"seq": sequential(t, subjects, params["requests"], params["warmup"])}
            for t in order:
                run[t.name]["conc"] = concurrent(t, subjects, params["clients"], params["seconds"])
            run["direct"] = direct(engine, subjects, params["requests"], params["warmup"])
            a, b = run["api"], run["bare"]
            run["ratio"] = {  # API ÷ baseline, within this run
                "p50": a["seq"]["p50_ms"] / b["seq"]["p50_ms"], "p99": a["seq"]["p99_ms"] / b["seq"]["p99_ms"],
                "seq_rps": a["seq"]["rps"] / b["seq"]["rps"], "conc_rps": a["conc"]["rps"] / b["conc"]["rps"],
                "conc_p50": a["conc"]["p50_ms"] / b["conc"]["p50_ms"],
                "conc_p99": a["conc"]["p99_ms"] / b["conc"]["p99_ms"]}
            runs.append(run)
        result["runs"] = runs
        result["summary"] = summarise(runs)
    result["elapsed_s"] = time.perf_counter() - started
    render(Console(width=max(Console().width, 120)), result)
    print(f"elapsed: {result['elapsed_s']:.0f} s")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
