"""The rules judged set-based per batch (decision 0022): facts loaded for the whole
batch in a few statements, projection rows written once per table at flush. A
later draft of one batch must see the earlier ones exactly as when they arrive in
batches of one, and the rows written must be the rows the log makes."""

from __future__ import annotations

import random
from datetime import date

import pytest
from sqlalchemy import event

from ledger.demo.region import person_id
from ledger.domain import facts, projection_check
from ledger.domain import status as st
from ledger.domain.state import SubjectState
from ledger.errors import Barred, ValidationError
from ledger.log.entry import Draft
from ledger.store import log_store
from tests.conftest import BASIS, EMPLOYER, PERSON, PERSON_2, REGIONAL

BODY = "自治区人社厅"
PEOPLE = [person_id(random.Random(i), "150100") for i in range(6)]  # check-valid identity numbers


class Batch:
    """Drafts for one append; ``add`` returns the seq the draft will get."""

    def __init__(self, d, tag: str) -> None:
        with d.engine.connect() as conn:
            self.base = log_store.size(conn)
        self.drafts: list[Draft] = []
        self.tag = tag

    def add(self, type_: str, subject: str, body: dict, refs=()) -> int:
        seq = self.base + len(self.drafts)
        self.drafts.append(Draft(type_, REGIONAL, "officer-1", subject, tuple(refs), f"{self.tag}-{seq}", body))
        return seq


def grant(b: Batch, subject: str, ref: str, on: str = "2026-03-01", amount: int = 100_000) -> int:
    return b.add("subsidy.granted", subject, {"programme": "草原英才", "kind": "research_funding", "amount_fen": amount,
                                              "grant_ref": ref, "budget_account": "2130101", "decision_date": on,
                                              "region": "150100"})


def sanction(b: Batch, subject: str, start: str = "2026-01-01", until: str = "2027-12-31") -> int:
    return b.add("sanction.imposed", subject, {
        "severity": "serious", "grounds": "伪造申报材料", "legal_basis": BASIS, "deciding_body": BODY,
        "decision_date": start, "effective_from": start, "effective_until": until,
        "scope": {"benefits": ["honor", "subsidy", "talent_project"], "regions": ["150000"], "programmes": []}})


def story(b: Batch, p: str, org: str) -> None:
    """Every kind of act, each on an entry of the same batch."""
    g1 = grant(b, p, f"NMG-{b.tag}-{p[-4:]}-1", on="2025-03-01")
    g2 = grant(b, p, f"NMG-{b.tag}-{p[-4:]}-2", on="2025-04-01")
    c = b.add("clawback.ordered", p, {"amount_fen": 150_000, "deadline": "2026-06-30", "grounds": "虚假材料",
                                      "legal_basis": BASIS, "decision_date": "2026-02-01", "deciding_body": BODY},
              [g1, g2])
    b.add("clawback.recovered", p, {"amount_fen": 50_000, "recovered_on": "2026-03-01"}, [c])
    b.add("clawback.waived", p, {"amount_fen": 20_000, "reason": "减免", "decision_date": "2026-03-02",
                                 "deciding_body": BODY}, [c])
    s = sanction(b, p)
    b.add("sanction.amended", p, {"effective_until": "2028-06-30", "reason": "复核", "decision_date": "2026-02-01",
                                  "deciding_body": BODY}, [s])
    b.add("sanction.amended", p, {"scope": {"benefits": ["subsidy"], "regions": ["150100"]}, "reason": "复核",
                                  "decision_date": "2026-02-02", "deciding_body": BODY}, [s])
    b.add("sanction.ended", p, {"reason": "credit_repair", "ended_on": "2026-09-01", "deciding_body": BODY}, [s])
    s2 = sanction(b, p, "2026-02-01", "2026-12-31")
    b.add("entry.corrected", p, {"reason": "录入错误", "deciding_body": BODY}, [s2])
    b.add("subject.linked", p, {"organisation": org, "relation": "employee", "valid_from": "2020-01-01"})


def test_a_whole_history_in_one_batch_ends_as_it_does_one_entry_per_batch(domain):
    org = domain.subject(EMPLOYER)
    people = [domain.subject(i) for i in PEOPLE[:4]]
    batched = Batch(domain, "one")
    for p in people[:2]:
        story(batched, p, org)
    entries = domain.append(batched.drafts)
    assert [e.seq for e in entries] == list(range(batched.base, batched.base + len(batched.drafts)))
    singles = Batch(domain, "single")
    for p in people[2:]:
        story(singles, p, org)
    for d in singles.drafts:  # the same stories, each draft its own batch: the same seqs relative to base
        domain.append([d])
    with domain.engine.connect() as conn:
        # Every row written at flush is the row the log makes (the night's check).
        assert projection_check.check(conn, log_store.size(conn)) > 0
    for one, single in ((people[0], people[2]), (people[1], people[3])):
        for on in (date(2026, 1, 15), date(2026, 5, 1), date(2026, 10, 1)):
            a, b = st.status(domain.engine, one, on), st.status(domain.engine, single, on)
            assert [c.outstanding_fen for c in a.clawbacks] == [c.outstanding_fen for c in b.clawbacks]
            for benefit in ("honor", "subsidy", "talent_project"):
                for region in ("150102", "150202"):
                    x = st.eligibility(domain.engine, one, benefit, "草原英才", region, on)
                    y = st.eligibility(domain.engine, single, benefit, "草原英才", region, on)
                    assert x.answer == y.answer
                    assert len(x.blocking) == len(y.blocking)


