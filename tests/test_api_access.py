"""The permission matrix, readable: every operation by every kind of token,
including cross-region writes, a court outside its case, expired and revoked
tokens; and the read rule for entries wherever they are reached (docs/api.md,
Reading entries). tests/test_permission_matrix.py generates the full matrix
from the live schema."""

from __future__ import annotations

import base64
from datetime import timedelta
from types import SimpleNamespace

import strawberry
from strawberry.schema.config import StrawberryConfig

from ledger.access import tokens
from ledger.access.policy import Principal, Role
from ledger.api.types import Entry
from ledger.log import publish, tlog_proof
from ledger.log.entry import from_canonical
from tests.api_support import make_api
from tests.conftest import BASIS, EMPLOYER_2, ORIGIN, PERSON, PERSON_2

ALL = ("recorder", "recorder_baotou", "officer", "auditor", "admin", "court")
READERS = ("recorder", "recorder_baotou", "officer", "auditor", "court")


def sanction_body(region: str) -> dict:
    return {"severity": "general", "grounds": "虚报", "legal_basis": BASIS, "deciding_body": "人社局",
            "decision_date": "2026-02-01", "effective_from": "2026-02-01", "effective_until": "2026-12-31",
            "scope": {"benefits": ["honor"], "regions": [region]}}


def check_vars(region: str) -> dict:
    return {"benefit": "honor", "programme": "草原英才", "region": region, "on": "2026-06-01", "award_ref": "AW",
            "officer": "审核员", "decision": "refuse"}


R = "... on Error { code }"
IMPOSE = f"""mutation($rid: String!, $s: String!, $body: SanctionImposedBody!) {{ x: impose_sanction(request_id: $rid,
    subject: $s, body: $body) {{ __typename {R} }} }}"""
END = f"""mutation($rid: String!, $s: String!, $ref: Int!) {{ x: end_sanction(request_id: $rid, subject: $s, ref: $ref,
    body: {{reason: expiry, ended_on: "2026-07-01", deciding_body: "人社局"}}) {{ __typename {R} }} }}"""
CHECK = f"""mutation($rid: String!, $s: String!, $benefit: Benefit!, $programme: String!, $region: String!, $on: Date!,
    $award_ref: String!, $officer: String!, $decision: CheckDecision!) {{ x: record_eligibility_check(request_id: $rid,
    subject: $s, benefit: $benefit, programme: $programme, region: $region, on: $on, award_ref: $award_ref,
    officer: $officer, decision: $decision) {{ __typename {R} }} }}"""


