"""Schemathesis fuzzing of the GraphQL schema: every query (as the auditor, who
reads everything) and every mutation (as a recorder; the admin-only ones as
the admin) with generated arguments and selections, over a small but real
ledger. No generated request may make the server fail.

What counts as a failure is decided here (``no_unexpected_error``), not by
schemathesis' ``not_a_server_error``, which treats every ``errors`` entry as a
server error. Expected and fine:

* HTTP 200 with data, including union error members (``ValidationFailed``,
  ``NotFound``, ``Forbidden``, ``Barred``, ``Conflict``, ``Unavailable``);
* GraphQL errors carrying ``extensions.code`` (nested-argument errors such as
  ``history(first: 0)``: code ``validation``);
* document-level rejections (no ``path``, no ``data``): parse and validation
  errors, depth / token / alias limits;
* HTTP 413 ``too_large`` (a body over the configured limit).

A failure: any 5xx, a body that is not a JSON object, the masked message
"Unexpected error (logged).", or an execution error (one with a ``path``)
that carries no ``extensions.code``.

Bounded for CI: a fixed number of examples per operation, derandomized, no
example database, no shrinking beyond hypothesis' default phases.
"""

from __future__ import annotations

import json
import os
import time
import traceback

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure
from schemathesis.graphql import nodes

from ledger import checkpoint as checkpoints
from ledger.api.context import Limits
from ledger.api.types import cursor_of
from ledger.records import MAX_FEN
from ledger.store import log_store

from .api_support import make_api
from .conftest import EMPLOYER, HOHHOT, ORIGIN, PERSON, PERSON_2

MASKED = "Unexpected error (logged)."
# Examples per operation (11 queries, 17 mutations; one request each). LEDGER_FUZZ_EXAMPLES=200
# fuzzes deeper locally.
QUERY_EXAMPLES = int(os.environ.get("LEDGER_FUZZ_EXAMPLES", 25))
MUTATION_EXAMPLES = int(os.environ.get("LEDGER_FUZZ_EXAMPLES", 20))
# Mutations the recorder may not call: fuzz them as the admin so they get past authorisation.
ADMIN_MUTATIONS = {"issue_token", "revoke_token", "erase_subject"}
ADMIN_QUERIES = {"tokens"}

# Custom scalars schemathesis cannot generate by itself. Fen: in range mostly, plus the edges
# and just beyond them (those must be refused as invalid input, not crash).
schemathesis.graphql.scalar("Fen", st.one_of(
    st.integers(0, MAX_FEN), st.sampled_from([0, 1, MAX_FEN, MAX_FEN + 1, -1, 2**31, 2**53 + 1])).map(nodes.Int))
# DateTime: the built-in strategy only makes UTC ("...Z") values; naive ones and offsets matter here.
schemathesis.graphql.scalar("DateTime", st.tuples(
    st.datetimes(), st.sampled_from(["", "Z", "+08:00", "-23:59"])).map(lambda t: t[0].isoformat() + t[1]).map(nodes.String))


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
    # The document itself was refused (syntax, validation, depth/token/alias limits): nothing executed.
    return "path" not in error and body.get("data") is None


def no_unexpected_error(ctx, response, case) -> None:
    """The project's own server-error check (replaces schemathesis' ``not_a_server_error``)."""
    if response.status_code >= 500:
        _fail(case, f"HTTP {response.status_code}: {response.text[:2000]}")
    try:
        body = json.loads(response.content)
    except ValueError:
        _fail(case, f"HTTP {response.status_code}, not JSON: {response.text[:2000]!r}")
    if not isinstance(body, dict):
        _fail(case, f"HTTP {response.status_code}, JSON but not an object: {response.text[:2000]}")
    errors = body.get("errors") or []
    if response.status_code == 413:
        if not all((e.get("extensions") or {}).get("code") == "too_large" for e in errors):
            _fail(case, f"HTTP 413 without code too_large: {response.text[:2000]}")
        return
    if response.status_code != 200:
        # Every request is authenticated and well-formed: anything else is the API (or this test) broken.
        _fail(case, f"HTTP {response.status_code}: {response.text[:2000]}")
    bad = [e for e in errors if not _expected(e, body)]
    if bad:
        _fail(case, "unexpected GraphQL error(s): " + json.dumps(bad, ensure_ascii=False)[:2000])


