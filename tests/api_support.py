"""The API under test: a real schema and ASGI app over a real store, tokens
issued through the ledger's own token service (so they are hashed, dated and
revocable exactly as in production)."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from starlette.testclient import TestClient

from ledger.access import tokens
from ledger.api.app import create_app
from ledger.api.context import AppState, Limits
from ledger.config import Settings
from tests.conftest import BAOTOU, HOHHOT, ORIGIN, DomainLedger

ROLE_TOKENS = {
    # name: (role, keyword arguments for tokens.issue)
    "recorder": ("recorder", dict(authority_id=HOHHOT.id, region=HOHHOT.region)),
    "recorder_baotou": ("recorder", dict(authority_id=BAOTOU.id, region=BAOTOU.region)),
    "officer": ("programme_officer", dict(authority_id=HOHHOT.id, region=HOHHOT.region)),
    "auditor": ("auditor", {}),
    "admin": ("admin", {}),
}


@dataclass
class Api:
    ledger: DomainLedger
    state: AppState
    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)

    def issue(self, name: str, role: str, **kw) -> str:
        self.tokens[name], _ = tokens.issue(self.ledger.engine, self.ledger.keyring, role, self.ledger.clock,
                                            actor="operator:tests", label=name, **kw)
        return self.tokens[name]

    def court(self, name: str, subjects: list[str], case_ref: str = "(2026)内01行初7号") -> str:
        return self.issue(name, "court", case_ref=case_ref, subjects=subjects)

    def post(self, who: str | None, query: str, variables: dict | None = None, headers: dict | None = None):
        h = dict(headers or {})
        if who is not None:
            h["Authorization"] = f"Bearer {self.tokens.get(who, who)}"
        return self.client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=h)

    def gql(self, who: str, query: str, **variables) -> dict:
        """The ``data`` of a successful GraphQL response (asserts there were no errors)."""
        r = self.post(who, query, variables)
        assert r.status_code == 200, r.text
        body = r.json()
        assert "errors" not in body, body
        return body["data"]


def make_api(domain: DomainLedger, limits: Limits | None = None, *, read_only: bool = False) -> Api:
    settings = Settings(origin=ORIGIN, state_dir=Path(tempfile.mkdtemp(prefix="ledger-api-")))
    state = AppState(domain.engine, None if read_only else domain.keyring, domain.vault, domain.clock,
                     limits or Limits(), settings)
    api = Api(domain, state, TestClient(create_app(state)))
    for name, (role, kw) in ROLE_TOKENS.items():
        api.issue(name, role, **kw)
    return api


# --- `ledger serve` as a real process on loopback ----------------------------------

LEDGER = str(Path(sys.executable).parent / "ledger")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(env: dict[str, str], timeout: float = 60, args: tuple[str, ...] = ()) -> tuple[str, subprocess.Popen]:
    """``ledger serve`` on a free loopback port with ``env`` (and ``args``); returns its
    base URL and process once ``/healthz`` answers (the caller terminates it)."""
    port = free_port()
    proc = subprocess.Popen([LEDGER, "serve", "--port", str(port), *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return base, proc
        except httpx.TransportError:
            pass
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, f"ledger serve did not start in {timeout:.0f} s"
        time.sleep(0.1)
