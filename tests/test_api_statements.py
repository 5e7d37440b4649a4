"""Signed statements over GraphQL (docs/api.md, Signed statements; docs/contracts.md §2.7;
decision 0015): the API host appends statements signed elsewhere and holds no
authority key. On SQLite and PostgreSQL (the ``domain`` fixture), through the
real schema and ASGI app. Every refusal is checked to have written nothing and to
leave a log that ``verify_log`` accepts."""

from __future__ import annotations

import base64
import json
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from starlette.testclient import TestClient

from ledger.api.app import create_app
from ledger.api.context import AppState, Limits
from ledger.config import Settings
from ledger.log import canonical
from ledger.log.entry import STATEMENT_PREFIX, Authority, Draft
from ledger.log.statement import SignedStatement, sign_statement
from ledger.log.verify import verify_log
from ledger.signing.keyring import Keyring
from ledger.signing.keys import Signer
from ledger.store import log_store
from tests.api_support import Api, make_api
from tests.conftest import BAOTOU, BASIS, HOHHOT, ORIGIN, PERSON

RECORD = """mutation($s: [String!]!) { record_statements(statements: $s) { __typename
  ... on StatementsRecorded { tree_size recorded { index seq leaf_hash retried
        entry { seq version v signed_at signer sig canonical leaf_hash authority { id region } } } }
  ... on ValidationFailed { code message problems { field rule } }
  ... on Forbidden { code message } ... on Barred { code message blocking } ... on Conflict { code message seq }
  ... on NotFound { code message } } }"""
TO_SIGN = """query($type: String!, $rid: String!, $body: JSON!, $key: String!, $subject: String, $refs: [Int!],
                  $authority: String) {
  statement_to_sign(type: $type, request_id: $rid, body: $body, key: $key, subject: $subject, refs: $refs,
                    authority_id: $authority) { __typename
    ... on StatementToSign { statement signed_bytes }
    ... on ValidationFailed { problems { field rule } } ... on Forbidden { code message } ... on NotFound { code } } }"""
REGISTER = """mutation($a: String!, $k: String!, $n: String) { register_key(authority_id: $a, public_key: $k, name: $n) {
  __typename ... on KeyRecorded { seq key { name authority_id vkey fingerprint registered_seq revoked_seq valid } }
  ... on ValidationFailed { problems { field rule } } ... on Forbidden { code } ... on Unavailable { code message }
  ... on Conflict { code } ... on NotFound { code } } }"""
REVOKE = """mutation($n: String!) { revoke_key(name: $n, reason: "设备遗失") { __typename
  ... on KeyRecorded { seq key { name valid revoked_seq } } ... on Forbidden { code } ... on NotFound { code } } }"""
KEYS = """query($a: String) { keys(authority_id: $a) { keys { name authority_id vkey valid registered_seq revoked_seq } } }"""


def sanction_body(regions=("150100",)) -> dict:
    return {"severity": "serious", "grounds": "伪造申报材料", "legal_basis": BASIS, "deciding_body": "呼和浩特市人社局",
            "decision_date": "2026-02-01", "effective_from": "2026-02-01", "effective_until": "2027-01-31",
            "scope": {"benefits": ["subsidy", "honor"], "regions": list(regions)}}


def sanction_draft(subject: str, rid: str, authority: Authority = HOHHOT, regions=("150100",)) -> Draft:
    return Draft("sanction.imposed", authority, "officer-7", subject, (), rid, sanction_body(regions))


def text_of(s: SignedStatement) -> str:
    """A signed statement as `ledger sign` writes it: RFC 8785 text of {statement, sig}."""
    return canonical.encode(s.to_json()).decode("utf-8")


def size(api: Api) -> int:
    with api.ledger.engine.connect() as conn:
        return log_store.size(conn)


def record(api: Api, who: str, *signed: SignedStatement | str) -> dict:
    texts = [x if isinstance(x, str) else text_of(x) for x in signed]
    return api.gql(who, RECORD, s=texts)["record_statements"]


