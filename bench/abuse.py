"""Pre-award checks while abusive clients hammer the API (docs/benchmarks.md,
"Pre-award checks under abuse"; the limits are docs/limits.md).

    .venv/bin/python bench/abuse.py [--quick] [--runs N] [--seconds S] [--json OUT] [--cache DIR]

The question: how much slower does a programme officer's pre-award check get
while four clients sharing one other token send expensive queries as fast as
they can, with the API's limits, and without them (the
baseline, measured in the same run: the server as it was before the limits,
with only its depth, token, alias and page caps)?

The ledger is the demo: ``ledger db upgrade``, ``ledger demo --entries 6000
--seed 1`` (what ``make run`` builds; 1,500 entries with --quick), ``ledger
checkpoint``, in a temp dir or kept in ``--cache DIR`` and reused.

Two servers, one process each (``bench/abuse.py --serve on|off``), each
``create_app(state_from_settings(settings, limits))`` run by ``uvicorn.run`` on
127.0.0.1, exactly as ``ledger serve`` runs it (read-only: no passphrase):

- ``on``: ``Limits()``, the defaults ``ledger serve`` uses;
- ``off``: the same with the query cost limit, the token's cost bucket, the
  in-flight cap and the answer size limit switched off.

They run one after the other, never together, the order alternating between
runs. Every token (the checker's and the abusers') is issued in this process
by ``ledger.access.tokens.issue`` with the demo's log key, loaded once with
the demo's passphrase: each is a log-signed ``token.issued`` entry.

The checker (this process): the operation ``graphql/operations/pre_award_check.graphql``
with a programme-officer token of its own (a fresh one per window), one
request at a time on one keep-alive connection, paced at 25 a second (an
officer's batch of checks; the next starts at once when one takes longer),
cycling over the demo's sanctioned subjects (benefit, region and date from the
sanction, so the answers are "barred" with reasons) and as many unsanctioned
ones; p50/p99 over the requests of a window of ``--seconds`` (10; 4 with
--quick), after 20 warm-up requests made before any abuser starts.

The workloads, each in a window of its own:

- ``idle``: nothing else runs;
- ``attack``: the reported attack. A separate process (``bench/abuse.py
  --abuse``) with 4 threads, one keep-alive connection each (raw HTTP/1.1 over
  a socket, answers read and discarded unparsed, so that the client is never
  the bottleneck), one token among them, each sending back to back, ignoring
  Retry-After: 15 aliases of
  ``subjects(ids: [the 100 subjects with the most entries])`` with
  ``history(first: 100)`` and every field of each entry (estimated cost
  1,803,016; the limit is 50,000). The attack was reported with a
  programme-officer token; the abusers hold an auditor's, which may read
  every field, so the figures do not depend on which fields the access rules
  let a programme officer read (ledger/access/policy.py);
- ``costliest``: the same clients sending the costliest query the limits
  admit: a page of 100 subjects with sanctions, honours, grants and clawbacks
  (cost 40,102).

The abusers start 1 s before the window and stop asking at its end; the next
window starts once their last answers are in, so no work spills over. A fresh
abuser token per window (a spent bucket must not carry over). The abuse
process reports what its requests got: answered, refused for cost
(``cost_exceeded``), 429 (``rate_limited``), answer too large, other; and
bytes received. The server's CPU time over each window comes from
``/proc/PID/stat``.

Figures are medians over the runs (3; 2 with --quick); the ratio abusive ÷
idle (p50 and p99) is taken within each run, on the same server, then its
median. The client, the abusers and the server share the machine's cores:
read the ratios, not the absolute figures.

``--json OUT`` writes: command, params, env, ledger, queries (their estimated
costs), limits (each server's), runs (every window: latencies, abuser
outcomes, server CPU), summary (medians per server and workload, ratios),
phases_s, elapsed_s.

No assertions on timings: this script measures and reports.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Only light imports at module level: the abuse process (`--abuse`) must start fast.
import httpx  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.markup import escape  # noqa: E402
from rich.table import Table  # noqa: E402
from server_process import cpu_seconds, stop, wait_healthy  # noqa: E402

SEED = 1
LEDGER = str(Path(sys.executable).parent / "ledger")
CACHE_MARKER = "bench-abuse-ledger.json"
PASSPHRASE = "bench-abuse"  # the demo's private keys; given to `ledger demo` and the token issuer, never the servers
TOKEN_ENV = "BENCH_ABUSE_TOKEN"  # how the abuse process gets its bearer token (not on its command line)
ABUSERS = 4
ABUSER_ROLE = "auditor"  # reads every field; see the module docstring
LEAD_IN_S = 1.0
WARMUP = 20  # checks before each window
CHECKS_PER_S = 25  # the checker's pace: a batch of checks (a person asks far less often)
SERVERS = ("on", "off")
WORKLOADS = ("idle", "attack", "costliest")
PRE_AWARD = (ROOT / "graphql" / "operations" / "pre_award_check.graphql").read_text()
ENTRY = ("seq type recorded_at authority { id region } actor subject refs request_id body signer sig canonical "
         "canonical_base64 leaf_hash")
ATTACK = ("query Attack($ids: [String!]!) { " + " ".join(
    f"a{i}: subjects(ids: $ids) {{ ... on SubjectList {{ subjects {{ ref history(first: 100) {{ edges {{ node {{ "
    f"{ENTRY} }} }} }} }} }} }}" for i in range(15)) + " }")
COSTLIEST = ("query Costliest($ids: [String!]!) { subjects(ids: $ids) { ... on SubjectList { tree_size subjects { "
             "ref sanctions { seq severity in_force } honors { seq status } grants { seq amount_fen outstanding_fen } "
             "clawbacks { seq outstanding_fen overdue } } } } }")
QUERIES = {"attack": ATTACK, "costliest": COSTLIEST}

err = Console(stderr=True, highlight=False)


def progress(msg: str) -> None:
    err.print(f"[dim]{time.strftime('%H:%M:%S')}  {escape(msg)}[/dim]")


def utc_now() -> datetime:
    return datetime.now(UTC)


def quantiles_ms(xs: list[float]) -> dict:
    """p50/p99/max in ms (linear interpolation, as bench.common.percentile)."""
    if len(xs) < 2:
        v = xs[0] * 1e3 if xs else float("nan")
        return {"p50_ms": v, "p99_ms": v, "max_ms": v}
    q = statistics.quantiles(xs, n=100, method="inclusive")
    return {"p50_ms": q[49] * 1e3, "p99_ms": q[98] * 1e3, "max_ms": max(xs) * 1e3}


# --- The servers (each in its own process: `bench/abuse.py --serve on|off --port P`) ----

def limits_of(mode: str):
    from ledger.api.context import Limits

    if mode == "on":
        return Limits()
    return Limits(max_cost=None, cost_per_second=None, max_in_flight=None, max_response_bytes=None)


def serve(mode: str, port: int) -> None:
    """Child process: the app `ledger serve` runs, with the limits of `mode`."""
    import uvicorn

    from ledger.api.app import create_app, state_from_settings
    from ledger.config import Settings

    state = state_from_settings(Settings.from_env(), limits_of(mode))
    uvicorn.run(create_app(state), host="127.0.0.1", port=port, log_level="warning")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A `bench/abuse.py --serve mode` child: its pid (for CPU time) and URL."""

    def __init__(self, mode: str):
        self.mode, port = mode, free_port()
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve", mode,
                                      "--port", str(port)], cwd=ROOT)
        self.base = f"http://127.0.0.1:{port}"
        self.url = f"{self.base}/graphql"

    def wait_ready(self, timeout: float = 60) -> None:
        wait_healthy(self.base, self.proc, self.mode, timeout)

    def cpu_s(self) -> float:
        return cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        stop(self.proc)


