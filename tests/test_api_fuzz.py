"""Schemathesis fuzzing of the GraphQL schema: no generated request may make
the server fail.

Every root field is fuzzed on its own, with the token of someone allowed to
call it, so generated requests get past authorisation into the resolvers:
queries as the auditor (who reads everything; ``tokens`` as the admin) and
again, fewer, as a court (its own subject-by-subject paths); mutations as a
recorder (``record_eligibility_check`` as the programme officer, the token and
erasure mutations as the admin). The ledger holds real rows (subjects, a
sanction, a grant with a clawback, an honour, a checkpoint) and schemathesis
dictionaries steer about half of the generated arguments to values that name
them (subject references and identifiers, seqs, sizes, cursors), plus edge
values (sizes and cursors out of range, a NUL character, out-of-range money).
A few explicit examples (``_seeds``) send edge values the generators reach
rarely or never. It runs once per store: SQLite, and PostgreSQL when
configured (``make test``), which refuses some inputs SQLite takes (NUL).

What counts as a failure is decided here (``no_unexpected_error``) rather than
by schemathesis' ``not_a_server_error``, which counts every ``errors`` entry
as a server error. Expected, and fine:

* HTTP 200 with data, including the union error members (``ValidationFailed``,
  ``NotFound``, ``Forbidden``, ``Barred``, ``Conflict``, ``Unavailable``);
* GraphQL errors carrying ``extensions.code`` (nested-argument errors, such as
  ``history(first: 0)``, have code ``validation``);
* the document refused before execution (no ``path``, no ``data``): parse and
  validation errors, depth / token / alias limits, bad scalar literals;
* HTTP 413 with code ``too_large``.

A failure: HTTP 5xx, a body that is not a JSON object, the masked message
"Unexpected error (logged).", an execution error (with a ``path``) without
``extensions.code``, any other status (every request is authenticated), or no
answer within ``REQUEST_TIMEOUT`` (a hung request).

Bounded for CI: a fixed number of derandomized examples per operation, no
example database, no shrinking (a hung request would be retried for minutes;
the failing request is reported in full, as a curl command, instead).
``LEDGER_FUZZ_EXAMPLES=300`` fuzzes deeper locally.
"""

from __future__ import annotations

import json
import os
import time
import traceback

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure
from schemathesis.graphql import nodes

import graphql
from ledger.api.context import Limits
from ledger.api.types import cursor_of
from ledger.domain.records import MAX_FEN
from ledger.log import publish
from ledger.store import log_store
from tests.api_support import make_api
from tests.conftest import BAOTOU, BASIS, EMPLOYER, HOHHOT, ORIGIN, PERSON, PERSON_2

MASKED = "Unexpected error (logged)."
EXAMPLES = int(os.environ.get("LEDGER_FUZZ_EXAMPLES", 0))
QUERY_EXAMPLES = EXAMPLES or 20  # per query, as the auditor
COURT_EXAMPLES = EXAMPLES or 6  # per query, again as a court
MUTATION_EXAMPLES = EXAMPLES or 20  # per mutation
REQUEST_TIMEOUT = 5  # seconds; answers take milliseconds

# Who calls each root field (default: auditor for queries, recorder for mutations).
CALLER = {"tokens": "admin", "issue_token": "admin", "revoke_token": "admin", "erase_subject": "admin",
          "record_eligibility_check": "officer", "statement_to_sign": "recorder", "register_key": "admin",
          "revoke_key": "admin"}
NUL = "a\x00b"

# Custom scalars. Fen: in range mostly, plus the edges and just beyond them (which must be
# refused as invalid input). DateTime: schemathesis' own strategy makes UTC ("...Z") values
# only; naive values, offsets and the ends of the calendar matter here.
schemathesis.graphql.scalar("Fen", st.one_of(
    st.integers(0, MAX_FEN),
    st.sampled_from([0, 1, MAX_FEN, MAX_FEN + 1, -1, 2**31, 2**53 + 1])).map(nodes.Int))
schemathesis.graphql.scalar("DateTime", st.one_of(
    st.tuples(st.datetimes(), st.sampled_from(["", "Z", "+08:00", "-23:59"])).map(lambda t: t[0].isoformat() + t[1]),
    st.sampled_from(["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-05:00", "2026-03-01T12:00:00+08:00"]),
).map(nodes.String))



def _json_node(value):
    """A JSON value as a GraphQL literal (the ``JSON`` scalar: statement_to_sign's body)."""
    if isinstance(value, dict):
        return nodes.Object([graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=_json_node(v))
                             for k, v in value.items()])
    if isinstance(value, list):
        return nodes.List([_json_node(v) for v in value])
    if value is None:
        return nodes.Null
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, float):
        return nodes.Float(value)
    return nodes.String(value)


# JSON: objects mostly (a body), with fractions, huge integers, NUL and nesting among the leaves.
_JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                       st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20), st.just(NUL))
schemathesis.graphql.scalar("JSON", st.recursive(
    _JSON_LEAF, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                        st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True),
                                                        inner, max_size=4)),
    max_leaves=12).map(_json_node))