def refused(api: Api, who: str, signed: list, typename: str, field: str | None = None, says: str = "") -> dict:
    before = size(api)
    out = record(api, who, *signed)
    assert out["__typename"] == typename, out
    if field is not None:
        assert field in [p["field"] for p in out["problems"]], out
    assert says in out["message"] + json.dumps(out.get("problems"), ensure_ascii=False), out
    assert size(api) == before  # nothing written
    verify_log(api.ledger.engine, workers=1)
    return out


def log_key_only_api(domain, *, keyring: Keyring | None | str = "log") -> Api:
    """The API as decision 0015 deploys it: the log key, no authority key (or, with
    ``keyring=None``, no key at all)."""
    ring = Keyring(domain.keyring.log) if keyring == "log" else keyring
    settings = Settings(origin=ORIGIN, state_dir=Path(tempfile.mkdtemp(prefix="ledger-api-")))
    state = AppState(domain.engine, ring, domain.vault, domain.clock, Limits(), settings)  # type: ignore[arg-type]
    api = Api(domain, state, TestClient(create_app(state)))
    for name, (role, kw) in {"recorder": ("recorder", dict(authority_id=HOHHOT.id, region=HOHHOT.region)),
                             "officer": ("programme_officer", dict(authority_id=HOHHOT.id, region=HOHHOT.region)),
                             "admin": ("admin", {}), "auditor": ("auditor", {})}.items():
        api.issue(name, role, **kw)
    return api


@pytest.fixture
def api(domain):
    return log_key_only_api(domain)


# --- recorded ------------------------------------------------------------------------

def test_a_statement_signed_with_a_registered_authority_key_is_recorded_as_v2(api, domain):
    p = domain.subject(PERSON)
    s = sign_statement(sanction_draft(p, "api-st-1"), domain.keyring.authorities[HOHHOT.id], domain.clock.now)
    out = record(api, "recorder", s)
    assert out["__typename"] == "StatementsRecorded", out
    [r] = out["recorded"]
    e = r["entry"]
    assert (r["index"], r["retried"], e["version"], e["v"]) == (0, False, 2, 2)
    assert (e["signer"], e["signed_at"], e["sig"]) == (s.statement.key, s.statement.signed_at, s.sig)
    assert json.loads(e["canonical"])["statement"] == s.statement.to_json()
    assert out["tree_size"] == r["seq"] + 1 == size(api)
    report, _ = verify_log(domain.engine, workers=1)
    assert report.size == size(api)
    # The same text again: the original entry, flagged as retried; nothing new.
    again = record(api, "recorder", s)["recorded"][0]
    assert (again["seq"], again["retried"]) == (r["seq"], True) and size(api) == r["seq"] + 1


def test_statement_to_sign_bytes_signed_with_the_key_round_trip(api, domain):
    p = domain.subject(PERSON)
    signer = domain.keyring.authorities[HOHHOT.id]
    before = size(api)
    out = api.gql("recorder", TO_SIGN, type="sanction.imposed", rid="api-rt-1", body=sanction_body(),
                  key=signer.name, subject=PERSON)["statement_to_sign"]
    assert out["__typename"] == "StatementToSign", out
    assert size(api) == before  # it writes nothing
    statement = json.loads(out["statement"])
    assert statement["subject"] == p and statement["authority"] == {"id": HOHHOT.id, "region": HOHHOT.region}
    assert statement["actor"].startswith("token:")  # the token, as the draft mutations name it
    to_sign = base64.b64decode(out["signed_bytes"])
    assert to_sign == STATEMENT_PREFIX + out["statement"].encode("utf-8")
    assert out["statement"].encode("utf-8") == canonical.encode(statement)  # RFC 8785 text
    sig = base64.b64encode(signer.sign(to_sign)).decode()
    text = json.dumps({"statement": statement, "sig": sig}, ensure_ascii=False)
    rec = record(api, "recorder", text)
    assert rec["__typename"] == "StatementsRecorded", rec
    entry = rec["recorded"][0]["entry"]
    assert json.loads(entry["canonical"])["statement"] == statement and entry["sig"] == sig
    verify_log(domain.engine, workers=1)


