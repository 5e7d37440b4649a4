"""Nights reproducible across vault changes (decision 0019), on SQLite and
PostgreSQL: a subject added to the vault after a night (which appends nothing
to the log) does not change that night; an erased subject's payments are
``payee_erased``, the same every night, and a re-run of a night anchored before
the erasure is refused naming the erasure, never silently re-anchored."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ledger.domain.subjects import erase_subject
from ledger.errors import AnchorMismatch
from ledger.finance import job as reconcile
from tests.conftest import HOHHOT, PERSON, PERSON_2
from tests.test_reconcile_service import write

NOW = datetime(2026, 2, 10, 9, tzinfo=UTC)  # every as-of date below is over
NIGHT = date(2026, 1, 20)
LATER = datetime(2026, 1, 25, 3, tzinfo=UTC)  # 11:00 in Beijing, on the 25th
PAYMENTS = ("T1,payment,,NMG-A-1,cn-rid,150102199001010019,5000000,2026-01-05,草原英才",
            "T2,payment,,NMG-A-1,cn-rid,152201198006150025,1000000,2026-01-06,草原英才")


@pytest.fixture
def paid(domain, tmp_path):
    """A grant to PERSON, paid once to PERSON and once to PERSON_2, who is not in the vault."""
    p = domain.subject(PERSON)
    g = domain.grant(p, amount=100_000_00, ref="NMG-A-1", on="2026-01-02")
    return {"p": p, "grant": g, "src": write(tmp_path / "f.csv", *PAYMENTS), "out": tmp_path / "out"}


def night(domain, f, as_of=NIGHT):
    return reconcile.run(domain.engine, domain.keyring, domain.vault, f["src"], as_of, f["out"], domain.clock, now=NOW)


def of_kind(outcome, kind):
    return [f for f in outcome.report["findings"] if f["kind"] == kind]


def test_a_subject_added_after_the_night_does_not_change_it(domain, paid):
    first = night(domain, paid)
    [t2] = of_kind(first, "payee_mismatch")
    assert t2["txn_id"] == "T2" and "a payee not in the vault" in t2["message"]
    domain.clock.now = LATER
    domain.subject(PERSON_2)  # appends nothing to the log
    again = night(domain, paid)
    assert again.report_sha256 == first.report_sha256 and again.entry.seq == first.entry.seq
    assert reconcile._holds(paid["out"] / f"reconciliation-{NIGHT}", first.report_sha256)
    # A night whose day ended after the addition does see the subject: the cut-off is what kept the first.
    later = night(domain, paid, as_of=date(2026, 1, 25))
    [t2_later] = of_kind(later, "payee_mismatch")
    assert "went to subject" in t2_later["message"] and "not in the vault" not in t2_later["message"]


def erase(domain, ref):
    domain.clock.now = LATER
    return erase_subject(domain.engine, domain.keyring, ref, "本人申请", "个人信息保护法第四十七条", "dpo", HOHHOT,
                         domain.clock)


def test_an_erased_subjects_payments_are_payee_erased_the_same_every_night(domain, paid):
    e = erase(domain, paid["p"])
    one, two = night(domain, paid, date(2026, 1, 25)), night(domain, paid, date(2026, 1, 26))
    for outcome in (one, two):
        assert not of_kind(outcome, "payee_mismatch")  # not a mismatch every night
        erased = of_kind(outcome, "payee_erased")
        assert [f["txn_id"] for f in erased] == ["T1", "T2"]
        assert all(f["seqs"] == [paid["grant"].seq, e.seq] and f"erased at seq {e.seq}" in f["message"]
                   for f in erased)
        assert outcome.report["counts"]["payee_erased"] == 2 and outcome.entry.body["counts"]["payee_erased"] == 2
        data = (outcome.directory / "report.json").read_bytes() + (outcome.directory / "findings.csv").read_bytes()
        assert b"150102199001010019" not in data  # PIPL Art. 47: the erased number is in no file
    assert of_kind(one, "payee_erased") == of_kind(two, "payee_erased")
    assert night(domain, paid, date(2026, 1, 25)).report_sha256 == one.report_sha256  # reproducible after it


def test_a_night_without_the_new_kind_keeps_the_bytes_it_had(domain, paid):
    """Reports list payee_erased only when found: every report anchored before it existed re-runs to its bytes."""
    outcome = night(domain, paid)
    assert "payee_erased" not in outcome.report["counts"]
    assert "payee_erased" not in outcome.entry.body["counts"]


def test_rerunning_a_night_anchored_before_an_erasure_is_refused_naming_it(domain, paid):
    first = night(domain, paid)
    e = erase(domain, paid["p"])
    with pytest.raises(AnchorMismatch) as refused:
        night(domain, paid)
    said = str(refused.value)
    assert "1 subject(s) were erased after this night" in said and f"subject.erased at seq {e.seq}" in said
    assert "the anchored report stands" in said
    kept = paid["out"] / f"reconciliation-{NIGHT}"
    assert reconcile._holds(kept, first.report_sha256)  # the anchored report is untouched


def test_a_changed_input_is_not_blamed_on_an_erasure(domain, paid, tmp_path):
    night(domain, paid)
    changed = write(tmp_path / "f.csv", PAYMENTS[0])
    with pytest.raises(AnchorMismatch) as refused:
        night(domain, {**paid, "src": changed})
    assert "erased" not in str(refused.value) and "The input or the ledger's side changed" in str(refused.value)
