"""Erasure that really erases (docs/erasure.md, docs/decisions/0012-epoch-keys-for-erasure.md), as an attacker
would check it, on both engines.

The attack: add a subject with a distinctive name and identifier, keep a copy of its
vault row (as anyone with an earlier database copy, a WAL file or a heap file has),
erase it, then (1) look for it in every file the host holds (database files, var/),
and (2) try every key the host still holds, and everything derived from them, on
the copied row. Before epoch keys, (2) opened the row with var/vault.key.

Positive controls keep both halves honest: before the erasure the same scan finds
the row's bytes and the same keys open it; after it, the keys found still open a
live subject's current row, so "nothing opens" is not a key search that found nothing.

Then the rotation's crash story (an exception, and a real process exit, at each
durable step), a second process that loaded the old key, a concurrent ``subject
add`` during a rotation, the upgrade from a pre-epoch vault, and the files' modes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import random as random_module
import re
import shutil
import stat
import subprocess
import sys
import threading
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select, text
from stdnum.cn import ric

from ledger.config import Settings
from ledger.domain import local_copies, vault_store
from ledger.domain.identifiers import normalise, parse
from ledger.domain.subjects import add_subject, erase, lookup
from ledger.domain.vault import INDEX_INFO, WRAP_INFO, Disclosure, EpochKeys, Vault, derive
from ledger.domain.vault_keys import FileKeyStore, decode, encode, open_vault
from ledger.domain.vault_rotation import STEPS, rotate
from ledger.errors import NotFound
from ledger.evidence import export as evidence
from ledger.log.append import append_entries
from ledger.log.entry import Draft
from ledger.log.operator import OPERATOR
from ledger.store.engine import make_engine
from ledger.store.schema import subjects
from tests.conftest import (
    HOHHOT,
    ORIGIN,
    PG_APP,
    PG_OWNER,
    FixedClock,
    Store,
    _with_search_path,
    bootstrap,
    make_keyring,
)

ROOT = Path(__file__).resolve().parent.parent


# --- the scene -------------------------------------------------------------------------------------


def distinctive_person(seed: int | None = None) -> tuple[str, str]:
    """A valid resident identity number and a name no other test (or agent sharing the
    PostgreSQL cluster) writes, so a hit in a shared WAL segment is ours."""
    rng = random_module.Random(seed)
    while True:
        body = f"150102{rng.randrange(1950, 2005)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}{rng.randrange(1000):03d}"
        try:
            ident = normalise("cn-rid", body + ric.calc_check_digit(body + "0"))
        except Exception:  # noqa: BLE001 - an invalid draw: draw again
            continue
        return str(ident), "张三丰" + "".join(chr(0x4E00 + rng.randrange(0x5000)) for _ in range(4))


@dataclass
class Row:
    """A vault row as an attacker with an earlier copy of the database has it."""

    ref: str
    blind_index: str
    wrapped_key: bytes
    payload: bytes


@dataclass
class Host:
    store: Store
    var: Path
    keyring: object
    clock: FixedClock
    vault: Vault
    started_wal: str | None = None
    notes: int = 0
    live: dict[str, str] = field(default_factory=dict)  # identifier -> ref

    @property
    def engine(self):
        return self.store.engine

    @property
    def key_file(self) -> Path:
        return self.var / "vault.key"

    @property
    def settings(self) -> Settings:
        return Settings(origin=ORIGIN, vkey_dir=self.var / "vkeys", state_dir=self.var, vault_key_file=self.key_file)

    def add(self, identifier: str, name: str) -> str:
        ref, new = add_subject(self.engine, self.vault, identifier, name, self.clock)
        assert new
        self.live[identifier] = ref
        return ref

    def note(self, subject: str | None, count: int = 1) -> None:
        drafts = []
        for _ in range(count):
            self.notes += 1
            drafts.append(Draft("note.recorded", HOHHOT, "officer-1", subject, (), f"n-{self.notes}",
                                {"text": f"考核记录 {self.notes}"}))
        append_entries(self.engine, drafts, self.keyring, self.clock)

    def export(self, ref: str, case: str) -> Path:
        """As the API's request_export keeps a bundle for download (ledger/api/mutation.py)."""
        b = evidence.export(self.engine, self.keyring, self.vault, self.settings, case=case, requested_by="法院",
                            subjects=[ref], seqs=[], clock=self.clock)
        out = self.var / "exports"
        out.mkdir(parents=True, exist_ok=True)
        export_id = hashlib.sha256(b.data).hexdigest()
        evidence.write(b, out / f"{export_id}.zip")
        (out / f"{export_id}.json").write_text(json.dumps({"case": case, "custody_seq": b.custody.seq}))
        return out / f"{export_id}.zip"

    def row(self, ref: str) -> Row:
        with self.store.owner.connect() as conn:
            r = conn.execute(select(subjects).where(subjects.c.ref == ref)).one()
        return Row(ref, r.blind_index, bytes(r.wrapped_key), bytes(r.payload))

    def reveal(self, ref: str, vault: Vault | None = None) -> Disclosure:
        with self.engine.connect() as conn:
            return vault_store.reveal(conn, vault or self.vault, ref)