def test_a_batch_is_all_or_nothing_and_names_the_bad_statement(api, domain):
    p = domain.subject(PERSON)
    key = domain.keyring.authorities[HOHHOT.id]
    good = sign_statement(sanction_draft(p, "api-batch-0"), key, domain.clock.now)
    bad = sign_statement(replace(sanction_draft(p, "api-batch-1"), body={**sanction_body(), "severity": "grave"}),
                         key, domain.clock.now)
    out = refused(api, "recorder", [good, bad], "ValidationFailed", "statements.1.body.severity")
    assert out["code"] == "validation"


# --- refused, nothing written --------------------------------------------------------

def test_an_altered_statement_is_refused(api, domain):
    p = domain.subject(PERSON)
    s = sign_statement(sanction_draft(p, "api-alt"), domain.keyring.authorities[HOHHOT.id], domain.clock.now)
    altered = SignedStatement(replace(s.statement, body={**s.statement.body, "effective_until": "2030-01-31"}), s.sig)
    refused(api, "recorder", [altered], "ValidationFailed", "statements.0.sig", "does not verify")
    forged = SignedStatement(s.statement, base64.b64encode(bytes(64)).decode())
    refused(api, "recorder", [forged], "ValidationFailed", "statements.0.sig")


def test_a_statement_by_an_unregistered_key_is_refused(api, domain):
    p = domain.subject(PERSON)
    s = sign_statement(sanction_draft(p, "api-stranger"), Signer.generate("stranger-key"), domain.clock.now)
    refused(api, "recorder", [s], "ValidationFailed", "statements.0.key", "not a registered key")


def test_a_statement_by_a_revoked_key_is_refused(api, domain):
    p = domain.subject(PERSON)
    key = domain.keyring.authorities[HOHHOT.id]
    revoked = api.gql("admin", REVOKE, n=key.name)["revoke_key"]
    assert revoked["__typename"] == "KeyRecorded" and revoked["key"]["valid"] is False
    s = sign_statement(sanction_draft(p, "api-revoked"), key, domain.clock.now)
    refused(api, "recorder", [s], "ValidationFailed", "statements.0.key", "revoked")


def test_a_statement_for_an_authority_outside_the_tokens_is_refused(api, domain):
    """Signed correctly by Baotou's own key, but handed in with a Hohhot token."""
    p = domain.subject(PERSON)
    s = sign_statement(sanction_draft(p, "api-baotou", BAOTOU, ("150200",)), domain.keyring.authorities[BAOTOU.id],
                       domain.clock.now)
    out = refused(api, "recorder", [s], "Forbidden", says="statements.0.authority")
    assert out["code"] == "forbidden"
    # A programme officer may not submit a sanction, even for its own authority.
    own = sign_statement(sanction_draft(p, "api-officer"), domain.keyring.authorities[HOHHOT.id], domain.clock.now)
    refused(api, "officer", [own], "Forbidden")


def test_a_statement_whose_rules_fail_is_refused(api, domain):
    """Jurisdiction (the scope reaches Baotou) is judged under the lock, as for every writer;
    so are refs (none at or beyond the head) and the award guard (Art. 66)."""
    p = domain.subject(PERSON)
    key = domain.keyring.authorities[HOHHOT.id]
    s = sign_statement(sanction_draft(p, "api-reach", regions=("150200",)), key, domain.clock.now)
    refused(api, "recorder", [s], "Forbidden", says="outside the jurisdiction")
    end = Draft("sanction.ended", HOHHOT, "officer-7", p, (size(api) + 5,), "api-ref-ahead",
                {"reason": "expiry", "ended_on": "2026-09-01", "deciding_body": "呼和浩特市人社局"})
    refused(api, "recorder", [sign_statement(end, key, domain.clock.now)], "ValidationFailed", "statements.0.refs")
    assert record(api, "recorder", sign_statement(sanction_draft(p, "api-bar"), key,
                                                  domain.clock.now))["__typename"] == "StatementsRecorded"
    grant = Draft("subsidy.granted", HOHHOT, "officer-7", p, (), "api-barred-grant",
                  {"programme": "草原英才", "kind": "research_funding", "amount_fen": 100_000_00,
                   "grant_ref": "NMG-GR-API-1", "budget_account": "2130101", "decision_date": "2026-03-01",
                   "region": "150100"})
    refused(api, "recorder", [sign_statement(grant, key, domain.clock.now)], "Barred")


