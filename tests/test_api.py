"""The GraphQL API in process: the answers each user group relies on, every
record type as a mutation, expected failures as typed union members, and the
protections (limits, masking, introspection, statement counts)."""

from __future__ import annotations

import base64
import hashlib
import importlib
from pathlib import Path

import pytest
from sqlalchemy import event

from ledger.api.context import Limits
from ledger.api.schema import sdl
from ledger.log import checkpoint as checkpoints
from ledger.log import merkle_verify, publish
from ledger.store import log_store
from tests.api_support import make_api
from tests.conftest import BASIS, EMPLOYER, ORIGIN, PERSON, PERSON_2

ROOT = Path(__file__).resolve().parent.parent
OPS = ROOT / "graphql" / "operations"

ELIGIBILITY = """query($s: String!, $on: Date, $size: Int, $region: String! = "150102") {
  eligibility(subject: $s, benefit: subsidy, programme: "草原英才", region: $region, on: $on, known_at_size: $size) {
    __typename
    ... on Eligibility { answer tree_size blocking { kind seq message legal_basis { article document_no } } }
    ... on Error { code message }
  } }"""
SANCTION_BODY = {"severity": "serious", "grounds": "伪造申报材料", "legal_basis": BASIS, "deciding_body": "呼和浩特市人社局",
                 "decision_date": "2026-02-01", "effective_from": "2026-02-01", "effective_until": "2027-01-31",
                 "scope": {"benefits": ["subsidy", "honor"], "regions": ["150100"]}}
IMPOSE = open(OPS / "recorder_impose_sanction.graphql").read()
GRANT = open(OPS / "recorder_grant_subsidy.graphql").read()


def op(name: str) -> str:
    return (OPS / f"{name}.graphql").read_text()


@pytest.fixture
def api(domain):
    return make_api(domain)


# --- assets --------------------------------------------------------------------
def test_graphql_resolves_to_graphql_core():
    mod = importlib.import_module("graphql")
    assert hasattr(mod, "specified_rules") and "site-packages" in (mod.__file__ or "")


def test_exported_schema_is_current():
    """Regenerate with `make schema` when this fails."""
    assert (ROOT / "graphql" / "schema.graphql").read_text() == sdl()


# --- the programme officer's pre-award check ------------------------------------
def test_pre_award_check_operation_answers_with_reasons_and_tree_size(api, domain):
    p, q = domain.subject(PERSON), domain.subject(PERSON_2)
    s = domain.sanction(p, start="2026-02-01", until="2026-12-31", benefits=["subsidy"], regions=["150100"])
    size = s.seq + 1
    v = {"subject": PERSON, "benefit": "subsidy", "programme": "草原英才", "region": "150102", "on": "2026-06-01"}
    data = api.gql("officer", op("pre_award_check"), **v)
    e = data["eligibility"]
    assert e["__typename"] == "Eligibility" and e["answer"] == "barred" and e["tree_size"] == size
    assert e["blocking"][0]["seq"] == s.seq and e["blocking"][0]["legal_basis"] == BASIS
    assert e["blocking"][0]["period_until"] == "2026-12-31"
    assert data["subject"]["ref"] == p and [x["seq"] for x in data["subject"]["sanctions"]] == [s.seq]
    # Same question elsewhere, later, for someone else: eligible.
    assert api.gql("officer", op("pre_award_check"), **{**v, "region": "150200"})["eligibility"]["answer"] == "eligible"
    assert api.gql("officer", op("pre_award_check"), **{**v, "on": "2027-01-01"})["eligibility"]["answer"] == "eligible"
    assert api.gql("officer", op("pre_award_check"), **{**v, "subject": q})["eligibility"]["answer"] == "eligible"


def test_eligibility_as_known_at_an_earlier_tree_size(api, domain):
    p = domain.subject(PERSON)
    with domain.engine.connect() as conn:
        before = log_store.size(conn)
    domain.sanction(p, start="2026-01-01", until=None)
    now = api.gql("officer", ELIGIBILITY, s=p, on="2026-06-01")["eligibility"]
    then = api.gql("officer", ELIGIBILITY, s=p, on="2026-06-01", size=before)["eligibility"]
    assert now["answer"] == "barred" and then["answer"] == "eligible" and then["tree_size"] == before
    beyond = api.gql("officer", ELIGIBILITY, s=p, size=10_000)["eligibility"]
    assert beyond["__typename"] == "ValidationFailed" and beyond["code"] == "validation"