def make_host(store: Store, tmp_path: Path) -> Host:
    ring, clock = make_keyring(), FixedClock()
    bootstrap(store.engine, ring, clock)
    var = tmp_path / "var"
    host = Host(store, var, ring, clock, open_vault(var / "vault.key", create=True))
    host.started_wal = _wal_position(store)
    return host


def _wal_position(store: Store) -> str | None:
    if store.dialect != "postgresql":
        return None
    with store.owner.connect() as conn:
        return conn.execute(text("SELECT pg_walfile_name(pg_current_wal_lsn())")).scalar_one()


# --- what an attacker reads --------------------------------------------------------------------------


def needles(identifier: str, name: str, salt: bytes, row: Row) -> dict[str, list[bytes]]:
    """What would give the subject away, each as byte strings any one of which is a hit.
    Ciphertexts are searched as 16-byte windows too: a WAL record may split a value."""

    def windows(b: bytes) -> list[bytes]:
        return [b] + [b[i:i + 16] for i in range(0, len(b) - 15, 16)]

    number = identifier.split(":", 1)[1]
    return {
        "identifier": [number.encode(), number.encode("utf-16-le")],
        "name": [name.encode(), name.encode("utf-16-le")],
        "salt": [salt, salt.hex().encode()],
        "blind index": [row.blind_index.encode(), bytes.fromhex(row.blind_index)],
        "wrapped key": windows(row.wrapped_key),
        "payload": windows(row.payload),
    }


PLAINTEXT = ("identifier", "name", "salt")


def scan(paths: list[Path], wanted: dict[str, list[bytes]]) -> dict[str, list[str]]:
    """Which needle was found in which file. Zip members are searched decompressed."""
    hits: dict[str, list[str]] = {}
    for path in paths:
        for label, data in _contents(path):
            for what, forms in wanted.items():
                if any(f in data for f in forms):
                    hits.setdefault(what, []).append(label)
    return hits


def _contents(path: Path):
    data = path.read_bytes()
    yield str(path), data
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            for member in z.namelist():
                yield f"{path}!{member}", z.read(member)


def var_files(var: Path) -> list[Path]:
    return [p for p in sorted(var.rglob("*")) if p.is_file()]


def sqlite_files(store: Store) -> list[Path]:
    db = Path(store.engine.url.database)
    return [p for p in (db, *(db.with_name(db.name + s) for s in ("-wal", "-shm", "-journal"))) if p.exists()]


def held_secrets(var: Path, vault: Vault | None = None) -> list[bytes]:
    """Every 32-byte secret on the host: a 32-byte file, or a base64 or hex token that
    decodes to 32 bytes, in any file under var/ (the key file, side files, leftovers)."""
    found: set[bytes] = set()
    for path in var_files(var):
        data = path.read_bytes()
        if len(data) == 32:
            found.add(data)
        for token in re.findall(rb"[A-Za-z0-9+/]{43}=", data):
            found.add(base64.b64decode(token))
        for token in re.findall(rb"(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])", data):
            found.add(bytes.fromhex(token.decode()))
    return sorted(found)


def derivations(secret: bytes) -> list[bytes]:
    """The secret and every key the ledger derives from one (and an empty-info HKDF)."""
    return [secret, derive(secret, WRAP_INFO), derive(secret, INDEX_INFO), derive(secret, b"")]


def opens(key: bytes, sealed: bytes, ref: str) -> bool:
    for aad in (ref.encode(), None, b""):
        try:
            AESGCM(key).decrypt(sealed[:12], sealed[12:], aad)
            return True
        except InvalidTag:
            pass
    return False


