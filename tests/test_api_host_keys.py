"""No authority private key on the API host (decision 0015; docs/contracts.md §2.7).

1. A server set up as ``make run`` sets it up (db upgrade, demo, checkpoint,
   verify, serve) holds only the log key in its key directory; the demo's
   authorities' keys are elsewhere (0600, one per authority, registered in the
   log), the draft mutations answer ``Unavailable`` pointing at
   ``record_statements``, and statements signed with the authorities' keys are
   recorded over HTTP by the real ``ledger serve``.
2. A host with the database and the log key cannot make an entry that verifies
   as an authority's: a statement claiming an authority but signed by the log
   key (or by a key the host made under the authority's key name) is refused by
   the append path, and the same entry written directly into the database
   (with the application's own database credentials, tree nodes and all) is
   refused by ``verify_log`` and by ``ledger verify``.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
from pathlib import Path

import httpx
import pytest

from ledger.errors import IntegrityError, ValidationError
from ledger.log import canonical, merkle
from ledger.log.append import append_entries, append_statements
from ledger.log.entry import FORMAT_V2, Authority, Draft, Entry, format_time
from ledger.log.projection import load_registry
from ledger.log.statement import Statement, sign, sign_statement
from ledger.log.verify import verify_log
from ledger.signing import keystore
from ledger.signing.keyring import Keyring
from ledger.signing.keys import Signer
from ledger.store import log_store
from ledger.store.engine import make_engine
from tests.api_support import LEDGER, start_serve
from tests.conftest import HOHHOT, note

PASSPHRASE = "make-run-dev-passphrase"
RECORD = """mutation($s: [String!]!) { record_statements(statements: $s) { __typename
  ... on StatementsRecorded { recorded { seq retried entry { version signer } } }
  ... on Error { code message } } }"""
IMPOSE = """mutation($s: String!) { impose_sanction(request_id: "legacy-on-demo", subject: $s, body: {
  severity: general, grounds: "虚报", legal_basis: {article: "条例第六十六条", document_no: "x"}, deciding_body: "局",
  decision_date: "2026-02-01", effective_from: "2026-02-01", effective_until: "2026-12-31",
  scope: {benefits: [subsidy], regions: ["150100"]}}) { __typename ... on Unavailable { code message } } }"""


def _cli(tmp: Path, *args: str, env: dict[str, str] | None = None) -> str:
    out = subprocess.run([LEDGER, *args], cwd=tmp, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


# --- 1. a server set up as `make run` sets it up --------------------------------------

@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """`make run`'s steps in a fresh directory, with its environment: the passphrase file
    and every other setting at its default (paths relative to the working directory)."""
    tmp = tmp_path_factory.mktemp("make-run")
    (tmp / "var").mkdir(mode=0o700)
    (tmp / "var" / "dev-passphrase").write_text(PASSPHRASE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env["LEDGER_KEY_PASSPHRASE_FILE"] = "var/dev-passphrase"
    env["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")
    for step in (("db", "upgrade"), ("demo", "--entries", "60", "--seed", "1"), ("checkpoint",), ("verify",),
                 ("summary",)):
        _cli(tmp, *step, env=env)
    return tmp, env


def test_the_servers_key_directory_holds_only_the_log_key(made):
    tmp, _ = made
    assert sorted(p.name for p in (tmp / "var" / "private-keys").iterdir()) == ["dev-log.key"]


def test_the_demo_authorities_keys_are_elsewhere_private_one_each_and_registered(made):
    from ledger.demo.region import AUTHORITIES, dev_key_name

    tmp, _ = made
    where = tmp / "var" / "authority-keys"
    files = {p.name: p for p in where.iterdir()}
    assert set(files) == {f"{dev_key_name(a.id)}.key" for a in AUTHORITIES}
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files.values())
    assert stat.S_IMODE(where.stat().st_mode) == 0o700
    engine = make_engine(f"sqlite:///{tmp}/var/ledger.db")
    try:
        with engine.connect() as conn:
            registry = load_registry(conn)
    finally:
        engine.dispose()
    for a in AUTHORITIES:
        signer = keystore.load(dev_key_name(a.id), where, PASSPHRASE.encode())
        rec = registry.records[signer.name]
        assert rec.authority_id == a.id and rec.key == signer.verifier and rec.revoked_seq is None


def test_the_demos_records_are_v2_statements_signed_by_their_authorities(made):
    tmp, _ = made
    engine = make_engine(f"sqlite:///{tmp}/var/ledger.db")
    try:
        with engine.connect() as conn:
            registry = load_registry(conn)
            size = log_store.size(conn)
            rows = [log_store.get_entry(conn, seq) for seq in range(size)]
    finally:
        engine.dispose()
    records = [e for e in rows if e is not None and e.authority.id != "ledger-operator"]
    assert len(records) >= 60 and all(e.v == FORMAT_V2 for e in records)
    for e in records:  # each by a key registered to the entry's own authority, never the log key
        assert registry.records[e.signer].authority_id == e.authority.id
        assert e.signer != registry.log_key.name


def test_the_served_host_takes_signed_statements_and_signs_no_drafts(made):
    from ledger.demo.region import dev_key_name

    tmp, env = made
    absolute = {**env, "LEDGER_KEY_PASSPHRASE_FILE": str(tmp / "var" / "dev-passphrase"),
                "LEDGER_DATABASE_URL": f"sqlite:///{tmp}/var/ledger.db", "LEDGER_KEY_DIR": str(tmp / "var" / "private-keys"),
                "LEDGER_STATE_DIR": str(tmp / "var"), "LEDGER_VKEY_DIR": str(tmp / "keys")}
    token = json.loads(_cli(tmp, "tokens", "issue", "--role", "recorder", "--authority", "hrss-150100", "--region",
                            "150100", "--json", env=env))["token"]
    subject = json.loads(_cli(tmp, "subject", "add", "cn-rid:150102199001010019", "--name", "测试", "--json",
                              env=env))["subject"]
    base, proc = start_serve(absolute)
    try:
        def gql(query: str, **variables) -> dict:
            r = httpx.post(f"{base}/graphql", json={"query": query, "variables": variables},
                           headers={"Authorization": f"Bearer {token}"}, timeout=30)
            assert r.status_code == 200 and "errors" not in r.json(), r.text
            return r.json()["data"]

        legacy = gql(IMPOSE, s=subject)["impose_sanction"]
        assert legacy["__typename"] == "Unavailable" and "record_statements" in legacy["message"], legacy
        # The authority signs on its own machine (here: the test, with the demo's key file).
        signer = keystore.load(dev_key_name("hrss-150100"), tmp / "var" / "authority-keys", PASSPHRASE.encode())
        draft = Draft("sanction.imposed", Authority("hrss-150100", "150100"), "officer-1", subject, (), "signed-1",
                      {"severity": "general", "grounds": "虚报", "deciding_body": "局",
                       "legal_basis": {"article": "条例第六十六条", "document_no": "x"}, "decision_date": "2026-02-01",
                       "effective_from": "2026-02-01", "effective_until": "2026-12-31",
                       "scope": {"benefits": ["subsidy"], "regions": ["150100"]}})
        from datetime import UTC, datetime

        text = canonical.encode(sign_statement(draft, signer, datetime.now(UTC)).to_json()).decode()
        out = gql(RECORD, s=[text])["record_statements"]
        assert out["__typename"] == "StatementsRecorded", out
        assert out["recorded"][0]["entry"] == {"version": 2, "signer": signer.name}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert "OK:" in _cli(tmp, "verify", env=env)


# --- 2. the database and the log key are not enough ----------------------------------

def _size(ledger) -> int:
    with ledger.engine.connect() as conn:
        return log_store.size(conn)


def test_a_statement_claiming_an_authority_signed_by_the_log_key_is_refused(ledger):
    before = _size(ledger)
    s = sign_statement(note("by-the-host"), ledger.keyring.log, ledger.clock.now)
    with pytest.raises(ValidationError) as e:
        append_statements(ledger.engine, [s], ledger.clock)
    assert e.value.problems[0].field == "key" and _size(ledger) == before


def test_a_host_keyring_mapping_an_authority_to_the_log_key_is_refused(ledger):
    before = _size(ledger)
    ring = Keyring(ledger.keyring.log, {HOHHOT.id: ledger.keyring.log})
    with pytest.raises(ValidationError) as e:
        append_entries(ledger.engine, [note("host-as-hohhot")], ring, ledger.clock)
    assert e.value.problems[0].field == "key" and _size(ledger) == before


def test_a_key_the_host_made_under_the_authoritys_key_name_is_refused(ledger):
    before = _size(ledger)
    impostor = Signer.generate(ledger.keyring.authorities[HOHHOT.id].name)
    with pytest.raises(ValidationError) as e:
        append_entries(ledger.engine, [note("impostor")], Keyring(ledger.keyring.log, {HOHHOT.id: impostor}),
                       ledger.clock)
    assert e.value.problems[0].field == "key" and _size(ledger) == before
    with pytest.raises(ValidationError) as e:
        append_statements(ledger.engine, [sign_statement(note("impostor-2"), impostor, ledger.clock.now)],
                          ledger.clock)
    assert e.value.problems[0].field == "sig" and _size(ledger) == before


def _write_row(ledger, signer: Signer) -> Entry:
    """What a host with the database and ``signer`` can write around the append path: a v2
    entry for Hohhot at the head, chained and with its tree nodes, through the
    application's own connection (no trigger dropped: the tables are append-only, not
    insert-proof)."""
    with ledger.engine.connect() as conn:
        head = log_store.head(conn)
    st = Statement.of(note("written-directly"), signer.name, format_time(ledger.clock()))
    s = sign(st, signer)
    e = Entry(v=FORMAT_V2, seq=head.size, prev=head.leaf_hash.hex(), type=st.type, recorded_at=format_time(ledger.clock()),
              authority=st.authority, actor=st.actor, subject=st.subject, refs=st.refs, request_id=st.request_id,
              body=st.body, signer=st.key, sig=s.sig, signed_at=st.signed_at)
    with ledger.engine.begin() as conn:
        log_store.insert_entries(conn, [e])
        border = log_store.read_nodes(conn, merkle.perfect_pieces(0, head.size))
        log_store.insert_nodes(conn, merkle.integrate(border, head.size, [e.leaf_hash]))
    with ledger.engine.connect() as conn:
        assert log_store.size(conn) == head.size + 1  # the row is in
    return e


@pytest.mark.parametrize("who", ["log key", "host-made key under the authority's name"])
def test_a_row_written_directly_does_not_verify_as_the_authoritys(ledger, who, tmp_path):
    signer = ledger.keyring.log if who == "log key" else Signer.generate(ledger.keyring.authorities[HOHHOT.id].name)
    e = _write_row(ledger, signer)
    with pytest.raises(IntegrityError) as err:
        verify_log(ledger.engine, workers=1)
    assert err.value.seq == e.seq and err.value.kind == "signature", str(err.value)
    out = subprocess.run([LEDGER, "verify", "--db", ledger.store.url], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "LEDGER_STATE_DIR": str(tmp_path / "state")})
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"seq {e.seq}" in out.stdout + out.stderr
    assert base64.b64decode(e.sig)  # the signature is a real Ed25519 signature, only by the wrong key