def test_eligibility_input_errors_are_typed_and_name_the_field(api, domain):
    p = domain.subject(PERSON)
    bad = api.gql("officer", ELIGIBILITY, s=p, region="99")["eligibility"]
    assert bad["__typename"] == "ValidationFailed"
    full = api.gql("officer", """{ eligibility(subject: "cn-rid:150102199001010018", benefit: honor, programme: "x",
        region: "150100") { __typename ... on ValidationFailed { problems { field rule } } } }""")["eligibility"]
    assert full["problems"][0]["field"] == "subject"



def test_recorded_eligibility_check_carries_the_ledgers_answer(api, domain):
    p = domain.subject(PERSON)
    s = domain.sanction(p, regions=["150100"])
    v = {"request_id": "chk-1", "subject": PERSON, "benefit": "subsidy", "programme": "草原英才", "region": "150100",
         "on": "2026-06-01", "award_ref": "AW-1", "officer": "审核员甲", "decision": "proceed"}
    refused = api.gql("officer", op("record_eligibility_check"), **v)["record_eligibility_check"]
    assert refused["__typename"] == "ValidationFailed" and refused["problems"][0]["field"] == "decision"
    ok = api.gql("officer", op("record_eligibility_check"), **{**v, "decision": "refuse"})["record_eligibility_check"]
    body = ok["entry"]["body"]
    assert ok["__typename"] == "Recorded" and body["answer"] == "barred" and body["blocking"] == [s.seq]
    assert body["tree_size"] == s.seq + 1 and body["decision"] == "refuse"


# --- subjects: status, money, history ---------------------------------------------
def test_subject_money_and_history_connection(api, domain):
    p = domain.subject(PERSON)
    g = domain.grant(p, amount=100_000_00, ref="NMG-Gr-0042")
    c = domain.record("clawback.ordered", p, {"amount_fen": 40_000_00, "deadline": "2026-05-01", "grounds": "未履约",
                                               "legal_basis": BASIS, "decision_date": "2026-04-01",
                                               "deciding_body": "呼和浩特市人社局"}, refs=[g.seq])
    domain.record("clawback.recovered", p, {"amount_fen": 15_000_00, "recovered_on": "2026-04-20"}, refs=[c.seq])
    h = domain.honor(p)
    data = api.gql("auditor", """query($id: String!) { subject(id: $id, on: "2026-06-01") { ... on Subject {
        tree_size grants { seq grant_ref amount_fen clawed_back_fen recovered_fen outstanding_fen clawback_seqs status }
        clawbacks { seq amount_fen recovered_fen outstanding_fen overdue } honors { seq status } } } }""", id=p)
    s = data["subject"]
    # The reference as recorded, not the case-folded form reconciliation matches on.
    assert s["grants"] == [{"seq": g.seq, "grant_ref": "NMG-Gr-0042", "amount_fen": 100_000_00, "clawed_back_fen": 40_000_00,
                            "recovered_fen": 15_000_00, "outstanding_fen": 25_000_00, "clawback_seqs": [c.seq],
                            "status": "active"}]
    assert s["clawbacks"] == [{"seq": c.seq, "amount_fen": 40_000_00, "recovered_fen": 15_000_00,
                               "outstanding_fen": 25_000_00, "overdue": True}]
    assert s["honors"] == [{"seq": h.seq, "status": "active"}]

    seen, after = [], None
    while True:
        page = api.gql("auditor", op("court_case_history"), subject=p, first=2, after=after)
        hist = page["subject"]["history"]
        seen += [e["node"]["seq"] for e in hist["edges"]]
        if not hist["page_info"]["has_next_page"]:
            break
        after = hist["page_info"]["end_cursor"]
    assert seen == [g.seq, c.seq, c.seq + 1, h.seq]
    only = api.gql("auditor", """query($id: String!) { subject(id: $id) { ... on Subject {
        history(first: 10, types: ["clawback.ordered", "clawback.recovered"]) { edges { node { seq } } } } } }""", id=p)
    assert [e["node"]["seq"] for e in only["subject"]["history"]["edges"]] == [c.seq, c.seq + 1]
    none = api.gql("auditor", """query($id: String!) { subject(id: $id) { ... on Subject {
        history(first: 10, recorded_until: "2020-01-01") { edges { node { seq } } } } } }""", id=p)
    assert none["subject"]["history"]["edges"] == []