def test_a_statement_claiming_an_authority_but_signed_by_the_log_key_is_refused(api, domain):
    """The host holds the log key: it still cannot state anything as an authority."""
    p = domain.subject(PERSON)
    s = sign_statement(sanction_draft(p, "api-logkey"), domain.keyring.log, domain.clock.now)
    refused(api, "recorder", [s], "ValidationFailed", "statements.0.key", "not")


def test_malformed_statement_text_names_the_index_and_member(api, domain):
    out = refused(api, "recorder", ['{"statement": {}, "sig": "x", "sig": "y"}'], "ValidationFailed")
    assert all(p["field"].startswith("statements.0") for p in out["problems"]), out
    out = refused(api, "recorder", ['{"statement": {"v": 2}}'], "ValidationFailed", "statements.0.sig")


# --- statement_to_sign is authorised like the write ----------------------------------

@pytest.mark.parametrize("who, variables, typename", [
    ("officer", {}, "Forbidden"),  # a programme officer records checks, not sanctions
    ("admin", {}, "Forbidden"),
    ("auditor", {}, "Forbidden"),
    ("recorder", {"authority": BAOTOU.id}, "Forbidden"),  # another authority
    ("recorder", {"type": "key.registered"}, "Forbidden"),  # the log's own record
    ("recorder", {"key": "test-hrss-150200"}, "ValidationFailed"),  # Baotou's key, not Hohhot's
])
def test_statement_to_sign_is_authorised_like_the_write(api, domain, who, variables, typename):
    domain.subject(PERSON)
    v = {"type": "sanction.imposed", "rid": "api-ts-x", "body": sanction_body(), "key": f"test-{HOHHOT.id}",
         "subject": PERSON, **variables}
    before = size(api)
    out = api.gql(who, TO_SIGN, **v)["statement_to_sign"]
    assert out["__typename"] == typename, out
    assert size(api) == before


def test_statement_to_sign_does_not_resolve_identifiers_for_a_forbidden_token(api, domain):
    """Authorisation before the vault: an admin learns nothing about who is in it."""
    known = api.gql("admin", TO_SIGN, type="sanction.imposed", rid="r", body=sanction_body(), key="k",
                    subject=PERSON)["statement_to_sign"]
    domain.subject(PERSON)
    unknown = api.gql("admin", TO_SIGN, type="sanction.imposed", rid="r", body=sanction_body(), key="k",
                      subject=PERSON)["statement_to_sign"]
    assert known == unknown and known["__typename"] == "Forbidden"


# --- keys: enrolment by an admin, listing, revocation --------------------------------

