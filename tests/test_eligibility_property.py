"""Property test: the projection-backed eligibility engine agrees with a
reference that replays the log (tests/eligibility_reference.py), for random
histories and random bitemporal questions."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ledger.domain import status
from ledger.domain.vault import Vault
from ledger.errors import InputError
from ledger.store.engine import make_engine
from ledger.store.migrate import upgrade
from tests.conftest import (
    BAOTOU,
    EMPLOYER,
    HOHHOT,
    PERSON,
    REGIONAL,
    DomainLedger,
    FixedClock,
    Store,
    bootstrap,
    make_keyring,
    register_programmes,
)
from tests.eligibility_reference import answer, day

REGIONS = ["150000", "150100", "150200", "150102"]
BENEFITS = ["honor", "subsidy", "talent_project"]
PROGRAMMES = ["草原英才", "鸿雁行动"]
ANSWERS: dict[str, int] = {}  # what the examples exercised (checked below)

op = st.one_of(
    st.tuples(st.just("impose"), st.sampled_from(["p", "o"]), st.integers(0, 300), st.one_of(st.none(), st.integers(0, 400)),
              st.lists(st.sampled_from(BENEFITS), min_size=1, max_size=3, unique=True),
              st.lists(st.sampled_from(REGIONS), min_size=1, max_size=2, unique=True),
              st.lists(st.sampled_from(PROGRAMMES), max_size=1)),
    st.tuples(st.just("amend"), st.integers(0, 10), st.one_of(st.none(), st.integers(0, 500))),
    st.tuples(st.just("end"), st.integers(0, 10), st.integers(0, 400)),
    st.tuples(st.just("correct"), st.integers(0, 10)),
    st.tuples(st.just("exempt"), st.integers(0, 10)),
    st.tuples(st.just("link"), st.integers(0, 200)),
    st.tuples(st.just("clawback"), st.integers(1, 100), st.integers(0, 300), st.integers(0, 120)),
)
question = st.tuples(st.integers(-30, 500), st.sampled_from(BENEFITS), st.sampled_from(PROGRAMMES),
                     st.sampled_from(["150100", "150102", "150200", "152900"]), st.floats(0, 1))


def _play(d: DomainLedger, p: str, o: str, ops) -> None:
    sanctions = []
    for o_ in ops:
        try:
            if o_[0] == "impose":
                _, who, start, length, benefits, regions, programmes = o_
                s = d.sanction(p if who == "p" else o, start=day(start), until=None if length is None else day(start + length),
                               benefits=benefits, regions=regions, programmes=programmes)
                sanctions.append(s)
            elif sanctions and o_[0] in ("amend", "end", "correct", "exempt"):
                s = sanctions[o_[1] % len(sanctions)]
                if o_[0] == "amend":
                    body = {"indefinite": "yes"} if o_[2] is None else {"effective_until": day(o_[2])}
                    d.record("sanction.amended", s.subject, {**body, "reason": "r", "decision_date": day(0),
                                                             "deciding_body": "x"}, refs=[s.seq])
                elif o_[0] == "end":
                    d.record("sanction.ended", s.subject, {"reason": "credit_repair", "ended_on": day(o_[2]),
                                                           "deciding_body": "x"}, refs=[s.seq])
                elif o_[0] == "correct":
                    d.record("entry.corrected", s.subject, {"reason": "r", "deciding_body": "x"}, refs=[s.seq])
                else:
                    d.record("exemption.granted", s.subject, {"project": "p", "finding": "f", "decision_date": day(0),
                                                              "deciding_body": "x"}, refs=[s.seq])
            elif o_[0] == "link":
                d.record("subject.linked", p, {"organisation": o, "relation": "employee", "valid_from": day(o_[1])})
            elif o_[0] == "clawback":
                g = d.grant(p, amount=100, on="2025-06-01", override={"approver": "a", "reason": "r"})
                c = d.record("clawback.ordered", p, {"amount_fen": o_[1], "deadline": day(o_[2]), "grounds": "g",
                                                     "legal_basis": {"article": "a", "document_no": "d"},
                                                     "decision_date": "2025-12-01", "deciding_body": "x"}, refs=[g.seq])
                if o_[3]:
                    d.record("clawback.recovered", p, {"amount_fen": min(o_[3], o_[1]), "recovered_on": day(1)}, refs=[c.seq])
        except InputError:
            pass  # refused by a rule (e.g. amending an ended sanction): the log simply does not change


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(op, max_size=12), questions=st.lists(question, min_size=1, max_size=8))
# Explicit examples, so every answer is exercised on every run (random draws rarely line up a bar).
@example(ops=[("impose", "p", 0, None, BENEFITS, ["150000"], []), ("end", 0, 200)],
         questions=[(10, "subsidy", "草原英才", "150100", 1.0), (250, "subsidy", "草原英才", "150100", 1.0),
                    (10, "subsidy", "草原英才", "150100", 0.0)])
@example(ops=[("link", 0), ("impose", "o", 0, 100, ["subsidy"], ["150100"], ["草原英才"]), ("clawback", 50, 5, 10)],
         questions=[(20, "subsidy", "草原英才", "150102", 1.0), (20, "honor", "草原英才", "150102", 1.0)])
def test_engine_agrees_with_log_replay(tmp_path_factory, ops, questions):
    path = tmp_path_factory.mktemp("prop") / "l.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    ring, clock = make_keyring(), FixedClock()
    bootstrap(engine, ring, clock, (HOHHOT, BAOTOU, REGIONAL))
    register_programmes(engine, ring, clock)
    d = DomainLedger(Store("sqlite", str(path), engine, engine), ring, clock)
    d.vault = Vault(bytes(32))
    p, o = d.subject(PERSON), d.subject(EMPLOYER)
    _play(d, p, o, ops)
    with engine.connect() as conn:
        size = conn.exec_driver_sql("SELECT count(*) FROM entries").scalar()
    for offset, benefit, programme, region, frac in questions:
        on = date.fromisoformat(day(offset))
        known = int(frac * size)
        got = status.eligibility(engine, p, benefit, programme, region, on, known)
        want = answer(engine, known, p, benefit, programme, region, on)
        assert (got.answer, got.blocking_seqs) == want, (on, benefit, programme, region, known)
        ANSWERS[got.answer] = ANSWERS.get(got.answer, 0) + 1
    engine.dispose()


def test_the_examples_exercised_every_answer():
    """Runs after the property test (same module, file order): it must have seen all three answers."""
    if not ANSWERS:
        import pytest

        pytest.skip("run together with test_engine_agrees_with_log_replay")
    assert set(ANSWERS) == {"eligible", "barred", "needs_review"}, ANSWERS