def test_page_size_cap_and_bad_cursor_are_named_errors(api, domain):
    p = domain.subject(PERSON)
    r = api.post("auditor", '{ subject(id: "%s") { ... on Subject { history(first: 101) { tree_size } } } }' % p).json()
    assert r["errors"][0]["extensions"] == {"code": "validation", "field": "first", "rule": "must be between 1 and 100"}
    r = api.post("auditor", '{ entries(first: 5, after: "nope") { __typename ... on ValidationFailed { problems { field } } } }').json()
    assert r["data"]["entries"]["problems"] == [{"field": "after"}]
    r = api.post("auditor", '{ entries(first: 0) { __typename } }').json()
    assert r["data"]["entries"]["__typename"] == "ValidationFailed"


# --- entries and proofs: what an auditor verifies ----------------------------------
def test_entry_bytes_leaf_hash_and_proofs_verify_offline(api, domain):
    p = domain.subject(PERSON)
    s = domain.sanction(p)
    publish.publish(domain.engine, domain.keyring.log, ORIGIN, domain.clock)
    data = api.gql("auditor", op("auditor_proof_fetch"), seq=s.seq)
    cp, e, proof = data["latest_checkpoint"], data["entry"], data["inclusion_proof"]
    raw = e["canonical"].encode()
    assert hashlib.sha256(b"\x00" + raw).hexdigest() == e["leaf_hash"] == proof["leaf_hash"]
    assert proof["tree_size"] == cp["size"] == s.seq + 1 and proof["root_hash"] == cp["root_hash"]
    merkle_verify.verify_inclusion(s.seq, proof["tree_size"], bytes.fromhex(proof["leaf_hash"]),
                                   [bytes.fromhex(h) for h in proof["hashes"]], bytes.fromhex(proof["root_hash"]))
    opened = checkpoints.open_checkpoint(cp["note"], domain.keyring.log.verifier, ORIGIN)
    assert opened.root.hex() == cp["root_hash"]
    assert proof["tlog_proof"].startswith("c2sp.org/tlog-proof@v1")
    one = api.gql("auditor", "query($n: Int!) { entry(seq: $n) { ... on Entry { canonical_base64 } } }", n=s.seq)
    assert base64.b64decode(one["entry"]["canonical_base64"]) == raw

    old = cp["size"]
    domain.grant(domain.subject(PERSON_2))
    c = api.gql("auditor", op("auditor_consistency"), old_size=old, new_size=old + 1)["consistency_proof"]
    merkle_verify.verify_consistency(old, old + 1, bytes.fromhex(c["old_root_hash"]), bytes.fromhex(c["new_root_hash"]),
                                     [bytes.fromhex(h) for h in c["hashes"]])
    assert c["old_root_hash"] == cp["root_hash"]
    bad = api.gql("auditor", op("auditor_consistency"), old_size=old + 5, new_size=old)["consistency_proof"]
    assert bad["__typename"] == "ValidationFailed"
    assert api.gql("auditor", "{ checkpoint(size: 1) { __typename } }")["checkpoint"]["__typename"] == "NotFound"
    assert api.gql("auditor", "{ entry(seq: 99999) { __typename } }")["entry"]["__typename"] == "NotFound"


def test_entries_pages_filter_by_type_and_authority(api, domain):
    p = domain.subject(PERSON)
    domain.sanction(p)
    domain.grant(domain.subject(PERSON_2), region="150100")
    data = api.gql("auditor", """{ entries(first: 100, types: ["sanction.imposed", "subsidy.granted"]) {
        ... on EntryConnection { tree_size edges { node { type authority { id } } } } } }""")
    assert [e["node"]["type"] for e in data["entries"]["edges"]] == ["sanction.imposed", "subsidy.granted"]
    assert api.gql("auditor", '{ entries(first: 100, authority: "nobody") { ... on EntryConnection { edges { cursor } } } }'
                   )["entries"]["edges"] == []


