"""Shared benchmark helpers: fresh stores (SQLite file / PostgreSQL schema), a
bootstrapped ledger, note drafts, a plain baseline table, and small statistics.

Kept independent of ``tests/`` on purpose (benchmarks must not break when a
fixture changes); the keys, authorities and drafts are the same as
``tests/conftest.py``'s so the figures describe the same workload.
"""

from __future__ import annotations

import os
import random
import sqlite3
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.markup import escape  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

from ledger.log.entry import Authority, Draft  # noqa: E402
from ledger.log.operator import init_log, register_authority, register_key  # noqa: E402
from ledger.signing.keyring import Keyring  # noqa: E402
from ledger.signing.keys import Signer  # noqa: E402
from ledger.store.engine import make_engine  # noqa: E402
from ledger.store.log_store import entry_row  # noqa: E402,F401  (re-exported: the row the ledger writes)
from ledger.store.migrate import upgrade  # noqa: E402

# Same defaults as the Makefile (`make test` / `make bench` export these).
PG_OWNER_URL = os.environ.get(
    "LEDGER_TEST_PG_OWNER_URL", "postgresql+psycopg://ledger_owner:ledger_owner@127.0.0.1:5432/ledger_test")
PG_APP_URL = os.environ.get(
    "LEDGER_TEST_PG_APP_URL", "postgresql+psycopg://ledger_app:ledger_app@127.0.0.1:5432/ledger_test")
PG_APP_ROLE = "ledger_app"

ORIGIN = "bench.example/ledger"
HOHHOT = Authority("hrss-150100", "150100")
BAOTOU = Authority("hrss-150200", "150200")
SEEDS = {"log": b"test-log-key", HOHHOT.id: b"test-hohhot-key", BAOTOU.id: b"test-baotou-key"}


def utc_now() -> datetime:
    return datetime.now(UTC)


class NullSigner(Signer):
    """A Signer whose ``sign`` returns 64 zero bytes: measures the append path
    with the Ed25519 signature taken out (the key name and public key are the
    real ones, so the key registry accepts it). Benchmarks only."""

    def sign(self, message: bytes) -> bytes:
        return bytes(64)


def make_keyring(*, null_sign: bool = False) -> Keyring:
    """Deterministic (seeded) Ed25519 keys, as tests/conftest.py; subprocesses rebuild them."""
    ring = Keyring(Signer.from_seed("test-log", SEEDS["log"]))
    cls = NullSigner if null_sign else Signer
    for a in (HOHHOT, BAOTOU):
        ring.authorities[a.id] = cls.from_seed(f"test-{a.id}", SEEDS[a.id])
    return ring


def bootstrap(engine: Engine, keyring: Keyring, clock=utc_now) -> None:
    """Genesis plus, per authority, authority.registered and key.registered (5 entries),
    as tests/conftest.py."""
    init_log(engine, keyring.log, ORIGIN, clock)
    for authority_id, signer in keyring.authorities.items():
        region = next(a.region for a in (HOHHOT, BAOTOU) if a.id == authority_id)
        register_authority(engine, keyring.log, authority_id, f"{authority_id} 人社局", region, clock)
        register_key(engine, keyring.log, signer.verifier.vkey(), authority_id, clock)


def note(request_id: str, authority: Authority = HOHHOT) -> Draft:
    """The tests' note draft: a short Chinese text body, no subject, no refs."""
    return Draft("note.recorded", authority, "officer-1", None, (), request_id,
                 {"text": f"考核记录 {request_id}"})


# --- The baseline table: the entries columns, primary key only ----------------

plain_metadata = sa.MetaData()
plain_entries = sa.Table(
    "plain_entries",
    plain_metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("prev", sa.LargeBinary(32), nullable=False),
    sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("recorded_at", sa.String(27), nullable=False),
    sa.Column("authority_id", sa.String(128), nullable=False),
    sa.Column("subject", sa.String(64), nullable=True),
    sa.Column("request_id", sa.String(128), nullable=False),
    sa.Column("signer", sa.String(128), nullable=False),
    sa.Column("canonical", sa.LargeBinary, nullable=False),
)


# --- Fresh stores ----------------------------------------------------------------

@dataclass
class Store:
    kind: str  # "sqlite" | "postgresql"
    url: str  # the application's URL (what append_entries connects with)
    engine: Engine  # application engine (PostgreSQL: ledger_app, SELECT+INSERT on the log)
    plain_url: str  # where the baseline table lives
    plain_engine: Engine


def _with_search_path(url: str, schema: str) -> str:
    return f"{url}?options={quote(f'-csearch_path={schema}')}"


def check_postgres() -> str | None:
    """None if PostgreSQL answers on the owner URL, else the error text."""
    try:
        e = make_engine(PG_OWNER_URL)
        with e.connect() as conn:
            conn.execute(text("SELECT 1"))
        e.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - report any connection failure
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


def server_version(engine: Engine) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return "SQLite " + conn.exec_driver_sql("select sqlite_version()").scalar_one()
        return conn.exec_driver_sql("show server_version").scalar_one().split()[0]