def test_a_grant_ref_taken_earlier_in_the_same_batch_is_refused_and_nothing_is_written(domain):
    p, q = domain.subject(PERSON), domain.subject(PERSON_2)
    b = Batch(domain, "dup")
    first = grant(b, p, "NMG-DUP-1")
    grant(b, q, "nmg-dup-1")  # case-folded, it is the same ref
    with pytest.raises(ValidationError) as err:
        domain.append(b.drafts)
    assert err.value.problems[0].field == "body.grant_ref"
    assert f"seq {first}" in err.value.problems[0].rule
    with domain.engine.connect() as conn:
        assert log_store.size(conn) == b.base
    # And one taken by an earlier batch is refused too.
    domain.grant(p, ref="NMG-DUP-2")
    with pytest.raises(ValidationError, match="already used"):
        domain.grant(q, ref="nmg-dup-2")


def test_a_sanction_earlier_in_the_batch_bars_a_later_grant_and_an_employer_link_reaches_the_person(domain):
    p, q, org = domain.subject(PERSON), domain.subject(PERSON_2), domain.subject(EMPLOYER)
    b = Batch(domain, "bar")
    sanction(b, p)
    grant(b, p, "NMG-BAR-1")
    with pytest.raises(Barred):
        domain.append(b.drafts)
    b = Batch(domain, "link")
    sanction(b, org)
    b.add("subject.linked", q, {"organisation": org, "relation": "employee", "valid_from": "2020-01-01"})
    with domain.engine.connect() as conn:
        assert log_store.size(conn) == b.base  # nothing of the barred batch was written
    # An employer's bar is for review, not a refusal (eligibility: employer_sanction), as
    # when the link is in the batch before: the grant's decision date is after both.
    domain.append(b.drafts)
    answer = st.eligibility(domain.engine, q, "subsidy", "草原英才", "150102", date(2026, 3, 1))
    assert answer.answer == "needs_review"
    assert [r.kind for r in (*answer.blocking, *answer.warnings)] == ["employer_sanction"]
    with domain.engine.connect() as conn:
        assert projection_check.check(conn, log_store.size(conn)) > 0


def test_an_erasure_earlier_in_the_batch_refuses_a_later_record_of_that_subject(domain):
    p = domain.subject(PERSON)
    b = Batch(domain, "erase")
    gone = b.add("subject.erased", p, {"reason": "申请删除", "legal_basis": "个人信息保护法第四十七条"})
    grant(b, p, "NMG-ERASED-1")
    with pytest.raises(ValidationError) as err:
        domain.append(b.drafts)
    assert err.value.problems[0].field == "subject"
    assert f"erased at seq {gone}" in err.value.problems[0].rule


def _statements(domain, drafts) -> int:
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(domain.engine, "before_cursor_execute", count)
    try:
        domain.append(drafts)
    finally:
        event.remove(domain.engine, "before_cursor_execute", count)
    return len(seen)


def test_the_statements_per_batch_do_not_grow_with_its_grants(domain):
    """Before decision 0022 each grant cost its own statements (vault row, state,
    grant ref, row insert): a batch of 6 grants took more than one of 2."""
    subjects = [domain.subject(i) for i in PEOPLE]
    small, large = Batch(domain, "small"), None
    for i, p in enumerate(subjects[:2]):
        grant(small, p, f"NMG-S-{i}")
    few = _statements(domain, small.drafts)
    large = Batch(domain, "large")
    for i, p in enumerate(subjects):
        grant(large, p, f"NMG-L-{i}")
    many = _statements(domain, large.drafts)
    assert many == few


def test_a_subject_state_kept_current_entry_by_entry_equals_a_fresh_fold_at_every_step(domain):
    """``SubjectState.add`` drops only the views an entry's type affects (decision 0022):
    after every entry of a history with every kind of act, corrections included, each
    view read from the kept state equals the view of a state folded afresh."""
    org = domain.subject(EMPLOYER)
    p = domain.subject(PERSON)
    b = Batch(domain, "fold")
    story(b, p, org)
    x = sanction(b, p, "2026-03-01", "2026-04-30")
    b.add("exemption.granted", p, {"project": "项目", "finding": "依法依规、勤勉尽责、未谋取不正当利益",
                                   "decision_date": "2026-03-05", "deciding_body": BODY}, [x])
    h = b.add("honor.granted", p, {"title": "草原英才", "level": "regional", "programme": "草原英才",
                                   "awarding_body": "自治区人民政府", "decision_date": "2025-06-01", "region": "150100"})
    b.add("honor.revoked", p, {"grounds": "弄虚作假", "legal_basis": BASIS, "decision_date": "2026-06-01",
                               "deciding_body": BODY}, [h])
    fix = b.add("entry.corrected", p, {"reason": "录入错误", "deciding_body": BODY}, [x])
    b.add("entry.corrected", p, {"reason": "更正有误", "deciding_body": BODY}, [fix])
    domain.append(b.drafts)
    with domain.engine.connect() as conn:
        history = facts.state_of(conn, p, log_store.size(conn)).entries
    assert len(history) == len(b.drafts)
    kept = SubjectState(p)
    for i, e in enumerate(history):
        kept.add(e)
        fresh = SubjectState(p, list(history[:i + 1]))
        assert kept.voids == fresh.voids
        assert kept.sanctions() == fresh.sanctions()
        assert kept.clawbacks() == fresh.clawbacks()
        assert kept.awards("subsidy.granted") == fresh.awards("subsidy.granted")
        assert kept.awards("honor.granted") == fresh.awards("honor.granted")
        assert kept.links() == fresh.links()
        assert kept.by_seq(e.seq) is e
