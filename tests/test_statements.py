"""Entry format v2 (docs/contracts.md §2.7): statements signed by their authority.

Each refusal is a typed error naming the member, with nothing written, on both
engines (the ``ledger`` fixture: SQLite and PostgreSQL). The fixture's log is
format v1 up to its key registrations and v2 after (tests/conftest.py), so
every test here also runs on a mixed log.
"""

from __future__ import annotations

import base64
import json
import string
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.errors import IntegrityError, RequestConflict, SignatureError, ValidationError
from ledger.log import canonical
from ledger.log.append import append_entries, append_statements
from ledger.log.entry import FORMAT_V1, FORMAT_V2, STATEMENT_PREFIX, Authority, Draft, Entry, from_canonical
from ledger.log.merkle import leaf_hash
from ledger.log.operator import revoke_key
from ledger.log.statement import (
    SIGNED_AT_SKEW,
    SignedStatement,
    Statement,
    sign_statement,
    signed_statement_from_json,
)
from ledger.log.verify import VerifierState, verify_log
from ledger.signing.keys import Signer
from ledger.store import log_store
from tests.conftest import BAOTOU, HOHHOT, FixedClock, bootstrap, make_keyring, note, run_cli


def size(ledger) -> int:
    with ledger.engine.connect() as conn:
        return log_store.size(conn)


def signed(ledger, draft: Draft, signer: Signer | None = None, *, ahead: timedelta = timedelta(0)) -> SignedStatement:
    """``draft`` signed as a statement, by default with its authority's key, at the ledger's clock."""
    return sign_statement(draft, signer or ledger.keyring.authorities[draft.authority.id], ledger.clock.now + ahead)


def refused(ledger, statements: list[SignedStatement], field: str, says: str = "") -> ValidationError:
    before = size(ledger)
    with pytest.raises(ValidationError) as e:
        append_statements(ledger.engine, statements, ledger.clock)
    assert field in [p.field for p in e.value.problems], str(e.value)
    assert says in str(e.value)
    assert size(ledger) == before  # nothing written
    verify_log(ledger.engine, workers=1)
    return e.value


# --- the happy path ---------------------------------------------------------------

def test_a_signed_statement_becomes_a_v2_entry_the_log_does_not_sign(ledger):
    s = signed(ledger, note("v2-1"))
    e = append_statements(ledger.engine, [s], ledger.clock)[0]
    assert (e.v, e.signer, e.signed_at, e.sig) == (FORMAT_V2, s.statement.key, s.statement.signed_at, s.sig)
    obj = json.loads(e.canonical)
    assert set(obj) == {"v", "seq", "prev", "recorded_at", "statement", "sig"}
    assert obj["statement"] == s.statement.to_json()
    assert e.signing_bytes == STATEMENT_PREFIX + canonical.encode(s.statement.to_json()) == s.statement.signed_bytes
    assert e.canonical == canonical.encode(e.to_json())
    assert e.leaf_hash == leaf_hash(e.canonical)
    with ledger.engine.connect() as conn:
        assert log_store.get_canonical(conn, e.seq) == e.canonical
    report, _ = verify_log(ledger.engine, workers=1)
    assert report.size == e.seq + 1


def test_append_entries_signs_drafts_as_statements_with_this_hosts_keys(ledger):
    out = ledger.append([note("host-1"), note("host-2", BAOTOU)])
    assert [e.v for e in out] == [FORMAT_V2, FORMAT_V2]
    assert [e.signer for e in out] == [f"test-{HOHHOT.id}", f"test-{BAOTOU.id}"]
    for e in out:
        ledger.keyring.authorities[e.authority.id].verifier.verify(e.signature, e.signing_bytes)


def test_a_signature_within_the_skew_is_accepted(ledger):
    ahead = SIGNED_AT_SKEW - timedelta(seconds=30)
    e = append_statements(ledger.engine, [signed(ledger, note("early-clock"), ahead=ahead)], ledger.clock)[0]
    assert e.signed_at > e.recorded_at


# --- refusals, each naming the member, nothing written ----------------------------

def test_a_statement_signed_by_a_revoked_key_is_refused(ledger):
    append_statements(ledger.engine, [signed(ledger, note("before-revocation"))], ledger.clock)  # key now cached
    s = signed(ledger, note("after-revocation"))
    revoke_key(ledger.engine, ledger.keyring.log, f"test-{HOHHOT.id}", "lost", ledger.clock)
    refused(ledger, [s], "key", "was revoked")


