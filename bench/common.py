"""Shared benchmark helpers: fresh stores (SQLite file / PostgreSQL schema), a
bootstrapped ledger, note drafts, a plain baseline table, and small statistics.

Kept independent of ``tests/`` on purpose (benchmarks must not break when a
fixture changes); the keys, authorities and drafts are the same as
``tests/conftest.py``'s so the figures describe the same workload.
"""

from __future__ import annotations

import json
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

from ledger.log import canonical, entry_types, merkle  # noqa: E402
from ledger.log.entry import FORMAT_V1 as FORMAT_VERSION  # noqa: E402  (bulk rows are v1-shaped)
from ledger.log.entry import GENESIS_PREV, Authority, Draft  # noqa: E402
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
BULK_AUTHORITY = {"id": "bench-office", "region": "150000"}
BULK_SIG = "A" * 86 + "=="  # base64 of 64 zero bytes: the rows are not signed
_LEGAL_BASIS = {"article": "66", "document_no": "x"}


def _json(value) -> str:
    """RFC 8785 text of a bulk value: every value here is ASCII or BMP text, a small
    integer, a list or an object, for which ``json.dumps`` with sorted keys and no
    whitespace writes exactly what ``ledger.log.canonical.encode`` writes (its own
    fast path)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


_AUTHORITY_JSON = _json(BULK_AUTHORITY)


def _entry_bytes(seq: int, prev: str, type_: str, recorded_at: str, subject: str, refs: list[int], request_id: str,
                 body: dict) -> bytes:
    """The canonical bytes of a bulk entry, its members written in RFC 8785 order
    (``bulk_load`` checks one entry of each type against ``canonical.encode``)."""
    return (f'{{"actor":"bench","authority":{_AUTHORITY_JSON},"body":{_json(body)},"prev":"{prev}",'
            f'"recorded_at":"{recorded_at}","refs":{_json(refs)},"request_id":"{request_id}","seq":{seq},'
            f'"sig":"{BULK_SIG}","signer":"bench","subject":"{subject}","type":"{type_}","v":{FORMAT_VERSION}}}'
            ).encode()


def bulk_load(path: Path, size: int, refs: list[str], seed: int = 1) -> dict:
    """``size`` entries over the subject references ``refs`` with their projection
    rows and tree nodes, appended through the driver after whatever log ``path``
    already holds (its head's leaf hash, recorded_at and tree border are read
    first, so the append path can extend the result); returns row counts.

    Each row is a whole entry as the read path parses it: canonical bytes of the
    envelope and a body valid for its type, ``prev`` chained and ``leaf_hash``
    computed from those bytes, the perfect-subtree nodes the append path would
    store; only the signature is 64 zero bytes (nothing on the read path checks
    one; bench/verify.py prices verification). The n-th new entry concerns
    ``refs[n % len(refs)]``. Per entry: 5% ``sanction.imposed`` (scope subsidy,
    region 150000, every programme, from 2026-01-01, indefinite or until
    2027-12-31), 30% of which are ended on 2026-06-01 by credit repair with a
    ``sanction.ended`` at the same subject's next entry (when the load reaches
    it); 45% ``subsidy.granted``; 5% ``clawback.ordered`` of the subject's latest
    grant, due 2026-03-01 and unpaid (``eligibility.checked`` when the subject
    has no grant yet); the rest ``eligibility.checked``. Secondary indexes of
    the filled tables are dropped for the load and recreated from their stored
    DDL."""
    rng = random.Random(seed)
    n = len(refs)
    sqls = {t: f"INSERT INTO {t} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})" for t, cols in BULK.items()}
    counts = dict.fromkeys(BULK, 0)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous=OFF")  # this connection (the load) only
        db.execute("PRAGMA cache_size=-1000000")  # 1 GB of page cache for the load
        start, prev, recorded_at = _bulk_head(db)
        border = _bulk_border(db, start)
        names = ", ".join(f"'{t}'" for t in BULK)
        indexes = db.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                             f"AND tbl_name IN ({names}) ORDER BY name").fetchall()
        for name, _ in indexes:
            db.execute(f'DROP INDEX "{name}"')
        ends: dict[int, int] = {}  # seq of a sanction.ended still to write -> the sanction it ends
        last_grant: dict[int, int] = {}  # subject index -> seq of its latest grant
        samples: dict[str, bytes] = {}
        chunk = 100_000
        for lo in range(start, start + size, chunk):
            rows, sv, gr, cb, ex = [], [], [], [], []
            for seq in range(lo, min(lo + chunk, start + size)):
                k = (seq - start) % n
                subject = refs[k]
                kind = rng.random()
                refs_: list[int] = []
                if seq in ends:
                    target = ends.pop(seq)
                    type_, refs_ = "sanction.ended", [target]
                    body: dict = {"reason": "credit_repair", "ended_on": "2026-06-01", "deciding_body": "x"}
                    ex.append((target, seq, subject, "ended", "2026-06-01", "credit_repair"))
                elif kind < 0.05:
                    until = rng.choice([None, "2027-12-31"])
                    type_ = "sanction.imposed"
                    body = {"severity": "serious", "grounds": "x", "legal_basis": _LEGAL_BASIS, "deciding_body": "x",
                            "decision_date": "2026-01-01", "effective_from": "2026-01-01",
                            "scope": {"benefits": ["subsidy"], "regions": ["150000"]}}
                    if until:
                        body["effective_until"] = until
                    sv.append((seq, seq, subject, "serious", "2026-01-01", until, '["subsidy"]', '["150000"]', "[]",
                               '{"article":"66","document_no":"x"}', "x"))
                    if rng.random() < 0.3 and seq + n < start + size:
                        ends[seq + n] = seq
                elif kind < 0.5:
                    type_ = "subsidy.granted"
                    body = {"programme": "p", "kind": "startup", "amount_fen": 100000, "grant_ref": f"g{seq}",
                            "budget_account": "x", "decision_date": "2025-01-01", "region": "150100"}
                    gr.append((seq, subject, f"g{seq}", "p", "startup", 100000, "2025-01-01", "150100"))
                    last_grant[k] = seq
                elif kind < 0.55 and k in last_grant:
                    type_, refs_ = "clawback.ordered", [last_grant[k]]
                    body = {"amount_fen": 5000, "deadline": "2026-03-01", "grounds": "x", "legal_basis": _LEGAL_BASIS,
                            "decision_date": "2025-06-01", "deciding_body": "x"}
                    cb.append((seq, subject, 5000, "2026-03-01", json.dumps(refs_), "2025-06-01"))
                else:
                    type_ = "eligibility.checked"
                    body = {"officer": "x", "programme": "p", "award_ref": f"a{seq}", "benefit": "subsidy",
                            "region": "150100", "on": "2025-01-01", "answer": "eligible", "tree_size": seq,
                            "blocking": [], "decision": "proceed"}
                request_id = f"bench-{seq:09d}"
                data = _entry_bytes(seq, prev, type_, recorded_at, subject, refs_, request_id, body)
                leaf = merkle.leaf_hash(data)
                if type_ not in samples:
                    samples[type_] = (data, {"v": FORMAT_VERSION, "seq": seq, "prev": prev, "type": type_,
                                             "recorded_at": recorded_at, "authority": BULK_AUTHORITY, "actor": "bench",
                                             "subject": subject, "refs": refs_, "request_id": request_id,
                                             "body": body, "signer": "bench", "sig": BULK_SIG})
                rows.append((seq, bytes.fromhex(prev), leaf, type_, recorded_at, BULK_AUTHORITY["id"], subject,
                             request_id, "bench", data))
                prev = leaf.hex()
            leaves = [r[2] for r in rows]
            nodes = merkle.integrate(border, lo, leaves)
            db.execute("BEGIN")
            for table, data_ in (("entries", rows), ("sanction_versions", sv), ("grants", gr), ("clawbacks", cb),
                                 ("exits", ex)):
                if data_:
                    db.executemany(sqls[table], data_)
                    counts[table] += len(data_)
            db.executemany("INSERT INTO tree_nodes (level, idx, hash) VALUES (?, ?, ?)",
                           [(lv, ix, h) for (lv, ix), h in nodes.items()])
            db.execute("COMMIT")
            border = merkle.next_border(border, lo, leaves, nodes)
        for _, sql in indexes:
            db.execute(sql)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    for data, entry in samples.values():  # the ledger's own encoding of the entry meant, as the read path requires
        if canonical.encode(entry) != data:
            raise AssertionError(f"bulk entry bytes are not the canonical encoding: {data[:200]!r}")
        entry_types.validate(Draft(entry["type"], Authority(**BULK_AUTHORITY), entry["actor"], entry["subject"],
                                   tuple(entry["refs"]), entry["request_id"], entry["body"]))  # raises if invalid
    return counts


def _bulk_head(db: sqlite3.Connection) -> tuple[int, str, str]:
    """(next seq, prev for it, recorded_at for the load) of the log in ``db``: the
    bulk entries carry the head's recorded_at, so time never runs backwards."""
    row = db.execute("SELECT seq, leaf_hash, recorded_at FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    if row is None:
        return 0, GENESIS_PREV, "2026-01-01T00:00:00.000000Z"
    return row[0] + 1, bytes(row[1]).hex(), row[2]


def _bulk_border(db: sqlite3.Connection, size: int) -> dict:
    """The perfect pieces of ``[0, size)`` (what ``merkle.integrate`` extends), as
    ``log_store.read_nodes`` reads them: level 0 from entries, the rest from tree_nodes."""
    out = {}
    for level, idx in merkle.perfect_pieces(0, size):
        if level == 0:
            row = db.execute("SELECT leaf_hash FROM entries WHERE seq = ?", (idx,)).fetchone()
        else:
            row = db.execute("SELECT hash FROM tree_nodes WHERE level = ? AND idx = ?", (level, idx)).fetchone()
        if row is None:
            raise RuntimeError(f"the log in the database lacks its tree node {(level, idx)}")
        out[(level, idx)] = bytes(row[0])
    return out