# --- mutations: every record type, and their expected failures -----------------------
def _ok(result: dict) -> dict:
    assert result["__typename"] == "Recorded", result
    return result["entry"]


def test_every_record_type_through_the_api(api, domain):
    rec = "recorder"
    p = api.gql(rec, 'mutation { add_subject(identifier: "%s", name: "张三") { ... on SubjectAdded { ref created } } }'
                % PERSON)["add_subject"]
    assert p["created"] and len(p["ref"]) == 64
    e = api.gql(rec, 'mutation { add_subject(identifier: "%s", name: "某公司") { ... on SubjectAdded { ref } } }' % EMPLOYER)
    org_ref = e["add_subject"]["ref"]
    M = """mutation($rid: String!, $s: String!, %s $body: %s!) {
        %s(request_id: $rid, subject: $s, %s body: $body) {
          __typename ... on Recorded { tree_size entry { seq type body subject refs authority { id region } actor } }
          ... on ValidationFailed { problems { field rule } } ... on Error { code message } } }"""

    def call(name, body_type, body, ref=None, refs=None, rid=None):
        decl, arg = (("$ref: Int!,", "ref: $ref,") if ref is not None else
                     ("$refs: [Int!]!,", "refs: $refs,") if refs is not None else ("", ""))
        out = api.gql(rec, M % (decl, body_type, name, arg), rid=rid or name, s=PERSON, ref=ref, refs=refs, body=body)
        return out[name]

    honor = _ok(call("grant_honor", "HonorGrantedBody", {"title": "草原英才", "level": "regional", "programme": "草原英才",
                                                         "awarding_body": "自治区人民政府", "decision_date": "2026-03-01",
                                                         "region": "150100"}))
    assert honor["subject"] == p["ref"] and honor["authority"] == {"id": "hrss-150100", "region": "150100"}
    assert honor["actor"].startswith("token:")
    _ok(call("revoke_honor", "HonorRevokedBody", {"grounds": "弄虚作假", "legal_basis": BASIS, "decision_date": "2026-04-01",
                                                  "deciding_body": "自治区人民政府"}, ref=honor["seq"]))
    grant = _ok(call("grant_subsidy", "SubsidyGrantedBody", {"programme": "草原英才", "kind": "research_funding",
                                                             "amount_fen": 30_000_000_00, "grant_ref": "NMG-1",
                                                             "budget_account": "2130101", "decision_date": "2026-03-01",
                                                             "region": "150102"}))
    assert grant["body"]["amount_fen"] == 30_000_000_00  # beyond GraphQL Int: the Fen scalar
    claw = _ok(call("order_clawback", "ClawbackOrderedBody", {"amount_fen": 1_000_00, "deadline": "2026-08-01",
                                                              "grounds": "未履约", "legal_basis": BASIS,
                                                              "decision_date": "2026-05-01",
                                                              "deciding_body": "呼和浩特市人社局"}, refs=[grant["seq"]]))
    _ok(call("record_recovery", "ClawbackRecoveredBody", {"amount_fen": 400_00, "recovered_on": "2026-06-01"},
             ref=claw["seq"]))
    _ok(call("waive_clawback", "ClawbackWaivedBody", {"amount_fen": 100_00, "reason": "困难", "decision_date": "2026-06-02",
                                                      "deciding_body": "呼和浩特市人社局"}, ref=claw["seq"]))
    s = _ok(call("impose_sanction", "SanctionImposedBody", SANCTION_BODY))
    amended = _ok(call("amend_sanction", "SanctionAmendedBody", {"reason": "复核", "decision_date": "2026-07-01",
                                                                 "deciding_body": "呼和浩特市人社局", "indefinite": True},
                       ref=s["seq"]))
    assert amended["body"]["indefinite"] == "yes"
    _ok(call("end_sanction", "SanctionEndedBody", {"reason": "credit_repair", "ended_on": "2026-09-01",
                                                   "deciding_body": "呼和浩特市人社局"}, ref=s["seq"]))
    s2 = _ok(call("impose_sanction", "SanctionImposedBody", SANCTION_BODY, rid="s2"))
    _ok(call("grant_exemption", "ExemptionGrantedBody", {"project": "科研项目", "finding": "勤勉尽责",
                                                         "decision_date": "2026-07-01", "deciding_body": "自治区科技厅"},
             refs=[s2["seq"]]))
    s3 = _ok(call("impose_sanction", "SanctionImposedBody", SANCTION_BODY, rid="s3"))
    _ok(call("correct_entry", "EntryCorrectedBody", {"reason": "录入错误", "deciding_body": "呼和浩特市人社局"}, ref=s3["seq"]))
    link = _ok(call("link_subject", "SubjectLinkedBody", {"organisation": EMPLOYER, "relation": "employee",
                                                          "valid_from": "2025-01-01"}))
    assert link["body"]["organisation"] == org_ref
    types = [x["node"]["type"] for x in api.gql("auditor", """query($s: String!) { subject(id: $s) { ... on Subject {
        history(first: 100) { edges { node { type } } } } } }""", s=p["ref"])["subject"]["history"]["edges"]]
    assert types == ["honor.granted", "honor.revoked", "subsidy.granted", "clawback.ordered", "clawback.recovered",
                     "clawback.waived", "sanction.imposed", "sanction.amended", "sanction.ended", "sanction.imposed",
                     "exemption.granted", "sanction.imposed", "entry.corrected", "subject.linked"]


