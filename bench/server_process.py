"""A benchmark's server child process: wait until it answers, read its CPU time,
stop it. Light imports only (the abuse clients import this and must start fast)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx


def wait_healthy(base: str, proc: subprocess.Popen, label: str, timeout: float = 60) -> None:
    """Poll ``base``/healthz until it answers 200; raise if the child exits or time runs out."""
    deadline = time.monotonic() + timeout
    with httpx.Client(trust_env=False, timeout=5) as c:
        while True:
            try:
                if c.get(f"{base}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{label} server not answering on {base}")
            time.sleep(0.05)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads) so far (Linux; else NaN)."""
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        return float("nan")
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