def what_opens(secrets: list[bytes], row: Row, identifier: str, process_keys: EpochKeys | None = None) -> list[str]:
    """Every way the held key material opens or confirms ``row``."""
    found = []
    for secret in secrets:
        for key in derivations(secret):
            if opens(key, row.wrapped_key, row.ref):
                found.append(f"wrapped key opens with a key from {secret[:4].hex()}…")
            if opens(key, row.payload, row.ref):
                found.append(f"payload opens with a key from {secret[:4].hex()}…")
            if hmac.new(key, identifier.encode(), hashlib.sha256).hexdigest() == row.blind_index:
                found.append(f"the blind index confirms the identifier with a key from {secret[:4].hex()}…")
    if process_keys is not None:
        try:
            process_keys.unwrap(row.ref, row.wrapped_key)
            found.append("the running process's keys open the wrapped key")
        except InvalidTag:
            pass
        if process_keys.blind_index(parse(identifier)) == row.blind_index:
            found.append("the running process's index key confirms the identifier")
    return found


# --- PostgreSQL's files --------------------------------------------------------------------------


def pg_data_dir(store: Store) -> Path | None:
    if os.environ.get("LEDGER_TEST_PG_DATA"):
        return Path(os.environ["LEDGER_TEST_PG_DATA"])
    port = str(store.owner.url.port or 5432)
    for pid in sorted(Path("/var/lib/postgresql").glob("*/*/postmaster.pid")):
        try:
            lines = pid.read_text().splitlines()
        except OSError:
            continue
        if len(lines) > 3 and lines[3].strip() == port:
            return Path(lines[1].strip())
    return None


def pg_checkpoint(store: Store) -> str | None:
    """CHECKPOINT, so the heap files hold what VACUUM left; None when done, else why not."""
    try:
        with store.owner.connect() as conn:
            conn.execute(text("CHECKPOINT"))
            return None
    except Exception as e:  # noqa: BLE001 - needs superuser or pg_checkpoint: try the OS user, as .ci/postgres-up does
        owner_error = str(e).splitlines()[0]
    if os.geteuid() == 0 and shutil.which("su"):
        port = store.owner.url.port or 5432
        r = subprocess.run(["su", "postgres", "-c", f"psql -X -q -p {port} -c CHECKPOINT"], capture_output=True,
                           text=True, timeout=120)
        if r.returncode == 0:
            return None
        return f"{owner_error}; su postgres: {r.stderr.strip()}"
    return owner_error


def pg_subject_files(store: Store, data_dir: Path) -> list[Path]:
    """The subjects table's heap, TOAST and index files (every 1 GB segment)."""
    with store.owner.connect() as conn:
        rels = conn.execute(text(
            "SELECT pg_relation_filepath(c.oid) FROM pg_class c WHERE c.oid = 'subjects'::regclass "
            "OR c.oid = (SELECT reltoastrelid FROM pg_class WHERE oid = 'subjects'::regclass) "
            "OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = 'subjects'::regclass "
            "             OR indrelid = (SELECT reltoastrelid FROM pg_class WHERE oid = 'subjects'::regclass))")).scalars()
        base = [data_dir / r for r in rels if r]
    return [p for b in base for p in sorted(b.parent.glob(b.name + "*")) if re.fullmatch(rf"{b.name}(\.\d+)?", p.name)]


def pg_wal_files(data_dir: Path, first: str, last: str) -> list[Path]:
    return [p for p in sorted((data_dir / "pg_wal").iterdir()) if re.fullmatch(r"[0-9A-F]{24}", p.name)
            and first <= p.name <= last]


# --- the attack --------------------------------------------------------------------------------------


@dataclass
class Aftermath:
    host: Host
    identifier: str
    name: str
    salt: bytes
    row: Row  # the victim's row before the erasure (the attacker's earlier copy)
    wanted: dict[str, list[bytes]]
    kept_export: Path
    erased_export: Path
    files_before: dict[str, list[str]]  # what the scan found before the erasure (positive control)
    wal_before: dict[str, list[str]]  # PostgreSQL: the WAL right after the erasure, before any checkpoint
    secrets_before: list[bytes]


