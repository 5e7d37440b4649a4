"""The nightly DAG across machines: Airflow 3 with the CeleryExecutor, every
component a separate process with its own working directory and its own
AIRFLOW_HOME (a copy of one airflow.cfg: the metadata database, the broker, the
DAGs folder, the shared secrets), as docs/deployment.md lays them out:

  redis-server   the broker (Debian's package, `make redis`), on a free loopback port
  api-server     the UI/REST API and the Task Execution API the worker talks to
  scheduler      creates the night's run, queues its tasks through Celery
  dag-processor  parses dags/ into the metadata database
  celery worker  runs the tasks; the only process with the ledger's keys

The metadata database is a fresh schema on the PostgreSQL server the suite uses
(SQLite cannot back a distributed executor), the ledger another (the application
role: SELECT+INSERT on the log). The artefacts (snapshot, reports) go through
``ObjectStoragePath`` under a ``file://`` base the Variable
``ledger_artefact_base`` names; the worker's working directory holds nothing
another task reads (decision 0021).

Checked: the run succeeds; the anchored report's SHA-256 is the anchor's; its
findings equal the demo funding system's ground truth (``ledger
score-findings``: precision and recall 1.0); every task instance ran on the
worker (its hostname and the Celery queue); every process is gone afterwards,
on failure too. The wall time is measured by bench/night.py, not here.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import select, text

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
QUEUE = "ledger"
WORKER_NAME = "ledger-worker-1"
TASKS = ["verify", "checkpoint", "extract", "reconcile", "anchor"]


def node_name() -> str:
    """``[core] hostname_callable`` for the test's processes: the name each process is
    started with (all run on one machine; the name tells them apart)."""
    return os.environ["LEDGER_TEST_NODE_NAME"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _with_search_path(url: str, schema: str) -> str:
    return f"{url}?options={quote(f'-csearch_path={schema}')}"


@dataclass
class Stack:
    """Processes started in their own session each (so one signal reaches a process
    and everything it forked), stopped in reverse order."""

    root: Path
    config: str  # airflow.cfg, copied into every AIRFLOW_HOME
    base_env: dict[str, str]
    meta_url: str
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def home(self, name: str) -> Path:
        return self.root / name / "airflow-home"

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        home, work = self.home(name), self.root / name / "work"
        home.mkdir(parents=True, exist_ok=True)
        work.mkdir(parents=True, exist_ok=True)
        (home / "airflow.cfg").write_text(self.config, encoding="utf-8")
        full = {**self.base_env, "AIRFLOW_HOME": str(home), "LEDGER_TEST_NODE_NAME": name, **(env or {})}
        log = open(self.root / name / "process.log", "ab")
        p = subprocess.Popen(argv, cwd=work, env=full, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.procs[name] = p
        return p

    def run(self, name: str, *args: str, env: dict[str, str] | None = None, timeout: float = 300) -> str:
        """One CLI command as the named node (its own home and working directory)."""
        home, work = self.home(name), self.root / name / "work"
        home.mkdir(parents=True, exist_ok=True)
        work.mkdir(parents=True, exist_ok=True)
        (home / "airflow.cfg").write_text(self.config, encoding="utf-8")
        full = {**self.base_env, "AIRFLOW_HOME": str(home), "LEDGER_TEST_NODE_NAME": name, **(env or {})}
        out = subprocess.run(list(args), cwd=work, env=full, capture_output=True, text=True, timeout=timeout)
        assert out.returncode == 0, f"{args}: {out.stdout[-2000:]}\n{out.stderr[-4000:]}"
        return out.stdout

    def log(self, name: str) -> str:
        try:
            return (self.root / name / "process.log").read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def check_alive(self) -> None:
        dead = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
        assert not dead, f"exited early: {dead}\n" + "\n".join(f"--- {n}\n{self.log(n)[-3000:]}" for n in dead)

    def stop(self) -> list[str]:
        """SIGTERM each process group (newest first), SIGKILL what is left after 30 s;
        returns the groups that still had a process after that (none, or a bug)."""
        for p in reversed(list(self.procs.values())):
            _signal_group(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for p in self.procs.values():
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        # The group may outlive its leader (a forked task runner): wait for it too.
        while time.monotonic() < deadline and any(_group_alive(p.pid) for p in self.procs.values()):
            time.sleep(0.2)
        left = [n for n, p in self.procs.items() if _group_alive(p.pid)]
        for p in self.procs.values():
            _signal_group(p.pid, signal.SIGKILL)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        return left


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _group_alive(pgid: int) -> bool:
    # Zombies of the group whose parent is gone count as gone: ask /proc.
    return bool(_members(pgid))


def airflow_config(*, dags: Path, meta_url: str, broker: str, api_port: int) -> str:
    """The one configuration every node shares (docs/deployment.md)."""
    fernet = _fernet_key()
    return f"""[core]
