"""Several OS processes appending at once, and a process killed mid-batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from ledger.log.verify import verify_log
from ledger.store import log_store
from ledger.store.schema import entries

ROOT = Path(__file__).resolve().parent.parent


def spawn(url: str, *args: str, env: dict | None = None, watchdog: float = 180) -> subprocess.Popen:
    """Start an appender process. Its stderr goes to a file (a full, unread pipe
    would block it), and a watchdog kills it so a broken test cannot hang CI."""
    errors = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen([sys.executable, "-m", "tests.appender", url, *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=errors, text=True,
                            env={**os.environ, **(env or {})})
    proc.errors = errors
    timer = threading.Timer(watchdog, proc.kill)
    timer.daemon = True
    timer.start()
    return proc


def stderr_of(proc) -> str:
    proc.errors.seek(0)
    return proc.errors.read()


@pytest.mark.slow
def test_concurrent_processes_never_fork_skip_or_duplicate(ledger):
    workers, per_worker = 4, 40
    with ledger.engine.connect() as conn:
        start = log_store.size(conn)
    procs = [spawn(ledger.store.url, "notes", str(w), str(per_worker)) for w in range(workers)]
    for p in procs:
        p.communicate(timeout=240)
        assert p.returncode == 0, stderr_of(p)
    with ledger.engine.connect() as conn:
        rows = conn.execute(select(entries.c.seq, entries.c.request_id).order_by(entries.c.seq)).all()
    seqs = [r.seq for r in rows]
    assert seqs == list(range(len(seqs)))  # contiguous, no gap, no duplicate
    request_ids = [r.request_id for r in rows[start:]]
    shared = per_worker // 2  # even i: the same request id in every worker
    assert len(request_ids) == len(set(request_ids)) == shared + workers * (per_worker - shared)
    report, _ = verify_log(ledger.engine, workers=1)  # chain, tree and signatures
    assert report.size == len(seqs)


@pytest.mark.slow
def test_sigkill_in_the_middle_of_a_batch_loses_nothing_acknowledged(ledger):
    proc = spawn(ledger.store.url, "batches", "300", env={"LEDGER_TEST_HANG_IN_BATCH": "1"})
    acked = []
    for line in proc.stdout:
        if line.startswith("ack"):
            acked.append(line.split())
        if line.strip() == "inside":
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert len(acked) == 2, "two batches should be acknowledged before the hang: " + stderr_of(proc)
    last_acked = int(acked[-1][1])
    report, _ = verify_log(ledger.engine, workers=1)
    assert report.size == last_acked + 1  # the half-written third batch left nothing behind
    with ledger.engine.connect() as conn:
        got = {r for (r,) in conn.execute(select(entries.c.request_id).where(entries.c.request_id.like("b%")))}
    assert got == {f"b{n}-{i}" for n in range(2) for i in range(300)}


@pytest.mark.slow
def test_sigkill_at_a_random_moment_keeps_the_log_verifiable(ledger):
    """No fault hook: kill while batches stream; whatever was acknowledged is there."""
    proc = spawn(ledger.store.url, "batches", "500")
    acked = 0
    for line in proc.stdout:
        if line.startswith("ack"):
            acked = int(line.split()[1])
            if acked > 2000:
                break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    report, _ = verify_log(ledger.engine, workers=1)
    assert report.size >= acked + 1