# --- The abusers (a separate process: `bench/abuse.py --abuse URL --workload W`) ---------

class RawClient:
    """One keep-alive HTTP/1.1 connection sending one prepared POST over and
    over, reading each answer without decoding it (all but its first 2 KiB are
    discarded as they arrive): the abusers spend their CPU sending, not
    parsing megabytes of JSON, so the server is the bottleneck, as it would be
    for an attacker with a faster client."""

    HEAD = 2048

    def __init__(self, url: str, token: str, body: bytes):
        rest = url.removeprefix("http://")
        hostport, _, path = rest.partition("/")
        host, _, port = hostport.partition(":")
        self.address = (host, int(port))
        self.request = (f"POST /{path} HTTP/1.1\r\nHost: {hostport}\r\nAuthorization: Bearer {token}\r\n"
                        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
        self.scratch = bytearray(1 << 20)
        self.sock: socket.socket | None = None

    def connect(self) -> None:
        self.close()
        self.sock = socket.create_connection(self.address, timeout=300)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def ask(self) -> tuple[int, bytes, int]:
        """(status, the body's first bytes, the body's length)."""
        if self.sock is None:
            self.connect()
        assert self.sock is not None
        self.sock.sendall(self.request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = next(int(v) for k, _, v in (h.partition(b":") for h in lines[1:]) if k.lower() == b"content-length")
        first, got = body[:self.HEAD], len(body)
        while got < length:
            n = self.sock.recv_into(self.scratch, min(len(self.scratch), length - got))
            if not n:
                raise ConnectionError("the server closed the connection mid-answer")
            if len(first) < self.HEAD:
                first += bytes(self.scratch[:min(n, self.HEAD - len(first))])
            got += n
        return status, first, length


def outcome(status: int, first: bytes) -> str:
    if status == 429:
        return "rate_limited"
    for code in ("cost_exceeded", "response_too_large"):
        if f'"code":"{code}"'.encode() in first:
            return code
    if status == 200 and first.startswith(b'{"data":{'):
        return "answered"
    return "other"


def abuse(url: str, token: str, query: str, ids: list[str], clients: int, seconds: float) -> dict:
    """`clients` threads hammering `url` with `query` until `seconds` after the start."""
    body = json.dumps({"query": query, "variables": {"ids": ids}}).encode()
    counts: list[dict[str, int]] = [{} for _ in range(clients)]
    received = [0] * clients
    first_other: list[str] = []
    barrier = threading.Barrier(clients + 1)
    start = [0.0]

    def worker(i: int) -> None:
        c = RawClient(url, token, body)
        try:
            c.connect()
            barrier.wait()
            while time.perf_counter() < start[0] + seconds:
                try:
                    status, first, length = c.ask()
                    kind = outcome(status, first)
                    received[i] += length
                    if kind == "other" and not first_other:
                        first_other.append(f"{status}: {first[:300]!r}")
                except OSError as e:  # counted; the connection is renewed
                    kind = "transport_error"
                    if not first_other:
                        first_other.append(repr(e)[:300])
                    c.close()
                counts[i][kind] = counts[i].get(kind, 0) + 1
        finally:
            c.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for th in threads:
        th.start()
    start[0] = time.perf_counter()  # set before the release: workers read it after the barrier
    barrier.wait()
    print("ready", flush=True)
    for th in threads:
        th.join()
    total: dict[str, int] = {}
    for c in counts:
        for k, v in c.items():
            total[k] = total.get(k, 0) + v
    return {"clients": clients, "requests": sum(total.values()), "outcomes": total, "bytes": sum(received),
            "wall_s": time.perf_counter() - start[0], "first_other": first_other[0] if first_other else None}


def abuse_main(args) -> None:
    ids = json.loads(Path(args.ids).read_text())
    out = abuse(args.abuse, os.environ[TOKEN_ENV], QUERIES[args.workload], ids, args.clients, args.seconds)
    print(json.dumps(out), flush=True)


# --- The ledger -------------------------------------------------------------------------

def configure(d: Path) -> dict:
    """Point the ledger's settings at d; the children inherit them. The demo
    needs a passphrase to sign; the servers run without one (read-only)."""
    env = {"LEDGER_STATE_DIR": str(d / "state"), "LEDGER_KEY_DIR": str(d / "private-keys"),
           "LEDGER_VKEY_DIR": str(d / "keys"), "LEDGER_VAULT_KEY_FILE": str(d / "state" / "vault.key"),
           "LEDGER_DATABASE_URL": f"sqlite:///{d}/ledger.db"}
    for name in ("LEDGER_KEY_PASSPHRASE", "LEDGER_KEY_PASSPHRASE_FILE", "LEDGER_ORIGIN", "LEDGER_LOG_KEY"):
        os.environ.pop(name, None)
    os.environ.update(env)
    return env


def cli(*args: str, passphrase: bool = False) -> str:
    env = {**os.environ, **({"LEDGER_KEY_PASSPHRASE": PASSPHRASE} if passphrase else {})}
    out = subprocess.run([LEDGER, *args], capture_output=True, text=True, env=env, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"ledger {' '.join(args)} failed: {out.stderr[-2000:]}")
    return out.stdout


def build_ledger(d: Path, entries: int, cache: bool) -> dict:
    configure(d)
    marker = d / CACHE_MARKER
    shape = {"entries": entries, "seed": SEED}
    if cache and marker.exists():
        info = json.loads(marker.read_text())
        if {k: info.get(k) for k in shape} == shape:
            progress(f"reusing the cached demo ledger in {d} ({info['tree_size']:,} entries)")
            return {**info, "cached": True}
    if (d / "ledger.db").exists():
        raise SystemExit(f"{d} holds a ledger that is not this benchmark's cache for this size; "
                         "remove it or choose another --cache directory")
    progress(f"building the demo ledger: ledger demo --entries {entries} --seed {SEED}")
    t = time.perf_counter()
    cli("db", "upgrade")
    cli("demo", "--entries", str(entries), "--seed", str(SEED), passphrase=True)
    cli("checkpoint", passphrase=True)
    info = {**shape, "build_s": round(time.perf_counter() - t, 1), "tree_size": tree_size()}
    if cache:
        marker.write_text(json.dumps(info) + "\n")
    return {**info, "cached": False}


def tree_size() -> int:
    from ledger.config import Settings
    from ledger.store import log_store
    from ledger.store.engine import make_engine

    engine = make_engine(Settings.from_env().database_url)
    with engine.connect() as conn:
        n = log_store.size(conn)
    engine.dispose()
    return n


def questions(engine) -> tuple[list[dict], list[str]]:
    """The checker's questions (sanctioned subjects, then as many others, alternating)
    and the attack's ids (the 100 subjects with the most entries)."""
    from sqlalchemy import func, select

    from ledger.store.schema import entries

    with engine.connect() as conn:
        sanctions = conn.execute(select(entries.c.subject, entries.c.canonical).where(
            entries.c.type == "sanction.imposed").order_by(entries.c.seq).limit(50)).all()
        busiest = [r[0] for r in conn.execute(
            select(entries.c.subject).where(entries.c.subject.is_not(None)).group_by(entries.c.subject)
            .order_by(func.count().desc(), entries.c.subject).limit(100))]
    asked = []
    for k, (subject, canonical) in enumerate(sanctions):
        entry = json.loads(canonical)
        body = (entry["statement"] if entry.get("v") == 2 else entry)["body"]  # v2: the body is the statement's
        scope = body["scope"]
        asked.append({"subject": subject, "benefit": scope["benefits"][0], "programme": "草原英才",
                      "region": scope["regions"][0], "on": body["effective_from"]})
        other = busiest[k % len(busiest)]
        asked.append({"subject": other, "benefit": "subsidy", "programme": "草原英才", "region": "150000",
                      "on": body["effective_from"]})
    return asked, busiest


def log_keyring(engine):
    """The demo's log key (and its authority keys), loaded once: issuing a token
    appends a log-signed ``token.issued`` entry. The passphrase is given here
    only; the servers stay read-only."""
    from dataclasses import replace

    from ledger.config import Settings
    from ledger.log.operator import load_keyring

    return load_keyring(engine, replace(Settings.from_env(), passphrase_value=PASSPHRASE.encode()))


def issue(engine, keyring, role: str, label: str) -> str:
    from ledger.access import tokens

    scope = {"authority_id": "nmg-talent-office", "region": "150000"} if role == "programme_officer" else {}
    text, _ = tokens.issue(engine, keyring, role, utc_now, actor="operator:bench", label=label,
                           expires_at=utc_now() + timedelta(days=1), **scope)
    return text


# --- Measurements -----------------------------------------------------------------------

def check(c: httpx.Client, url: str, question: dict) -> None:
    r = c.post(url, json={"query": PRE_AWARD, "variables": question})
    body = r.json() if r.status_code == 200 else {}
    if r.status_code != 200 or "errors" in body or body["data"]["eligibility"]["__typename"] != "Eligibility":
        raise RuntimeError(f"pre-award check: unexpected response {r.status_code}: {r.text[:300]}")


class Checker:
    """The programme officer: one keep-alive connection, a token of its own."""

    def __init__(self, server: Server, token: str, asked: list[dict]):
        self.server, self.asked = server, asked
        self.client = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=300, trust_env=False)

    def warm(self) -> None:
        """Connect and warm the server's caches, before any abuser starts."""
        for k in range(WARMUP):
            check(self.client, self.server.url, self.asked[k % len(self.asked)])

    def window(self, seconds: float) -> dict:
        """Paced pre-award checks for `seconds`: latencies and the server's CPU."""
        lat: list[float] = []
        cpu0, t0 = self.server.cpu_s(), time.perf_counter()
        k = 0
        while time.perf_counter() - t0 < seconds:
            t = time.perf_counter()
            check(self.client, self.server.url, self.asked[k % len(self.asked)])
            lat.append(time.perf_counter() - t)
            k += 1
            time.sleep(max(0.0, t + 1 / CHECKS_PER_S - time.perf_counter()))  # paced; no catching up
        wall = time.perf_counter() - t0
        cpu = self.server.cpu_s() - cpu0
        return {"checks": len(lat), **quantiles_ms(lat), "wall_s": wall, "server_cpu_s": cpu,
                "server_cpu_share": cpu / wall}

    def close(self) -> None:
        self.client.close()


def measure(server: Server, engine, keyring, workload: str, asked: list[dict], ids_file: Path,
            seconds: float) -> dict:
    checker = Checker(server, issue(engine, keyring, "programme_officer",
                                    f"bench/abuse.py checker {server.mode} {workload}"), asked)
    try:
        checker.warm()
        if workload == "idle":
            return {"checker": checker.window(seconds)}
        return abused(server, engine, keyring, workload, checker, ids_file, seconds)
    finally:
        checker.close()


def abused(server: Server, engine, keyring, workload: str, checker: Checker, ids_file: Path,
           seconds: float) -> dict:
    """The checker's window while the abuse process runs; then wait for the abusers' last answers."""
    token = issue(engine, keyring, ABUSER_ROLE, f"bench/abuse.py {server.mode} {workload}")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--abuse", server.url, "--workload", workload,
           "--clients", str(ABUSERS), "--seconds", str(LEAD_IN_S + seconds), "--ids", str(ids_file)]
    p = subprocess.Popen(cmd, env={**os.environ, TOKEN_ENV: token}, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        if p.stdout is None or p.stdout.readline().strip() != "ready":
            raise RuntimeError(f"abuse process for {workload} did not start (exit code {p.poll()})")
        time.sleep(LEAD_IN_S)
        checked = checker.window(seconds)
        t = time.perf_counter()
        out, _ = p.communicate(timeout=600)
        drain = time.perf_counter() - t
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    if p.returncode != 0:
        raise RuntimeError(f"abuse process for {workload} failed ({p.returncode})")
    return {"checker": checked, "abusers": {**json.loads(out.strip().splitlines()[-1]), "drain_s": drain}}


def limits_json(mode: str) -> dict:
    """The limits the `mode` server runs with (ledger/api/context.py Limits), for the report."""
    from dataclasses import asdict

    return asdict(limits_of(mode))


def estimated_costs() -> dict:
    """The estimate of each query (ledger/api/cost.py), with 100 ids, and the limit."""
    from graphql import parse
    from ledger.api.context import Limits
    from ledger.api.cost import estimate, operation_of
    from ledger.api.schema import build_schema

    limits = Limits()
    schema = build_schema(limits)._schema
    ids = {"ids": ["0" * 64] * 100}
    out: dict = {"limit": limits.max_cost}
    for name, q in QUERIES.items():
        doc = parse(q)
        op = operation_of(doc, None)
        assert op is not None
        out[name] = estimate(schema, doc, op, ids, limits.max_page)
    return out


# --- Report -----------------------------------------------------------------------------

def summarise(runs: list[dict]) -> dict:
    from bench.common import median

    out: dict = {}
    for mode in SERVERS:
        out[mode] = {}
        for w in WORKLOADS:
            cells = [r[mode][w] for r in runs]
            s = {k: median([c["checker"][k] for c in cells]) for k in ("p50_ms", "p99_ms", "checks",
                                                                          "server_cpu_share")}
            if w != "idle":
                s["ratio_p50"] = median([c["checker"]["p50_ms"] / r[mode]["idle"]["checker"]["p50_ms"]
                                         for c, r in zip(cells, runs)])
                s["ratio_p99"] = median([c["checker"]["p99_ms"] / r[mode]["idle"]["checker"]["p99_ms"]
                                         for c, r in zip(cells, runs)])
                kinds = sorted({k for c in cells for k in c["abusers"]["outcomes"]})
                s["abuser_outcomes"] = {k: sum(c["abusers"]["outcomes"].get(k, 0) for c in cells) for k in kinds}
                s["abuser_mib_per_run"] = median([c["abusers"]["bytes"] for c in cells]) / 2**20
            out[mode][w] = s
    return out


def render(console: Console, result: dict) -> None:
    p, env, s, q = result["params"], result["env"], result["summary"], result["queries"]
    console.rule("[bold]Integrity Ledger: pre-award checks while abusive clients hammer the API[/bold]")
    console.print(f"command: {escape(result['command'])}", highlight=False, soft_wrap=True)
    console.print(f"{env['platform']}, {env['cpus']} CPUs, Python {env['python']}; uvicorn {env['uvicorn']}, "
                  f"strawberry {env['strawberry']}; load average {env['loadavg_start'][0]:.2f} at start, "
                  f"{env['loadavg_end'][0]:.2f} at end", highlight=False)
    led = result["ledger"]
    console.print(f"ledger: demo, {led['tree_size']:,} entries ({'cached' if led['cached'] else 'built'}); "
                  f"medians of {p['runs']} runs; windows of {p['seconds']:g} s; "
                  f"{ABUSERS} abusive clients on one {ABUSER_ROLE} token; estimated cost: attack {q['attack']:,}, costliest "
                  f"admitted {q['costliest']:,}, limit {q['limit']:,}", highlight=False)
    t = Table(title=f"pre-award check latency (graphql/operations/pre_award_check.graphql), one at a time, "
                    f"{CHECKS_PER_S} a second, own token")
    for col in ("server", "workload", "checks", "p50 ms", "p99 ms", "p50 ÷ idle", "p99 ÷ idle", "server CPU",
                "abusers' requests (all runs)", "abusers MiB/run"):
        t.add_column(col, justify="left" if col in ("server", "workload") or col.startswith("abusers'") else "right")
    labels = {"on": "limits on (Limits())", "off": "baseline: limits off"}
    for mode in SERVERS:
        for w in WORKLOADS:
            c = s[mode][w]
            outcomes = ", ".join(f"{k} {v:,}" for k, v in c.get("abuser_outcomes", {}).items())
            t.add_row(labels[mode] if w == "idle" else "", w, f"{c['checks']:.0f}", f"{c['p50_ms']:,.1f}",
                      f"{c['p99_ms']:,.1f}", f"{c['ratio_p50']:.2f}×" if "ratio_p50" in c else "",
                      f"{c['ratio_p99']:.2f}×" if "ratio_p99" in c else "", f"{c['server_cpu_share'] * 100:.0f}%",
                      outcomes, f"{c['abuser_mib_per_run']:,.1f}" if "abuser_mib_per_run" in c else "",
                      end_section=w == WORKLOADS[-1])
    console.print(t)
    ph = result["phases_s"]
    console.print("wall time: " + ", ".join(f"{k} {v:.1f} s" for k, v in ph.items()), highlight=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1,500 demo entries, 2 runs, 4 s windows")
    ap.add_argument("--runs", type=int, help="runs (default 3; 2 with --quick)")
    ap.add_argument("--seconds", type=float, help="length of each window (default 10; 4 with --quick)")
    ap.add_argument("--json", dest="out", metavar="OUT", help="also write the results as JSON to OUT")
    ap.add_argument("--cache", metavar="DIR", type=Path,
                    help="keep the demo ledger in DIR and reuse it when DIR already holds one of this size")
    ap.add_argument("--serve", choices=SERVERS, help=argparse.SUPPRESS)  # the server processes
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--abuse", metavar="URL", help=argparse.SUPPRESS)  # the abuse process
    ap.add_argument("--workload", choices=tuple(QUERIES), help=argparse.SUPPRESS)
    ap.add_argument("--clients", type=int, default=ABUSERS, help=argparse.SUPPRESS)
    ap.add_argument("--ids", metavar="FILE", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        return serve(args.serve, args.port)
    if args.abuse:
        return abuse_main(args)

    from importlib.metadata import version

    import uvicorn

    from ledger.config import Settings
    from ledger.store.engine import make_engine

    quick = args.quick
    params = {"entries": 1_500 if quick else 6_000, "runs": args.runs or (2 if quick else 3),
              "seconds": args.seconds or (4.0 if quick else 10.0), "abusers": ABUSERS, "lead_in_s": LEAD_IN_S,
              "warmup": WARMUP, "checks_per_s": CHECKS_PER_S, "abuser_role": ABUSER_ROLE, "quick": quick}
    exe = os.path.relpath(sys.executable) if not os.path.relpath(sys.executable).startswith("..") else sys.executable
    command = shlex.join([exe, *sys.argv])
    progress(f"command: {command}")
    started = time.perf_counter()
    phases: dict[str, float] = {}
    result: dict = {"command": command, "params": params, "env": {
        "python": platform.python_version(), "platform": platform.platform(terse=True), "cpus": os.cpu_count(),
        "uvicorn": uvicorn.__version__, "strawberry": version("strawberry-graphql"), "httpx": httpx.__version__,
        "loadavg_start": list(os.getloadavg())}}
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ledger-bench-abuse-")))
        d = args.cache.resolve() if args.cache else work
        d.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        result["ledger"] = build_ledger(d, params["entries"], cache=bool(args.cache))
        phases["build"] = time.perf_counter() - t
        engine = make_engine(Settings.from_env().database_url)
        stack.callback(engine.dispose)
        keyring = log_keyring(engine)
        asked, ids = questions(engine)
        ids_file = work / "ids.json"
        ids_file.write_text(json.dumps(ids))
        result["queries"] = estimated_costs()
        result["limits"] = {mode: limits_json(mode) for mode in SERVERS}
        result["ledger"]["checked_subjects"] = len(asked)
        t = time.perf_counter()
        runs = []
        for r in range(params["runs"]):
            order = SERVERS if r % 2 == 0 else SERVERS[::-1]
            run: dict = {"order": list(order)}
            for mode in order:
                server = Server(mode)
                try:
                    server.wait_ready()
                    run[mode] = {}
                    for w in WORKLOADS:
                        progress(f"run {r + 1}/{params['runs']}: limits {mode}, {w}")
                        run[mode][w] = measure(server, engine, keyring, w, asked, ids_file, params["seconds"])
                finally:
                    server.stop()
            runs.append(run)
        phases["runs"] = time.perf_counter() - t
        result["runs"] = runs
        result["summary"] = summarise(runs)
    result["env"]["loadavg_end"] = list(os.getloadavg())
    result["elapsed_s"] = phases["total"] = time.perf_counter() - started
    result["phases_s"] = phases
    render(Console(width=max(Console().width, 140)), result)
    print(f"elapsed: {result['elapsed_s']:.0f} s")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
