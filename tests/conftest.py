"""Shared fixtures: a real SQLite file and a real PostgreSQL schema per test.

PostgreSQL comes from ``make test`` (``.ci/postgres-up``), which exports
LEDGER_TEST_PG_OWNER_URL (schema owner: migrations, tampering) and
LEDGER_TEST_PG_APP_URL (the application role: SELECT+INSERT on the log).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from hypothesis import settings
from sqlalchemy import Engine, text

from ledger.log.append import append_entries
from ledger.log.entry import Authority, Draft
from ledger.log.operator import authority_draft, genesis_draft, key_draft
from ledger.signing import keystore
from ledger.signing.keyring import Keyring
from ledger.signing.keys import Signer
from ledger.store.engine import make_engine
from ledger.store.migrate import upgrade

# No timing assertions in tests: hypothesis's per-example deadline is one, and it
# fails property tests on a loaded 2-core machine (a 0.3 ms example took 361 ms).
settings.register_profile("ledger", deadline=None)
settings.load_profile("ledger")

# Airflow reads its configuration when first imported: set it before any test
# module imports it. One metadata database per worker.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="ledger-airflow-")
os.environ.update({
    "AIRFLOW_HOME": _AIRFLOW_HOME,
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__DAGS_FOLDER": os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "dags"),
    "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
})

# Tests create keys in many temporary directories: a cheap scrypt cost, written into
# each key file (so subprocesses open them cheaply too). Keys elsewhere use keystore.STRONG.
keystore.KDF_COST = keystore.ScryptCost(n=2**10, r=8, p=1)

PG_OWNER = os.environ.get("LEDGER_TEST_PG_OWNER_URL")
PG_APP = os.environ.get("LEDGER_TEST_PG_APP_URL")
ORIGIN = "test.example/ledger"
HOHHOT = Authority("hrss-150100", "150100")
BAOTOU = Authority("hrss-150200", "150200")
# The region's department: its jurisdiction covers every league and city, so the
# domain helpers record under it unless a test names a city authority.
REGIONAL = Authority("hrss-150000", "150000")


class FixedClock:
    """A deterministic clock: each call advances by ``step``."""

    def __init__(self, start: datetime = datetime(2026, 1, 5, 8, 0, tzinfo=UTC),
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


@contextmanager
def open_store(dialect: str, directory):
    """A migrated, empty store: a SQLite file in ``directory``, or a fresh
    PostgreSQL schema (dropped afterwards). Skips when PostgreSQL is not configured."""
    if dialect == "sqlite":
        url = f"sqlite:///{directory}/ledger.db"
        engine = make_engine(url)
        upgrade(engine)
        try:
            yield Store("sqlite", url, engine, engine)
        finally:
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
    try:
        yield Store("postgresql", url, engine, owner)
    finally:
        engine.dispose()
        owner.dispose()
        with admin.begin() as conn:
            # A test that leaked an open transaction must fail, not hang the suite.
            conn.execute(text("SET LOCAL lock_timeout = '20s'"))
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    with open_store(request.param, tmp_path) as s:
        yield s


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


SEEDS = {"log": b"test-log-key", HOHHOT.id: b"test-hohhot-key", BAOTOU.id: b"test-baotou-key",
         REGIONAL.id: b"test-regional-key"}


def make_keyring() -> Keyring:
    """Deterministic (seeded) real Ed25519 keys, so subprocesses can rebuild them."""
    ring = Keyring(Signer.from_seed("test-log", SEEDS["log"]))
    for a in (HOHHOT, BAOTOU, REGIONAL):
        ring.authorities[a.id] = Signer.from_seed(f"test-{a.id}", SEEDS[a.id])
    return ring


AUTHORITY_NAMES = {HOHHOT.id: "呼和浩特市人力资源和社会保障局", BAOTOU.id: "包头市人力资源和社会保障局",
                   REGIONAL.id: "内蒙古自治区人力资源和社会保障厅"}


def bootstrap(engine: Engine, keyring: Keyring, clock, authorities=(HOHHOT, BAOTOU), *, version: int = 1) -> None:
    """Genesis, then each authority registered (docs/authorities.md) with its key.

    Written in format v1 by default, as a log begun before format v2 was: every
    fixture's log is then v1 entries followed by the v2 entries the test appends
    (docs/contracts.md §2.7), so the whole suite runs on mixed logs. ``version=2``
    gives a log that is v2 from its genesis (what ``ledger init`` writes now)."""
    log = Keyring(keyring.log)
    append_entries(engine, [genesis_draft(keyring.log.verifier.vkey(), ORIGIN)], log, clock, version=version)
    for a in authorities:
        append_entries(engine, [authority_draft(a.id, AUTHORITY_NAMES[a.id], a.region)], log, clock, version=version)
        append_entries(engine, [key_draft(keyring.authorities[a.id].verifier.vkey(), a.id)], log, clock,
                       version=version)


PROGRAMMES = ("草原英才", "鸿雁行动", "一事一议", "项目")


def programme_drafts(codes=PROGRAMMES, authority: Authority = REGIONAL) -> list[Draft]:
    """``programme.registered`` drafts: records refer to programme codes (docs/effects.md)."""
    return [Draft("programme.registered", authority, "officer-1", None, (), f"programme:{code}",
                  {"code": code, "name": f"{code}计划", "region": "150000",
                   "benefits": ["honor", "subsidy", "talent_project"], "deciding_body": "自治区人才工作领导小组"})
            for code in codes]


def register_programmes(engine: Engine, keyring: Keyring, clock, codes=PROGRAMMES) -> None:
    append_entries(engine, programme_drafts(codes), keyring, clock)


@pytest.fixture
def ledger(store) -> Ledger:
    ring, clock = make_keyring(), FixedClock()
    bootstrap(store.engine, ring, clock)
    return Ledger(store, ring, clock)


# --- the domain -------------------------------------------------------------
PERSON = "cn-rid:150102199001010019"
PERSON_2 = "cn-rid:152201198006150025"
OLD_LEAGUE_PERSON = "cn-rid:152100197001010035"
EMPLOYER = "cn-uscc:911522010783762860"
EMPLOYER_2 = "cn-uscc:91152201078377449P"
BASIS = {"article": "条例第六十六条", "document_no": "内人社发〔2026〕1号"}


class DomainLedger(Ledger):
    """A bootstrapped ledger with a vault and helpers that read like the records."""

    vault = None
    _n = 0

    def subject(self, identifier: str, name: str = "测试人员") -> str:
        from ledger.domain.subjects import add_subject

        return add_subject(self.engine, self.vault, identifier, name, self.clock)[0]

    def record(self, type_: str, subject: str, body: dict, refs=(), authority: Authority = REGIONAL, rid: str | None = None):
        DomainLedger._n += 1
        return self.append([Draft(type_, authority, "officer-1", subject, tuple(refs), rid or f"{type_}-{DomainLedger._n}", body)])[0]

    def sanction(self, subject, start="2026-01-01", until="2027-12-31", benefits=("honor", "subsidy", "talent_project"),
                 regions=("150000",), programmes=(), **kw):
        body = {"severity": "serious", "grounds": "伪造申报材料", "legal_basis": BASIS, "deciding_body": "自治区人社厅",
                "decision_date": start, "effective_from": start,
                "scope": {"benefits": list(benefits), "regions": list(regions), "programmes": list(programmes)}, **kw}
        if until:
            body["effective_until"] = until
        return self.record("sanction.imposed", subject, body)

    def grant(self, subject, amount=500_000_00, ref=None, on="2026-03-01", region="150100", programme="草原英才", **kw):
        DomainLedger._n += 1
        body = {"programme": programme, "kind": "research_funding", "amount_fen": amount,
                "grant_ref": ref or f"NMG-GR-{DomainLedger._n:06d}", "budget_account": "2130101",
                "decision_date": on, "region": region, **kw}
        return self.record("subsidy.granted", subject, body)

    def honor(self, subject, on="2026-03-01", region="150100", programme="草原英才", **kw):
        return self.record("honor.granted", subject, {"title": "草原英才", "level": "regional", "programme": programme,
                                                      "awarding_body": "自治区人民政府", "decision_date": on,
                                                      "region": region, **kw})


@pytest.fixture
def domain(store) -> DomainLedger:
    from ledger.domain.vault import Vault

    ring, clock = make_keyring(), FixedClock()
    bootstrap(store.engine, ring, clock, (HOHHOT, BAOTOU, REGIONAL))
    register_programmes(store.engine, ring, clock)
    d = DomainLedger(store, ring, clock)
    d.vault = Vault(bytes(range(32)))
    return d


@pytest.fixture
def umask_022():
    """A permissive umask for the test (files must come out private regardless)."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