def attack(store: Store, tmp_path: Path) -> Aftermath:
    host = make_host(store, tmp_path)
    identifier, name = distinctive_person()
    for i in range(8):
        host.add(f"passport:DEU/E{i:07d}", f"测试人员{i}")
    victim = host.add(identifier, name)
    host.note(victim)
    other = host.live["passport:DEU/E0000003"]
    host.note(other)
    erased_export = host.export(victim, "(2026)内01行初17号")
    kept_export = host.export(other, "(2026)内01行初18号")
    salt = host.reveal(victim).salt
    row = host.row(victim)
    wanted = needles(identifier, name, salt, row)
    # More writes after the victim's: their pages and WAL frames cover and move it.
    for i in range(8, 20):
        host.add(f"passport:FRA/E{i:07d}", f"测试人员{i}")
    host.note(None, 40)
    files_before = scan(sqlite_files(store), wanted) if store.dialect == "sqlite" else {}
    secrets_before = held_secrets(host.var)

    erase(host.engine, host.keyring, victim, "保存期限届满", "个人信息保护法第四十七条", "dpo", OPERATOR, host.clock,
          vault=host.vault, export_dir=host.var / "exports")
    host.live.pop(identifier)
    wal_before: dict[str, list[str]] = {}
    if store.dialect == "postgresql" and (data := pg_data_dir(store)) and os.access(data / "pg_wal", os.R_OK):
        wal_before = scan(pg_wal_files(data, host.started_wal or "", _wal_position(store) or ""), wanted)
    return Aftermath(host, identifier, name, salt, row, wanted, kept_export, erased_export, files_before, wal_before,
                     secrets_before)


def test_no_key_the_host_holds_opens_or_confirms_the_erased_subject(store, tmp_path):
    a = attack(store, tmp_path)
    host = a.host
    # Positive control: before the erasure, the key file opened the copied row (the attack).
    assert what_opens(a.secrets_before, a.row, a.identifier)
    secrets = held_secrets(host.var)
    assert what_opens(secrets, a.row, a.identifier, host.vault.current) == []
    # A fresh process (the API restarted, an attacker with the key file) does no better.
    assert what_opens(secrets, a.row, a.identifier, open_vault(host.key_file).current) == []
    # Positive control: the keys found do open a live subject's current row.
    live = host.row(host.live["passport:DEU/E0000001"])
    assert what_opens(secrets, live, "passport:DEU/E0000001")
    # The database answers nothing about the identifier either.
    assert lookup(host.engine, host.vault, a.identifier) is None
    with pytest.raises(NotFound):
        host.reveal(a.row.ref)
    for identifier, ref in host.live.items():
        assert lookup(host.engine, host.vault, identifier) == ref
    # A backup of the database from before the erasure holds the same row: it opens
    # only with a backup of the key file from before the erasure (docs/erasure.md).
    assert what_opens(a.secrets_before, a.row, a.identifier)


def test_the_erased_subject_is_in_no_file_on_the_host(store, tmp_path):
    a = attack(store, tmp_path)
    host = a.host
    # var/: the key files, the evidence bundles (searched decompressed), everything.
    assert not a.erased_export.exists() and not a.erased_export.with_suffix(".json").exists()
    assert a.kept_export.exists()  # another subject's bundle stays
    assert scan(var_files(host.var), a.wanted) == {}
    with host.engine.connect() as conn:  # the custody entry stays: it names the reference only
        assert len(local_copies.custody(conn, a.row.ref)) == 1
    if store.dialect == "sqlite":
        # Positive control: before the erasure the scan found the row in the database files.
        assert {"wrapped key", "payload", "blind index"} <= set(a.files_before), a.files_before
        assert scan(sqlite_files(store), a.wanted) == {}
        return
    # PostgreSQL: never in plaintext; the old ciphertext stays in the WAL and may stay in the
    # heap after VACUUM, and opens nothing (the other test). Positive control: the WAL scan
    # right after the erasure found the row's ciphertext, so the scan reads what an attacker reads.
    data = pg_data_dir(store)
    if data is None or not os.access(data / "pg_wal", os.R_OK):
        pytest.skip(f"cannot read PostgreSQL's data directory ({data or 'not found'}) as uid {os.geteuid()}: "
                    "the file scan needs it; the key-material test still ran")
    assert {"wrapped key", "payload"} <= set(a.wal_before), a.wal_before
    with host.store.owner.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM subjects"))
    why = pg_checkpoint(store)
    if why:
        pytest.skip(f"cannot CHECKPOINT ({why}): the heap files may not hold what VACUUM left")
    files = pg_subject_files(store, data) + pg_wal_files(data, host.started_wal or "", _wal_position(store) or "")
    assert files and all(p.exists() for p in files)
    found = scan(files, a.wanted)
    assert not set(found) & set(PLAINTEXT), found


