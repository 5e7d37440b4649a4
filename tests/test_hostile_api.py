"""The body of a POST to /graphql against hostile JSON: a name
repeated in one object, at any depth, and nesting far past the bound are a
JSON 400 (``invalid_json``) naming the problem, never a 500 and never "the
last one wins"; then Hypothesis mutates a valid body and ``decode`` must
either accept it or refuse it with ``BadRequest``, nothing else.

The request's other refusals (media type, UTF-8, NaN, lone surrogates, shape)
are tested in tests/test_api_limits.py; the parser is ``ledger.log.strict_json``.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.api.request import MAX_DEPTH, BadRequest, GraphQLRequest, decode
from tests.api_support import make_api

JSON_TYPE = "application/json"
ME = b'{"query": "{ me { role } }", "variables": {}}'

# (name, body, the path the message must name)
REPEATED = [
    ("query twice: which one runs?", b'{"query": "{ me { role } }", "query": "mutation { x }"}', "$.query"),
    ("variables twice", b'{"query": "{ me { role } }", "variables": {}, "variables": {"a": 1}}', "$.variables"),
    ("operationName twice", b'{"query": "query A { me { role } } query B { me { role } }", "operationName": "A", '
                            b'"operationName": "B"}', "$.operationName"),
    ("a repeated variable", b'{"query": "{ me { role } }", "variables": {"seq": 1, "seq": 2}}', "$.variables.seq"),
    ("repeated deep in a variable", b'{"query": "{ me { role } }", "variables": {"v": [{"body": {"amount_fen": 1, '
                                    b'"amount_fen": 999999999}}]}}', "$.variables.v[0].body.amount_fen"),
    ("a repeated name that is a lone surrogate", b'{"query": "{ me { role } }", "variables": {"\\ud800": 1, '
                                                 b'"\\ud800": 2}}', '$.variables["\\ud800"]'),
]

DEEP = [
    ("one level past the bound", b'{"query": "{ me { role } }", "variables": {"v": ' + b"[" * (MAX_DEPTH - 1)
     + b"]" * (MAX_DEPTH - 1) + b"}}", f"more than {MAX_DEPTH}"),
    ("15 000 levels, closed", b'{"query": "{ me { role } }", "variables": {"v": ' + b"[" * 15_000 + b"]" * 15_000
     + b"}}", "levels deep"),
    ("60 000 levels, never closed", b'{"query": "{ me { role } }", "variables": {"v": ' + b"{\"a\":" * 10_000,
     "levels deep"),
]


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
@pytest.mark.parametrize("name,body,names", REPEATED + DEEP, ids=[c[0] for c in REPEATED + DEEP])
def test_repeated_names_and_deep_nesting_are_a_json_400_naming_the_problem(domain, caplog, name, body, names):
    api = make_api(domain)
    r = api.client.post("/graphql", content=body,
                        headers={"Content-Type": JSON_TYPE, "Authorization": f"Bearer {api.tokens['auditor']}"})
    assert r.status_code == 400 and r.headers["content-type"] == "application/json", r.text
    (error,) = r.json()["errors"]
    assert error["extensions"]["code"] == "invalid_json" and names in error["message"], error
    assert not [rec for rec in caplog.records if rec.levelname in ("ERROR", "CRITICAL")]


def test_the_same_names_in_different_objects_are_fine():
    body = b'{"query": "{ me { role } }", "variables": {"a": {"x": 1}, "b": {"x": 1}}, "extensions": {"x": 1}}'
    assert decode(JSON_TYPE, body).variables == {"a": {"x": 1}, "b": {"x": 1}}


def test_the_message_says_which_rule():
    with pytest.raises(BadRequest) as e:
        decode(JSON_TYPE, REPEATED[0][1])
    assert e.value.code == "invalid_json" and "RFC 8259 §4" in str(e.value) and "RFC 7493 §2.3" in str(e.value)


# --- Hypothesis: a valid body, mutated -----------------------------------------------------------

TOKENS = [b'"query": "x", ', b'"variables": {}, ', b"\\ud800", b"NaN", b"[" * 40, b"{" * 40, b"\xff", b"\x00",
          b'"', b",", b"}", b"]", b"\xef\xbb\xbf", "\u2028".encode(), b"1e999", b"9" * 5000, b"\\", b"null"]


@st.composite
def mutated_body(draw) -> bytes:
    data = bytearray(draw(st.sampled_from([ME, b'{"query": "query($s: Int) { me { role } }", "variables": {"s": 1}, '
                                               b'"operationName": null, "extensions": {"a": [1, {"b": 2}]}}'])))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "replace", "delete", "token"]))
        if kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=6))
        elif kind == "replace" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 8))]
        else:
            data[at:at] = draw(st.sampled_from(TOKENS))
    return bytes(data)


@settings(max_examples=100, deadline=None)
@given(body=mutated_body())
def test_decode_accepts_or_refuses_with_a_code_and_nothing_else(body):
    try:
        request = decode(JSON_TYPE, body)
    except BadRequest as e:
        assert e.code in ("invalid_json", "invalid_request") and str(e)
        return
    assert isinstance(request, GraphQLRequest) and request.query.strip()
    data = json.loads(body)  # what was accepted is plain JSON, every name once
    assert isinstance(data, dict) and data["query"] == request.query