def test_a_statement_signed_by_another_authoritys_key_is_refused(ledger):
    s = signed(ledger, note("borrowed-key"), ledger.keyring.authorities[BAOTOU.id])
    refused(ledger, [s], "key", f"belongs to {BAOTOU.id!r}")


def test_a_statement_by_an_unregistered_key_is_refused(ledger):
    refused(ledger, [signed(ledger, note("stranger"), Signer.from_seed("stranger", b"x"))], "key", "not a registered key")


def test_a_statement_signed_by_a_key_impersonating_a_registered_name_is_refused(ledger):
    impostor = Signer.from_seed(f"test-{HOHHOT.id}", b"not the registered key")
    refused(ledger, [signed(ledger, note("impostor"), impostor)], "sig", "does not verify")


def test_a_statement_with_a_modified_body_is_refused(ledger):
    s = signed(ledger, note("edited", text_="原文"))
    edited = SignedStatement(replace(s.statement, body={"text": "改过的"}), s.sig)
    refused(ledger, [edited], "sig", "does not verify")


def test_a_signature_replayed_under_another_request_id_is_refused(ledger):
    """request_id is inside the signed statement: a signature does not carry over."""
    s = signed(ledger, note("first-request"))
    append_statements(ledger.engine, [s], ledger.clock)
    replayed = SignedStatement(replace(s.statement, request_id="second-request"), s.sig)
    refused(ledger, [replayed], "sig", "does not verify")
    # The same body, signed anew under another request_id, is simply a new statement.
    again = signed(ledger, note("second-request", text_=s.statement.body["text"]))
    e = append_statements(ledger.engine, [again], ledger.clock)[0]
    assert e.body == s.statement.body and e.request_id == "second-request"


def test_a_statement_signed_in_the_future_beyond_the_skew_is_refused(ledger):
    s = signed(ledger, note("from-the-future"), ahead=SIGNED_AT_SKEW + timedelta(minutes=1))
    refused(ledger, [s], "signed_at", "is later than recorded_at")


def test_a_statement_refing_a_seq_beyond_the_head_is_refused(ledger):
    head = size(ledger)
    for ref in (head, head + 7):
        s = signed(ledger, Draft("note.recorded", HOHHOT, "officer-1", None, (ref,), f"ahead-{ref}", {"text": "x"}))
        refused(ledger, [s], "refs", f"seq {ref} does not exist")


def test_a_bad_item_names_its_index_and_the_batch_writes_nothing(ledger):
    good = signed(ledger, note("batch-good"))
    bad = SignedStatement(replace(signed(ledger, note("batch-bad")).statement, actor="someone else"), good.sig)
    err = refused(ledger, [good, bad], "sig")
    assert err.index == 1


@pytest.mark.parametrize("member, value, field", [
    ("signed_at", "2026-01-05 08:00:00", "signed_at"),
    ("signed_at", "2026-01-05T08:00:00Z", "signed_at"),
    ("key", "has space", "key"),
])
def test_malformed_statement_members_are_refused_before_the_lock(ledger, member, value, field):
    s = signed(ledger, note("malformed"))
    refused(ledger, [SignedStatement(replace(s.statement, **{member: value}), s.sig)], field)


def test_a_signature_that_is_not_64_bytes_of_base64_is_refused(ledger):
    s = signed(ledger, note("short-sig"))
    refused(ledger, [SignedStatement(s.statement, base64.b64encode(b"x" * 63).decode())], "sig", "64 bytes")
    refused(ledger, [SignedStatement(s.statement, "not base64!")], "sig", "base64")


# --- idempotency per (authority, request_id) -------------------------------------

def test_a_replayed_statement_returns_the_original_entry(ledger):
    s = signed(ledger, note("replay"))
    first = append_statements(ledger.engine, [s], ledger.clock)[0]
    before = size(ledger)
    assert append_statements(ledger.engine, [s], ledger.clock)[0] == first
    # Re-signed later (another signed_at), stating the same thing: the same request.
    later = signed(ledger, note("replay"), ahead=timedelta(seconds=1))
    assert later.sig != s.sig
    assert append_statements(ledger.engine, [later], ledger.clock)[0] == first
    assert size(ledger) == before


def test_another_statement_under_the_same_request_id_is_a_conflict(ledger):
    append_statements(ledger.engine, [signed(ledger, note("taken", text_="甲"))], ledger.clock)
    before = size(ledger)
    with pytest.raises(RequestConflict):
        append_statements(ledger.engine, [signed(ledger, note("taken", text_="乙"))], ledger.clock)
    assert size(ledger) == before