def test_the_cli_erasure_as_reported(tmp_path, monkeypatch):
    """The reported reproduction, command for command, on SQLite (docs/erasure.md: why deleting the row was not enough)."""
    state = tmp_path / "var"
    env = {"LEDGER_KEY_PASSPHRASE": "correct horse battery staple", "LEDGER_KEY_DIR": str(state / "private-keys"),
           "LEDGER_VKEY_DIR": str(tmp_path / "keys"), "LEDGER_STATE_DIR": str(state),
           "LEDGER_DATABASE_URL": f"sqlite:///{state}/ledger.db"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)

    def run(*args: str) -> str:
        r = CliRunner().invoke(_main(), list(args), catch_exceptions=False)
        assert r.exit_code == 0, r.output
        return r.stdout

    run("demo", "--entries", "1")
    ident, name = "cn-rid:150102199001010019", "张三丰"
    ref = run("subject", "add", ident, "--name", name).strip()
    vault = open_vault(state / "vault.key")
    with make_engine(env["LEDGER_DATABASE_URL"]).connect() as conn:
        r = conn.execute(select(subjects).where(subjects.c.ref == ref)).one()
        salt = vault_store.reveal(conn, vault, ref).salt
    row = Row(ref, r.blind_index, bytes(r.wrapped_key), bytes(r.payload))
    assert what_opens(held_secrets(state), row, ident)  # as reported: vault.key opened the old row
    for i in range(10):
        run("subject", "add", f"passport:GBR/E{i:07d}", "--name", f"测试人员{i}")
    out = json.loads(run("subject", "erase", ident, "--reason", "保存期限届满", "--json"))
    assert out["vault_epoch"] == 1 and out["subjects_rewrapped"] >= 10
    status = json.loads(run("vault", "status", "--json"))
    assert status["complete"] and status["pending_erasures"] == 0
    db = state / "ledger.db"
    files = [p for p in (db, *(db.with_name(db.name + s) for s in ("-wal", "-shm", "-journal"))) if p.exists()]
    assert scan(files + var_files(state), needles(ident, name, salt, row)) == {}
    assert what_opens(held_secrets(state), row, ident) == []


def _main():
    from ledger.cli import main

    return main


def test_vault_commands_complete_an_erasure_made_without_the_key(store, tmp_path, monkeypatch):
    """An erasure through a process that holds no vault key (the API's mutation today) is
    pending: `ledger vault status` says so, `ledger vault rotate --if-pending` completes it."""
    host = make_host(store, tmp_path)
    identifier, name = distinctive_person()
    victim = host.add(identifier, name)
    host.add("passport:USA/E0000001", "另一人")
    host.note(victim)
    bundle = host.export(victim, "(2026)内01行初19号")
    row = host.row(victim)
    erase(host.engine, host.keyring, victim, "申请删除", "个人信息保护法第四十七条", "dpo", OPERATOR, host.clock,
          vault=None, export_dir=None)
    for k, v in {"LEDGER_DATABASE_URL": store.url, "LEDGER_STATE_DIR": str(host.var),
                 "LEDGER_VAULT_KEY_FILE": str(host.key_file)}.items():
        monkeypatch.setenv(k, v)

    def run(*args: str) -> dict:
        r = CliRunner().invoke(_main(), [*args, "--json"], catch_exceptions=False)
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)

    status = run("vault", "status")
    assert (status["complete"], status["pending_erasures"], status["bundles_of_erased_subjects"]) == (
        False, 1, [str(bundle)])
    assert what_opens(held_secrets(host.var), row, identifier)  # not erased from the files yet
    out = run("vault", "rotate", "--if-pending")
    assert (out["rotated"], out["epoch"], out["subjects"], out["removed_exports"]) == (True, 1, 1, [str(bundle)])
    assert run("vault", "status")["complete"] is True
    assert what_opens(held_secrets(host.var), row, identifier) == []
    assert run("vault", "rotate", "--if-pending") == {"rotated": False, "epoch": 1, "removed_exports": []}


# --- the rotation's crash story -------------------------------------------------------------------


class Crash(Exception):
    pass


def crash_at(step: str):
    def on_step(s: str) -> None:
        if s == step:
            raise Crash(s)

    return on_step


def _erased_but_not_rotated(store: Store, tmp_path: Path) -> tuple[Host, str, Row]:
    host = make_host(store, tmp_path)
    for i in range(5):
        host.add(f"passport:ITA/E{i:07d}", f"测试人员{i}")
    identifier, name = distinctive_person()
    victim = host.add(identifier, name)
    row = host.row(victim)
    # An erasure through a process without the vault key (the API before it passes one):
    # the row is destroyed, the rotation is pending.
    erase(host.engine, host.keyring, victim, "申请删除", "个人信息保护法第四十七条", "dpo", OPERATOR, host.clock,
          vault=None, export_dir=None)
    host.live.pop(identifier)
    with host.engine.connect() as conn:
        assert vault_store.state(conn).pending == 1
    return host, identifier, row


