"""Regression tests for the rules (docs/effects.md): one named test per defect found,
each written from docs/effects.md as the scenario a programme officer met."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest

from ledger.domain import status as st
from ledger.domain.subjects import erase_subject
from ledger.errors import Barred, ValidationError
from tests.conftest import BASIS, HOHHOT, PERSON, PERSON_2, PROGRAMMES

BODY = "自治区人社厅"


def answer(d, subject, on="2026-10-01", benefit="subsidy", region="150102", programme="草原英才", known_at=None):
    return st.eligibility(d.engine, subject, benefit, programme, region, date.fromisoformat(on), known_at)


def correct(d, subject, target):
    return d.record("entry.corrected", subject, {"reason": "录入错误", "deciding_body": BODY}, refs=[target.seq])


def exempt(d, subject, *targets):
    return d.record("exemption.granted", subject, {"project": "项目", "finding": "依法依规、勤勉尽责、未谋取不正当利益",
                                                   "decision_date": "2026-03-01", "deciding_body": BODY},
                    refs=[t.seq for t in targets])


def end(d, subject, sanction, on, reason="credit_repair"):
    return d.record("sanction.ended", subject, {"reason": reason, "ended_on": on, "deciding_body": BODY},
                    refs=[sanction.seq])


def clawback(d, subject, grant, amount, deadline="2026-06-30", decided="2026-04-01"):
    return d.record("clawback.ordered", subject, {"amount_fen": amount, "deadline": deadline, "grounds": "虚假材料",
                                                  "legal_basis": BASIS, "decision_date": decided,
                                                  "deciding_body": BODY}, refs=[grant.seq])


def recover(d, subject, claw, amount, on):
    return d.record("clawback.recovered", subject, {"amount_fen": amount, "recovered_on": on}, refs=[claw.seq])


# --- 1. a correction of any type is applied -------------------------------------------
def test_a_corrected_exemption_bars_again_and_the_award_guard_holds(domain):
    p = domain.subject(PERSON)
    s = domain.sanction(p)
    x = exempt(domain, p, s)
    assert answer(domain, p).answer == "eligible"
    correct(domain, p, x)
    assert answer(domain, p).answer == "barred"
    with pytest.raises(Barred):
        domain.grant(p, on="2026-10-01", region="150102")
    # As the ledger knew it before the correction, the exemption still held.
    assert answer(domain, p, known_at=x.seq + 1).answer == "eligible"


def test_a_corrected_recovery_is_owed_again_and_the_real_one_is_accepted(domain):
    p = domain.subject(PERSON)
    g = domain.grant(p, amount=100_000)
    c = clawback(domain, p, g, 100_000)
    r = recover(domain, p, c, 100_000, "2026-05-01")
    assert st.status(domain.engine, p, date(2026, 7, 1)).clawbacks[0].outstanding_fen == 0
    correct(domain, p, r)
    assert st.status(domain.engine, p, date(2026, 7, 1)).clawbacks[0].outstanding_fen == 100_000
    assert answer(domain, p, on="2026-07-01").answer == "needs_review"
    recover(domain, p, c, 100_000, "2026-07-02")  # refused before the fix: nothing was "outstanding"
    assert answer(domain, p, on="2026-07-03").answer == "eligible"


def test_a_corrected_end_amendment_and_revocation_are_undone(domain):
    p = domain.subject(PERSON)
    s = domain.sanction(p, until="2026-12-31")
    e = end(domain, p, s, "2026-09-01")
    assert answer(domain, p).answer == "eligible"
    correct(domain, p, e)
    assert answer(domain, p).answer == "barred"
    a = domain.record("sanction.amended", p, {"effective_until": "2026-08-31", "reason": "复议", "decision_date": "2026-08-01",
                                             "deciding_body": BODY}, refs=[s.seq])
    assert answer(domain, p).answer == "eligible"
    correct(domain, p, a)
    assert answer(domain, p).answer == "barred"
    h = domain.honor(p, on="2025-03-01")
    rv = domain.record("honor.revoked", p, {"grounds": "g", "legal_basis": BASIS, "decision_date": "2026-03-01",
                                            "deciding_body": BODY}, refs=[h.seq])
    assert [x["status"] for x in st.status(domain.engine, p, date(2026, 10, 1)).honors] == ["revoked"]
    correct(domain, p, rv)
    assert [x["status"] for x in st.status(domain.engine, p, date(2026, 10, 1)).honors] == ["active"]


def test_a_corrected_waiver_is_owed_again(domain):
    p = domain.subject(PERSON)
    g = domain.grant(p, amount=50_000)
    c = clawback(domain, p, g, 50_000)
    w = domain.record("clawback.waived", p, {"amount_fen": 50_000, "reason": "困难", "decision_date": "2026-05-01",
                                             "deciding_body": BODY}, refs=[c.seq])
    assert answer(domain, p, on="2026-07-01").answer == "eligible"
    correct(domain, p, w)
    assert answer(domain, p, on="2026-07-01").answer == "needs_review"


def test_a_correction_of_a_correction_restores_its_target(domain):
    p = domain.subject(PERSON)
    s = domain.sanction(p)
    c1 = correct(domain, p, s)
    assert answer(domain, p).answer == "eligible"
    correct(domain, p, c1)
    assert answer(domain, p).answer == "barred"


# --- 2. ended sanctions can still be voided or exempted; ends combine ----------------------
def test_an_ended_sanction_can_be_corrected_and_exempted(domain):
    p = domain.subject(PERSON)
    s = domain.sanction(p)
    end(domain, p, s, "2026-09-01")
    assert answer(domain, p, on="2026-08-01").answer == "barred"
    correct(domain, p, s)  # refused before the fix: "seq N was already ended"
    assert answer(domain, p, on="2026-08-01").answer == "eligible"
    s2 = domain.sanction(p)
    end(domain, p, s2, "2026-09-01")
    exempt(domain, p, s2)
    assert answer(domain, p, on="2026-08-01").answer == "eligible"


def test_an_earlier_end_recorded_after_a_later_one_takes_effect(domain):
    p = domain.subject(PERSON)
    s = domain.sanction(p)
    end(domain, p, s, "2026-10-01", "credit_repair")
    end(domain, p, s, "2026-06-01", "appeal_upheld")  # refused before the fix
    assert answer(domain, p, on="2026-06-01").answer == "eligible"
    assert answer(domain, p, on="2026-05-31").answer == "barred"


# --- 3. programmes are registered codes -----------------------------------------------------
@pytest.mark.parametrize("spelling", ["草原英才 ", unicodedata.normalize("NFD", "草原英才"), " 草原英才"])
def test_a_programme_bar_applies_to_every_spelling_of_the_code(domain, spelling):
    p = domain.subject(PERSON)
    domain.sanction(p, programmes=["草原英才"])
    assert answer(domain, p, programme=spelling).answer == "barred"
    with pytest.raises(Barred):
        domain.grant(p, on="2026-10-01", region="150102", programme=spelling)


def test_programme_codes_match_ignoring_case(domain):
    from tests.conftest import register_programmes

    register_programmes(domain.engine, domain.keyring, domain.clock, codes=("CYYC",))
    p = domain.subject(PERSON)
    domain.sanction(p, programmes=["CYYC"])
    assert answer(domain, p, programme="cyyc").answer == "barred"


def test_an_unknown_programme_is_refused_in_records_and_questions(domain):
    p = domain.subject(PERSON)
    with pytest.raises(ValidationError) as e:
        domain.grant(p, programme="没有这个计划")
    assert e.value.problems[0].field == "body.programme"
    with pytest.raises(ValidationError) as e:
        domain.sanction(p, programmes=["没有这个计划"])
    assert e.value.problems[0].field == "body.scope.programmes.0"
    with pytest.raises(ValidationError) as e:
        answer(domain, p, programme="没有这个计划")
    assert e.value.problems[0].field == "programme"
    with pytest.raises(ValidationError):
        answer(domain, p, programme="")


def test_a_question_about_every_programme_is_barred_by_any_programme_bar(domain):
    p = domain.subject(PERSON)
    domain.sanction(p, programmes=["鸿雁行动"])
    d = answer(domain, p, programme=None)
    assert d.answer == "barred" and "鸿雁行动" in d.blocking[0].message
    assert answer(domain, p, programme="草原英才").answer == "eligible"


def test_a_registered_code_cannot_be_registered_twice(domain):
    from tests.conftest import programme_drafts, register_programmes

    register_programmes(domain.engine, domain.keyring, domain.clock, codes=("CYYC",))
    again = programme_drafts(codes=("cyyc",))  # another request, the same code up to case
    with pytest.raises(ValidationError) as e:
        domain.append(again)
    assert e.value.problems[0].field == "body.code" and "already registered" in e.value.problems[0].rule
    assert PROGRAMMES[0] == "草原英才"


# --- 4. retired region codes are refused, naming the current code --------------------------
def test_a_retired_region_code_is_refused_in_records_naming_its_successor(domain):
    p = domain.subject(PERSON)
    with pytest.raises(ValidationError) as e:
        domain.sanction(p, regions=["152100"])
    assert e.value.problems[0].field == "body.scope.regions.0" and "150700" in e.value.problems[0].rule
    with pytest.raises(ValidationError) as e:
        domain.grant(p, region="152101")
    assert "150702" in e.value.problems[0].rule


def test_a_retired_region_code_is_refused_in_questions(domain):
    p = domain.subject(PERSON)
    domain.sanction(p, regions=["150700"])
    with pytest.raises(ValidationError) as e:
        answer(domain, p, region="152100")
    assert e.value.problems[0].field == "region" and "150700" in e.value.problems[0].rule
    assert answer(domain, p, region="150702").answer == "barred"


# --- 5. erasure waits for the record to run its course ---------------------------------------
def test_erasure_is_refused_while_an_indefinite_sanction_is_in_force(domain):
    p = domain.subject(PERSON)
    domain.sanction(p, until=None)
    with pytest.raises(ValidationError) as e:
        erase_subject(domain.engine, domain.keyring, p, "申请删除", "个人信息保护法第四十七条", "dpo", HOHHOT, domain.clock)
    assert "in force" in e.value.problems[0].rule


def test_erasure_is_refused_while_money_is_outstanding_and_during_retention(domain):
    p = domain.subject(PERSON)
    g = domain.grant(p, amount=10_000, on="2020-03-01")
    c = clawback(domain, p, g, 10_000, deadline="2020-06-30", decided="2020-04-01")
    with pytest.raises(ValidationError) as e:
        erase_subject(domain.engine, domain.keyring, p, "r", "b", "dpo", HOHHOT, domain.clock)
    assert "outstanding" in e.value.problems[0].rule
    recover(domain, p, c, 10_000, "2022-01-10")  # settled; five years run to 2027-01-10
    with pytest.raises(ValidationError) as e:
        erase_subject(domain.engine, domain.keyring, p, "r", "b", "dpo", HOHHOT, domain.clock)
    assert "2027-01-10" in e.value.problems[0].rule


# --- 6. money counts from its own dates ---------------------------------------------------------
def test_money_recovered_after_the_deadline_was_overdue_before_it_came(domain):
    p = domain.subject(PERSON)
    g = domain.grant(p, amount=200_000)
    c = clawback(domain, p, g, 200_000, deadline="2026-06-30")
    recover(domain, p, c, 200_000, "2026-08-01")
    assert answer(domain, p, on="2026-07-15").answer == "needs_review"  # eligible before the fix
    assert answer(domain, p, on="2026-08-01").answer == "eligible"


def test_a_clawback_does_not_count_before_it_was_decided(domain):
    p = domain.subject(PERSON)
    g = domain.grant(p, amount=200_000)
    clawback(domain, p, g, 200_000, deadline="2026-06-30", decided="2026-04-01")
    d = answer(domain, p, on="2026-03-15")
    assert d.answer == "eligible" and not d.warnings


# --- 6. an unknown but valid identifier: "no record", the same everywhere -----------------
NOBODY = PERSON_2  # valid (GB 11643 check character), never added in these tests


def test_an_unknown_identifier_answers_no_record_in_the_domain(domain):
    from ledger.domain.subjects import lookup

    assert lookup(domain.engine, domain.vault, NOBODY) is None
    d = answer(domain, None)
    assert d.answer == "eligible" and not d.on_record and not d.blocking
    with pytest.raises(ValidationError) as e:  # the question is still checked
        answer(domain, None, region="152100")
    assert e.value.problems[0].field == "region"


def test_an_unknown_identifier_answers_no_record_in_the_api(domain):
    from tests.api_support import make_api

    api = make_api(domain)
    q = """query($s: String!) { eligibility(subject: $s, benefit: subsidy, region: "150102") {
      __typename ... on Eligibility { answer on_record subject } ... on Error { code } } }"""
    e = api.gql("officer", q, s=NOBODY)["eligibility"]
    assert e == {"__typename": "Eligibility", "answer": "eligible", "on_record": False, "subject": None}
    ref = domain.subject(PERSON)
    known = api.gql("officer", q, s=PERSON)["eligibility"]
    assert known == {"__typename": "Eligibility", "answer": "eligible", "on_record": True, "subject": ref}


def test_a_refusal_does_not_reveal_who_is_in_the_vault(domain):
    """Authorisation comes before resolution: a court (for anyone outside its case)
    and an admin (for anyone) get the same Forbidden whether or not the identifier
    is in the vault."""
    from tests.api_support import make_api

    api = make_api(domain)
    domain.subject(PERSON)
    api.court("court_x", [domain.subject("cn-rid:150102198501010010")])
    for field in ("eligibility(subject: $s, benefit: subsidy, region: \"150102\")", "subject(id: $s)",
                  "entries(subject: $s)"):
        q = "query($s: String!) { x: %s { __typename ... on Error { code message } } }" % field
        for who in ("court_x", "admin"):
            seen = {api.gql(who, q, s=s)["x"]["__typename"] for s in (PERSON, NOBODY)}
            assert seen == {"Forbidden"}, (field, who, seen)