class UnexpectedServerError(Failure):
    """The API failed in a way a client cannot act on (see the module docstring)."""

    code = "LEDGER-FUZZ"
    kind_title = "Unexpected server error"


def _fail(case, message: str) -> None:
    raise UnexpectedServerError(operation=case.operation.label, title="Unexpected server error", message=message)


def _expected(error: object, body: dict) -> bool:
    if not isinstance(error, dict) or error.get("message") == MASKED:
        return False
    if (error.get("extensions") or {}).get("code"):
        return True
    # The document was refused before execution (syntax, validation, limits, bad literals).
    return "path" not in error and body.get("data") is None


def no_unexpected_error(ctx, response, case) -> None:
    """This API's server-error check (instead of schemathesis' ``not_a_server_error``)."""
    text = response.text[:3000]
    if response.status_code >= 500:
        _fail(case, f"HTTP {response.status_code}: {text}")
    try:
        body = json.loads(response.content)
    except ValueError:
        _fail(case, f"HTTP {response.status_code}, not JSON: {text!r}")
    if not isinstance(body, dict):
        _fail(case, f"HTTP {response.status_code}, JSON but not an object: {text}")
    errors = body.get("errors") or []
    if response.status_code == 413:
        if not errors or any((e.get("extensions") or {}).get("code") != "too_large" for e in errors):
            _fail(case, f"HTTP 413 without code too_large: {text}")
        return
    if response.status_code != 200:
        _fail(case, f"HTTP {response.status_code}: {text}")
    bad = [e for e in errors if not _expected(e, body)]
    if bad:
        _fail(case, "unexpected GraphQL error(s): " + json.dumps(bad, ensure_ascii=False)[:3000])


def _populate(domain) -> dict:
    """Rows for generated requests to hit, in the recorder's region (150100) so its
    mutations on them get past the jurisdiction check."""
    p, q, org = domain.subject(PERSON), domain.subject(PERSON_2), domain.subject(EMPLOYER, "测试单位")
    s = domain.sanction(p, regions=["150100"])
    g = domain.grant(q)
    c = domain.record("clawback.ordered", q, {"amount_fen": 100_000_00, "deadline": "2026-05-01", "grounds": "未履约",
                                              "legal_basis": BASIS, "decision_date": "2026-04-01",
                                              "deciding_body": "呼和浩特市人社局"}, refs=[g.seq])
    h = domain.honor(q)
    publish.publish(domain.engine, domain.keyring.log, ORIGIN, domain.clock)
    domain.grant(org, amount=12_345)  # past the checkpoint: two sizes to relate
    with domain.engine.connect() as conn:
        size = log_store.size(conn)
    return {"refs": [p, q, org], "seqs": [s.seq, g.seq, c.seq, h.seq], "size": size}


def _config(data: dict) -> SchemathesisConfig:
    """Dictionaries: each bound argument takes one of these values half of the time."""
    size, seqs = data["size"], data["seqs"]
    values = {
        "subjects": [*data["refs"], PERSON, PERSON_2, EMPLOYER, "cn-rid:150102199001010018", "0" * 64],
        "ints": sorted({-1, 0, 1, 2, 20, 100, size - 1, size, size + 1, 2**31 - 1, *seqs}),
        "cursors": [cursor_of(n) for n in (0, *seqs, size, 2**63)] + ["nope", ""],
        "types": ["sanction.imposed", "subsidy.granted", "honor.granted", "clawback.ordered", NUL],
        "regions": ["150000", "150100", "150102", "150200"],
        "programmes": ["草原英才", "鸿雁行动"],
        "authorities": [HOHHOT.id, BAOTOU.id, NUL],
        "request_ids": ["fuzz-1", "fuzz-2", NUL],
        "labels": ["fuzz", NUL],
    }
    bind = {
        "subjects": ["*.*.subject", "*.*.id", "*.*.ids[*]", "*.*.subjects[*]", "*.*.body.organisation"],
        "ints": ["*.*.seq", "*.*.ref", "*.*.refs[*]", "*.*.size", "*.*.tree_size", "*.*.old_size",
                 "*.*.new_size", "*.*.known_at_size", "*.*.first"],
        "cursors": ["*.*.after"],
        "types": ["*.*.types[*]"],
        "regions": ["*.*.region", "*.*.body.region", "*.*.body.scope.regions[*]"],
        "programmes": ["*.*.programme", "*.*.body.programme"],
        "authorities": ["*.*.authority", "*.*.authority_id"],
        "request_ids": ["*.*.request_id"],
        "labels": ["*.*.label", "*.*.token_id", "*.*.body.grant_ref", "*.*.body.title"],
    }
    return SchemathesisConfig.from_dict({
        "request-timeout": REQUEST_TIMEOUT,
        "dictionaries": {name: {"values": v} for name, v in values.items()},
        "parameters": {key: {"dictionary": name, "probability": 0.5} for name, keys in bind.items() for key in keys},
    })


