"""Model-based test of the domain rules (docs/effects.md).

A hypothesis state machine records random sequences of every record type,
including corrections of each type (corrections of corrections too), ends in
any order, amendments, exemptions, links, recoveries and waivers, through the
real append path on a fresh database per example. Before each record it asks
the independent model (tests/rules_model.py) whether the ledger should take
it, and compares; after each step it compares every answer: each subject,
benefit, region, programme (and every programme), several dates, at the
current size and at an earlier one (known-at).

Examples and steps: ``LEDGER_MODEL_EXAMPLES`` (default 12 per engine) and
``LEDGER_MODEL_STEPS`` (default 25); raise them for a longer hunt.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from datetime import date

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text

from ledger.domain import status as ledger_status
from ledger.domain.eligibility import Query, decide
from ledger.domain.facts import facts_of, state_of
from ledger.domain.subjects import add_subject
from ledger.domain.vault import Vault
from ledger.errors import Barred, ValidationError
from ledger.log.append import append_entries
from ledger.log.entry import Draft
from ledger.store import log_store
from ledger.store.engine import make_engine
from ledger.store.migrate import upgrade
from tests.conftest import (
    BAOTOU,
    BASIS,
    EMPLOYER,
    HOHHOT,
    PERSON,
    PERSON_2,
    PG_APP,
    PG_OWNER,
    REGIONAL,
    FixedClock,
    bootstrap,
    make_keyring,
    programme_drafts,
)
from tests.rules_model import Model, Rec, day

EXAMPLES = int(os.environ.get("LEDGER_MODEL_EXAMPLES", "12"))
STEPS = int(os.environ.get("LEDGER_MODEL_STEPS", "25"))
CODES = ("草原英才", "鸿雁行动")
BENEFITS = ("honor", "subsidy", "talent_project")
SCOPE_REGIONS = ("150000", "150100", "150102", "150200", "150700", "152100")  # 152100: retired
ASK_REGIONS = ("150102", "150203", "150702")
DAYS = (0, 59, 120, 181, 240, 300, 365)
BODY = "自治区人社厅"

days = st.sampled_from(DAYS)


class Fresh:
    """A fresh, migrated database for one example."""

    def __init__(self, dialect: str):
        self.dialect, self.cleanup = dialect, []
        if dialect == "sqlite":
            d = tempfile.mkdtemp(prefix="ledger-model-")
            self.engine = make_engine(f"sqlite:///{d}/ledger.db")
            upgrade(self.engine)
            return
        self.schema = f"m_{uuid.uuid4().hex[:12]}"
        self.admin = make_engine(PG_OWNER)
        with self.admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {self.schema}"))
        path = f"?options=-csearch_path%3D{self.schema}"
        owner = make_engine(PG_OWNER + path)
        upgrade(owner, app_role="ledger_app")
        owner.dispose()
        self.engine = make_engine(PG_APP + path)

    def close(self) -> None:
        self.engine.dispose()
        if self.dialect == "postgresql":
            with self.admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {self.schema} CASCADE"))
            self.admin.dispose()


class RulesMachine(RuleBasedStateMachine):
    dialect = "sqlite"  # set per test

    def __init__(self) -> None:
        super().__init__()
        self.db = Fresh(self.dialect)
        self.engine = self.db.engine
        self.ring, self.clock = make_keyring(), FixedClock()
        bootstrap(self.engine, self.ring, self.clock, (HOHHOT, BAOTOU, REGIONAL))
        self.model = Model()
        for e in append_entries(self.engine, programme_drafts(CODES), self.ring, self.clock):
            self.model.add(Rec(e.seq, e.type, None, (), dict(e.body)))
        vault = Vault(bytes(range(32)))
        self.people = [add_subject(self.engine, vault, x, "测试", self.clock)[0] for x in (PERSON, PERSON_2)]
        self.org = add_subject(self.engine, vault, EMPLOYER, "测试单位", self.clock)[0]
        self.n = 0
        self.accepted = 0

    def teardown(self) -> None:
        self.db.close()

    # --- recording through the real append path, judged by the model ------------
    def size(self) -> int:
        with self.engine.connect() as conn:
            return log_store.size(conn)

    def record(self, rtype: str, subject: str, body: dict, refs: tuple[int, ...] = ()) -> None:
        self.n += 1
        expected = self.model.refusal(rtype, subject, refs, body, self.size())
        draft = Draft(rtype, REGIONAL, "officer", subject, refs, f"m-{self.n}", body)
        try:
            e = append_entries(self.engine, [draft], self.ring, self.clock)[0]
        except (ValidationError, Barred) as err:
            assert expected is not None, f"the ledger refused {rtype} {refs} {body}: {err}; the model takes it"
            if expected == "barred":
                assert isinstance(err, Barred), f"want Barred for {rtype}, got {err}"
            return
        assert expected is None, f"the ledger took {rtype} {refs} {body}; the model refuses it ({expected})"
        self.model.add(Rec(e.seq, rtype, subject, refs, body))
        self.accepted += 1

    def seqs(self, *types: str) -> list[tuple[int, str]]:
        return [(r.seq, r.subject) for r in self.model.recs if r.type in types]

    # --- rules ---------------------------------------------------------------------------
    @precondition(lambda self: any(r.subject for r in self.model.recs))
    @rule()
    def correct_the_last_record(self):
        """Corrections of whatever was just recorded: the likeliest way to void an
        exemption, an end, a recovery or another correction right after it."""
        last = next(r for r in reversed(self.model.recs) if r.subject)
        self.record("entry.corrected", last.subject, {"reason": "录入错误", "deciding_body": BODY}, (last.seq,))

    @rule(who=st.integers(0, 2), benefits=st.sets(st.sampled_from(BENEFITS), min_size=1),
          regions=st.lists(st.sampled_from(SCOPE_REGIONS), min_size=1, max_size=2, unique=True),
          programmes=st.sets(st.sampled_from(CODES + ("没有的计划",)), max_size=2), start=days,
          until=st.one_of(st.none(), days))
    def impose(self, who, benefits, regions, programmes, start, until):
        subject = (self.people + [self.org])[who]
        body = {"severity": "serious", "grounds": "g", "legal_basis": BASIS, "deciding_body": BODY,
                "decision_date": day(start).isoformat(), "effective_from": day(start).isoformat(),
                "scope": {"benefits": sorted(benefits), "regions": regions, "programmes": sorted(programmes)}}
        if until is not None:
            body["effective_until"] = day(until).isoformat()
        self.record("sanction.imposed", subject, body)

    @precondition(lambda self: self.seqs("sanction.imposed"))
    @rule(data=st.data(), start=st.one_of(st.none(), days), until=st.one_of(st.none(), days),
          indefinite=st.booleans(), benefits=st.one_of(st.none(), st.sets(st.sampled_from(BENEFITS), min_size=1)))
    def amend(self, data, start, until, indefinite, benefits):
        seq, subject = data.draw(st.sampled_from(self.seqs("sanction.imposed")))
        body: dict = {"reason": "复议", "decision_date": "2026-02-01", "deciding_body": BODY}
        if start is not None:
            body["effective_from"] = day(start).isoformat()
        if indefinite:
            body["indefinite"] = "yes"
        elif until is not None:
            body["effective_until"] = day(until).isoformat()
        if benefits is not None:
            body["scope"] = {"benefits": sorted(benefits), "regions": ["150000"]}
        if len(body) == 3:
            body["effective_from"] = day(0).isoformat()
        self.record("sanction.amended", subject, body, (seq,))

    @precondition(lambda self: self.seqs("sanction.imposed"))
    @rule(data=st.data(), on=days, reason=st.sampled_from(("expiry", "credit_repair", "appeal_upheld")))
    def end(self, data, on, reason):
        seq, subject = data.draw(st.sampled_from(self.seqs("sanction.imposed")))
        self.record("sanction.ended", subject, {"reason": reason, "ended_on": day(on).isoformat(),
                                                "deciding_body": BODY}, (seq,))

    @precondition(lambda self: self.seqs("sanction.imposed", "clawback.ordered"))
    @rule(data=st.data())
    def exempt(self, data):
        seq, subject = data.draw(st.sampled_from(self.seqs("sanction.imposed", "clawback.ordered")))
        self.record("exemption.granted", subject, {"project": "p", "finding": "依法依规", "decision_date": "2026-03-01",
                                                   "deciding_body": BODY}, (seq,))

    @precondition(lambda self: any(r.subject for r in self.model.recs))
    @rule(data=st.data())
    def correct(self, data):
        seq, subject = data.draw(st.sampled_from([(r.seq, r.subject) for r in self.model.recs if r.subject]))
        self.record("entry.corrected", subject, {"reason": "录入错误", "deciding_body": BODY}, (seq,))

    @rule(who=st.integers(0, 1), programme=st.sampled_from(CODES + (" 草原英才",)),
          region=st.sampled_from(ASK_REGIONS + ("152101",)), on=days, override=st.booleans(),
          amount=st.sampled_from((10_000, 50_000)), honour=st.booleans())
    def award(self, who, programme, region, on, override, amount, honour):
        subject = self.people[who]
        body = {"programme": programme, "decision_date": day(on).isoformat(), "region": region}
        if override:
            body["override"] = {"approver": "处长", "reason": "复核后授予"}
        if honour:
            body |= {"title": "t", "level": "regional", "awarding_body": BODY}
            self.record("honor.granted", subject, body)
        else:
            body |= {"kind": "research_funding", "amount_fen": amount, "grant_ref": f"G-{self.n}",
                     "budget_account": "2130101"}
            self.record("subsidy.granted", subject, body)

    @precondition(lambda self: self.seqs("honor.granted"))
    @rule(data=st.data(), on=days)
    def revoke(self, data, on):
        seq, subject = data.draw(st.sampled_from(self.seqs("honor.granted")))
        self.record("honor.revoked", subject, {"grounds": "g", "legal_basis": BASIS,
                                               "decision_date": day(on).isoformat(), "deciding_body": BODY}, (seq,))

    @precondition(lambda self: self.seqs("subsidy.granted"))
    @rule(data=st.data(), amount=st.sampled_from((5_000, 10_000, 40_000)), decided=days,
          grace=st.sampled_from((0, 30, 90)))
    def claw(self, data, amount, decided, grace):
        seq, subject = data.draw(st.sampled_from(self.seqs("subsidy.granted")))
        self.record("clawback.ordered", subject, {
            "amount_fen": amount, "deadline": day(decided + grace).isoformat(), "grounds": "g",
            "legal_basis": BASIS, "decision_date": day(decided).isoformat(), "deciding_body": BODY}, (seq,))

    @precondition(lambda self: self.seqs("clawback.ordered"))
    @rule(data=st.data(), amount=st.sampled_from((2_000, 5_000, 10_000)), on=days, waive=st.booleans())
    def money(self, data, amount, on, waive):
        seq, subject = data.draw(st.sampled_from(self.seqs("clawback.ordered")))
        if waive:
            self.record("clawback.waived", subject, {"amount_fen": amount, "reason": "r",
                                                     "decision_date": day(on).isoformat(), "deciding_body": BODY}, (seq,))
        else:
            self.record("clawback.recovered", subject, {"amount_fen": amount, "recovered_on": day(on).isoformat()}, (seq,))

    @rule(who=st.integers(0, 1), start=days, until=st.one_of(st.none(), days))
    def link(self, who, start, until):
        body = {"organisation": self.org, "relation": "employee", "valid_from": day(start).isoformat()}
        if until is not None and until >= start:
            body["valid_until"] = day(until).isoformat()
        self.record("subject.linked", self.people[who], body)

    # --- every answer agrees with the model --------------------------------------------------
    @invariant()
    def answers_agree(self):
        now = self.size()
        sizes = sorted({now, max(0, now - 1 - self.accepted // 2)})
        with self.engine.connect() as conn:
            for size in sizes:
                for subject in self.people:
                    state = state_of(conn, subject, size)
                    for d in DAYS:
                        on = day(d)
                        facts = facts_of(conn, state, size, on)
                        for benefit in BENEFITS:
                            for region in ASK_REGIONS:
                                for programme in (None,) + CODES:
                                    got = decide(Query(subject, benefit, programme, region, on), facts)
                                    want, why = self.model.answer(subject, benefit, region, programme, on, size)
                                    assert (got.answer, set(got.blocking_seqs)) == (want, why), (
                                        f"{benefit} in {region}, programme {programme}, on {on}, size {size}: "
                                        f"ledger {got.answer} {got.blocking_seqs}, model {want} {sorted(why)}")
        # And once through the public entry point, with its validation.
        d = ledger_status.eligibility(self.engine, self.people[0], "subsidy", None, "150102", day(181))
        assert d.answer == self.model.answer(self.people[0], "subsidy", "150102", None, day(181), d.tree_size)[0]

    @initialize()
    def nothing_recorded_yet(self):
        assert self.model.answer(self.people[0], "subsidy", "150102", None, date(2026, 6, 1), self.size())[0] == "eligible"



@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_rules_agree_with_the_independent_model(dialect):
    if dialect == "postgresql" and not (PG_OWNER and PG_APP):
        pytest.skip("PostgreSQL not configured: run `make test` (sets LEDGER_TEST_PG_*_URL)")
    machine = type(f"RulesMachine_{dialect}", (RulesMachine,), {"dialect": dialect})
    run_state_machine_as_test(machine, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