def _after_restart(host: Host, identifier: str, row: Row) -> Vault:
    """A fresh process (new engine, vault from the key file): every live subject opens
    and is found by identifier; the erased one is not."""
    engine, vault = make_engine(host.store.url), open_vault(host.key_file)
    try:
        for ident, ref in host.live.items():
            assert lookup(engine, vault, ident) == ref
            with engine.connect() as conn:
                assert vault_store.reveal(conn, vault, ref).ref == ref
        assert lookup(engine, vault, identifier) is None
        with pytest.raises(NotFound), engine.connect() as conn:
            vault_store.reveal(conn, vault, row.ref)
    finally:
        engine.dispose()
    return vault


def _recover_and_check(host: Host, identifier: str, row: Row, vault: Vault) -> None:
    """The next rotation (the next erasure, or the scheduled `ledger vault rotate`)
    finishes or undoes what the crash left, and then nothing on the host opens the row."""
    r = rotate(host.engine, vault, host.clock)
    store = FileKeyStore(host.key_file)
    assert store.epochs() == {"vault.key": r.to_epoch}  # no side file left
    assert sorted(p.name for p in host.var.iterdir() if p.name.startswith("vault.key")) == ["vault.key",
                                                                                             "vault.key.lock"]
    with host.engine.connect() as conn:
        st = vault_store.state(conn)
    assert st.epoch == r.to_epoch and st.pending == 0
    _after_restart(host, identifier, row)
    assert what_opens(held_secrets(host.var), row, identifier) == []


@pytest.mark.parametrize("step", STEPS)
def test_a_rotation_that_fails_at_each_durable_step_recovers(store, tmp_path, step):
    host, identifier, row = _erased_but_not_rotated(store, tmp_path)
    with pytest.raises(Crash):
        rotate(host.engine, host.vault, host.clock, on_step=crash_at(step))
    committed = STEPS.index(step) >= STEPS.index("committed")
    with host.engine.connect() as conn:
        assert vault_store.epoch(conn) == (1 if committed else 0)
        assert vault_store.state(conn).pending == (0 if committed else 1)
    files = FileKeyStore(host.key_file).epochs()
    assert files == ({"vault.key": 1} if step == "promoted" else {"vault.key": 0, "vault.key.next": 1})
    vault = _after_restart(host, identifier, row)
    # Until step 4 the old key is still in vault.key: the erasure is not complete, and the
    # state says so (pending erasures, or a key file behind the database).
    assert bool(what_opens(held_secrets(host.var), row, identifier)) == (step != "promoted")
    _recover_and_check(host, identifier, row, vault)