def test_every_operation_by_every_role(domain):
    api = make_api(domain)
    p, q = domain.subject(PERSON), domain.subject(PERSON_2)
    erasable = domain.subject(EMPLOYER_2, "待删除公司")
    api.court("court", [p])
    hohhot_sanction = domain.sanction(p, regions=["150100"])
    q_entry = domain.grant(q)
    publish.publish(domain.engine, domain.keyring.log, ORIGIN, domain.clock)

    # (name, query, variables, roles allowed)
    matrix = [
        ("eligibility of a case subject", f'query($s: String!) {{ x: eligibility(subject: $s, benefit: honor, '
         f'programme: "p", region: "150100") {{ __typename {R} }} }}', {"s": p}, READERS),
        ("eligibility outside the case", f'query($s: String!) {{ x: eligibility(subject: $s, benefit: honor, '
         f'programme: "p", region: "150100") {{ __typename {R} }} }}', {"s": q}, READERS[:-1]),
        ("subject in the case", f'query($s: String!) {{ x: subject(id: $s) {{ __typename {R} }} }}', {"s": p}, READERS),
        ("subject outside the case", f'query($s: String!) {{ x: subject(id: $s) {{ __typename {R} }} }}', {"s": q},
         READERS[:-1]),
        ("subjects list", f'query($s: String!) {{ x: subjects(ids: [$s]) {{ __typename {R} }} }}', {"s": q},
         READERS[:-1]),
        ("the whole log", f"{{ x: entries(first: 5) {{ __typename {R} }} }}", {}, ("recorder", "recorder_baotou", "auditor")),
        ("a case subject's entries", f'query($s: String!) {{ x: entries(first: 5, subject: $s) {{ __typename {R} }} }}',
         {"s": p}, ("recorder", "recorder_baotou", "auditor", "court")),
        ("an entry in the case", f"query($n: Int!) {{ x: entry(seq: $n) {{ __typename {R} }} }}",
         {"n": hohhot_sanction.seq}, ("recorder", "recorder_baotou", "auditor", "court")),
        ("an entry outside the case", f"query($n: Int!) {{ x: entry(seq: $n) {{ __typename {R} }} }}",
         {"n": q_entry.seq}, ("recorder", "recorder_baotou", "auditor")),
        ("latest checkpoint", f"{{ x: latest_checkpoint {{ __typename {R} }} }}", {}, READERS),
        ("inclusion proof", f"{{ x: inclusion_proof(seq: 1) {{ __typename {R} }} }}", {}, READERS),
        ("consistency proof", f"{{ x: consistency_proof(old_size: 1, new_size: 2) {{ __typename {R} }} }}", {}, READERS),
        ("token list", f"{{ x: tokens {{ __typename {R} }} }}", {}, ("admin",)),
        ("add a subject", f'mutation {{ x: add_subject(identifier: "{PERSON}", name: "张三") {{ __typename {R} }} }}',
         {}, ("recorder", "recorder_baotou")),
        ("sanction in Hohhot", IMPOSE, {"s": p, "body": sanction_body("150100")}, ("recorder",)),
        ("sanction in Baotou", IMPOSE, {"s": p, "body": sanction_body("150200")}, ("recorder_baotou",)),
        ("sanction region-wide", IMPOSE, {"s": p, "body": sanction_body("150000")}, ()),
        ("end a Hohhot sanction", END, {"s": p, "ref": hohhot_sanction.seq}, ("recorder",)),
        ("record a check in Hohhot", CHECK, {"s": q, **check_vars("150102")}, ("officer",)),
        ("record a check in Baotou", CHECK, {"s": q, **check_vars("150200")}, ()),
        ("issue a token", f"mutation {{ x: issue_token(role: auditor, label: \"新审计\") {{ __typename {R} }} }}", {},
         ("admin",)),
        ("revoke a token", f'mutation {{ x: revoke_token(token_id: "000000000000") {{ __typename {R} }} }}', {},
         ("admin",)),
        ("request an export", f'mutation($s: String!) {{ x: request_export(subjects: [$s]) {{ __typename {R} }} }}',
         {"s": p}, ("court",)),
        ("erase a subject", f'mutation($s: String!) {{ x: erase_subject(subject: $s, reason: "本人申请") '
         f'{{ __typename {R} }} }}', {"s": erasable}, ("admin",)),
    ]
    wrong = []
    for name, query, variables, allowed in matrix:
        for who in ALL:
            # Mutations end sanctions only once: each role tries its own copy of
            # "end a Hohhot sanction" only after the allowed role did (order below).
            result = api.post(who, query, {"rid": f"{name}:{who}", **variables}).json()
            assert "errors" not in result, (name, who, result)
            got = result["data"]["x"]["__typename"]
            ok = got != "Forbidden"
            if ok != (who in allowed):
                wrong.append((name, who, got))
    assert wrong == []


def test_expired_revoked_and_forged_tokens_are_refused(domain):
    api = make_api(domain)
    now = domain.clock.now
    api.issue("short", "auditor", expires_at=now + timedelta(seconds=5))
    query = "{ me { role } }"
    assert api.post("short", query).status_code == 200
    domain.clock.now = now + timedelta(seconds=6)
    r = api.post("short", query)
    assert r.status_code == 401 and "expired" in r.json()["errors"][0]["message"]

    token_id = api.tokens["auditor"].split("_")[1]
    assert api.post("auditor", query).status_code == 200
    tokens.revoke(domain.engine, domain.keyring, token_id, domain.clock, actor="operator:tests")
    r = api.post("auditor", query)
    assert r.status_code == 401 and "revoked" in r.json()["errors"][0]["message"]

    forged = api.tokens["admin"][:-4] + "0000"
    assert api.post(forged, query).status_code == 401
    assert api.post("not-a-token", query).status_code == 401
    r = api.client.post("/graphql", json={"query": query}, headers={"Authorization": f"Basic {api.tokens['admin']}"})
    assert r.status_code == 401


def test_tokens_are_stored_hashed_and_revocation_through_the_api(domain):
    from sqlalchemy import select

    from ledger.store.schema import api_tokens

    api = make_api(domain)
    issued = api.gql("admin", """mutation { issue_token(role: programme_officer, authority_id: "hrss-150100",
        region: "150100", label: "新科员") { ... on TokenIssued { token info { token_id role region } } } }""")
    token = issued["issue_token"]["token"]
    with domain.engine.connect() as conn:
        stored = [tuple(r) for r in conn.execute(select(api_tokens))]
    secret = token.split("_")[2]
    assert secret not in repr(stored) and token not in repr(stored)
    api.tokens["new"] = token
    assert api.gql("new", "{ me { role region } }") == {"me": {"role": "programme_officer", "region": "150100"}}
    token_id = issued["issue_token"]["info"]["token_id"]
    api.gql("admin", 'mutation($t: String!) { revoke_token(token_id: $t) { ... on TokenInfo { revoked_at } } }', t=token_id)
    assert api.post("new", "{ me { role } }").status_code == 401
    bad = api.gql("admin", "mutation { issue_token(role: recorder) { ... on ValidationFailed { problems { field } } } }")
    assert {p["field"] for p in bad["issue_token"]["problems"]} == {"authority"}
    court = api.gql("admin", "mutation { issue_token(role: court, case_ref: \"(2026)1号\") { __typename } }")
    assert court["issue_token"]["__typename"] == "ValidationFailed"


