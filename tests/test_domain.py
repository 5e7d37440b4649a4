"""Scenario tests for the domain's rules: each reads as the story it checks."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.domain import status as st
from ledger.domain import vault_store
from ledger.domain.subjects import erase_subject, resolve
from ledger.errors import Barred, NotFound, ValidationError
from ledger.log.reindex import reindex, snapshot
from ledger.log.verify import verify_log
from tests.conftest import BASIS, EMPLOYER, HOHHOT, OLD_LEAGUE_PERSON, PERSON, PERSON_2, PROGRAMMES, REGIONAL


def check(d, subject, on="2026-06-01", benefit="subsidy", region="150100", programme="草原英才", known_at=None):
    return st.eligibility(d.engine, subject, benefit, programme, region, date.fromisoformat(on), known_at)


def test_a_clean_subject_is_eligible(domain):
    p = domain.subject(PERSON)
    decision = check(domain, p)
    assert decision.answer == "eligible" and decision.blocking == () and decision.tree_size == 7 + len(PROGRAMMES)  # genesis, three authorities with a key each


def test_a_sanction_bars_within_its_period_scope_and_region_hierarchy(domain):
    p = domain.subject(PERSON)
    s = domain.sanction(p, start="2026-02-01", until="2026-12-31", benefits=["subsidy"], regions=["150100"])
    assert check(domain, p).answer == "barred"
    assert check(domain, p).blocking_seqs == [s.seq]
    reason = check(domain, p).blocking[0]
    assert reason.legal_basis == BASIS and reason.period == ("2026-02-01", "2026-12-31")
    assert check(domain, p, region="150102").answer == "barred"  # a county inside 呼和浩特市
    assert check(domain, p, region="150200").answer == "eligible"  # 包头市: outside the scope
    assert check(domain, p, benefit="honor").answer == "eligible"  # another benefit
    assert check(domain, p, on="2026-01-31").answer == "eligible"  # before it took effect
    assert check(domain, p, on="2027-01-01").answer == "eligible"  # after it expired


def test_a_region_wide_sanction_covers_every_league(domain):
    p = domain.subject(PERSON)
    domain.sanction(p, regions=["150000"])
    for region in ("150100", "150700", "152900", "150603"):
        assert check(domain, p, region=region).answer == "barred"


def test_programme_scope(domain):
    p = domain.subject(PERSON)
    domain.sanction(p, programmes=["鸿雁行动"])
    assert check(domain, p, programme="鸿雁行动").answer == "barred"
    assert check(domain, p, programme="草原英才").answer == "eligible"


def test_indefinite_sanction_and_its_lift_by_credit_repair(domain):
    p = domain.subject(PERSON)
    s = domain.sanction(p, until=None)
    assert check(domain, p, on="2040-01-01").answer == "barred"
    end = domain.record("sanction.ended", p, {"reason": "credit_repair", "ended_on": "2026-09-01",
                                              "deciding_body": "自治区人社厅"}, refs=[s.seq])
    assert check(domain, p, on="2026-08-31").answer == "barred"  # the lift is not retroactive
    assert check(domain, p, on="2026-09-01").answer == "eligible"
    # As the ledger knew it before the lift was recorded: still barred on 2026-10-01.
    assert check(domain, p, on="2026-10-01", known_at=end.seq).answer == "barred"
    # A later end does not move the end back (the earliest effective end counts) ...
    domain.record("sanction.ended", p, {"reason": "expiry", "ended_on": "2026-10-01", "deciding_body": "x"}, refs=[s.seq])
    assert check(domain, p, on="2026-09-01").answer == "eligible"
    # ... and an earlier one, recorded later (an appeal upheld, back-dated), brings it forward.
    domain.record("sanction.ended", p, {"reason": "appeal_upheld", "ended_on": "2026-06-01", "deciding_body": "法院"},
                  refs=[s.seq])
    assert check(domain, p, on="2026-06-01").answer == "eligible"
    assert check(domain, p, on="2026-05-31").answer == "barred"


def test_a_correction_voids_from_the_start_unlike_a_lift(domain):
    p = domain.subject(PERSON)
    s = domain.sanction(p)
    c = domain.record("entry.corrected", p, {"reason": "recorded against the wrong person", "deciding_body": "x"}, refs=[s.seq])
    assert check(domain, p, on="2026-03-01").answer == "eligible"  # void on every date …
    assert check(domain, p, on="2026-03-01", known_at=c.seq).answer == "barred"  # … as known after the correction


def test_amendment_changes_period_and_scope_bitemporally(domain):
    p = domain.subject(PERSON)
    s = domain.sanction(p, until="2026-06-30", regions=["150100"])
    a = domain.record("sanction.amended", p, {"effective_until": "2026-12-31", "scope": {
        "benefits": ["subsidy"], "regions": ["150000"]}, "reason": "复核延长", "decision_date": "2026-06-15",
        "deciding_body": "自治区人社厅"}, refs=[s.seq])
    assert check(domain, p, on="2026-09-01", region="150200").answer == "barred"
    assert check(domain, p, on="2026-09-01", region="150200", known_at=a.seq).answer == "eligible"
    with pytest.raises(ValidationError) as e:
        domain.record("sanction.amended", p, {"reason": "x", "decision_date": "2026-07-01", "deciding_body": "x"}, refs=[s.seq])
    assert "must change" in str(e.value)
    with pytest.raises(ValidationError) as e:
        domain.record("sanction.amended", p, {"effective_until": "2025-01-01", "reason": "x", "decision_date": "2026-07-01",
                                              "deciding_body": "x"}, refs=[s.seq])
    assert "before" in str(e.value)


def test_known_at_before_the_sanction_was_recorded(domain):
    p = domain.subject(PERSON)
    size_before = check(domain, p).tree_size
    domain.sanction(p, start="2026-01-01")
    assert check(domain, p, on="2026-05-01").answer == "barred"
    assert check(domain, p, on="2026-05-01", known_at=size_before).answer == "eligible"


def test_exemption_neutralises_and_says_so(domain):
    p = domain.subject(PERSON)
    s = domain.sanction(p)
    x = domain.record("exemption.granted", p, {"project": "稀土新材料中试", "finding": "依法依规、勤勉尽责、未谋取不正当利益",
                                               "decision_date": "2026-04-01", "deciding_body": "自治区科技厅"}, refs=[s.seq])
    decision = check(domain, p)
    assert decision.answer == "eligible" and decision.blocking == ()
    assert [(w.kind, w.seq) for w in decision.warnings] == [("exemption_applied", s.seq)]
    assert str(x.seq) in decision.warnings[0].message


def test_award_guard_refuses_barred_subject_atomically_and_records_an_override(domain):
    p = domain.subject(PERSON)
    s = domain.sanction(p, start="2026-01-01", until="2026-12-31")
    size = check(domain, p).tree_size
    with pytest.raises(Barred) as e:
        domain.grant(p, on="2026-05-01")
    assert e.value.blocking == [s.seq] and e.value.code == "barred"
    with pytest.raises(Barred):
        domain.honor(p, on="2026-05-01")
    assert check(domain, p).tree_size == size  # nothing written
    ok = domain.grant(p, on="2027-02-01")  # after the period: fine
    overridden = domain.grant(p, on="2026-05-02", override={"approver": "王局长", "reason": "法院裁定暂停执行"})
    assert overridden.body["override"]["approver"] == "王局长" and ok.seq < overridden.seq


def test_award_guard_sees_a_sanction_earlier_in_the_same_batch(domain):
    from ledger.log.entry import Draft

    p = domain.subject(PERSON)
    sanction = Draft("sanction.imposed", REGIONAL, "o", p, (), "b-s", {
        "severity": "serious", "grounds": "g", "legal_basis": BASIS, "deciding_body": "x", "decision_date": "2026-01-01",
        "effective_from": "2026-01-01", "scope": {"benefits": ["honor"], "regions": ["150000"]}})
    honor = Draft("honor.granted", HOHHOT, "o", p, (), "b-h", {
        "title": "t", "level": "regional", "programme": "草原英才", "awarding_body": "x", "decision_date": "2026-02-01",
        "region": "150100"})
    size = check(domain, p).tree_size
    with pytest.raises(Barred):
        domain.append([sanction, honor])
    assert check(domain, p).tree_size == size  # all or nothing


def test_clawback_money_rules(domain):
    p = domain.subject(PERSON)
    g1, g2 = domain.grant(p, amount=100_000), domain.grant(p, amount=50_000)
    with pytest.raises(ValidationError) as e:
        domain.record("clawback.ordered", p, _clawback(150_001), refs=[g1.seq, g2.seq])
    assert "body.amount_fen" in str(e.value) and "150000 fen" in str(e.value)
    c = domain.record("clawback.ordered", p, _clawback(120_000), refs=[g1.seq, g2.seq])
    with pytest.raises(ValidationError):  # only 30,000 left claimable on these grants
        domain.record("clawback.ordered", p, _clawback(30_001), refs=[g1.seq])
    domain.record("clawback.recovered", p, {"amount_fen": 20_000, "recovered_on": "2026-05-01"}, refs=[c.seq])
    domain.record("clawback.waived", p, {"amount_fen": 10_000, "reason": "困难减免", "decision_date": "2026-05-02",
                                         "deciding_body": "x"}, refs=[c.seq])
    with pytest.raises(ValidationError) as e:
        domain.record("clawback.recovered", p, {"amount_fen": 90_001, "recovered_on": "2026-05-03"}, refs=[c.seq])
    assert "exceeds the 90000 fen outstanding" in str(e.value)
    # Before the deadline: a warning; after it: needs review.
    early = check(domain, p, on="2026-06-01")
    assert early.answer == "eligible" and early.warnings[0].kind == "clawback_outstanding"
    late = check(domain, p, on="2026-09-01")
    assert late.answer == "needs_review" and late.blocking[0].amount_fen == 90_000
    domain.record("clawback.recovered", p, {"amount_fen": 90_000, "recovered_on": "2026-09-02"}, refs=[c.seq])
    assert check(domain, p, on="2026-09-03").answer == "eligible"


def _clawback(amount):
    return {"amount_fen": amount, "deadline": "2026-08-31", "grounds": "虚报材料", "legal_basis": BASIS,
            "decision_date": "2026-04-01", "deciding_body": "自治区人社厅"}


def test_revoking_an_honour_and_refs_must_match(domain):
    p, q = domain.subject(PERSON), domain.subject(PERSON_2)
    h = domain.honor(p)
    body = {"grounds": "弄虚作假", "legal_basis": {"article": "条例第六十五条", "document_no": "x"},
            "decision_date": "2026-07-01", "deciding_body": "自治区人民政府"}
    with pytest.raises(ValidationError) as e:
        domain.record("honor.revoked", q, body, refs=[h.seq])
    assert "another subject" in str(e.value)
    domain.record("honor.revoked", p, body, refs=[h.seq])
    with pytest.raises(ValidationError) as e:
        domain.record("honor.revoked", p, body, refs=[h.seq])
    assert "already revoked" in str(e.value)
    s = st.status(domain.engine, p, date(2026, 8, 1))
    assert s.honors[0]["status"] == "revoked"


def test_grant_ref_is_unique_after_trimming_and_case_folding(domain):
    p = domain.subject(PERSON)
    domain.grant(p, ref="NMG-2026-0001")
    with pytest.raises(ValidationError) as e:
        domain.grant(p, ref="nmg-2026-0001")
    assert "body.grant_ref" in str(e.value)


def test_employer_sanction_means_review_not_bar(domain):
    p, org = domain.subject(PERSON), domain.subject(EMPLOYER, "某某稀土科技有限公司")
    domain.record("subject.linked", p, {"organisation": org, "relation": "employee", "valid_from": "2025-01-01"})
    domain.sanction(org)
    assert check(domain, org).answer == "barred"
    d = check(domain, p)
    assert d.answer == "needs_review" and d.blocking[0].kind == "employer_sanction"


def test_unknown_subject_and_bad_dates_are_refused(domain):
    with pytest.raises(ValidationError) as e:
        domain.sanction("a" * 64)
    assert "not a subject in the vault" in str(e.value)
    p = domain.subject(PERSON)
    with pytest.raises(ValidationError) as e:
        domain.sanction(p, start="2026-05-01", until="2026-04-01")
    assert "body.effective_until" in str(e.value)
    with pytest.raises(ValidationError) as e:
        domain.sanction(p, start="2026-02-30")
    assert "real calendar date" in str(e.value)
    with pytest.raises(ValidationError) as e:
        domain.grant(p, amount=-5)
    assert "body.amount_fen" in str(e.value)


def test_erasure_keeps_the_log_verifiable_and_forgets_the_person(domain):
    p = domain.subject(OLD_LEAGUE_PERSON, "张三")
    with domain.engine.connect() as conn:
        assert vault_store.reveal(conn, domain.vault, p).name == "张三"
    s = domain.sanction(p, start="2015-01-01", until="2019-12-31")  # ended, and its five years have run
    e = erase_subject(domain.engine, domain.keyring, p, "保存期限届满", "个人信息保护法第四十七条", "dpo",
                      HOHHOT, domain.clock)
    assert e.signer == domain.keyring.log.name
    with pytest.raises(NotFound):
        resolve(domain.engine, domain.vault, OLD_LEAGUE_PERSON)
    with pytest.raises(NotFound), domain.engine.connect() as conn:
        vault_store.reveal(conn, domain.vault, p)
    with pytest.raises(ValidationError):
        domain.grant(p)
    verify_log(domain.engine, workers=1)
    from ledger.log.merkle_verify import verify_inclusion
    from ledger.log.tree import inclusion_path as inclusion_proof
    from ledger.log.tree import tree_root as tree_root

    with domain.engine.connect() as conn:
        size = e.seq + 1
        verify_inclusion(s.seq, size, s.leaf_hash, inclusion_proof(conn, s.seq, size), tree_root(conn, size))
    # Re-adding the same person later gives a new, unlinkable reference.
    assert domain.subject(OLD_LEAGUE_PERSON) != p


def test_reindex_rebuilds_exactly_the_live_projections(domain):
    p, q, org = domain.subject(PERSON), domain.subject(PERSON_2), domain.subject(EMPLOYER)
    s = domain.sanction(p, until=None)
    domain.record("sanction.amended", p, {"effective_until": "2028-01-01", "reason": "r", "decision_date": "2026-03-01",
                                          "deciding_body": "x"}, refs=[s.seq])
    g = domain.grant(q)
    c = domain.record("clawback.ordered", q, _clawback(1000), refs=[g.seq])
    domain.record("clawback.recovered", q, {"amount_fen": 400, "recovered_on": "2026-05-01"}, refs=[c.seq])
    domain.record("subject.linked", q, {"organisation": org, "relation": "employee", "valid_from": "2025-01-01"})
    domain.record("entry.corrected", q, {"reason": "r", "deciding_body": "x"}, refs=[c.seq])
    with domain.engine.connect() as conn:
        live = snapshot(conn)
    reindex(domain.engine)
    with domain.engine.connect() as conn:
        assert snapshot(conn) == live
    assert sum(len(v) for v in live.values()) > 8