# --- format versions: v1 entries, then v2, never the reverse ----------------------

def test_a_mixed_log_verifies_end_to_end_and_incrementally(ledger):
    with ledger.engine.connect() as conn:
        versions = [log_store.get_entry(conn, seq).v for seq in range(size(ledger))]
    assert versions and set(versions) == {FORMAT_V1}  # the fixture's bootstrap: a log begun before v2
    _, state = verify_log(ledger.engine, workers=1)
    assert state.last_version == FORMAT_V1
    ledger.notes(3)
    append_statements(ledger.engine, [signed(ledger, note("mixed"))], ledger.clock)
    report, state = verify_log(ledger.engine, workers=1, state=VerifierState.from_json(state.to_json()))
    assert report.start == len(versions) and state.last_version == FORMAT_V2
    full, _ = verify_log(ledger.engine, workers=1)
    assert full.size == len(versions) + 4 and full.signatures == full.size


def test_a_log_that_is_v2_from_its_genesis_verifies(store):
    ring, clock = make_keyring(), FixedClock()
    bootstrap(store.engine, ring, clock, version=FORMAT_V2)
    out = append_entries(store.engine, [note("only-v2")], ring, clock)
    with store.engine.connect() as conn:
        assert {log_store.get_entry(conn, s).v for s in range(out[0].seq + 1)} == {FORMAT_V2}
    report, _ = verify_log(store.engine, workers=1)
    assert report.size == out[0].seq + 1


def test_the_log_refuses_a_v1_entry_after_a_v2_entry(ledger):
    append_entries(ledger.engine, [note("still-v1")], ledger.keyring, ledger.clock, version=FORMAT_V1)
    ledger.notes(1)  # the first v2 entry
    before = size(ledger)
    with pytest.raises(ValidationError) as e:
        append_entries(ledger.engine, [note("v1-again")], ledger.keyring, ledger.clock, version=FORMAT_V1)
    assert e.value.problems[0].field == "v" and "never the reverse" in str(e.value)
    assert size(ledger) == before


def test_verify_names_a_v1_entry_after_a_v2_entry(ledger, monkeypatch):
    from ledger.log import append

    ledger.notes(1)
    monkeypatch.setattr(append, "_refuse_v1_after_v2", lambda conn, size: None)  # an append path gone wrong
    bad = append_entries(ledger.engine, [note("v1-after-v2")], ledger.keyring, ledger.clock, version=FORMAT_V1)[0]
    with pytest.raises(IntegrityError) as e:
        verify_log(ledger.engine, workers=1)
    assert (e.value.seq, e.value.kind) == (bad.seq, "version")


def test_verify_names_a_statement_signed_beyond_the_skew(ledger, monkeypatch):
    from ledger.log import append

    monkeypatch.setattr(append, "skew_problem", lambda signed_at, recorded_at, **kw: None)  # an append path gone wrong
    s = signed(ledger, note("late-check"), ahead=SIGNED_AT_SKEW + timedelta(hours=1))
    bad = append_statements(ledger.engine, [s], ledger.clock)[0]
    with pytest.raises(IntegrityError) as e:
        verify_log(ledger.engine, workers=1)
    assert (e.value.seq, e.value.kind) == (bad.seq, "time") and "signed_at" in e.value.detail


def test_verify_names_a_v2_entry_whose_statement_was_signed_by_a_revoked_key(ledger, monkeypatch):
    """The registry check is verify's too, not only the append path's."""
    from ledger.log import append

    s = signed(ledger, note("revoked-then-appended"))
    revoke_key(ledger.engine, ledger.keyring.log, f"test-{HOHHOT.id}", "lost", ledger.clock)
    real = append._v2_entry

    def unchecked(p, seq, prev, recorded_at, registry, log_signed, **kw):
        fresh = type(registry)(registry.log_key, {n: replace(r, revoked_seq=None) for n, r in registry.records.items()})
        return real(p, seq, prev, recorded_at, fresh, log_signed, **kw)

    monkeypatch.setattr(append, "_v2_entry", unchecked)
    bad = append_statements(ledger.engine, [s], ledger.clock)[0]
    with pytest.raises(IntegrityError) as e:
        verify_log(ledger.engine, workers=1)
    assert (e.value.seq, e.value.kind) == (bad.seq, "signature") and "revoked" in e.value.detail