@pytest.mark.slow
@pytest.mark.parametrize("step", ["staged", "committed"])
def test_a_rotation_killed_at_a_durable_step_recovers(store, tmp_path, step):
    host, identifier, row = _erased_but_not_rotated(store, tmp_path)
    r = subprocess.run([sys.executable, "-m", "tests.vault_process", "die-at", store.url, str(host.key_file), step],
                       cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert r.returncode == 17, r.stderr
    vault = _after_restart(host, identifier, row)
    _recover_and_check(host, identifier, row, vault)


# --- other processes ----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_process_holding_the_old_key_follows_the_rotation(store, tmp_path):
    host = make_host(store, tmp_path)
    identifier, name = distinctive_person()
    ref = host.add(identifier, name)
    child = subprocess.Popen([sys.executable, "-m", "tests.vault_process", "hold", store.url, str(host.key_file),
                              identifier], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        before = json.loads(child.stdout.readline())
        assert before == {"epoch": 0, "ref": ref}
        rotate(host.engine, host.vault, host.clock)
        rotate(host.engine, host.vault, host.clock)  # two: its epoch-0 key and the next are both gone
        out, err = child.communicate("go\n", timeout=120)
    finally:
        child.kill()
    assert child.returncode == 0, err
    assert json.loads(out) == {"epoch": 2, "ref": ref, "name": name}


def test_a_subject_added_during_a_rotation_is_sealed_under_the_new_epoch(store, tmp_path):
    host = make_host(store, tmp_path)
    host.add("passport:JPN/E0000001", "测试人员")
    other = open_vault(host.key_file)  # another process's vault, loaded at epoch 0
    done = threading.Event()
    result: dict[str, object] = {}

    def add() -> None:
        try:
            result["ref"] = add_subject(make_engine(host.store.url), other, "passport:JPN/E0000002", "并发", host.clock)[0]
        except Exception as e:  # noqa: BLE001 - reported below
            result["error"] = e
        done.set()

    adder = threading.Thread(target=add)

    def on_step(step: str) -> None:
        if step == "staged":  # inside the rotation's transaction, holding the append lock
            adder.start()
            result["blocked"] = not done.wait(1.0)

    r = rotate(host.engine, host.vault, host.clock, on_step=on_step)
    adder.join(60)
    assert "error" not in result, result
    assert result["blocked"] is True  # the add waited for the rotation's commit
    ref = str(result["ref"])
    with host.engine.connect() as conn:
        assert conn.execute(select(subjects.c.key_epoch).where(subjects.c.ref == ref)).scalar_one() == r.to_epoch
    assert host.reveal(ref, open_vault(host.key_file)).name == "并发"


# --- upgrading a vault from before epochs ---------------------------------------------------------


def legacy_seal(master: bytes, identifier: str, name: str, rnd) -> dict:
    """The vault as ledger/domain/vault.py wrote it before epochs, transcribed literally:
    HKDF-SHA256(master, "integrity-ledger vault wrap v1") wraps the data key."""
    ident = parse(identifier)
    salt, data_key = rnd(16), rnd(32)
    ref = hashlib.sha256(salt + str(ident).encode()).hexdigest()
    wrap = AESGCM(derive(master, b"integrity-ledger vault wrap v1"))
    index_key = derive(master, b"integrity-ledger vault index v1")
    record = json.dumps({"scheme": ident.scheme, "id": ident.value, "salt": salt.hex(), "name": name},
                        ensure_ascii=False).encode()
    n1, n2 = rnd(12), rnd(12)
    return {"ref": ref, "kind": ident.kind, "blind_index": hmac.new(index_key, str(ident).encode(), hashlib.sha256).hexdigest(),
            "wrapped_key": n1 + wrap.encrypt(n1, data_key, ref.encode()),
            "payload": n2 + AESGCM(data_key).encrypt(n2, record, ref.encode()), "created_at": "2025-01-01T00:00:00.000000Z",
            "erased_seq": None}


@contextmanager
def store_at_0004(dialect: str, tmp_path: Path):
    """A database at revision 0004 (before epochs), as the schema owner."""
    from alembic import command

    from ledger.store.migrate import _config

    def to_0004(engine) -> None:
        cfg = _config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0004")

    if dialect == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path}/old.db")
        to_0004(engine)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    if not (PG_OWNER and PG_APP):
        pytest.skip("PostgreSQL not configured: run `make test` (sets LEDGER_TEST_PG_*_URL)")
    schema = f"t_{os.urandom(6).hex()}"
    admin = make_engine(PG_OWNER)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(_with_search_path(PG_OWNER, schema))
    to_0004(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_a_vault_from_before_epochs_upgrades_and_its_first_rotation_destroys_the_master(dialect, tmp_path):
    from ledger.store.migrate import upgrade

    rnd = random_module.Random(12).randbytes
    master = rnd(32)
    key_file = tmp_path / "var" / "vault.key"
    key_file.parent.mkdir()
    key_file.write_text(base64.b64encode(master).decode() + "\n")  # the old format: one base64 line
    kept = legacy_seal(master, "passport:KOR/E0000001", "留下的人", rnd)
    gone = legacy_seal(master, "passport:KOR/E0000002", "已删除的人", rnd)
    with store_at_0004(dialect, tmp_path) as engine:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO subjects (ref, kind, blind_index, wrapped_key, payload, created_at, erased_seq) "
                              "VALUES (:ref, :kind, :blind_index, :wrapped_key, :payload, :created_at, :erased_seq)"),
                         [kept, gone])
            # Erased before the upgrade: the row nulled, its old bytes still in the files.
            conn.execute(text("UPDATE subjects SET blind_index = NULL, wrapped_key = NULL, payload = NULL, "
                              "erased_seq = 7 WHERE ref = :ref"), {"ref": gone["ref"]})
        upgrade(engine)
        vault = open_vault(key_file)
        assert vault.epoch == 0
        assert lookup(engine, vault, "passport:KOR/E0000001") == kept["ref"]
        with engine.connect() as conn:
            assert vault_store.reveal(conn, vault, kept["ref"]).name == "留下的人"
            assert vault_store.state(conn).pending == 1  # erased under the old master, which still exists
        old_row = Row(gone["ref"], gone["blind_index"], gone["wrapped_key"], gone["payload"])
        assert what_opens(held_secrets(key_file.parent), old_row, "passport:KOR/E0000002")
        r = rotate(engine, vault, FixedClock())
        assert (r.from_epoch, r.to_epoch, r.subjects, r.erased_through) == (0, 1, 1, 7)
        assert key_file.read_text().startswith("ledger-vault-key v2 1 ")
        assert what_opens(held_secrets(key_file.parent), old_row, "passport:KOR/E0000002") == []
        fresh = open_vault(key_file)
        assert lookup(engine, fresh, "passport:KOR/E0000001") == kept["ref"]
        with engine.connect() as conn:
            assert vault_store.reveal(conn, fresh, kept["ref"]).name == "留下的人"
            assert vault_store.state(conn).pending == 0