def test_expected_failures_are_union_members_and_write_nothing(api, domain):
    p = domain.subject(PERSON)

    def size():
        with domain.engine.connect() as conn:
            return log_store.size(conn)

    before = size()
    bad = {**SANCTION_BODY, "effective_from": "2026-02-01", "scope": {"benefits": ["subsidy"], "regions": ["15"]},
           "grounds": ""}
    r = api.gql("recorder", IMPOSE, request_id="x", subject=p, body=bad)["impose_sanction"]
    assert r["__typename"] == "ValidationFailed"
    fields = {x["field"] for x in r["problems"]}
    assert {"body.grounds", "body.scope"} <= fields and size() == before

    first = api.gql("recorder", IMPOSE, request_id="same", subject=p, body=SANCTION_BODY)["impose_sanction"]
    again = api.gql("recorder", IMPOSE, request_id="same", subject=p, body=SANCTION_BODY)["impose_sanction"]
    assert again["entry"]["seq"] == first["entry"]["seq"]  # a retry returns the original entry
    changed = {**SANCTION_BODY, "grounds": "另一理由"}
    conflict = api.gql("recorder", IMPOSE, request_id="same", subject=p, body=changed)["impose_sanction"]
    assert conflict["__typename"] == "Conflict" and conflict["code"] == "conflict"

    grant = {"programme": "草原英才", "kind": "award", "amount_fen": 100, "grant_ref": "G-1", "budget_account": "1",
             "decision_date": "2026-03-01", "region": "150100"}
    barred = api.gql("recorder", GRANT, request_id="g1", subject=p, body=grant)["grant_subsidy"]
    assert barred["__typename"] == "Barred" and barred["blocking"] == [first["entry"]["seq"]]
    override = {**grant, "override": {"approver": "局长", "reason": "法院裁定"}}
    assert api.gql("recorder", GRANT, request_id="g2", subject=p, body=override)["grant_subsidy"]["__typename"] == "Recorded"
    unknown = api.gql("recorder", GRANT, request_id="g3", subject="cn-rid:" + PERSON_2.split(":")[1], body=grant)
    assert unknown["grant_subsidy"]["__typename"] == "NotFound"
    after = size()
    assert after == before + 2


def test_a_read_only_server_reports_unavailable(domain):
    api = make_api(domain, read_only=True)
    p = domain.subject(PERSON)
    r = api.gql("recorder", IMPOSE, request_id="x", subject=p, body=SANCTION_BODY)["impose_sanction"]
    assert r["__typename"] == "Unavailable"