@contextmanager
def fresh_store(kind: str, tmp: Path) -> Iterator[Store]:
    """A migrated, empty log (not bootstrapped) plus an empty baseline table.

    SQLite: a new file ``ledger-<id>.db`` and a separate ``plain-<id>.db`` (both
    through ``make_engine``: WAL, synchronous=FULL). PostgreSQL: a new schema in
    ledger_test, migrated as ledger_owner with ledger_app's grants; the baseline
    table lives in the same schema (SELECT+INSERT granted to ledger_app), and the
    schema is dropped afterwards.
    """
    tag = uuid.uuid4().hex[:12]
    if kind == "sqlite":
        url, plain_url = f"sqlite:///{tmp}/ledger-{tag}.db", f"sqlite:///{tmp}/plain-{tag}.db"
        engine, plain_engine = make_engine(url), make_engine(plain_url)
        upgrade(engine)
        plain_metadata.create_all(plain_engine)
        try:
            yield Store(kind, url, engine, plain_url, plain_engine)
        finally:
            engine.dispose()
            plain_engine.dispose()
            for suffix in ("", "-wal", "-shm"):
                for p in (f"{tmp}/ledger-{tag}.db{suffix}", f"{tmp}/plain-{tag}.db{suffix}"):
                    Path(p).unlink(missing_ok=True)
        return
    if kind != "postgresql":
        raise ValueError(f"unknown engine {kind!r}")
    schema = f"bench_{tag}"
    admin = make_engine(PG_OWNER_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    owner = engine = plain_engine = None
    try:
        owner = make_engine(_with_search_path(PG_OWNER_URL, schema))
        upgrade(owner, app_role=PG_APP_ROLE)
        plain_metadata.create_all(owner)
        with owner.begin() as conn:
            conn.execute(text(f"GRANT SELECT, INSERT ON plain_entries TO {PG_APP_ROLE}"))
        url = _with_search_path(PG_APP_URL, schema)
        engine, plain_engine = make_engine(url), make_engine(url)
        yield Store(kind, url, engine, url, plain_engine)
    finally:
        for e in (engine, plain_engine, owner):
            if e is not None:
                e.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


# --- Statistics ------------------------------------------------------------------

_err = Console(stderr=True, highlight=False)


def progress(msg: str) -> None:
    """A timestamped progress line on stderr (stdout carries the tables)."""
    _err.print(f"[dim]{time.strftime('%H:%M:%S')}  {escape(msg)}[/dim]")


def median(xs) -> float:
    return statistics.median(list(xs))


def percentile(xs, q: float) -> float:
    """Linear-interpolated percentile (numpy's default), q in [0, 100]."""
    s = sorted(xs)
    if not s:
        raise ValueError("no samples")
    pos = (len(s) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


# --- A large synthetic ledger for the read benchmarks (status.py, api.py) ---------------------

BULK = {
    "entries": ("seq", "prev", "leaf_hash", "type", "recorded_at", "authority_id", "subject", "request_id",
                "signer", "canonical"),
    "sanction_versions": ("version_seq", "sanction_seq", "subject", "severity", "effective_from", "effective_until",
                          "benefits", "regions", "programmes", "legal_basis", "deciding_body"),
    "grants": ("seq", "subject", "grant_ref", "programme", "kind", "amount_fen", "decision_date", "region"),
    "clawbacks": ("seq", "subject", "amount_fen", "deadline", "grant_seqs", "decision_date"),
    "exits": ("target_seq", "exit_seq", "subject", "kind", "on_date", "reason"),
}


def bulk_load(path: Path, size: int, refs: list[str], seed: int = 1) -> dict:
    """``size`` entry rows over the subject references ``refs`` with their projection
    rows (5% sanctions, a third of those ended; 45% grants; 5% clawbacks), through
    the driver; returns row counts. Secondary indexes of the filled tables are
    dropped for the load and recreated from their stored DDL."""
    rng = random.Random(seed)
    n = len(refs)
    sqls = {t: f"INSERT INTO {t} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})" for t, cols in BULK.items()}
    counts = dict.fromkeys(BULK, 0)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous=OFF")  # this connection (the load) only
        db.execute("PRAGMA cache_size=-1000000")  # 1 GB of page cache for the load
        names = ", ".join(f"'{t}'" for t in BULK)
        indexes = db.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                             f"AND tbl_name IN ({names}) ORDER BY name").fetchall()
        for name, _ in indexes:
            db.execute(f'DROP INDEX "{name}"')
        chunk = 100_000
        for lo in range(0, size, chunk):
            rows, sv, gr, cb, ex = [], [], [], [], []
            for seq in range(lo, min(lo + chunk, size)):
                subject = refs[seq % n]
                kind = rng.random()
                rows.append((seq, seq.to_bytes(32, "big"), b"\x01" + seq.to_bytes(31, "big"), "bench",
                             "2026-01-01T00:00:00.000000Z", "bench", subject, f"{seq:09d}", "bench", b"{}"))
                if kind < 0.05:
                    sv.append((seq, seq, subject, "serious", "2026-01-01", rng.choice([None, "2027-12-31"]),
                               '["subsidy"]', '["150000"]', "[]", '{"article":"66","document_no":"x"}', "x"))
                    if rng.random() < 0.3:
                        ex.append((seq, seq + 1, subject, "ended", "2026-06-01", "credit_repair"))
                elif kind < 0.5:
                    gr.append((seq, subject, f"g{seq}", "p", "startup", 100000, "2025-01-01", "150100"))
                elif kind < 0.55:
                    cb.append((seq, subject, 5000, "2026-03-01", "[]", "2025-06-01"))
            db.execute("BEGIN")
            for table, data in (("entries", rows), ("sanction_versions", sv), ("grants", gr), ("clawbacks", cb),
                                ("exits", ex)):
                if data:
                    db.executemany(sqls[table], data)
                    counts[table] += len(data)
            db.execute("COMMIT")
        for _, sql in indexes:
            db.execute(sql)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return counts