# --- properties -------------------------------------------------------------------

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=16)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3), max_leaves=10)
hex64 = st.text("0123456789abcdef", min_size=64, max_size=64)
times = st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


@st.composite
def statements(draw) -> Statement:
    return Statement(
        type=draw(st.sampled_from(["note.recorded", "sanction.imposed", "key.registered"])),
        authority=Authority(draw(st.text(string.ascii_letters + "-", min_size=1, max_size=10)), "150100"),
        actor=draw(text), subject=draw(st.none() | hex64), refs=tuple(draw(st.lists(st.integers(0, 10**6), max_size=3))),
        request_id=draw(text),
        # bodies may use the envelope's member names
        body=draw(st.dictionaries(st.sampled_from(["statement", "sig", "v", "key", "text"]) | text, json_values,
                                  max_size=4)),
        signed_at=draw(times), key=draw(st.text(string.ascii_letters + "-.", min_size=1, max_size=12)))


@st.composite
def v2_entries(draw) -> Entry:
    s = draw(statements())
    return Entry(v=FORMAT_V2, seq=draw(st.integers(0, 2**40)), prev=draw(hex64), type=s.type,
                 recorded_at=draw(times), authority=s.authority, actor=s.actor, subject=s.subject, refs=s.refs,
                 request_id=s.request_id, body=s.body, signer=s.key,
                 sig=base64.b64encode(draw(st.binary(min_size=64, max_size=64))).decode(), signed_at=s.signed_at)


@settings(max_examples=300)
@given(statements(), st.binary(min_size=64, max_size=64))
def test_statements_round_trip_through_their_canonical_bytes(s, sig):
    data = canonical.encode(SignedStatement(s, base64.b64encode(sig).decode()).to_json())
    back = signed_statement_from_json(canonical.decode(data))
    assert back.statement == s and canonical.encode(back.to_json()) == data
    assert s.signed_bytes == STATEMENT_PREFIX + canonical.encode(s.to_json())


@settings(max_examples=300)
@given(v2_entries())
def test_v2_entries_round_trip_and_their_bytes_equal_a_full_encode(e):
    assert e.canonical == canonical.encode(e.to_json())
    parsed = from_canonical(e.canonical)
    assert parsed == e
    assert "signing_bytes" in parsed.__dict__  # the verifier's path: cut from the stored bytes, not encoded
    assert parsed.signing_bytes == STATEMENT_PREFIX + canonical.encode(e.statement_json())
    assert canonical.encode(parsed.to_json()) == e.canonical


AUTHOR = Signer.from_seed("test-author", b"statement mutation")


def _check(data: bytes, leaf: bytes) -> None:
    """What a verifier of one entry does: canonical bytes, the leaf the tree commits to,
    the statement's signature by its authority's key. Raises on any failure."""
    e = from_canonical(data)
    if leaf_hash(data) != leaf:
        raise IntegrityError(e.seq if isinstance(e.seq, int) else None, "hash", "leaf hash differs")
    if e.v != FORMAT_V2 or e.signer != AUTHOR.name:
        raise SignatureError("not this authority's v2 statement")
    AUTHOR.verifier.verify(e.signature, e.signing_bytes)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(statements(), st.data())
def test_any_single_byte_mutation_of_a_v2_entry_fails_verification(s, data):
    s = replace(s, key=AUTHOR.name)
    sig = base64.b64encode(AUTHOR.sign(s.signed_bytes)).decode()
    e = Entry(v=FORMAT_V2, seq=7, prev="ab" * 32, type=s.type, recorded_at="2026-01-05T08:00:00.000000Z",
              authority=s.authority, actor=s.actor, subject=s.subject, refs=s.refs, request_id=s.request_id,
              body=s.body, signer=s.key, sig=sig, signed_at=s.signed_at)
    good = e.canonical
    _check(good, e.leaf_hash)
    i = data.draw(st.integers(0, len(good) - 1), label="byte")
    b = data.draw(st.integers(0, 255).filter(lambda v: v != good[i]), label="value")
    bad = good[:i] + bytes([b]) + good[i + 1:]
    with pytest.raises((ValidationError, IntegrityError, SignatureError, ValueError)):
        _check(bad, e.leaf_hash)
    # The authority's signature alone covers every byte of the statement: a mutation
    # there fails the signature (or the parse), whatever the tree says.
    start = good.index(b',"statement":') + len(b',"statement":')
    if start <= i < len(good) - len(b',"v":2}'):
        with pytest.raises((ValidationError, SignatureError, ValueError)):
            _check(bad, leaf_hash(bad))


