"""The log's identity is fixed at genesis (decision 0018): the checkpoint origin is
the one the seq 0 entry records, a configured origin that differs is refused before
anything is signed, `ledger verify` fails on a stored checkpoint under another
origin, and a checkpoint can be signed at a verified size below the head."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from ledger.cli import main
from ledger.config import Settings
from ledger.errors import ConfigError, IntegrityError, OriginMismatch, ValidationError
from ledger.evidence import export as evidence
from ledger.log import merkle, publish, tree
from ledger.log.checkpoint import Checkpoint, open_checkpoint
from ledger.log.verify import verify_log
from ledger.signing import note
from ledger.signing.keys import Signer
from ledger.store import log_store
from ledger.store.schema import checkpoints
from tests.conftest import ORIGIN, PERSON

OTHER = "example.org/other"


def _checkpoint_rows(engine) -> list:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(checkpoints.c.size, checkpoints.c.note)))


# --- the core: publish and verify, on SQLite and PostgreSQL --------------------------

def test_a_configured_origin_that_is_not_the_logs_signs_nothing(ledger):
    ledger.notes(3)
    with pytest.raises(OriginMismatch) as e:
        publish.publish(ledger.engine, ledger.keyring.log, OTHER, ledger.clock)
    assert (e.value.configured, e.value.logged) == (OTHER, ORIGIN)
    assert OTHER in str(e.value) and ORIGIN in str(e.value) and "seq 0" in str(e.value)
    assert _checkpoint_rows(ledger.engine) == []


def test_the_note_carries_the_genesis_origin_whatever_is_configured_or_not(ledger):
    ledger.notes(3)
    text, new = publish.publish(ledger.engine, ledger.keyring.log, None, ledger.clock)
    assert new and open_checkpoint(text, ledger.keyring.log.verifier, ORIGIN).origin == ORIGIN
    same, again = publish.publish(ledger.engine, ledger.keyring.log, ORIGIN, ledger.clock)
    assert (same, again) == (text, False)


def test_only_the_genesis_log_key_signs_checkpoints(ledger):
    stranger = Signer.from_seed("test-log", b"another key under the same name")
    with pytest.raises(ConfigError, match="not this log's key"):
        publish.publish(ledger.engine, stranger, None, ledger.clock)
    assert _checkpoint_rows(ledger.engine) == []


def test_verify_fails_on_a_stored_checkpoint_under_another_origin(ledger):
    """What the old code let `LEDGER_ORIGIN=example.org/other ledger checkpoint` store:
    a checkpoint signed by the right key over the right tree, under a second name."""
    ledger.notes(4)
    with ledger.engine.connect() as conn:
        size = log_store.size(conn)
        root = tree.tree_root(conn, size)
    forged = note.sign(Checkpoint(OTHER, size, root).body(), ledger.keyring.log).render()
    with ledger.engine.begin() as conn:
        conn.execute(sa.insert(checkpoints).values(size=size, root=root, note=forged,
                                                   created_at="2026-01-05T08:00:00.000000Z"))
    with pytest.raises(IntegrityError) as e:
        verify_log(ledger.engine, workers=1)
    assert e.value.kind == "checkpoint" and OTHER in e.value.detail and ORIGIN in e.value.detail


def test_a_checkpoint_at_a_verified_size_below_the_head(ledger):
    ledger.notes(6)
    with ledger.engine.connect() as conn:
        head = log_store.size(conn)
        root_at = {n: tree.tree_root(conn, n) for n in (head - 4, head)}
    text, new = publish.publish(ledger.engine, ledger.keyring.log, None, ledger.clock, size=head - 4)
    cp = open_checkpoint(text, ledger.keyring.log.verifier, ORIGIN)
    assert new and (cp.size, cp.root) == (head - 4, root_at[head - 4])
    later, _ = publish.publish(ledger.engine, ledger.keyring.log, None, ledger.clock)  # proved consistent with it
    assert open_checkpoint(later, ledger.keyring.log.verifier).root == root_at[head]
    assert publish.publish(ledger.engine, ledger.keyring.log, None, ledger.clock, size=head - 4) == (text, False)
    empty, _ = publish.publish(ledger.engine, ledger.keyring.log, None, ledger.clock, size=0)
    assert open_checkpoint(empty, ledger.keyring.log.verifier).root == merkle.EMPTY_ROOT
    verify_log(ledger.engine, workers=1)  # every stored checkpoint verifies


@pytest.mark.parametrize("size", [-1, 10_000])
def test_a_size_outside_the_tree_is_refused_naming_the_field(ledger, size):
    with pytest.raises(ValidationError) as e:
        publish.publish(ledger.engine, ledger.keyring.log, None, ledger.clock, size=size)
    assert [p.field for p in e.value.problems] == ["size"]
    assert _checkpoint_rows(ledger.engine) == []


def test_an_export_under_another_origin_is_refused_before_the_custody_entry(domain, tmp_path):
    p = domain.subject(PERSON, "张三")
    domain.grant(p)
    with domain.engine.connect() as conn:
        before = log_store.size(conn)
    with pytest.raises(OriginMismatch):
        evidence.export(domain.engine, domain.keyring, domain.vault, Settings(origin=OTHER, vkey_dir=tmp_path),
                        case="(2026)内01行初9号", requested_by="法院", subjects=[p], seqs=[], clock=domain.clock)
    with domain.engine.connect() as conn:
        assert log_store.size(conn) == before
    assert _checkpoint_rows(domain.engine) == []


def test_settings_take_the_origin_from_the_log_unless_set():
    assert Settings.from_env({}).origin is None
    assert Settings.from_env({"LEDGER_ORIGIN": ""}).origin is None
    assert Settings.from_env({"LEDGER_ORIGIN": OTHER}).origin == OTHER


# --- the commands, as the attack ran them ------------------------------------

@pytest.fixture
def env(cli_env, monkeypatch):
    values = cli_env
    monkeypatch.delenv("LEDGER_ORIGIN", raising=False)
    assert CliRunner().invoke(main, ["keys", "generate", "dev-log"]).exit_code == 0
    return values


def cli(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), env=env)


def test_init_needs_an_origin_and_writes_nothing_without_one(env):
    r = cli("init")
    assert r.exit_code == 2 and "--origin" in r.stderr, r.output + r.stderr
    assert cli("entry", "0").exit_code != 0  # no genesis was written


def test_the_attack_another_origin_from_the_environment_is_refused(env):
    r = cli("init", "--origin", "talent.nmg.gov.cn/integrity-ledger", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["seq"] == 0, r.output + r.stderr
    attack = cli("checkpoint", env={"LEDGER_ORIGIN": OTHER})
    assert attack.exit_code == 2, attack.output + attack.stderr
    assert OTHER in attack.stderr and "talent.nmg.gov.cn/integrity-ledger" in attack.stderr and attack.stdout == ""
    assert "no checkpoint" in cli("checkpoint", "--show").stderr  # nothing was signed
    ok = cli("checkpoint")  # LEDGER_ORIGIN unset: the log's own origin
    assert ok.exit_code == 0 and ok.stdout.splitlines()[0] == "talent.nmg.gov.cn/integrity-ledger", ok.stderr
    assert cli("verify").exit_code == 0


def test_init_keeps_the_first_origin(env):
    assert cli("init", "--origin", "a.example/log").exit_code == 0
    again = cli("init", "--origin", "b.example/log")
    assert again.exit_code == 2 and "a.example/log" in again.stderr
    assert cli("init").exit_code == 0  # a re-run without an origin: the log's, a no-op
    assert cli("init", env={"LEDGER_ORIGIN": "a.example/log"}).exit_code == 0
    mixed = cli("init", "--origin", "a.example/log", env={"LEDGER_ORIGIN": "c.example/log"})
    assert mixed.exit_code == 2 and "c.example/log" in mixed.stderr
    assert json.loads(cli("entry", "0").stdout)["statement"]["body"]["origin"] == "a.example/log"
    assert cli("entry", "1").exit_code == 2  # and nothing else was appended


def test_the_command_signs_a_size_below_the_head(env):
    assert cli("init", "--origin", "a.example/log").exit_code == 0
    assert cli("authorities", "register", "hrss-150100", "--name", "呼和浩特市人力资源和社会保障局",
               "--region", "150100").exit_code == 0
    r = cli("checkpoint", "--size", "1")
    assert r.exit_code == 0 and r.stdout.splitlines()[:2] == ["a.example/log", "1"], r.output + r.stderr
    beyond = cli("checkpoint", "--size", "99")
    assert beyond.exit_code == 2 and "size" in beyond.stderr
    head = cli("checkpoint")
    assert head.exit_code == 0 and head.stdout.splitlines()[1] == "2"
    assert cli("checkpoint", "--show", "--size", "1").stdout == r.stdout


def test_the_command_verify_fails_on_a_checkpoint_signed_under_another_origin(env):
    """A log that the earlier code let sign under LEDGER_ORIGIN=example.org/other."""
    from ledger.signing import keystore
    from ledger.store.engine import make_engine

    assert cli("init", "--origin", "a.example/log").exit_code == 0
    assert cli("verify").exit_code == 0
    engine = make_engine(env["LEDGER_DATABASE_URL"])
    signer = keystore.load("dev-log", Path(env["LEDGER_KEY_DIR"]), env["LEDGER_KEY_PASSPHRASE"].encode())
    with engine.begin() as conn:
        root = tree.tree_root(conn, 1)
        forged = note.sign(Checkpoint(OTHER, 1, root).body(), signer).render()
        conn.execute(sa.insert(checkpoints).values(size=1, root=root, note=forged, created_at="2026-01-05T08:00:00.000000Z"))
    r = cli("verify")
    assert r.exit_code == 1 and OTHER in r.output + r.stderr, r.output + r.stderr