# --- the files themselves --------------------------------------------------------------------------


def test_key_file_format_round_trips_and_reads_the_old_format():
    secret = bytes(range(32))
    assert decode(encode(5, secret)) == (5, secret)
    assert encode(5, secret) == b"ledger-vault-key v2 5 " + base64.b64encode(secret) + b"\n"
    assert decode(base64.b64encode(secret) + b"\n") == (0, secret)  # before epochs: epoch 0
    for bad in (b"", b"\0" * 60, b"ledger-vault-key v2 -1 " + base64.b64encode(secret),
                b"ledger-vault-key v3 1 " + base64.b64encode(secret), base64.b64encode(secret[:31]),
                encode(5, secret)[:-10]):
        assert decode(bad) is None, bad


def test_database_and_key_files_are_private_whatever_the_umask(tmp_path):
    from ledger.store.migrate import upgrade

    old = os.umask(0o002)
    try:
        engine = make_engine(f"sqlite:///{tmp_path}/db/ledger.db")
        upgrade(engine)
        vault = open_vault(tmp_path / "var" / "vault.key", create=True)
        with pytest.raises(Crash):
            rotate(engine, vault, FixedClock(), on_step=crash_at("committed"))  # leaves vault.key.next
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
            conn.exec_driver_sql("SELECT count(*) FROM subjects").scalar()
            db = tmp_path / "db" / "ledger.db"
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in
                     (db, db.with_name("ledger.db-wal"), db.with_name("ledger.db-shm"))}
        assert modes == {"ledger.db": 0o600, "ledger.db-wal": 0o600, "ledger.db-shm": 0o600}
        key_modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "var").iterdir()}
        assert key_modes == {"vault.key": 0o600, "vault.key.next": 0o600, "vault.key.lock": 0o600}
        assert stat.S_IMODE((tmp_path / "db").stat().st_mode) == 0o700
        engine.dispose()
    finally:
        os.umask(old)


def test_an_export_half_written_by_a_crash_is_found_too(tmp_path):
    ref = "ab" * 32
    with zipfile.ZipFile(tmp_path / "x.zip", "w") as z:
        z.writestr(f"subjects/{ref}.json", "{}")
    data = (tmp_path / "x.zip").read_bytes()
    (tmp_path / "y.zip.tmp").write_bytes(data[: len(data) // 2])
    (tmp_path / "x.json").write_text("{}")
    with zipfile.ZipFile(tmp_path / "z.zip", "w") as z:
        z.writestr(f"subjects/{'cd' * 32}.json", "{}")
    assert [p.name for p in local_copies.remove_disclosing(tmp_path, {ref})] == ["x.zip", "y.zip.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["z.zip"]
    assert local_copies.remove_disclosing(tmp_path, {ref}) == ()


def test_a_wal_busy_with_a_reader_is_reported_not_hidden(tmp_path):
    """The TRUNCATE checkpoint cannot empty the WAL under an open read transaction: the
    rotation says so (the next checkpoint finishes it), it does not claim success."""
    from ledger.store.engine import truncate_wal
    from ledger.store.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path}/ledger.db", connect_args={"timeout": 0.2})
    upgrade(engine)
    vault = Vault(bytes(32))
    add_subject(engine, vault, "passport:CAN/E0000001", "读者", FixedClock())
    with engine.connect() as reader:
        reader.exec_driver_sql("SELECT count(*) FROM subjects").scalar()  # holds a snapshot (deferred BEGIN)
        add_subject(engine, vault, "passport:CAN/E0000002", "写者", FixedClock())
        assert truncate_wal(engine) is False
    assert truncate_wal(engine) is True
    assert (tmp_path / "ledger.db-wal").stat().st_size == 0
    engine.dispose()