PROOF = "query($n: Int!) { inclusion_proof(seq: $n) { __typename ... on InclusionProof { tlog_proof entry_withheld } } }"


def _extra(text: str) -> bytes | None:
    return tlog_proof.parse(text).extra


def test_proofs_carry_an_entry_only_for_a_token_that_may_read_it(domain):
    """Regression: `inclusion_proof` put every entry in the tlog-proof's extra line, so a
    court (or a programme officer) could read the whole log one proof at a time."""
    api = make_api(domain)
    p, q = domain.subject(PERSON), domain.subject(PERSON_2)
    api.court("court", [p])
    mine, other = domain.grant(p), domain.grant(q)
    publish.publish(domain.engine, domain.keyring.log, ORIGIN, domain.clock)
    size = mine.seq + 1 if mine.seq > other.seq else other.seq + 1
    carried: dict[str, set[int]] = {}
    for who in ("court", "officer", "auditor", "recorder_baotou"):
        carried[who] = set()
        for seq in range(size):
            proof = api.gql(who, PROOF, n=seq)["inclusion_proof"]
            extra = _extra(proof["tlog_proof"])
            assert proof["entry_withheld"] is (extra is None)
            if extra is not None:
                carried[who].add(seq)
                assert who != "court" or from_canonical(extra).subject == p
    assert carried["court"] == {mine.seq}
    assert carried["officer"] == set()
    assert carried["auditor"] == carried["recorder_baotou"] == set(range(size))
    # A proof without the entry still proves it, given the entry from elsewhere.
    withheld = tlog_proof.parse(api.gql("court", PROOF, n=other.seq)["inclusion_proof"]["tlog_proof"])
    tlog_proof.verify(withheld, domain.keyring.log.verifier, entry=other.canonical)
    admin = api.gql("admin", PROOF, n=mine.seq)["inclusion_proof"]
    assert admin["__typename"] == "Forbidden"


def test_a_programme_officer_reads_status_not_raw_entries(domain):
    api = make_api(domain)
    p = domain.subject(PERSON)
    s = domain.sanction(p, regions=["150100"])
    r = api.post("officer", """query($s: String!) { subject(id: $s) { ... on Subject { sanctions { seq }
        history { edges { node { seq body } } } } } }""", {"s": p}).json()
    assert r["data"]["subject"] == {"sanctions": [{"seq": s.seq}], "history": None}
    assert [(e["path"], e["extensions"]["code"]) for e in r["errors"]] == [(["subject", "history"], "forbidden")]
    entry = "query($n: Int!) { entry(seq: $n) { __typename ... on Entry { seq actor } } }"
    assert api.gql("officer", entry, n=s.seq)["entry"]["__typename"] == "Forbidden"
    # Its own records it reads: the mutation's answer, and the entry itself.
    recorded = api.gql("officer", CHECK.replace("__typename", "__typename ... on Recorded { entry { seq actor } }"),
                       rid="own-1", s=p, **check_vars("150102"))["x"]
    assert recorded["__typename"] == "Recorded"
    own = api.gql("officer", entry, n=recorded["entry"]["seq"])["entry"]
    assert own == {"__typename": "Entry", **recorded["entry"]}


def test_the_entry_type_checks_the_read_rule_wherever_it_is_nested(domain):
    """The backstop: a resolver that hands out an entry without asking still cannot show it."""
    p = domain.subject(PERSON)
    e = domain.grant(p)

    @strawberry.type
    class Careless:
        @strawberry.field
        def e(self) -> Entry:
            return Entry.of(e)

    schema = strawberry.Schema(query=Careless, config=StrawberryConfig(auto_camel_case=False))
    for role, readable in ((Role.auditor, True), (Role.programme_officer, False), (Role.admin, False)):
        ctx = SimpleNamespace(principal=Principal("000000000001", role))
        r = schema.execute_sync("{ e { seq canonical_base64 } }", context_value=ctx)
        if readable:
            assert r.errors is None and base64.b64decode(r.data["e"]["canonical_base64"]) == e.canonical
        else:
            assert r.data is None and {x.extensions["code"] for x in r.errors} == {"forbidden"}
    court = SimpleNamespace(principal=Principal("000000000002", Role.court, case_ref="案", subjects=frozenset({p})))
    assert schema.execute_sync("{ e { seq } }", context_value=court).data == {"e": {"seq": e.seq}}