executor = CeleryExecutor
dags_folder = {dags}
load_examples = False
parallelism = 4
fernet_key = {fernet}
execution_api_server_url = http://127.0.0.1:{api_port}/execution/
hostname_callable = tests.test_celery_night.node_name

[database]
sql_alchemy_conn = {cfg(meta_url)}
sql_alchemy_conn_async = {cfg(meta_url)}

[celery]
broker_url = {broker}/0
result_backend = {broker}/1
worker_concurrency = 2

[operators]
default_queue = {QUEUE}

[api]
host = 127.0.0.1
port = {api_port}
secret_key = {secrets.token_hex(16)}

[api_auth]
jwt_secret = {secrets.token_hex(32)}

[dag_processor]
refresh_interval = 5

[scheduler]
scheduler_heartbeat_sec = 1

[logging]
logging_level = WARNING
"""


def cfg(value: str) -> str:
    """A value as airflow.cfg reads it (configparser interpolation: ``%`` is ``%%``)."""
    return value.replace("%", "%%")


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def _wait(what: str, check, stack: Stack, timeout: float = 600, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while True:
        stack.check_alive()
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


@contextmanager
def pg_schema(owner_url: str, prefix: str) -> Iterator[str]:
    from ledger.store.engine import make_engine

    schema = f"{prefix}_{secrets.token_hex(6)}"
    admin = make_engine(owner_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield schema
    finally:
        with admin.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '20s'"))
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@contextmanager
def celery_night(root: Path, owner_url: str, ledger_url: str, entries: int = 800) -> Iterator[tuple[Stack, date, Path]]:
    """A demo ledger for the last finished night and the whole Celery stack running;
    yields (the stack, the night, the artefact directory). Stops everything on exit."""
    from ledger.finance import business_day

    redis_port, api_port = free_port(), free_port()
    broker = f"redis://127.0.0.1:{redis_port}"
    with pg_schema(owner_url, "airflow") as meta_schema:
        meta_url = _with_search_path(owner_url, meta_schema)
        config = airflow_config(dags=ROOT / "dags", meta_url=meta_url, broker=broker, api_port=api_port)
        base_env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "LEDGER_"))}
        base_env.update({"PATH": f"{BIN}:{base_env.get('PATH', '')}", "PYTHONPATH": str(ROOT)})
        stack = Stack(root, config, base_env, meta_url)
        night = business_day.last_finished(datetime.now(UTC))
        artefacts = root / "artefact-store"
        try:
            stack.start("redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                                  "--appendonly", "no"])
            _demo(stack, root, ledger_url, night, entries)
            stack.run("migrate", str(BIN / "airflow"), "db", "migrate")
            worker_env = _worker_env(stack, root, ledger_url, artefacts)
            stack.start("api-server", [str(BIN / "airflow"), "api-server", "--port", str(api_port)])
            stack.start("dag-processor", [str(BIN / "airflow"), "dag-processor"])
            stack.start("scheduler", [str(BIN / "airflow"), "scheduler"])
            stack.start(WORKER_NAME, [str(BIN / "airflow"), "celery", "worker", "--queues", QUEUE,
                                      "--concurrency", "2", "--celery-hostname", f"{WORKER_NAME}@%h"],
                        env=worker_env)
            yield stack, night, artefacts
        finally:
            left = stack.stop()
            assert left == [], f"processes left running in the groups of {left}"


def _demo(stack: Stack, root: Path, ledger_url: str, night: date, entries: int = 800) -> None:
    """The Makefile's `reconcile` preparation: a demo ledger recorded on the night and
    the simulated funding system's extract with its ground truth, on an operator's node."""
    ledger = str(BIN / "ledger")
    env = _ledger_env(root / "operator", ledger_url)
    stack.run("operator", ledger, "demo", "--entries", str(entries), "--seed", "3", "--recorded-on", night.isoformat(), env=env)
    stack.run("operator", ledger, "demo-funding", "--out", str(root / "funding"), "--seed", "3",
              "--as-of", night.isoformat(), env=env)


def _ledger_env(where: Path, ledger_url: str) -> dict[str, str]:
    return {"LEDGER_DATABASE_URL": ledger_url, "LEDGER_KEY_PASSPHRASE": "pw", "LEDGER_KEY_DIR": str(where / "private"),
            "LEDGER_VKEY_DIR": str(where / "keys"), "LEDGER_STATE_DIR": str(where / "state")}


def _worker_env(stack: Stack, root: Path, ledger_url: str, artefacts: Path) -> dict[str, str]:
    """The worker's own copies of the keys and the vault key (in production: a secrets
    backend and the machine's provisioning), and the Variables and the Connection."""
    mine = root / WORKER_NAME / "secrets"
    for part in ("private", "keys", "state"):
        shutil.copytree(root / "operator" / part, mine / part)
    return {**_ledger_env(mine, ledger_url),
            "AIRFLOW_VAR_LEDGER_FUNDING_SOURCE": str(root / "funding" / "funding.csv"),
            "AIRFLOW_VAR_LEDGER_ARTEFACT_BASE": artefacts.as_uri()}


