"""Jurisdiction in the append path (docs/authorities.md): what an authority may
record is judged under the append lock, at the locked head, for every writer.
Each test is an attack that once succeeded."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ledger.domain import status as st
from ledger.errors import Forbidden
from ledger.store import log_store
from ledger.store.schema import entries
from tests.conftest import BAOTOU, BASIS, EMPLOYER, HOHHOT, PERSON, REGIONAL
from tests.test_concurrency import spawn, stderr_of

BODY = {"severity": "serious", "grounds": "伪造申报材料", "legal_basis": BASIS, "deciding_body": "人社厅",
        "decision_date": "2026-01-01", "effective_from": "2026-01-01"}
END = {"reason": "credit_repair", "ended_on": "2026-02-01", "deciding_body": "包头市人社局"}


def impose(d, subject, regions, authority=REGIONAL):
    return d.record("sanction.imposed", subject, {**BODY, "scope": {"benefits": ["subsidy"], "regions": regions}},
                    authority=authority)


def barred_in_hohhot(d, subject) -> str:
    from datetime import date

    return st.eligibility(d.engine, subject, "subsidy", "草原英才", "150102", date(2026, 6, 1)).answer


def size(d) -> int:
    with d.engine.connect() as conn:
        return log_store.size(conn)


def refused(d, fn) -> None:
    """``fn`` is refused as outside the jurisdiction, and nothing is written."""
    before = size(d)
    with pytest.raises(Forbidden, match="outside the jurisdiction"):
        fn()
    assert size(d) == before


def test_an_amended_scope_binds_later_acts(domain):
    """Regional office scopes a bar to Baotou, then widens it to the region. Baotou
    may then neither narrow it back to itself nor end it: the bar reaches Hohhot."""
    p = domain.subject(PERSON)
    s = impose(domain, p, ["150200"])
    domain.record("sanction.amended", p, {"scope": {"benefits": ["subsidy"], "regions": ["150000"]},
                                          "reason": "扩大范围", "decision_date": "2026-02-01", "deciding_body": "人社厅"},
                  refs=[s.seq])
    refused(domain, lambda: domain.record(
        "sanction.amended", p, {"scope": {"benefits": ["subsidy"], "regions": ["150200"]}, "reason": "缩小",
                                "decision_date": "2026-03-01", "deciding_body": "包头市人社局"},
        refs=[s.seq], authority=BAOTOU))
    refused(domain, lambda: domain.record("sanction.ended", p, END, refs=[s.seq], authority=BAOTOU))
    assert barred_in_hohhot(domain, p) == "barred"


def test_every_version_counts_even_a_voided_one(domain):
    """Narrowing by a voided amendment does not hand the bar to the narrower region."""
    p = domain.subject(PERSON)
    s = impose(domain, p, ["150000"])
    a = domain.record("sanction.amended", p, {"scope": {"benefits": ["subsidy"], "regions": ["150200"]},
                                              "reason": "缩小", "decision_date": "2026-02-01", "deciding_body": "人社厅"},
                      refs=[s.seq])
    domain.record("entry.corrected", p, {"reason": "错误", "deciding_body": "人社厅"}, refs=[a.seq])
    refused(domain, lambda: domain.record("sanction.ended", p, END, refs=[s.seq], authority=BAOTOU))


def test_acts_on_acts_reach_what_they_acted_on(domain):
    """Baotou may not exempt a Hohhot bar, nor void Hohhot's exemption or end of it."""
    p = domain.subject(PERSON)
    s = impose(domain, p, ["150100"], authority=HOHHOT)
    exemption = {"project": "项目", "finding": "依法依规、勤勉尽责、未谋取不正当利益", "decision_date": "2026-03-01",
                 "deciding_body": "包头市人社局"}
    refused(domain, lambda: domain.record("exemption.granted", p, exemption, refs=[s.seq], authority=BAOTOU))
    ended = domain.record("sanction.ended", p, {**END, "deciding_body": "呼和浩特市人社局"}, refs=[s.seq],
                          authority=HOHHOT)
    refused(domain, lambda: domain.record("entry.corrected", p, {"reason": "x", "deciding_body": "包头"},
                                          refs=[ended.seq], authority=BAOTOU))
    # Within its own region an authority acts freely.
    domain.record("entry.corrected", p, {"reason": "结束有误", "deciding_body": "呼和浩特市人社局"}, refs=[ended.seq],
                  authority=HOHHOT)
    assert barred_in_hohhot(domain, p) == "barred"


def test_a_link_reaches_where_the_organisation_is_barred(domain):
    """Baotou may not link a person to an employer barred in Hohhot (it would turn
    the person's Hohhot answer to needs review), nor void such a link."""
    p, org = domain.subject(PERSON), domain.subject(EMPLOYER)
    impose(domain, org, ["150100"], authority=HOHHOT)
    link = {"organisation": org, "relation": "employee", "valid_from": "2025-01-01"}
    refused(domain, lambda: domain.record("subject.linked", p, link, authority=BAOTOU))
    assert barred_in_hohhot(domain, p) == "eligible"
    made = domain.record("subject.linked", p, link, authority=HOHHOT)
    assert barred_in_hohhot(domain, p) == "needs_review"
    refused(domain, lambda: domain.record("entry.corrected", p, {"reason": "x", "deciding_body": "包头"},
                                          refs=[made.seq], authority=BAOTOU))


def test_a_city_cannot_bar_the_region_or_register_its_programme(domain):
    p = domain.subject(PERSON)
    refused(domain, lambda: impose(domain, p, ["150000"], authority=HOHHOT))
    refused(domain, lambda: impose(domain, p, ["150100", "150200"], authority=HOHHOT))
    from tests.conftest import programme_drafts

    refused(domain, lambda: domain.append(programme_drafts(("新计划",), authority=HOHHOT)))


@pytest.mark.slow
def test_naming_a_seq_before_it_exists_does_not_skip_the_check(domain):
    """The race: Baotou processes keep sending sanction.ended with ref = the next
    seq while a Hohhot process imposes 150100-only bars. The check runs under the
    lock on the entry as written, so every such end is refused (both engines)."""
    p = domain.subject(PERSON)
    enders = [spawn(domain.store.url, "end", p, "6") for _ in range(3)]
    imposer = spawn(domain.store.url, "impose", p, "30")
    out, _ = imposer.communicate(timeout=240)
    assert imposer.returncode == 0, stderr_of(imposer)
    tallies = []
    for e in enders:
        line, _ = e.communicate(timeout=240)
        assert e.returncode == 0, stderr_of(e)
        tallies.append(line.strip())
    assert any("Forbidden=" in t for t in tallies), tallies  # the race was run: some refs hit a Hohhot bar
    with domain.engine.connect() as conn:
        ends = conn.execute(select(entries.c.seq).where(entries.c.type == "sanction.ended")).all()
    assert ends == [], tallies
    assert barred_in_hohhot(domain, p) == "barred"