def _seeds(data: dict) -> dict[str, list[str]]:
    """Explicit examples, run before the generated ones: edge values the generators reach
    rarely or never (the ends of the calendar with an offset, a cursor past 2^63, a ref to
    no entry, money out of range, a NUL character)."""
    p, q, _ = data["refs"]
    s = data["seqs"][0]
    far, absent = cursor_of(2**63), data["size"] + 1000
    edge = '"0001-01-01T00:00:00+08:00"'
    return {
        "entries": [f'{{ entries(after: "{far}") {{ __typename }} }}',
                    '{ entries(types: ["a\\u0000b"], authority: "a\\u0000b") { __typename } }'],
        "subject": [f'{{ subject(id: "{p}", known_at: {edge}) {{ __typename }} }}',
                    f'{{ subject(id: "{p}") {{ ... on Subject {{ history(after: "{far}") {{ tree_size }} }} }} }}'],
        "eligibility": [f'{{ eligibility(subject: "{p}", benefit: honor, programme: "草原英才", region: "150100", '
                        f'known_at: "9999-12-31T23:59:59-05:00") {{ __typename }} }}'],
        "grant_subsidy": [f'mutation {{ grant_subsidy(request_id: "seed-g", subject: "{q}", body: {{programme: "草原英才", '
                          'kind: research_funding, amount_fen: -1, grant_ref: "SEED-1", budget_account: "2130101", '
                          'decision_date: "2026-03-01", region: "150100"}) { __typename } }'],
        "record_recovery": [f'mutation {{ record_recovery(request_id: "seed-r", subject: "{q}", ref: {absent}, '
                            'body: {amount_fen: 1, recovered_on: "2026-04-20"}) { __typename } }'],
        "waive_clawback": [f'mutation {{ waive_clawback(request_id: "seed-w", subject: "{q}", ref: {absent}, body: '
                           '{amount_fen: 1, reason: "r", decision_date: "2026-04-20", deciding_body: "b"}) { __typename } }'],
        "amend_sanction": [f'mutation {{ amend_sanction(request_id: "seed-a", subject: "{p}", ref: {absent}, body: '
                           '{reason: "r", decision_date: "2026-04-20", deciding_body: "b", indefinite: true}) { __typename } }'],
        "end_sanction": [f'mutation {{ end_sanction(request_id: "a\\u0000b", subject: "{p}", ref: {s}, body: '
                         '{reason: expiry, ended_on: "2026-06-01", deciding_body: "b"}) { __typename } }'],
        "revoke_token": ['mutation { revoke_token(token_id: "a\\u0000b") { __typename } }'],
        "issue_token": ['mutation { issue_token(role: auditor, expires_at: "9999-12-31T23:59:59-05:00") { __typename } }'],
    }


def _fuzz(operation, token: str, examples: int, seeds: list[str], sent: dict) -> None:
    headers = {"Authorization": f"Bearer {token}"}

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def fuzz(case):
        sent[operation.label] = sent.get(operation.label, 0) + 1
        case.call_and_validate(headers=headers, checks=[no_unexpected_error])

    for body in seeds:
        fuzz = example(case=operation.Case(body=body))(fuzz)
    fuzz()


@pytest.fixture
def fuzz_api(domain):
    data = _populate(domain)
    api = make_api(domain, Limits(introspection=True))
    api.court("court", [data["refs"][0]])
    return api, data


def test_graphql_schema_fuzz_has_no_server_error(fuzz_api):
    api, data = fuzz_api
    schema = schemathesis.graphql.from_asgi("/graphql", api.client.app, config=_config(data),
                                           headers={"Authorization": f"Bearer {api.tokens['auditor']}"})
    queries, mutations = list(schema["Query"]), list(schema["Mutation"])
    assert len(queries) >= 10 and len(mutations) >= 15, (queries, mutations)
    plan = [(schema["Query"][f], CALLER.get(f, "auditor"), QUERY_EXAMPLES) for f in queries]
    plan += [(schema["Query"][f], "court", COURT_EXAMPLES) for f in queries if f not in CALLER]
    plan += [(schema["Mutation"][f], CALLER.get(f, "recorder"), MUTATION_EXAMPLES) for f in mutations]

    seeds = _seeds(data)
    assert set(seeds) <= set(queries) | set(mutations)
    started, sent, failures = time.monotonic(), {}, []
    for operation, who, examples in plan:
        try:
            _fuzz(operation, api.tokens[who], examples, seeds.get(operation.label.split(".")[1], []), sent)
        except (Exception, BaseExceptionGroup) as e:  # schemathesis' FailureGroup is a BaseExceptionGroup
            # Go on: one run reports every failing operation, each with its request as a curl command.
            failures.append(f"--- {operation.label} as {who}:\n" + "".join(traceback.format_exception_only(e)))
    print(f"{api.ledger.store.dialect}: {len(plan)} fuzz runs over {len(queries)} queries and {len(mutations)} "
          f"mutations, {sum(sent.values())} requests in {time.monotonic() - started:.1f} s")
    assert not failures, f"{len(failures)} operation(s) failed:\n\n" + "\n\n".join(failures)
    # Every operation was exercised (a strategy that cannot generate would test nothing, silently).
    assert set(sent) == {op.label for op, _, _ in plan}