def _dag_runs(meta_url: str) -> list[dict]:
    return _select(meta_url, "SELECT run_id, state, run_type, data_interval_start FROM dag_run "
                             "WHERE dag_id = 'ledger_nightly'")


def _task_instances(meta_url: str) -> list[dict]:
    return _select(meta_url, "SELECT task_id, state, hostname, queue, try_number FROM task_instance "
                             "WHERE dag_id = 'ledger_nightly'")


def _select(meta_url: str, sql: str) -> list[dict]:
    from ledger.store.engine import make_engine

    engine = make_engine(meta_url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(sql)).mappings().all()]
    finally:
        engine.dispose()


@pytest.mark.slow
def test_the_night_on_celery_across_processes(tmp_path):
    owner, app = os.environ.get("LEDGER_TEST_PG_OWNER_URL"), os.environ.get("LEDGER_TEST_PG_APP_URL")
    if not (owner and app):
        pytest.skip("PostgreSQL not configured: run `make test` (sets LEDGER_TEST_PG_*_URL)")
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server not installed: run `make redis` (.ci/redis-up)")
    from tests.conftest import open_store

    with open_store("postgresql", tmp_path) as ledger_store, \
            celery_night(tmp_path, owner, ledger_store.url) as (stack, night, artefacts):
        # Unpaused once the dag-processor has stored it (before, `dags unpause` finds nothing to change).
        _wait("the DAG to be parsed", lambda: _select(stack.meta_url, "SELECT 1 FROM dag WHERE dag_id = 'ledger_nightly'"),
              stack)
        stack.run("cli", str(BIN / "airflow"), "dags", "unpause", "ledger_nightly")
        # The scheduler creates the run for the last finished night itself (catchup off):
        # the data interval [night 00:00, night+1 00:00) in Asia/Shanghai.
        runs = _wait("the night's run to finish", lambda: [r for r in _dag_runs(stack.meta_url)
                                                           if r["state"] in ("success", "failed")], stack)
        tis = _task_instances(stack.meta_url)
        assert [r["state"] for r in runs] == ["success"], (runs, tis, stack.log(WORKER_NAME)[-4000:])
        assert sorted(t["task_id"] for t in tis) == sorted(TASKS)
        assert all(t["state"] == "success" and t["hostname"] == WORKER_NAME and t["queue"] == QUEUE for t in tis), tis
        report = artefacts / f"reconciliation-{night.isoformat()}" / "report.json"
        seq = _check_anchored(ledger_store.engine, report, night)
        # The verifier's state is in the ledger's database: the next night resumes from it on any worker.
        from ledger.store.schema import verifier_states
        with ledger_store.engine.connect() as conn:
            size = conn.execute(select(verifier_states.c.size).where(verifier_states.c.name == "nightly")).scalar_one()
        assert 0 < size <= seq
        assert not (artefacts / "verifier").exists()  # nothing of it in the artefact store
        scored = subprocess.run([str(BIN / "ledger"), "score-findings", str(report),
                                 str(tmp_path / "funding" / "ground-truth.json")],
                                capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert scored.returncode == 0, scored.stdout + scored.stderr  # exit 1 unless precision and recall are 1.0
        # Nothing of the night on the worker's working directory: it all went to the store.
        assert not any((tmp_path / WORKER_NAME / "work").rglob("report.json"))


def _check_anchored(engine, report: Path, night: date) -> int:
    """The one anchor entry: its report digest is the stored report's; returns its seq."""
    import hashlib

    with engine.connect() as conn:
        rows = conn.execute(text("SELECT seq, canonical FROM entries WHERE type = 'reconciliation.completed'")).all()
    [(seq, entry)] = [(r[0], json.loads(bytes(r[1]))) for r in rows]
    body = {**entry.get("statement", {}), **entry}["body"]
    assert body["as_of"] == night.isoformat()
    assert body["report_sha256"] == hashlib.sha256(report.read_bytes()).hexdigest()
    return seq


def test_artefacts_round_trip_through_an_object_store(tmp_path):
    """Decision 0021: a step's scratch directory pulled from and pushed to the store,
    here Airflow's ObjectStoragePath over file://; staging leftovers stay local."""
    from airflow.sdk import ObjectStoragePath

    from ledger.finance import artefacts

    store = ObjectStoragePath((tmp_path / "store").as_uri())
    first = tmp_path / "first"
    (first / "extract-2026-12-04").mkdir(parents=True)
    (first / "extract-2026-12-04" / "funding.csv").write_bytes(b"txn_id\r\n")
    (first / ".extract-2026-12-04.abc.new").mkdir()
    assert artefacts.push(first, store) == ["extract-2026-12-04/funding.csv"]
    assert artefacts.push(first, store) == []  # the same bytes: nothing written again
    second = tmp_path / "second"
    assert artefacts.pull(store, ["extract-2026-12-04", "reconciliation-2026-12-04"], second) == ["extract-2026-12-04"]
    assert (second / "extract-2026-12-04" / "funding.csv").read_bytes() == b"txn_id\r\n"
    assert not (tmp_path / "store" / ".extract-2026-12-04.abc.new").exists()


def test_artefacts_on_a_local_store_are_private_whatever_the_umask(tmp_path, umask_022):
    """The funding snapshot and reports name subjects and amounts: on a file:// store
    they are 0600 in 0700 directories, not world-readable by the worker's umask."""
    import stat

    from airflow.sdk import ObjectStoragePath

    from ledger.finance import artefacts

    (tmp_path / "store").mkdir()
    store = ObjectStoragePath((tmp_path / "store").as_uri())
    scratch = tmp_path / "scratch"
    (scratch / "reconciliation-2026-12-04" / "refused").mkdir(parents=True)
    (scratch / "reconciliation-2026-12-04" / "refused" / "report.json").write_bytes(b"{}")
    artefacts.push(scratch, store)
    written = tmp_path / "store" / "reconciliation-2026-12-04" / "refused" / "report.json"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert stat.S_IMODE(written.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(written.parent.parent.stat().st_mode) == 0o700


def test_an_anchored_artefact_in_the_store_is_never_replaced(tmp_path):
    """The attack: a step (or a bug) leaves other bytes for an anchored snapshot in
    its scratch directory; the push refuses the whole directory, the store keeps the anchored bytes."""
    from ledger.errors import ConfigError
    from ledger.finance import artefacts

    store, scratch = tmp_path / "store", tmp_path / "scratch"
    (store / "extract-2026-12-04").mkdir(parents=True)
    (store / "extract-2026-12-04" / "funding.csv").write_bytes(b"anchored\r\n")
    (scratch / "extract-2026-12-04").mkdir(parents=True)
    (scratch / "extract-2026-12-04" / "funding.csv").write_bytes(b"changed\r\n")
    (scratch / "extract-2026-12-04" / "source.txt").write_bytes(b"csv\n")
    with pytest.raises(ConfigError, match="extract-2026-12-04 is anchored"):
        artefacts.push(scratch, store, immutable=frozenset({"extract-2026-12-04"}))
    assert (store / "extract-2026-12-04" / "funding.csv").read_bytes() == b"anchored\r\n"
    assert not (store / "extract-2026-12-04" / "source.txt").exists()


def test_a_failing_night_leaves_no_process_behind(tmp_path):
    """The harness's promise (no orphans, even on failure): a node that forked a
    child, then an error inside the block; every process of every group is gone."""
    stack = Stack(tmp_path, "", {"PATH": os.environ.get("PATH", "")}, "")
    with pytest.raises(RuntimeError, match="the night failed"):
        try:
            forker = stack.start("forker", ["sh", "-c", "sleep 300 & sleep 300"])
            _wait("the child", lambda: len(_members(forker.pid)) >= 2, stack, timeout=30, every=0.1)
            raise RuntimeError("the night failed")
        finally:
            assert stack.stop() == []
    assert _members(forker.pid) == []


def _members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group, from /proc."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                out.append(int(d.name))
    return out
