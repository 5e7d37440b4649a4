"""Art. 68 accountability for access: every token issued or revoked is a log
entry naming who did it (never the secret), and a writer token is bound to a
registered authority and its registered region (docs/authorities.md, Tokens).

The attacks: an admin minting a recorder token for an authority nobody
registered, or for a registered one but another region (a 150200 authority
given 150100, to record there); issuing or revoking without leaving a trace.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from ledger.access import tokens
from ledger.errors import NotFound, ValidationError
from ledger.log.verify import verify_log
from ledger.store.schema import api_tokens, entries
from tests.api_support import make_api
from tests.conftest import BAOTOU, HOHHOT


def _log(engine, type_: str) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(entries.c.canonical).where(entries.c.type == type_).order_by(entries.c.seq))
        return [_flat(json.loads(bytes(r.canonical))) for r in rows]


def _flat(e: dict) -> dict:
    """A v2 entry's statement members beside its envelope (docs/contracts.md §2.7); v1 as is."""
    return {**e.pop("statement"), **e} if "statement" in e else e


def _size(engine) -> int:
    return _count(engine, entries)


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_issuing_and_revoking_through_the_api_is_on_the_record(domain):
    api = make_api(domain)
    admin_id = api.tokens["admin"].split("_")[1]
    before = len(_log(domain.engine, "token.issued"))
    got = api.gql("admin", """mutation { issue_token(role: recorder, authority_id: "hrss-150200",
        label: "包头 张科员") { ... on TokenIssued { token info { token_id region created_at } } } }""")["issue_token"]
    token, token_id = got["token"], got["info"]["token_id"]
    assert got["info"]["region"] == BAOTOU.region  # defaults to the registered region
    issued = _log(domain.engine, "token.issued")
    assert len(issued) == before + 1
    e = issued[-1]
    assert e["actor"] == f"token:{admin_id}" and e["authority"]["id"] == "ledger-operator"
    assert e["body"] == {"token_id": token_id, "role": "recorder", "authority_id": BAOTOU.id, "region": BAOTOU.region}
    assert e["recorded_at"] == got["info"]["created_at"]
    # Never the secret, never the holder's label (it may name a person).
    assert token.split("_")[2] not in json.dumps(e) and "张科员" not in json.dumps(e, ensure_ascii=False)

    api.gql("admin", 'mutation($t: String!) { revoke_token(token_id: $t) { ... on TokenInfo { revoked_at } } }',
            t=token_id)
    again = api.gql("admin", 'mutation($t: String!) { revoke_token(token_id: $t) { ... on TokenInfo { revoked_at } } }',
                    t=token_id)
    revoked = _log(domain.engine, "token.revoked")
    assert len(revoked) == 1, "revoking twice records once"
    assert revoked[0]["actor"] == f"token:{admin_id}" and revoked[0]["refs"] == [e["seq"]]
    assert again["revoke_token"]["revoked_at"] == revoked[0]["recorded_at"]
    report, _ = verify_log(domain.engine, workers=1)  # raises on any bad entry
    assert report.size == _size(domain.engine)


@pytest.mark.parametrize("scope, field", [
    (dict(authority_id="hrss-152500", region="152500"), "body.authority_id"),  # nobody registered it
    (dict(authority_id=BAOTOU.id, region=HOHHOT.region), "body.region"),  # registered, another region
    (dict(authority_id=BAOTOU.id, region="150000"), "body.region"),  # registered, wider than its own
])
@pytest.mark.parametrize("role", ["recorder", "programme_officer"])
def test_a_writer_token_must_be_a_registered_authority_in_its_region(domain, role, scope, field):
    size, rows = _size(domain.engine), _count(domain.engine, api_tokens)
    with pytest.raises(ValidationError) as caught:
        tokens.issue(domain.engine, domain.keyring, role, domain.clock, actor="operator:attacker", **scope)
    assert field in {p.field for p in caught.value.problems}
    assert (_size(domain.engine), _count(domain.engine, api_tokens)) == (size, rows), "nothing written"


def test_an_unregistered_authority_is_refused_before_the_lock_when_no_region_is_given(domain):
    with pytest.raises(ValidationError) as caught:
        tokens.issue(domain.engine, domain.keyring, "recorder", domain.clock, actor="operator:x",
                     authority_id="hrss-159999")
    assert [p.field for p in caught.value.problems] == ["authority"]


def test_non_writer_tokens_name_no_authority(domain):
    with pytest.raises(ValidationError) as caught:
        tokens.issue(domain.engine, domain.keyring, "auditor", domain.clock, actor="operator:x",
                     authority_id=HOHHOT.id, region=HOHHOT.region)
    assert [p.field for p in caught.value.problems] == ["authority"]


def test_a_host_with_another_log_key_writes_nothing(domain):
    """The row and the entry commit together: an append the log refuses (here a host
    configured with a key that is not this log's) leaves no token behind either."""
    from ledger.signing.keyring import Keyring
    from ledger.signing.keys import Signer

    stranger = Keyring(Signer.generate("not-the-log-key"))
    size, rows = _size(domain.engine), _count(domain.engine, api_tokens)
    with pytest.raises(ValidationError) as caught:
        tokens.issue(domain.engine, stranger, "auditor", domain.clock, actor="operator:x")
    assert [p.field for p in caught.value.problems] == ["key"]  # the statement's key (docs/contracts.md §2.7)
    assert (_size(domain.engine), _count(domain.engine, api_tokens)) == (size, rows)


def test_revoking_an_unknown_token_is_not_found_and_writes_nothing(domain):
    size = _size(domain.engine)
    with pytest.raises(NotFound):
        tokens.revoke(domain.engine, domain.keyring, "0123456789ab", domain.clock, actor="operator:x")
    assert _size(domain.engine) == size