def _populate(domain) -> dict:
    """A few subjects, a sanction, a grant, an honour and a checkpoint, so generated queries hit real rows."""
    p, q, org = domain.subject(PERSON), domain.subject(PERSON_2), domain.subject(EMPLOYER, "测试单位")
    s = domain.sanction(p)
    g = domain.grant(q)
    h = domain.honor(q)
    checkpoints.publish(domain.engine, domain.keyring.log, ORIGIN, domain.clock)
    domain.grant(org, amount=12_345)  # one entry past the checkpoint, so proofs have two sizes to relate
    with domain.engine.connect() as conn:
        size = log_store.size(conn)
    return {"refs": [p, q, org], "seqs": [s.seq, g.seq, h.seq], "size": size}


def _config(data: dict) -> SchemathesisConfig:
    """Dictionaries steer about half of the generated arguments to values that exist in the ledger."""
    size, seqs = data["size"], data["seqs"]
    ints = sorted({0, 1, 2, size - 1, size, size + 1, *seqs, 20, 100})
    strings = {
        "subjects": [*data["refs"], PERSON, PERSON_2, EMPLOYER, "cn-rid:150102199001010018"],
        "ints": ints,
        "cursors": [cursor_of(n) for n in (-1, 0, *seqs, size)] + ["nope"],
        "types": ["sanction.imposed", "subsidy.granted", "honor.granted", "note.recorded", "subject.erased"],
        "regions": ["150000", "150100", "150102", "150200"],
        "programmes": ["草原英才", "鸿雁行动"],
        "authorities": [HOHHOT.id, "hrss-150200", "operator"],
        "request_ids": ["fuzz-1", "fuzz-2"],
        "dates": ["2026-01-01", "2026-06-01", "2027-12-31"],
    }
    bind = {
        "subjects": ["*.*.subject", "*.*.id", "*.*.ids[*]", "*.*.subjects[*]", "*.*.body.organisation"],
        "ints": ["*.*.seq", "*.*.ref", "*.*.refs[*]", "*.*.size", "*.*.tree_size", "*.*.old_size", "*.*.new_size",
                 "*.*.known_at_size", "*.*.first"],
        "cursors": ["*.*.after"],
        "types": ["*.*.types[*]"],
        "regions": ["*.*.region", "*.*.body.region", "*.*.body.scope.regions[*]"],
        "programmes": ["*.*.programme", "*.*.body.programme"],
        "authorities": ["*.*.authority", "*.*.authority_id"],
        "request_ids": ["*.*.request_id"],
        "dates": [],
    }
    return SchemathesisConfig.from_dict({
        "dictionaries": {name: {"values": values} for name, values in strings.items()},
        "parameters": {key: {"dictionary": name, "probability": 0.5} for name, keys in bind.items() for key in keys},
    })


def _fuzz(operation, token: str, examples: int, seen: dict) -> None:
    headers = {"Authorization": f"Bearer {token}"}

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None, print_blob=True,
              phases=[Phase.generate, Phase.shrink],
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def run(case):
        case.call_and_validate(headers=headers, checks=[no_unexpected_error])
        seen[operation.label] = seen.get(operation.label, 0) + 1

    run()


@pytest.fixture
def fuzz_api(domain):
    if domain.store.dialect != "sqlite":
        pytest.skip("fuzzed on SQLite only, to keep the run short (the API code is the same on both)")
    data = _populate(domain)
    api = make_api(domain, Limits(introspection=True))
    return api, data


def test_graphql_schema_fuzz_has_no_server_error(fuzz_api):
    api, data = fuzz_api
    app = api.client.app
    schema = schemathesis.graphql.from_asgi("/graphql", app, config=_config(data),
                                           headers={"Authorization": f"Bearer {api.tokens['auditor']}"})
    started, seen, failures = time.monotonic(), {}, []
    plan = [(schema["Query"][name], "admin" if name in ADMIN_QUERIES else "auditor", QUERY_EXAMPLES)
            for name in schema["Query"]]
    plan += [(schema["Mutation"][name], "admin" if name in ADMIN_MUTATIONS else "recorder", MUTATION_EXAMPLES)
             for name in schema["Mutation"]]
    assert len(plan) >= 20, [op.label for op, _, _ in plan]
    for operation, who, examples in plan:
        try:
            _fuzz(operation, api.tokens[who], examples, seen)
        except (Exception, BaseExceptionGroup) as e:  # schemathesis' FailureGroup is a BaseExceptionGroup
            # Collect them all: one report lists every failing operation, with hypothesis' notes.
            failures.append(f"--- {operation.label} as {who}:\n" + "".join(traceback.format_exception_only(e)))
    elapsed = time.monotonic() - started
    print(f"fuzzed {len(plan)} operations, {sum(seen.values())} requests in {elapsed:.1f} s")
    assert not failures, "\n\n".join(failures)
    # Every operation really ran (a strategy that cannot generate would silently test nothing).
    assert set(seen) == {op.label for op, _, _ in plan}