# --- protections ----------------------------------------------------------------------
def test_depth_alias_and_token_limits(domain):
    api = make_api(domain, Limits(max_depth=3, max_aliases=3, max_tokens=200))
    deep = api.post("auditor", "{ entries(first: 1) { ... on EntryConnection { edges { node { authority { id } } } } } }").json()
    assert "exceeds maximum operation depth" in deep["errors"][0]["message"]
    aliases = api.post("auditor", "{ a: me { role } b: me { role } c: me { role } d: me { role } }").json()
    assert "aliases" in aliases["errors"][0]["message"].lower()
    tokens = api.post("auditor", "{ " + " ".join(f"m{i}: me {{ role }}" for i in range(60)) + " }").json()
    assert "token" in tokens["errors"][0]["message"].lower()


def test_body_size_limit_and_authentication(api):
    big = "{ me { role } }" + " " * 70_000
    r = api.post("auditor", big)
    assert r.status_code == 413 and r.json()["errors"][0]["extensions"]["code"] == "too_large"
    r = api.post(None, "{ me { role } }")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert api.post("il_0000_1111", "{ me { role } }").status_code == 401
    assert api.gql("auditor", "{ me { role } }") == {"me": {"role": "auditor"}}


def test_introspection_only_when_configured(domain):
    off = make_api(domain).post("auditor", "{ __schema { queryType { name } } }").json()
    assert "introspection has been disabled" in off["errors"][0]["message"].lower()
    on = make_api(domain, Limits(introspection=True)).gql("auditor", "{ __schema { queryType { name } } }")
    assert on["__schema"]["queryType"]["name"] == "Query"


def test_unexpected_errors_are_masked_and_logged(api, domain, monkeypatch, caplog):
    import ledger.api.query as q

    def boom(*a, **k):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(q, "check_eligibility", boom)
    r = api.post("officer", ELIGIBILITY, {"s": domain.subject(PERSON)}).json()
    assert r["errors"][0]["message"] == "Unexpected error (logged)." and "secret" not in str(r)
    assert any("secret detail" in str(rec.exc_info[1]) for rec in caplog.records if rec.exc_info)


