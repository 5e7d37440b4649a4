"""The API's limits (docs/limits.md), each tested by performing the attack it
stops: the reported 15-alias query (refused before anything runs), hammering
from one token (429 with Retry-After, then no database read at all), too many
requests in flight, an answer too large, malformed bodies (400 with a code,
never a 500) and a document of two operations without operationName.

The cost estimate (ledger/api/cost.py) is checked against a second,
independent reckoning: graphql-core executes the same document on the same
schema with resolvers that fill every list to its maximum and count the
objects they make. No timings are asserted."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event

import graphql as gql
from graphql import (
    GraphQLEnumType,
    build_schema,
    get_named_type,
    get_nullable_type,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    parse,
)
from ledger.api.context import Limits
from ledger.api.cost import WEIGHTS, estimate, operation_of
from ledger.api.ratelimit import Admission
from ledger.api.request import MAX_DEPTH
from ledger.api.schema import build_schema as ledger_schema
from ledger.api.schema import sdl
from tests.api_support import make_api
from tests.conftest import PERSON

ROOT = Path(__file__).resolve().parent.parent
OPS = ROOT / "graphql" / "operations"
CONSOLE_JS = ROOT / "ledger" / "console" / "static" / "js"
SCHEMA = ledger_schema(Limits(introspection=True))._schema
ENTRY = ("seq type recorded_at authority { id region } actor subject refs request_id body signer sig canonical "
         "canonical_base64 leaf_hash")
# The reported attack: 15 aliases of 100 subjects, each with 100 entries of history, every field.
ATTACK = ("query Attack($ids: [String!]!) { " + " ".join(
    f"a{i}: subjects(ids: $ids) {{ ... on SubjectList {{ subjects {{ ref history(first: 100) {{ edges {{ node {{ "
    f"{ENTRY} }} }} }} }} }} }}" for i in range(15)) + " }")
# The heaviest legitimate read: a shortlist of 100 subjects with their four projections (docs/api.md, Limits).
PAGE_OF_100 = """query($ids: [String!]!) { subjects(ids: $ids, on: "2026-06-01") { ... on SubjectList { tree_size
    subjects { ref sanctions { seq in_force } honors { seq } grants { seq recovered_fen } clawbacks { seq } } } } }"""


def cost(document: str, variables: dict | None = None, cap: int = 100) -> int:
    doc = parse(document)
    op = operation_of(doc, None)
    assert op is not None
    return estimate(SCHEMA, doc, op, variables, cap)


# --- the cost estimate -----------------------------------------------------------------

def leaf(type_):
    if isinstance(type_, GraphQLEnumType):
        name, value = next(iter(type_.values.items()))
        return name if value.value is None else value.value
    return {"Int": 0, "Float": 0.0, "Boolean": False}.get(type_.name, "x")


def filled(document: str, variables: dict, cap: int) -> int:
    """The reference: execute the document (graphql-core, on the schema's SDL)
    with resolvers that return full lists (a slicing argument's size below the
    field that has it, else ``cap``) and count the objects made, weighted. A
    union or interface resolves to its first non-error member."""
    schema = build_schema(sdl())
    made = [1]  # the root object

    def resolve(parent, info, **args):
        field = info.parent_type.fields[info.field_name]
        named = get_named_type(field.type)
        size = parent.get("slice")
        size = cap if size is None else min(max(size, 0), cap)
        if is_leaf_type(named):
            return [leaf(named)] * size if is_list_type(get_nullable_type(field.type)) else leaf(named)
        mine = args.get("ids")
        mine = len(mine) if mine is not None else args.get("first")
        child = {"slice": mine}
        type_, items = get_nullable_type(field.type), 1
        while is_list_type(type_):
            items, type_ = items * size, get_nullable_type(type_.of_type)
        if not is_abstract_type(named):
            made[0] += items * WEIGHTS.get(named.name, 1)
        if is_list_type(get_nullable_type(field.type)):
            return [child] * items
        return child

    def resolve_type(value, info, abstract):
        member = next(t for t in schema.get_possible_types(abstract) if "Error" not in
                      [i.name for i in t.interfaces])
        made[0] += WEIGHTS.get(member.name, 1)
        return member.name

    result = gql.execute(schema, parse(document), root_value={"slice": None}, variable_values=variables,
                         field_resolver=resolve, type_resolver=resolve_type)
    assert not result.errors, result.errors
    return made[0]


REFERENCE_CASES = [
    ("{ me { role } }", {}),
    ('{ entries(first: 2) { ... on EntryConnection { tree_size edges { cursor node { seq authority { id } } } } } }',
     {}),
    ("query($n: Int!) { entries(first: $n) { ... on EntryConnection { edges { node { seq } } } } }", {"n": 3}),
    ("{ entries { ... on EntryConnection { edges { node { seq } } } } }", {}),  # default first: 20, over the cap
    ('query($ids: [String!]!) { subjects(ids: $ids) { ... on SubjectList { subjects { ref sanctions { seq '
     'legal_basis { article } } history(first: 2) { edges { node { seq } } } } } } }', {"ids": ["a", "b"]}),
    ('query($s: String!) { x: subject(id: $s) { ...S } y: subject(id: $s) { ...S } } '
     'fragment S on SubjectResult { ... on Subject { grants { seq } history { page_info { end_cursor } } } }',
     {"s": "a"}),
    ('{ eligibility(subject: "a", benefit: subsidy, region: "150000") { ... on Eligibility { blocking { seq '
     'legal_basis { article } } warnings { seq } } } }', {}),
    ('{ inclusion_proof(seq: 1) { ... on InclusionProof { hashes } } tokens { ... on TokenList { tokens { '
     'token_id } } } }', {}),
]


@pytest.mark.parametrize("document,variables", REFERENCE_CASES)
def test_the_estimate_equals_the_objects_of_a_full_answer(document, variables):
    for cap in (1, 3):
        assert cost(document, variables, cap) == filled(document, variables, cap)


def test_aliases_count_separately_and_fragments_are_expanded():
    one = '{ entries(first: 5) { ... on EntryConnection { edges { node { seq } } } } }'
    two = ('{ a: entries(first: 5) { ... on EntryConnection { edges { node { seq } } } } '
           'b: entries(first: 5) { ... on EntryConnection { edges { node { seq } } } } }')
    named = ('{ entries(first: 5) { ...Page } } fragment Page on EntryConnection { edges { node { seq } } }')
    assert cost(one) == 1 + 1 + 5 * (1 + 10)
    assert cost(two) == 2 * cost(one) - 1
    assert cost(named) == cost(one)


def test_slicing_arguments_are_clamped_to_the_page_cap_and_lists_without_one_are_a_full_page():
    page = '{ entries(first: %d) { ... on EntryConnection { edges { cursor } } } }'
    assert cost(page % 100) == cost(page % 1000) == 2 + 100  # the resolver refuses 1000 anyway
    assert cost(page % 0) == 2
    assert cost('{ me { subjects } }') == 2  # scalars cost nothing, lists of them too
    assert cost('{ tokens { ... on TokenList { tokens { token_id } } } }') == 2 + 100
    assert cost('{ __schema { types { fields { name } } } }') == 1  # introspection: the schema, not data


def test_invalid_variables_cost_nothing_since_nothing_runs():
    assert cost("query($n: Int!) { entries(first: $n) { __typename } }", {"n": "many"}) == 0


def test_every_named_operation_and_console_query_is_within_budget():
    """With their largest legitimate variables: pages of 100, 100 ids."""
    limit = Limits().max_cost
    documents = {f.name: f.read_text() for f in OPS.glob("*.graphql")}
    for js in CONSOLE_JS.glob("*.js"):
        for m in re.finditer(r"[`\"]((?:query|mutation) (\w+)[^`\"]*)[`\"]", js.read_text()):
            documents[f"{js.name}: {m.group(2)}"] = m.group(1)
    assert len(documents) >= 15 and any("ConsoleTimeline" in k for k in documents)
    for name, text in documents.items():
        doc = parse(text)
        assert not gql.validate(SCHEMA, doc), name
        op = operation_of(doc, None)
        assert op is not None
        largest = {d.variable.name.value: 100 for d in op.variable_definitions or ()
                   if d.variable.name.value == "first"}
        assert estimate(SCHEMA, doc, op, _placeholders(op, SCHEMA) | largest, 100) <= limit, name
    assert cost(PAGE_OF_100, {"ids": ["x"] * 100}) == 40_102 <= limit


def _placeholders(op, schema) -> dict:
    """A value for every variable (a list of 100 where it is a list), so the document's estimate is its largest."""
    def value(t):
        t = get_nullable_type(t)
        if is_list_type(t):
            return [value(t.of_type)] * 100
        if isinstance(t, gql.GraphQLInputObjectType):
            return {k: value(f.type) for k, f in t.fields.items() if gql.is_non_null_type(f.type)}
        if isinstance(t, GraphQLEnumType):
            return next(iter(t.values))
        return {"Int": 1, "Boolean": True, "Fen": 1, "Date": "2026-01-01", "DateTime": "2026-01-01T00:00:00Z"}.get(
            t.name, "x")

    return {d.variable.name.value: value(gql.type_from_ast(schema, d.type)) for d in op.variable_definitions or ()}


# --- the attack, refused before it runs ------------------------------------------------

def statements_during(engine, fn) -> list[str]:
    """Every SQL statement ``fn`` makes the engine run (BEGIN aside)."""
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return [s for s in seen if s != "BEGIN"]


def test_the_reported_attack_is_refused_before_it_runs(domain):
    api = make_api(domain)
    ids = [domain.subject(f"passport:DEU/C{i:08d}", f"Person {i}") for i in range(100)]
    for ref in ids[:5]:
        domain.sanction(ref)
    answers = []
    ran = statements_during(domain.engine, lambda: answers.append(api.post("officer", ATTACK, {"ids": ids})))
    r = answers[0]
    assert r.status_code == 200 and r.json()["data"] is None
    (error,) = r.json()["errors"]
    assert error["extensions"] == {"code": "cost_exceeded", "cost": 1_803_016, "limit": 50_000}
    assert "1803016" in error["message"] and "50000" in error["message"]
    assert [s for s in ran if "api_tokens" not in s] == []  # no resolver ran: not even the tree size was read
    # One alias of it is refused too; the shortlist of 100 with every projection is not.
    one = ATTACK.split(" a1:")[0] + " }"
    assert api.post("auditor", one, {"ids": ids}).json()["errors"][0]["extensions"]["cost"] == 120_202
    page = api.gql("auditor", PAGE_OF_100, ids=ids)["subjects"]["subjects"]
    assert len(page) == 100 and sum(len(s["sanctions"]) for s in page) == 5


# --- per-token rate: a bucket of cost ------------------------------------------------------

PAGE_30 = "{ entries(first: 30) { ... on EntryConnection { edges { node { seq } } } } }"  # cost 332


def test_hammering_one_token_gets_429_with_retry_after_and_other_tokens_go_on(domain):
    limits = Limits(max_cost=500, cost_burst=1000, cost_per_second=0.5, early_retry_delay_s=0)
    api = make_api(domain, limits)
    domain.sanction(domain.subject(PERSON))
    statuses = [api.post("auditor", PAGE_30).status_code for _ in range(4)]
    assert statuses == [200] * 4  # 1000 -> 668 -> 336 -> 4 -> -328: the fourth may still start
    r = api.post("auditor", PAGE_30)
    assert r.status_code == 429
    (error,) = r.json()["errors"]
    assert error["extensions"]["code"] == "rate_limited" and error["extensions"]["reason"] == "rate"
    assert r.headers["retry-after"] == str(error["extensions"]["retry_after"]) == "656"  # 328 / 0.5 per second
    # Back again before Retry-After: refused at the door, without even reading the token table.
    again = []
    assert statements_during(domain.engine, lambda: again.append(api.post("auditor", PAGE_30))) == []
    assert again[0].status_code == 429
    # Another spelling of the same header is the same token, and the same bucket.
    respelled = api.client.post("/graphql", json={"query": PAGE_30},
                                headers={"Authorization": f"bearer   {api.tokens['auditor']} "})
    assert respelled.status_code == 429
    assert api.post("recorder", PAGE_30).status_code == 200  # another token's bucket is its own


def test_queries_refused_for_their_cost_are_charged_the_limit(domain):
    api = make_api(domain, Limits(max_cost=500, cost_burst=1000, cost_per_second=0.5, early_retry_delay_s=0))
    over = "{ entries(first: 100) { ... on EntryConnection { edges { node { seq } } } } }"  # 1,102
    codes = [api.post("auditor", over).json()["errors"][0]["extensions"]["code"] for _ in range(4)]
    assert codes == ["cost_exceeded", "cost_exceeded", "cost_exceeded", "rate_limited"]


def test_a_caller_back_too_soon_waits_for_its_429(domain, monkeypatch):
    import ledger.api.app as app

    paused: list[float] = []

    async def pause(seconds):
        paused.append(seconds)

    monkeypatch.setattr(app, "_pause", pause)
    api = make_api(domain, Limits(max_cost=500, cost_burst=500, cost_per_second=0.5, early_retry_delay_s=0.7))
    api.post("auditor", PAGE_30)
    api.post("auditor", PAGE_30)  # 500 -> 168 -> -164: in debt
    assert paused == []
    assert api.post("auditor", PAGE_30).status_code == 429
    assert paused == [0.7]  # hammering costs the caller time, not the server a token lookup


def test_the_bucket_refills_with_time():
    now = [0.0]
    a = Admission(per_second=10, burst=100, max_in_flight=None, max_queued=0, clock=lambda: now[0])

    def attempt():
        refused = asyncio.run(a.enter("k"))
        if refused is None:
            a.leave("k")
        return refused

    assert attempt() is None
    a.charge("k", 130)  # 100 -> -30
    refused = attempt()
    assert refused is not None and refused.reason == "rate" and refused.retry_after == 3
    assert a.precheck("k") == refused and a.precheck("never seen") is None
    now[0] = 2.9
    assert attempt() is not None  # -1
    now[0] = 3.0
    assert attempt() is None
    now[0] = 1000.0
    a.charge("k", 1)
    assert a.tokens["k"].level == 99  # refilled to the burst, never beyond


# --- per-token concurrency ----------------------------------------------------------------------

def test_requests_beyond_the_in_flight_cap_wait_their_turn_then_get_429(domain, monkeypatch):
    """Four requests at once from one token, each held in its resolver: two run, one
    waits, the fourth is refused; released, the three complete."""
    import ledger.api.query as q

    api = make_api(domain, Limits(max_in_flight=2, max_queued=1, early_retry_delay_s=0))
    release, started = threading.Event(), threading.Semaphore(0)
    real = q.check_eligibility

    def held(*args, **kwargs):
        started.release()
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(q, "check_eligibility", held)
    p = domain.subject(PERSON)
    query = 'query($s: String!) { eligibility(subject: $s, benefit: subsidy, region: "150100") { __typename } }'

    async def scenario():
        transport = httpx.ASGITransport(app=api.client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            headers = {"Authorization": f"Bearer {api.tokens['officer']}"}
            sent = [asyncio.create_task(c.post("/graphql", json={"query": query, "variables": {"s": p}},
                                               headers=headers)) for _ in range(4)]
            done, _ = await asyncio.wait(sent, timeout=30, return_when=asyncio.FIRST_COMPLETED)
            refused = done.pop().result()
            other = await c.post("/graphql", json={"query": "{ me { role } }"},
                                 headers={"Authorization": f"Bearer {api.tokens['auditor']}"})
            await asyncio.to_thread(started.acquire)
            await asyncio.to_thread(started.acquire)
            release.set()
            rest = [await t for t in sent if not t.done() or t.result() is not refused]
            return refused, other, rest

    refused, other, rest = asyncio.run(scenario())
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert refused.json()["errors"][0]["extensions"]["reason"] == "in_flight"
    assert other.status_code == 200  # another token is not held up
    assert sorted(r.status_code for r in rest) == [200, 200, 200]
    assert all(r.json()["data"]["eligibility"]["__typename"] == "Eligibility" for r in rest)


def test_a_waiter_that_goes_away_frees_its_place():
    a = Admission(per_second=None, burst=1, max_in_flight=1, max_queued=1)

    async def scenario():
        assert await a.enter("k") is None
        waiter = asyncio.create_task(a.enter("k"))
        await asyncio.sleep(0)
        assert (await a.enter("k")).reason == "in_flight"  # one running, one waiting
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        a.leave("k")
        assert a.tokens["k"].running == 0 and not a.tokens["k"].waiting
        assert await a.enter("k") is None

    asyncio.run(scenario())


# --- answers too large ---------------------------------------------------------------------

def test_an_answer_over_the_size_limit_is_refused_not_sent(domain):
    api = make_api(domain, Limits(max_response_bytes=2000))
    for i in range(5):
        domain.sanction(domain.subject(f"passport:DEU/C{i:08d}", f"Person {i}"))
    big = "{ entries(first: 100) { ... on EntryConnection { edges { node { canonical canonical_base64 } } } } }"
    r = api.post("auditor", big)
    assert r.status_code == 200 and len(r.content) < 2000
    body = r.json()
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "response_too_large"
    assert body["errors"][0]["extensions"]["limit"] == 2000 and body["errors"][0]["extensions"]["bytes"] > 2000
    assert api.gql("auditor", "{ entries(first: 2) { ... on EntryConnection { tree_size } } }")


# --- malformed bodies: 400 with a code, never a 500 ----------------------------------------

JSON_TYPE = {"Content-Type": "application/json"}
MALFORMED = [
    ("deeply nested array", b"[" * 30_000 + b"]" * 30_000, JSON_TYPE, "invalid_json"),
    ("nesting in variables", b'{"query": "{ me { role } }", "variables": {"v": ' + b'{"a": ' * MAX_DEPTH + b"1"
     + b"}" * MAX_DEPTH + b"}}", JSON_TYPE, "invalid_json"),
    ("invalid UTF-8", b'{"query": "{ me { role } }\xff\xfe"}', JSON_TYPE, "invalid_json"),
    ("a lone surrogate", b'{"query": "{ me { role } }", "variables": {"v": "\\ud800"}}', JSON_TYPE, "invalid_json"),
    ("NaN", b'{"query": "{ me { role } }", "variables": {"v": NaN}}', JSON_TYPE, "invalid_json"),
    ("not JSON", b'{"query": ', JSON_TYPE, "invalid_json"),
    ("a batch (array)", b'[{"query": "{ me { role } }"}]', JSON_TYPE, "invalid_request"),
    ("a string", b'"{ me { role } }"', JSON_TYPE, "invalid_request"),
    ("null", b"null", JSON_TYPE, "invalid_request"),
    ("no query", b'{"variables": {}}', JSON_TYPE, "invalid_request"),
    ("query not a string", b'{"query": 5}', JSON_TYPE, "invalid_request"),
    ("variables not an object", b'{"query": "{ me { role } }", "variables": [1]}', JSON_TYPE, "invalid_request"),
    ("operationName not a string", b'{"query": "{ me { role } }", "operationName": 3}', JSON_TYPE,
     "invalid_request"),
    ("text/plain", b'{"query": "{ me { role } }"}', {"Content-Type": "text/plain"}, "unsupported_media_type"),
    ("a form", b"query=x", {"Content-Type": "application/x-www-form-urlencoded"}, "unsupported_media_type"),
    ("no content type", b'{"query": "{ me { role } }"}', {}, "unsupported_media_type"),
    ("latin-1 JSON", b'{"query": "{ me { role } }"}', {"Content-Type": "application/json; charset=latin-1"},
     "unsupported_media_type"),
]


@pytest.mark.parametrize("name,body,headers,code", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_bodies_are_a_json_400_with_a_code(domain, caplog, name, body, headers, code):
    api = make_api(domain)
    h = {**headers, "Authorization": f"Bearer {api.tokens['auditor']}"}
    r = api.client.post("/graphql", content=body, headers=h)
    assert r.status_code == 400 and r.headers["content-type"] == "application/json", r.text
    assert r.json()["errors"][0]["extensions"]["code"] == code, r.text
    assert not [rec for rec in caplog.records if rec.levelname in ("ERROR", "CRITICAL")]


def test_a_body_within_the_nesting_limit_is_fine(domain):
    api = make_api(domain)
    h = {**JSON_TYPE, "Authorization": f"Bearer {api.tokens['auditor']}"}
    nested = {"v": json.loads('{"a": ' * (MAX_DEPTH - 3) + "1" + "}" * (MAX_DEPTH - 3))}
    r = api.client.post("/graphql", content=json.dumps({"query": "{ me { role } }", "variables": nested}),
                        headers={**h, "Content-Type": "application/json; charset=UTF-8"})
    assert r.status_code == 200 and r.json() == {"data": {"me": {"role": "auditor"}}}


def test_other_methods_and_unknown_operations_are_json_too(domain):
    api = make_api(domain)
    h = {"Authorization": f"Bearer {api.tokens['auditor']}"}
    r = api.client.get("/graphql", headers=h)
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    assert r.json()["errors"][0]["extensions"]["code"] == "method_not_allowed"
    r = api.client.post("/graphql", json={"query": "query A { me { role } }", "operationName": "B"}, headers=h)
    assert r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == "unknown_operation"


# --- several operations, none named ----------------------------------------------------------

def test_two_operations_without_operation_name_are_refused_and_nothing_runs(domain):
    """The attack: a harmless-looking first operation, a write second (or the other
    way round); a server that ran 'the first' would run what the client did not name."""
    api = make_api(domain)
    victim = api.issue("victim", "auditor")
    token_id = victim.split("_")[1]
    document = (f'mutation Revoke {{ revoke_token(token_id: "{token_id}") {{ __typename }} }} '
                "query Me { me { role } }")
    r = api.post("admin", document)
    assert r.status_code == 400 and r.json()["data"] is None
    (error,) = r.json()["errors"]
    assert error["extensions"] == {"code": "operation_name_required", "field": "operationName"}
    assert "operationName" in error["message"] and "Revoke, Me" in error["message"]
    assert api.gql("victim", "{ me { role } }") == {"me": {"role": "auditor"}}  # not revoked
    named = api.client.post("/graphql", json={"query": document, "operationName": "Me"},
                            headers={"Authorization": f"Bearer {api.tokens['admin']}"})
    assert named.status_code == 200 and named.json() == {"data": {"me": {"role": "admin"}}}