def test_the_log_host_cannot_state_for_an_authority(ledger):
    """v2 separates stating from ordering: the log key signs only the log's own records.
    A statement for an authority signed with the log key carries a valid signature,
    and is refused under the lock: the log key is no authority's registered key."""
    refused(ledger, [signed(ledger, note("host-forgery"), ledger.keyring.log)], "key", "not a registered key")


# --- the command line: sign where the key is, record where it is not ---------------

def test_ledger_sign_then_ledger_record_on_a_host_without_the_authority_key(tmp_path, monkeypatch, cli_env):
    import os
    import stat

    from click.testing import CliRunner

    from ledger.cli import main

    run_cli("demo", "--entries", "1")
    draft = {"type": "note.recorded", "authority": {"id": "hrss-150100", "region": "150100"}, "actor": "award-system",
             "request_id": "import-1", "body": {"text": "批量导入"}}
    (tmp_path / "drafts.jsonl").write_text(json.dumps(draft) + "\n" + json.dumps({**draft, "request_id": "import-2"})
                                           + "\n")
    out = tmp_path / "signed.jsonl"
    run_cli("sign", str(tmp_path / "drafts.jsonl"), "--key", "dev-hrss-150100", "--out", str(out))
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    lines = out.read_bytes().splitlines()
    parsed = [signed_statement_from_json(json.loads(line)) for line in lines]
    assert [canonical.encode(p.to_json()) for p in parsed] == lines  # RFC 8785 lines
    assert {p.statement.key for p in parsed} == {"dev-hrss-150100"}

    # The log host holds no private key at all: statements need none.
    monkeypatch.setenv("LEDGER_KEY_DIR", str(tmp_path / "nothing-here"))
    size = json.loads(run_cli("summary", "--json"))["size"]
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_bytes(lines[0] + b"\n" + lines[1].replace("批量导入".encode(), "篡改".encode()) + b"\n")
    bad = CliRunner().invoke(main, ["record", str(tampered), "--json"])
    assert bad.exit_code == 2, bad.output
    err = json.loads(bad.stdout)
    assert err["line"] == 2 and err["problems"][0]["field"] == "sig"
    assert json.loads(run_cli("summary", "--json"))["size"] == size  # nothing written
    acks = json.loads(run_cli("record", str(out), "--json"))
    assert [a["seq"] for a in acks] == [size, size + 1]
    again = json.loads(run_cli("record", str(out), "--json"))  # a retry returns the same entries
    assert again == acks
    assert json.loads(run_cli("verify", "--json"))["ok"]
    entry = json.loads(CliRunner().invoke(main, ["entry", str(size), "--raw"]).stdout_bytes)
    assert entry["v"] == 2 and entry["statement"] == parsed[0].statement.to_json()
    # A draft still needs this host's key for its authority.
    drafts_only = CliRunner().invoke(main, ["record", str(tmp_path / "drafts.jsonl")])
    assert drafts_only.exit_code == 2


def test_the_bundle_verifier_checks_the_order_of_versions_and_the_skew(ledger, monkeypatch):
    """The bundle checks (ledger/evidence/standalone.py, run by ledger verify-bundle)
    replay a bundle's entries as verify replays the log."""
    from ledger.evidence.standalone import Fail, check_order
    from ledger.log import append

    ledger.notes(1)
    monkeypatch.setattr(append, "_refuse_v1_after_v2", lambda conn, size: None)
    append_entries(ledger.engine, [note("v1-late")], ledger.keyring, ledger.clock, version=FORMAT_V1)
    with ledger.engine.connect() as conn:
        raw = {s: log_store.get_canonical(conn, s) for s in range(size(ledger))}
    files = {f"entries/{s}.json": b for s, b in raw.items()}
    entries = {s: json.loads(b) for s, b in raw.items()}
    last = max(entries)
    check_order(files, {s: e for s, e in entries.items() if s != last})
    with pytest.raises(Fail) as e:
        check_order(files, entries)
    assert e.value.file == f"entries/{last}.json" and e.value.found == "a v1 entry"
    late = json.loads(raw[last - 1])
    late["statement"]["signed_at"] = "2099-01-01T00:00:00.000000Z"
    with pytest.raises(Fail) as e:
        check_order(files, {**{s: x for s, x in entries.items() if s != last}, last - 1: late})
    assert e.value.found == "2099-01-01T00:00:00.000000Z" and "after recorded_at" in e.value.expected