def _raw_b64(private: Ed25519PrivateKey) -> str:
    return base64.b64encode(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def test_a_key_generated_elsewhere_is_enrolled_listed_used_and_revoked(api, domain):
    p = domain.subject(PERSON)
    private = Ed25519PrivateKey.generate()  # the officer's machine; only the public half travels
    out = api.gql("admin", REGISTER, a=HOHHOT.id, k=_raw_b64(private), n="hohhot-officer-7")["register_key"]
    assert out["__typename"] == "KeyRecorded", out
    assert out["key"]["name"] == "hohhot-officer-7" and out["key"]["valid"] is True
    listed = api.gql("recorder", KEYS, a=HOHHOT.id)["keys"]["keys"]
    assert "hohhot-officer-7" in [k["name"] for k in listed] and all(k["authority_id"] == HOHHOT.id for k in listed)
    signer = Signer("hohhot-officer-7", private)
    s = sign_statement(sanction_draft(p, "api-enrolled"), signer, domain.clock.now)
    assert record(api, "recorder", s)["__typename"] == "StatementsRecorded"
    gone = api.gql("admin", REVOKE, n="hohhot-officer-7")["revoke_key"]
    assert gone["__typename"] == "KeyRecorded" and gone["key"]["revoked_seq"] == gone["seq"]
    listed = {k["name"]: k for k in api.gql("recorder", KEYS, a=HOHHOT.id)["keys"]["keys"]}
    assert listed["hohhot-officer-7"]["valid"] is False
    later = sign_statement(sanction_draft(p, "api-after-revoke"), signer, domain.clock.now)
    refused(api, "recorder", [later], "ValidationFailed", "statements.0.key", "revoked")


@pytest.mark.parametrize("encoding", ["vkey", "raw", "raw-urlsafe", "spki", "pem"])
def test_register_key_accepts_the_documented_encodings(api, domain, encoding):
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    signer = Signer(f"hohhot-{encoding}", private)
    text = {"vkey": signer.verifier.vkey(), "raw": _raw_b64(private),
            "raw-urlsafe": base64.urlsafe_b64encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
            .rstrip("="),
            "spki": base64.b64encode(public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).decode(),
            "pem": public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()}[encoding]
    out = api.gql("admin", REGISTER, a=HOHHOT.id, k=text, n=signer.name)["register_key"]
    assert out["__typename"] == "KeyRecorded", out
    assert out["key"]["vkey"] == signer.verifier.vkey()


def test_register_key_without_a_name_derives_one_from_the_fingerprint(api, domain):
    private = Ed25519PrivateKey.generate()
    out = api.gql("admin", REGISTER, a=HOHHOT.id, k=_raw_b64(private))["register_key"]
    assert out["__typename"] == "KeyRecorded", out
    assert out["key"]["name"] == f"{HOHHOT.id}-{out['key']['fingerprint'][:8]}"


@pytest.mark.parametrize("text, field", [
    ("not a key", "public_key"),
    (base64.b64encode(bytes(31)).decode(), "public_key"),
    ("ab+0000000+AAAA", "public_key"),
])
def test_register_key_refuses_what_is_not_a_key(api, domain, text, field):
    before = size(api)
    out = api.gql("admin", REGISTER, a=HOHHOT.id, k=text, n="x-key")["register_key"]
    assert out["__typename"] == "ValidationFailed" and out["problems"][0]["field"] == field, out
    assert size(api) == before


def test_a_key_for_an_unregistered_authority_is_refused(api, domain):
    before = size(api)
    out = api.gql("admin", REGISTER, a="hrss-999900", k=_raw_b64(Ed25519PrivateKey.generate()), n="nobodys")
    assert out["register_key"]["__typename"] == "ValidationFailed", out
    assert out["register_key"]["problems"][0]["field"] == "authority_id" and size(api) == before


def test_a_batch_problem_of_several_statements_without_an_index_names_the_batch(api, domain):
    """Two statements with one request_id and different content conflict as a batch."""
    p = domain.subject(PERSON)
    key = domain.keyring.authorities[HOHHOT.id]
    a = sign_statement(sanction_draft(p, "api-dup"), key, domain.clock.now)
    b = sign_statement(replace(sanction_draft(p, "api-dup"), body=sanction_body(("150102",))), key, domain.clock.now)
    refused(api, "recorder", [a, b], "Conflict")


def test_a_verifier_key_cannot_be_enrolled_under_another_name(api, domain):
    signer = Signer.generate("real-name")
    out = api.gql("admin", REGISTER, a=HOHHOT.id, k=signer.verifier.vkey(), n="other-name")["register_key"]
    assert out["__typename"] == "ValidationFailed", out


def test_only_an_admin_enrols_or_revokes_keys(api, domain):
    before = size(api)
    for who in ("recorder", "officer", "auditor"):
        assert api.gql(who, REGISTER, a=HOHHOT.id, k=_raw_b64(Ed25519PrivateKey.generate()),
                       n=f"{who}-own")["register_key"]["__typename"] == "Forbidden"
        assert api.gql(who, REVOKE, n=f"test-{HOHHOT.id}")["revoke_key"]["__typename"] == "Forbidden"
    assert size(api) == before


def test_a_host_without_the_log_key_records_statements_but_enrols_no_key(domain):
    api = log_key_only_api(domain, keyring=None)
    p = domain.subject(PERSON)
    out = api.gql("admin", REGISTER, a=HOHHOT.id, k=_raw_b64(Ed25519PrivateKey.generate()), n="k1")["register_key"]
    assert out["__typename"] == "Unavailable", out
    s = sign_statement(sanction_draft(p, "api-nokey"), domain.keyring.authorities[HOHHOT.id], domain.clock.now)
    assert record(api, "recorder", s)["__typename"] == "StatementsRecorded"


# --- the legacy draft path (decision 0005) -------------------------------------------

IMPOSE = """mutation($s: String!, $b: SanctionImposedBody!) { impose_sanction(request_id: "legacy-1", subject: $s,
  body: $b) { __typename ... on Recorded { entry { seq version signed_at } } ... on Unavailable { code message } } }"""


def test_draft_mutations_on_a_log_key_only_host_point_at_record_statements(api, domain):
    p = domain.subject(PERSON)
    before = size(api)
    out = api.gql("recorder", IMPOSE, s=p, b=sanction_body())["impose_sanction"]
    assert out["__typename"] == "Unavailable" and "record_statements" in out["message"], out
    assert size(api) == before


def test_draft_mutations_still_sign_where_the_host_holds_authority_keys(domain):
    legacy = make_api(domain)  # decision 0005's deployment: every authority key on the host
    p = domain.subject(PERSON)
    out = legacy.gql("recorder", IMPOSE, s=p, b=sanction_body())["impose_sanction"]
    assert out["__typename"] == "Recorded" and out["entry"]["version"] == 2 and out["entry"]["signed_at"]


def test_v1_entries_have_version_1_and_no_signed_at(api, domain):
    e = api.gql("auditor", "{ entry(seq: 0) { ... on Entry { v version signed_at } } }")["entry"]
    assert e == {"v": 1, "version": 1, "signed_at": None}


@pytest.mark.parametrize("body, field", [
    ([1, 2], "body"),  # not an object
    ({**sanction_body(), "severity": 1.5}, "body.severity"),  # a fraction: no field takes one
    ({**sanction_body(), "grounds": "a\x00b"}, "body.grounds"),  # NUL: PostgreSQL refuses it, so does the schema
    ({**sanction_body(), "extra": 2**60}, "body"),  # unknown member; beyond I-JSON integers too
])
def test_statement_to_sign_refuses_hostile_bodies_as_typed_problems(api, domain, body, field):
    domain.subject(PERSON)
    out = api.gql("recorder", TO_SIGN, type="sanction.imposed", rid="api-hostile", body=body, key=f"test-{HOHHOT.id}",
                  subject=PERSON)["statement_to_sign"]
    assert out["__typename"] == "ValidationFailed", out
    assert any(p["field"].startswith(field) for p in out["problems"]), out


def test_an_oversized_or_overlong_batch_is_refused_before_parsing(api, domain):
    refused(api, "recorder", [], "ValidationFailed", "statements")
    refused(api, "recorder", ["{}"] * 101, "ValidationFailed", "statements")
    refused(api, "recorder", ["[" * 70 + "]" * 70], "ValidationFailed", "statements.0")


# --- a recorded check carries the ledger's own answer --------------------------------

def _check_draft(subject: str, rid: str, *, answer: str, tree_size: int, blocking: list[int],
                 decision: str = "refuse") -> Draft:
    return Draft("eligibility.checked", HOHHOT, "officer-7", subject, (), rid,
                 {"officer": "审核员甲", "programme": "草原英才", "award_ref": "AW-1", "benefit": "subsidy",
                  "region": "150100", "on": "2026-06-01", "answer": answer, "tree_size": tree_size,
                  "blocking": blocking, "decision": decision})


def test_a_signed_check_with_an_answer_the_ledger_did_not_give_is_refused(api, domain):
    """The draft path computes the answer itself; a signed statement must state the same
    answer, at its tree_size, or be refused (nothing written)."""
    p = domain.subject(PERSON)
    s = domain.sanction(p, regions=["150100"])
    key, at = domain.keyring.authorities[HOHHOT.id], s.seq + 1
    lie = _check_draft(p, "api-chk-lie", answer="eligible", tree_size=at, blocking=[], decision="proceed")
    refused(api, "officer", [sign_statement(lie, key, domain.clock.now)], "ValidationFailed",
            "statements.0.body.answer", "the ledger answered barred")
    hidden = _check_draft(p, "api-chk-hidden", answer="barred", tree_size=at, blocking=[])
    refused(api, "officer", [sign_statement(hidden, key, domain.clock.now)], "ValidationFailed",
            "statements.0.body.blocking")
    proceed = _check_draft(p, "api-chk-proceed", answer="barred", tree_size=at, blocking=[s.seq], decision="proceed")
    refused(api, "officer", [sign_statement(proceed, key, domain.clock.now)], "ValidationFailed",
            "statements.0.body.decision")
    ahead = _check_draft(p, "api-chk-ahead", answer="barred", tree_size=size(api) + 3, blocking=[s.seq])
    refused(api, "officer", [sign_statement(ahead, key, domain.clock.now)], "ValidationFailed",
            "statements.0.body.tree_size")
    # Before the sanction the ledger said eligible: that past answer is still the truth at that size.
    before = _check_draft(p, "api-chk-before", answer="eligible", tree_size=s.seq, blocking=[], decision="proceed")
    truth = _check_draft(p, "api-chk-truth", answer="barred", tree_size=at, blocking=[s.seq])
    out = record(api, "officer", sign_statement(before, key, domain.clock.now), sign_statement(truth, key,
                                                                                              domain.clock.now))
    assert out["__typename"] == "StatementsRecorded", out
    # statement_to_sign refuses to hand out bytes for the lie too.
    lied = api.gql("officer", TO_SIGN, type="eligibility.checked", rid="api-chk-ts", body=lie.body, key=key.name,
                   subject=p)["statement_to_sign"]
    assert lied["__typename"] == "ValidationFailed" and lied["problems"][0]["field"] == "body.answer", lied


@pytest.mark.parametrize("change", [
    {"refs": ["1"]}, {"refs": [-1]}, {"refs": [2**60]}, {"refs": [True]}, {"subject": 5}, {"type": "no.such"},
    {"authority": {"id": HOHHOT.id}}, {"signed_at": "yesterday"}, {"key": "a b"}, {"v": 1}, {"request_id": ""},
    {"body": {"text": "x" * 20_000}},  # over the 16 KiB body limit, inside the 64 KiB request
])
def test_hostile_statement_members_are_typed_problems_never_server_errors(api, domain, change):
    draft = Draft("note.recorded", HOHHOT, "officer-7", None, (), "api-hostile-m", {"text": "考核记录"})
    obj = sign_statement(draft, domain.keyring.authorities[HOHHOT.id], domain.clock.now).to_json()
    obj["statement"] = {**obj["statement"], **change}
    out = refused(api, "recorder", [json.dumps(obj, ensure_ascii=False)], "ValidationFailed")
    assert all(p["field"].startswith("statements") for p in out["problems"]), out


def test_a_control_character_in_a_patterned_field_is_a_typed_problem_on_both_engines(api, domain):
    """A pattern's "." matched NUL, which PostgreSQL text cannot hold: the grants query
    under the lock then failed as an unexpected error (found by the API fuzz)."""
    p = domain.subject(PERSON)
    grant = Draft("subsidy.granted", HOHHOT, "officer-7", p, (), "api-nul-ref",
                  {"programme": "草原英才", "kind": "research_funding", "amount_fen": 100_00, "grant_ref": "a\x00b",
                   "budget_account": "2130101", "decision_date": "2026-03-01", "region": "150100"})
    refused(api, "recorder", [sign_statement(grant, domain.keyring.authorities[HOHHOT.id], domain.clock.now)],
            "ValidationFailed", "statements.0.body.grant_ref", "control characters")