# --- the console's browser (headless Chromium, Debian's: .ci/browser-up) ------------

@pytest.fixture(scope="module")
def browser():
    """One Chromium context per test module (its own profile directory)."""
    from playwright import sync_api

    from tests.console_support import SCREENSHOTS, close_browser, launch_browser, require_chromium

    require_chromium()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        context, profile = launch_browser(p)
        yield context
        close_browser(context, profile)


@pytest.fixture
def page(browser):
    """A new tab (its own sessionStorage: log in per test); script errors fail the test."""
    tab = browser.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    yield tab
    tab.close()
    assert not errors, errors


# --- a ledger driven through the CLI, in tmp_path ------------------------------------

@pytest.fixture
def cli_env(tmp_path, monkeypatch) -> dict[str, str]:
    """The environment of a CLI ledger under ``tmp_path`` (SQLite, its own key,
    vkey and state directories), set for the test."""
    values = {"LEDGER_KEY_PASSPHRASE": "correct horse battery staple", "LEDGER_KEY_DIR": str(tmp_path / "private"),
              "LEDGER_VKEY_DIR": str(tmp_path / "keys"), "LEDGER_STATE_DIR": str(tmp_path / "state"),
              "LEDGER_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.db"}
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    return values


def run_cli(*args: str, code: int = 0) -> str:
    """``ledger ARGS`` in process; its standard output, after checking the exit code."""
    from click.testing import CliRunner

    from ledger.cli import main

    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output + result.stderr
    return result.stdout