def test_a_page_of_100_subjects_costs_a_bounded_number_of_statements(api, domain):
    refs = [domain.subject(f"passport:DEU/C{i:08d}", f"Person {i}") for i in range(100)]
    for ref in refs[0::3]:
        domain.sanction(ref)
    for ref in refs[1::3]:
        domain.grant(ref)
    q = """query($ids: [String!]!) { subjects(ids: $ids, on: "2026-06-01") { ... on SubjectList { tree_size subjects {
        ref sanctions { seq in_force } honors { seq } grants { seq recovered_fen } clawbacks { seq } } } } }"""
    counts = {}
    for n in (10, 100):
        statements = []

        def count(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(domain.engine, "before_cursor_execute", count)
        try:
            data = api.gql("auditor", q, ids=refs[:n])
        finally:
            event.remove(domain.engine, "before_cursor_execute", count)
        assert len(data["subjects"]["subjects"]) == n
        counts[n] = len([s for s in statements if "api_tokens" not in s and s != "BEGIN"])
    # Bounded: the tree size, then one batch per loader and its follow-ups
    # (sanctions + exits, clawbacks + money + exits, honours + exits, grants +
    # exits): at most 10, whatever the page size -- not one per subject.
    assert counts[100] == counts[10] <= 10, counts


def test_every_named_operation_is_valid_against_the_live_schema():
    from graphql import parse, validate
    from ledger.api.schema import build_schema

    schema = build_schema(Limits(introspection=True))._schema
    files = sorted(OPS.glob("*.graphql"))
    assert len(files) >= 8
    for f in files:
        doc = parse(f.read_text())
        assert validate(schema, doc) == [], f.name
        names = [d.name.value for d in doc.definitions]
        assert len(names) == 1 and names[0], f"{f.name}: one named operation per file"


def test_admin_and_auditor_helper_operations_execute(api, domain):
    p = domain.subject(PERSON)
    domain.sanction(p)
    found = api.gql("auditor", op("auditor_first_sanctioned"))
    assert found["entries"]["edges"][0]["node"]["subject"] == p
    issued = api.gql("admin", op("admin_issue_token"), role="court", case_ref="(2026)内01行初9号", subjects=[PERSON],
                     label="法院", expires_at="2026-12-31T00:00:00Z")["issue_token"]
    assert issued["__typename"] == "TokenIssued" and issued["info"]["case_ref"] == "(2026)内01行初9号"
    api.tokens["court9"] = issued["token"]
    assert api.gql("court9", op("court_case_history"), subject=PERSON, first=5)["subject"]["ref"] == p


def test_repeated_queries_are_validated_once(api):
    """The validation cache must hit: its key includes the rule classes, so they
    are built once per schema, not per request."""
    from strawberry.extensions.validation_cache import _get_validate_cache

    cache = _get_validate_cache(256)
    before = cache.cache_info()
    for _ in range(5):
        api.gql("auditor", "{ me { role token_id } }")
    after = cache.cache_info()
    assert after.misses - before.misses <= 1 and after.hits - before.hits >= 4


def test_inputs_that_once_crashed_or_hung_the_server(api, domain):
    """Regressions found by fuzzing (tests/test_api_fuzz.py)."""
    p = domain.subject(PERSON)
    missing = api.gql("recorder", """mutation($s: String!) { record_recovery(request_id: "r", subject: $s, ref: 999999,
        body: {amount_fen: 1, recovered_on: "2026-04-20"}) { __typename ... on ValidationFailed { problems { field } } } }""",
                      s=p)["record_recovery"]
    assert missing == {"__typename": "ValidationFailed", "problems": [{"field": "refs"}]}
    nul = api.gql("recorder", IMPOSE, request_id="a\u0000b", subject=p, body=SANCTION_BODY)["impose_sanction"]
    assert nul["__typename"] == "ValidationFailed" and "control characters" in nul["message"]
    huge = base64.urlsafe_b64encode(b"seq:9223372036854775808").decode()
    assert api.gql("auditor", '{ entries(after: "%s") { __typename } }' % huge)["entries"]["__typename"] == "ValidationFailed"
    far = api.gql("officer", """query($s: String!) { eligibility(subject: $s, benefit: honor, programme: "p", region: "150100",
        known_at: "9999-12-31T23:59:59-05:00") { __typename } }""", s=p)["eligibility"]
    assert far["__typename"] == "ValidationFailed"
    lit = api.post("recorder", """mutation { grant_subsidy(request_id: "r", subject: "x", body: {programme: "p",
        kind: award, amount_fen: -1, grant_ref: "g", budget_account: "b", decision_date: "2026-01-01", region: "150100"})
        { __typename } }""").json()
    assert "Fen must be between" in lit["errors"][0]["message"]
    gone = api.gql("admin", 'mutation { revoke_token(token_id: "a\\u0000b") { __typename } }')["revoke_token"]
    assert gone["__typename"] == "NotFound"


def test_a_court_requests_and_downloads_an_evidence_bundle(api, domain):
    from ledger.evidence.verifier import verify_bundle

    p, q = domain.subject(PERSON), domain.subject(PERSON_2)
    domain.sanction(p)
    api.court("court", [p])
    api.court("other_court", [q], case_ref="(2026)内02行初1号")
    ready = api.gql("court", op("court_request_export"), subjects=[PERSON])["request_export"]
    assert ready["__typename"] == "ExportReady" and ready["entries"] >= 3
    outside = api.gql("court", op("court_request_export"), subjects=[PERSON_2])["request_export"]
    assert outside["__typename"] == "Forbidden"
    url = ready["download_path"]
    r = api.client.get(url, headers={"Authorization": f"Bearer {api.tokens['court']}"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    report = verify_bundle(r.content, domain.keyring.log.verifier)
    assert report.custody_seq == ready["custody_seq"]
    custody = api.gql("auditor", "query($n: Int!) { entry(seq: $n) { ... on Entry { type body } } }", n=ready["custody_seq"])
    assert custody["entry"]["type"] == "evidence.exported" and custody["entry"]["body"]["case"] == "(2026)内01行初7号"
    assert api.client.get(url, headers={"Authorization": f"Bearer {api.tokens['other_court']}"}).status_code == 403
    assert api.client.get(url, headers={"Authorization": f"Bearer {api.tokens['recorder']}"}).status_code == 403
    assert api.client.get(url, headers={"Authorization": f"Bearer {api.tokens['auditor']}"}).status_code == 200
    assert api.client.get(url).status_code == 401
    assert api.client.get("/exports/" + "0" * 64 + ".zip",
                          headers={"Authorization": f"Bearer {api.tokens['court']}"}).status_code == 404
