"""The public publicity list (docs/publicity.md): masking, the public projection
as of a day, and the unauthenticated routes. Expectations from the rules first:
Art. 66 publicity periods, PIPL Art. 28/47/51 (minimum necessary, erasure)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from ledger.domain.identifiers import Identifier, parse
from ledger.domain.masking import MASK, SEPARATORS, mask_identifier, mask_name, mask_person_name
from ledger.domain.publicity import PUBLIC_FIELDS, public_sanctions, search
from ledger.store import log_store
from tests.conftest import open_store
from tests.publicity_support import ERASED, ETHNIC, FOREIGN, ORG_ID, PEOPLE, PERSON, SHORT, build


@pytest.fixture
def store(tmp_path):
    """SQLite only: the projection is dialect-free SQL over ``entries`` and ``subjects``."""
    with open_store("sqlite", tmp_path) as s:
        yield s


# --- masking ------------------------------------------------------------------------

def test_names_keep_first_and_last_character_only():
    assert mask_person_name("张小三") == "张*三"
    assert mask_person_name("张三") == "张*"
    assert mask_person_name("欧阳小明") == "欧**明"
    assert mask_person_name("乌兰·巴特尔") == "乌*·**尔"
    assert mask_person_name("阿") == "*"
    assert mask_person_name("John Smith") == "J*** ****h"


def test_organisation_names_are_kept_people_masked():
    assert mask_name("草原科技有限公司", "organisation") == "草原科技有限公司"
    assert mask_name("草原科技有限公司", "person") == "草******司"


def test_identifiers_are_masked_per_scheme():
    assert mask_identifier(parse("cn-rid:150102199001010019")) == "1501**********0019"
    assert mask_identifier(parse(f"cn-uscc:{ORG_ID}")) == ORG_ID[:4] + "*" * 10 + ORG_ID[-4:]
    assert mask_identifier(parse("passport:USA/X12345678")) == "USA/*******78"
    assert mask_identifier(parse("passport:CHN/E1234")) == "CHN/***34"


NAME_CHARS = st.sampled_from(list("张王李赵欧阳乌兰巴特尔阿依古丽JohnSmith·• "))


@given(st.text(NAME_CHARS, min_size=1, max_size=30))
def test_never_more_than_two_name_characters_revealed(name):
    masked = mask_person_name(name)
    letters = [c for c in name.strip() if c not in SEPARATORS]
    shown = [c for c in masked if c not in SEPARATORS and c != MASK]
    assert len(shown) <= (2 if len(letters) >= 3 else 1 if len(letters) == 2 else 0)
    if len(letters) >= 2:
        assert masked != name.strip()


@given(st.integers(0, 10**17 - 1))
def test_identifier_mask_hides_the_middle(n):
    body = f"{n:017d}"
    value = body + ric.calc_check_digit(body + "0")
    masked = mask_identifier(Identifier("cn-rid", value))
    assert len(masked) == 18 and masked.count(MASK) == 10
    assert masked[:4] == value[:4] and masked[-4:] == value[-4:]


@given(st.text(st.sampled_from("ABCDEFGHJK0123456789"), min_size=5, max_size=20))
def test_passport_mask_reveals_two_characters(number):
    masked = mask_identifier(Identifier("passport", f"CHN/{number}"))
    assert masked.startswith("CHN/") and len(masked) == len(number) + 4
    assert sum(c != MASK for c in masked[4:]) == 2


# --- the projection -------------------------------------------------------------------

def _list(domain, on: str):
    with domain.engine.connect() as conn:
        return public_sanctions(conn, domain.vault, log_store.size(conn), date.fromisoformat(on))


def test_list_shows_masked_public_fields_only(domain):
    build(domain)
    items = _list(domain, "2026-06-01")
    assert {i["name"] for i in items} == {"张*三", "张*", "乌*·**尔", "草原科技有限公司", "J*** ****h"}
    for i in items:
        assert set(i) == PUBLIC_FIELDS
        assert set(i["legal_basis"]) == {"article", "document_no"}
        assert set(i["scope"]) == {"benefits", "regions", "programmes"}
    text = repr(items)
    for ident, name in PEOPLE.items():
        assert ident.partition(":")[2] not in text
        if "有限公司" not in name:
            assert name not in text


def test_publicity_last_day_shown_day_after_not(domain):
    build(domain)
    assert "张*" in {i["name"] for i in _list(domain, "2026-06-30")}
    assert "张*" not in {i["name"] for i in _list(domain, "2026-07-01")}
    assert "张*三" in {i["name"] for i in _list(domain, "2026-12-31")}
    assert "张*三" not in {i["name"] for i in _list(domain, "2027-01-01")}


def test_not_shown_before_its_decision_or_without_a_publicity_period(domain):
    p = domain.subject(f"cn-rid:{PERSON}", "张小三")
    domain.sanction(p, start="2026-03-01", publicity_until="2026-12-31")
    domain.sanction(p)  # no publicity_until: no publicity decided
    assert _list(domain, "2026-02-28") == []
    assert len(_list(domain, "2026-03-01")) == 1


def test_erased_subject_is_hidden(domain):
    build(domain, erase=False)
    assert "李*五" in {i["name"] for i in _list(domain, "2026-06-01")}  # shown while the vault holds them
    from tests.publicity_support import HOHHOT, erase_subject
    ref = domain.subject(f"cn-rid:{ERASED}", "李四五")
    erase_subject(domain.engine, domain.keyring, ref, "本人申请", "个人信息保护法第四十七条", "dpo", HOHHOT,
                  domain.clock, vault=domain.vault)
    assert all(i["identifier"] != ERASED[:4] + "*" * 10 + ERASED[-4:] for i in _list(domain, "2026-06-01"))
    assert "李*五" not in {i["name"] for i in _list(domain, "2026-06-01")}


@pytest.mark.parametrize("reason, shown_after", [("credit_repair", False), ("appeal_upheld", False),
                                                 ("court_deletion", False), ("correction", False),
                                                 ("superseded", False), ("expiry", True)])
def test_ended_sanction_publicity(domain, reason, shown_after):
    p = domain.subject(f"cn-rid:{PERSON}", "张小三")
    s = domain.sanction(p, publicity_until="2027-12-31")
    domain.record("sanction.ended", p, {"reason": reason, "ended_on": "2026-09-01", "deciding_body": "x"}, refs=[s.seq])
    assert len(_list(domain, "2026-08-31")) == 1  # publicised until the end takes effect
    assert bool(_list(domain, "2026-09-01")) is shown_after


def test_voided_and_exempted_sanctions_are_not_shown(domain):
    p = domain.subject(f"cn-rid:{PERSON}", "张小三")
    q = domain.subject(f"cn-rid:{SHORT}", "张三")
    s = domain.sanction(p, publicity_until="2027-12-31")
    domain.record("entry.corrected", p, {"reason": "recorded against the wrong person", "deciding_body": "x"},
                  refs=[s.seq])
    t = domain.sanction(q, publicity_until="2027-12-31")
    domain.record("exemption.granted", q, {"project": "p", "finding": "依法依规、勤勉尽责、未谋取不正当利益",
                                           "decision_date": "2026-04-01", "deciding_body": "自治区科技厅"}, refs=[t.seq])
    assert _list(domain, "2026-06-01") == []


def test_amended_period_and_scope_are_shown(domain):
    p = domain.subject(f"cn-rid:{PERSON}", "张小三")
    s = domain.sanction(p, publicity_until="2027-12-31")
    domain.record("sanction.amended", p, {"effective_until": "2026-12-31", "reason": "复议",
                                          "scope": {"benefits": ["honor"], "regions": ["150100"]},
                                          "decision_date": "2026-04-01", "deciding_body": "自治区人社厅"}, refs=[s.seq])
    [item] = _list(domain, "2026-06-01")
    assert item["effective_until"] == "2026-12-31"
    assert item["scope"] == {"benefits": ["honor"], "regions": ["150100"], "programmes": []}


def test_search_by_full_identifier_only(domain):
    build(domain)
    with domain.engine.connect() as conn:
        size, on = log_store.size(conn), date(2026, 6, 1)
        [hit] = search(conn, domain.vault, size, on, parse(f"cn-rid:{ETHNIC}"))
        assert hit["name"] == "乌*·**尔"
        assert search(conn, domain.vault, size, on, parse(f"cn-rid:{ERASED}")) == []
        assert len(search(conn, domain.vault, size, on, parse(f"passport:{FOREIGN}"))) == 1


# --- the routes (no token) ------------------------------------------------------------------

LIST, SEARCH = "/console/api/publicity", "/console/api/publicity/search"


@pytest.fixture
def api(domain):
    from tests.api_support import make_api

    build(domain)
    return make_api(domain)


def test_list_needs_no_token_and_answers_the_exact_key_set(api):
    r = api.client.get(LIST)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert set(body) == {"on", "page", "per_page", "total", "items"}
    assert body["on"] == "2026-01-05"  # FixedClock: 2026-01-05 08:00 UTC is 16:00 in Shanghai
    assert body["total"] == 5
    for item in body["items"]:
        assert set(item) == PUBLIC_FIELDS


def test_the_day_is_shanghai_not_utc(api):
    from datetime import UTC, datetime

    api.ledger.clock.now = datetime(2026, 6, 30, 16, 30, tzinfo=UTC)  # 2026-07-01 00:30 in Shanghai
    names = {i["name"] for i in api.client.get(LIST).json()["items"]}
    assert "张*" not in names  # its publicity ended on 2026-06-30


def test_list_is_paged_and_bounded(api):
    first = api.client.get(LIST, params={"page": 1, "per_page": 2}).json()
    second = api.client.get(LIST, params={"page": 2, "per_page": 2}).json()
    assert len(first["items"]) == 2 and len(second["items"]) == 2 and first["items"] != second["items"]
    assert api.client.get(LIST, params={"per_page": 51}).status_code == 400
    assert api.client.get(LIST, params={"page": "0"}).status_code == 400
    assert api.client.get(LIST, params={"page": "-1"}).status_code == 400


def test_search_route_takes_the_full_identifier_only(api):
    r = api.client.post(SEARCH, json={"identifier": f"cn-rid:{ETHNIC}"})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert [i["name"] for i in r.json()["items"]] == ["乌*·**尔"]
    for partial in (ETHNIC[:6], ETHNIC[:-1], f"cn-rid:{ETHNIC[:10]}", f"cn-rid:{ETHNIC[:-1]}", "乌兰", "乌*·**尔",
                    f"cn-rid:{ETHNIC[:4]}**********{ETHNIC[-4:]}"):
        r = api.client.post(SEARCH, json={"identifier": partial})
        assert r.status_code == 400, partial
        assert "items" not in r.json()
    assert api.client.post(SEARCH, json={"identifier": f"cn-rid:{ERASED}"}).json()["items"] == []


def test_search_is_post_only(api):
    assert api.client.get(SEARCH, params={"identifier": f"cn-rid:{ETHNIC}"}).status_code == 405


def test_no_response_carries_a_full_identifier_or_name(api):
    bodies = [api.client.get(LIST, params={"page": p, "per_page": 2}).text for p in (1, 2, 3)]
    bodies += [api.client.post(SEARCH, json={"identifier": ident}).text for ident in PEOPLE]
    bodies += [api.client.post(SEARCH, json={"identifier": ident[:-1]}).text for ident in PEOPLE]
    assert any("乌*·**尔" in b for b in bodies)
    for text in bodies:
        for ident, name in PEOPLE.items():
            number = ident.partition(":")[2]
            assert number not in text and number.split("/")[-1] not in text
            if "有限公司" not in name:  # organisations' names are public (docs/publicity.md)
                assert name not in text


def test_no_subject_reference_or_seq_in_the_list(api):
    with api.ledger.engine.connect() as conn:
        from sqlalchemy import select

        from ledger.store.schema import subjects
        refs = [r.ref for r in conn.execute(select(subjects.c.ref))]
    text = api.client.get(LIST).text
    assert refs and not any(ref in text for ref in refs)
    assert '"seq"' not in text and '"subject"' not in text


def test_rate_limited_per_client(api):
    from ledger.api.ratelimit import Admission

    api.client.app.state.publicity_admission = Admission(1.0, 3, None, 0, clock=lambda: 0.0)
    codes = [api.client.get(LIST).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 200, 429]
    r = api.client.post(SEARCH, json={"identifier": f"cn-rid:{ETHNIC}"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert r.headers["cache-control"] == "no-store"


def test_the_list_is_built_once_per_tree_size_and_day(api):
    """Every page needs the whole list (it is sorted); an anonymous reader's pages no longer
    rebuild it (fold every state, decrypt every publicised record). A new entry or a new
    day builds it again; nothing built at an older size is served."""
    from datetime import UTC, datetime

    from ledger.console.publicity_routes import list_cache

    first = api.client.get(LIST, params={"page": 1, "per_page": 2}).json()
    api.client.get(LIST, params={"page": 2, "per_page": 2})
    api.client.get(LIST, params={"page": 3, "per_page": 2})
    cache = api.client.app.state.publicity_list
    assert cache.built == 1
    sanctioned = api.ledger.subject("cn-rid:11010519491231002X", "赵六")
    api.ledger.sanction(sanctioned, publicity_until="2026-12-31")
    after = api.client.get(LIST, params={"page": 1, "per_page": 50}).json()
    assert cache.built == 2 and after["total"] == first["total"] + 1
    api.ledger.clock.now = datetime(2026, 1, 6, 8, tzinfo=UTC)
    api.client.get(LIST)
    assert cache.built == 3 and list_cache(api.client) is cache  # a new day, the same size: built again


def test_an_erasure_after_the_list_was_built_is_never_served_from_it(api):
    """Erasure wins (PIPL Art. 47): the erasure appends subject.erased in the transaction that
    erases the vault row, so the next list is built at the new size, without them."""
    from tests.publicity_support import HOHHOT, erase_subject

    ref = api.ledger.subject("cn-rid:150102198506120032", "钱多多")
    # Ended long ago (its retention has run: erasure allowed), yet still within its publicity period.
    api.ledger.sanction(ref, start="2015-01-01", until="2018-12-31", publicity_until="2027-12-31")
    before = api.client.get(LIST, params={"per_page": 50}).json()
    assert "钱*多" in {i["name"] for i in before["items"]}
    erase_subject(api.ledger.engine, api.ledger.keyring, ref, "本人申请", "个人信息保护法第四十七条", "dpo", HOHHOT,
                  api.ledger.clock, vault=api.ledger.vault)
    after = api.client.get(LIST, params={"per_page": 50}).json()
    assert "钱*多" not in {i["name"] for i in after["items"]} and after["total"] == before["total"] - 1
