"""Shared fixtures: a real SQLite file and a real PostgreSQL schema per test.

PostgreSQL comes from ``make test`` (``.ci/postgres-up``), which exports
LEDGER_TEST_PG_OWNER_URL (schema owner: migrations, tampering) and
LEDGER_TEST_PG_APP_URL (the application role: SELECT+INSERT on the log).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, text

from ledger.append import append_entries
from ledger.entry import Authority, Draft
from ledger.keyring import Keyring
from ledger.keys import Signer
from ledger.operator import init_log, register_key
from ledger.store.engine import make_engine
from ledger.store.migrate import upgrade

PG_OWNER = os.environ.get("LEDGER_TEST_PG_OWNER_URL")
PG_APP = os.environ.get("LEDGER_TEST_PG_APP_URL")
ORIGIN = "test.example/ledger"
HOHHOT = Authority("hrss-150100", "150100")
BAOTOU = Authority("hrss-150200", "150200")


class FixedClock:
    """A deterministic clock: each call advances by ``step``."""

    def __init__(self, start: datetime = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc),
                 step: timedelta = timedelta(milliseconds=1)):
        self.now, self.step = start, step

    def __call__(self) -> datetime:
        t = self.now
        self.now += self.step
        return t


@dataclass
class Store:
    dialect: str
    url: str  # what the application connects with
    engine: Engine
    owner: Engine  # schema owner: can drop triggers (tamper tests)


def _with_search_path(url: str, schema: str) -> str:
    return f"{url}?options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/ledger.db"
        engine = make_engine(url)
        upgrade(engine)
        yield Store("sqlite", url, engine, engine)
        engine.dispose()
        return
    if not (PG_OWNER and PG_APP):
        pytest.skip("PostgreSQL not configured: run `make test` (sets LEDGER_TEST_PG_*_URL)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_OWNER)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    owner = make_engine(_with_search_path(PG_OWNER, schema))
    upgrade(owner, app_role="ledger_app")
    url = _with_search_path(PG_APP, schema)
    engine = make_engine(url)
    yield Store("postgresql", url, engine, owner)
    engine.dispose()
    owner.dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@dataclass
class Ledger:
    """A store with a genesis entry and two registered authority keys."""

    store: Store
    keyring: Keyring
    clock: FixedClock
    seeds: dict[str, bytes] = field(default_factory=dict)

    @property
    def engine(self) -> Engine:
        return self.store.engine

    def append(self, drafts):
        return append_entries(self.engine, drafts, self.keyring, self.clock)

    def notes(self, n: int, prefix: str = "r", authority: Authority = HOHHOT, start: int = 0) -> list:
        return self.append([note(f"{prefix}{i}", authority) for i in range(start, start + n)])


def note(request_id: str, authority: Authority = HOHHOT, text_: str | None = None, subject: str | None = None) -> Draft:
    return Draft("note.recorded", authority, "officer-1", subject, (), request_id,
                 {"text": text_ or f"考核记录 {request_id}"})


SEEDS = {"log": b"test-log-key", HOHHOT.id: b"test-hohhot-key", BAOTOU.id: b"test-baotou-key"}


def make_keyring() -> Keyring:
    """Deterministic (seeded) real Ed25519 keys, so subprocesses can rebuild them."""
    ring = Keyring(Signer.from_seed("test-log", SEEDS["log"]))
    for a in (HOHHOT, BAOTOU):
        ring.authorities[a.id] = Signer.from_seed(f"test-{a.id}", SEEDS[a.id])
    return ring


def bootstrap(engine: Engine, keyring: Keyring, clock) -> None:
    init_log(engine, keyring.log, ORIGIN, clock)
    for authority_id, signer in keyring.authorities.items():
        register_key(engine, keyring.log, signer.verifier.vkey(), authority_id, clock)


@pytest.fixture
def ledger(store) -> Ledger:
    ring, clock = make_keyring(), FixedClock()
    bootstrap(store.engine, ring, clock)
    return Ledger(store, ring, clock)
