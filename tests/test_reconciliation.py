"""Reconciliation scenarios: each test shows the funding system's rows and the
ledger's facts it is checked against, and the findings that must come out."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.finance.reconciliation import Book, ClawbackFact, GrantFact, reconcile

ALICE, BOB = "a" * 64, "b" * 64
IDS = {("cn-rid", "150102199001010019"): ALICE, ("cn-rid", "152201198006150025"): BOB}
ALICE_ID, BOB_ID = "150102199001010019", "152201198006150025"
AS_OF = date(2026, 11, 30)

GRANT = GrantFact(seq=10, subject=ALICE, grant_ref="nmg-2026-001", amount_fen=100_000_00,
                  decision_date=date(2026, 3, 1), region="150100", programme="草原英才")
OTHER = GrantFact(seq=11, subject=BOB, grant_ref="nmg-2026-002", amount_fen=50_000_00,
                  decision_date=date(2026, 3, 1), region="150200", programme="草原英才")


def row(txn_id, kind="payment", grant_ref="NMG-2026-001", payee=ALICE_ID, amount=100_000_00, on="2026-03-05",
        reverses="", scheme="cn-rid"):
    return {"txn_id": txn_id, "kind": kind, "reverses": reverses, "grant_ref": grant_ref, "payee_scheme": scheme,
            "payee_id": payee, "amount_fen": str(amount), "booked_on": on, "programme": "草原英才"}


def run(rows, grants=(GRANT, OTHER), clawbacks=(), barred=None, as_of=AS_OF, sanctioned=frozenset()):
    book = Book(100, {g.grant_ref: g for g in grants}, list(clawbacks), frozenset(sanctioned))
    return reconcile(lambda: iter(rows), book, as_of, payee_ref=lambda s, n: IDS.get((s, n)),
                     barred=barred or (lambda *a: ()), unpaid_days=90)


def kinds(result):
    return [(f.kind, f.txn_id, f.grant_ref) for f in result.findings]


def paid_both(*extra):
    return [row("T1"), row("T2", grant_ref="nmg-2026-002", payee=BOB_ID, amount=50_000_00), *extra]


def test_a_clean_book_has_no_findings():
    assert kinds(run(paid_both())) == []


def test_grant_refs_match_after_trimming_and_case_folding():
    assert kinds(run([row("T1", grant_ref="  Nmg-2026-001 "), row("T2", grant_ref="NMG-2026-002", payee=BOB_ID,
                                                                    amount=50_000_00)])) == []


def test_unknown_grant():
    r = run(paid_both(row("T9", grant_ref="NMG-2099-999", amount=10_00)))
    assert kinds(r) == [("unknown_grant", "T9", "nmg-2099-999")]
    assert r.findings[0].amounts == {"amount_fen": 10_00} and "NMG-2099-999" in r.findings[0].message


def test_payee_mismatch_and_an_unknown_payee():
    r = run([row("T1", payee=BOB_ID), row("T2", grant_ref="nmg-2026-002", payee="150102199001010027", amount=50_000_00)])
    assert kinds(r) == [("payee_mismatch", "T1", "nmg-2026-001"), ("payee_mismatch", "T2", "nmg-2026-002")]
    assert r.findings[0].subject == ALICE and r.findings[0].seqs == (10,)


def test_overpaid_by_instalments():
    r = run(paid_both(row("T3", amount=1_00, on="2026-04-01")))
    assert kinds(r) == [("overpaid", None, "nmg-2026-001")]
    assert r.findings[0].amounts == {"granted_fen": 100_000_00, "paid_fen": 100_001_00, "excess_fen": 1_00}


def test_duplicate_payment_under_another_id_counts_once():
    r = run(paid_both(row("T1-again")))  # same grant, payee, amount and date
    assert kinds(r) == [("duplicate_payment", "T1-again", "nmg-2026-001")]  # not also "overpaid"


def test_the_duplicate_is_the_larger_id_whatever_the_row_order():
    a = run([row("T1-again"), *paid_both()])
    b = run(paid_both(row("T1-again")))
    assert kinds(a) == kinds(b) == [("duplicate_payment", "T1-again", "nmg-2026-001")]


def test_a_repeated_txn_id_is_a_duplicate():
    assert kinds(run(paid_both(row("T1")))) == [("duplicate_payment", "T1", "nmg-2026-001")]


def test_paid_while_barred_as_the_ledger_knew_it_that_day():
    asked = []

    def barred(subject, region, programme, on):
        asked.append((subject, region, programme, on))
        return (55,) if on >= date(2026, 3, 4) else ()

    r = run(paid_both(), barred=barred, sanctioned={ALICE})
    assert kinds(r) == [("paid_while_barred", "T1", "nmg-2026-001")]
    assert r.findings[0].seqs == (10, 55) and asked == [(ALICE, "150100", "草原英才", date(2026, 3, 5))]
    # Subjects never sanctioned are not even asked about.
    assert kinds(run(paid_both(), barred=lambda *a: (55,))) == []


def test_paid_after_a_clawback_was_ordered_or_the_grant_was_voided():
    claw = ClawbackFact(seq=20, grant_seqs=(10,), amount_fen=10_000_00, waived_fen=0, deadline=date(2026, 12, 31),
                        decision_date=date(2026, 6, 1))
    r = run([row("T1", amount=60_000_00), row("T3", amount=40_000_00, on="2026-06-02"),
             row("R1", kind="recovery", amount=10_000_00, on="2026-06-10"),
             row("T2", grant_ref="nmg-2026-002", payee=BOB_ID, amount=50_000_00)], clawbacks=[claw])
    assert kinds(r) == [("paid_after_revocation", "T3", "nmg-2026-001")]
    assert r.findings[0].seqs == (10, 20)
    voided = replace(GRANT, voided_on=date(2026, 3, 4), voided_seq=30)  # entry.corrected at seq 30
    r = run(paid_both(), grants=(voided, OTHER))
    assert kinds(r) == [("paid_after_revocation", "T1", "nmg-2026-001")] and r.findings[0].seqs == (10, 30)


def test_recoveries_unrecorded_over_recovered_and_overdue():
    claw = ClawbackFact(seq=20, grant_seqs=(10,), amount_fen=10_000_00, waived_fen=1_000_00,
                        deadline=date(2026, 9, 30), decision_date=date(2026, 6, 1))
    unrecorded = run(paid_both(row("R1", kind="recovery", grant_ref="nmg-2026-002", payee=BOB_ID, amount=5_00)))
    assert kinds(unrecorded) == [("unrecorded_recovery", "R1", "nmg-2026-002")]
    over = run(paid_both(row("R1", kind="recovery", amount=9_000_01, on="2026-07-01")), clawbacks=[claw])
    assert kinds(over) == [("over_recovered", None, "nmg-2026-001")]
    assert over.findings[0].amounts == {"ordered_fen": 9_000_00, "recovered_fen": 9_000_01, "excess_fen": 1}
    overdue = run(paid_both(row("R1", kind="recovery", amount=4_000_00, on="2026-07-01")), clawbacks=[claw])
    assert kinds(overdue) == [("clawback_overdue", None, "nmg-2026-001")]
    assert overdue.findings[0].amounts["outstanding_fen"] == 5_000_00
    in_time = run(paid_both(row("R1", kind="recovery", amount=4_000_00, on="2026-07-01")), clawbacks=[claw],
                  as_of=date(2026, 9, 30))
    assert kinds(in_time) == []  # the deadline has not passed yet


def test_unpaid_grant_is_informational_and_waits_for_the_configured_days():
    assert kinds(run([row("T1")])) == [("unpaid_grant", None, "nmg-2026-002")]
    assert kinds(run([row("T1")], as_of=date(2026, 5, 1))) == []  # only 61 days old


def test_reversals_cancel_what_they_reverse():
    wrong = row("T3", amount=7_00, on="2026-03-06")
    rev = row("T3R", kind="reversal", reverses="T3", amount=7_00, on="2026-03-07")
    assert kinds(run(paid_both(wrong, rev))) == []
    assert kinds(run(paid_both(wrong))) == [("overpaid", None, "nmg-2026-001")]
    # A reversal of the only payment leaves the grant unpaid; one of nothing is an orphan.
    assert kinds(run(paid_both(row("T1R", kind="reversal", reverses="T1")))) == [
        ("unpaid_grant", None, "nmg-2026-001")]
    orphan = run(paid_both(row("TXR", kind="reversal", reverses="NOPE", grant_ref="")))
    assert kinds(orphan) == [("orphan_reversal", "TXR", None)]


# A reversal cancels only what it matches (docs/reconciliation.md,
# "Reversals"). On the old code each of these cancelled the payment and found nothing.
BIG = GrantFact(seq=12, subject=ALICE, grant_ref="nmg-2026-003", amount_fen=100_000_00,
                decision_date=date(2026, 3, 1), region="150100", programme="草原英才")


def test_a_one_fen_reversal_under_another_grant_and_payee_does_not_hide_an_overpayment():
    paid = paid_both(row("T3", amount=500_000_00, on="2026-03-06"))
    rev = row("T3R", kind="reversal", reverses="T3", amount=1, on="2026-03-07", grant_ref="NMG-2026-002",
              payee=BOB_ID)
    r = run([*paid, rev])
    assert kinds(r) == [("overpaid", None, "nmg-2026-001"), ("reversal_mismatch", "T3R", "nmg-2026-001")]
    mismatch = r.findings[1]
    assert "grant_ref 'NMG-2026-002' is not 'NMG-2026-001'" in mismatch.message
    assert "payee cn-rid:…0025 is not the payment's payee" in mismatch.message
    assert "T3 still counts" in mismatch.message
    assert mismatch.amounts == {"amount_fen": 1, "reversed_fen": 500_000_00} and mismatch.seqs == (10,)


def test_a_reversal_booked_before_what_it_reverses_cancels_nothing():
    early = row("T3R", kind="reversal", reverses="T3", amount=7_00, on="2026-03-05")
    r = run(paid_both(row("T3", amount=7_00, on="2026-03-06"), early))
    assert kinds(r) == [("overpaid", None, "nmg-2026-001"), ("reversal_mismatch", "T3R", "nmg-2026-001")]
    assert "booked on 2026-03-05, before the payment it reverses (2026-03-06)" in r.findings[1].message


def test_partial_reversals_cancel_up_to_what_is_left_and_no_more():
    t3 = row("T3", amount=10_00, on="2026-03-06")
    part = [row(f"T3R{i}", kind="reversal", reverses="T3", amount=4_00, on=f"2026-03-0{7 + i}") for i in range(3)]
    # 4 + 4 fit in 10; the third 4 does not (2 left): it is a mismatch and cancels nothing.
    r = run(paid_both(t3, *part))
    assert kinds(r) == [("overpaid", None, "nmg-2026-001"), ("reversal_mismatch", "T3R2", "nmg-2026-001")]
    assert r.findings[0].amounts["excess_fen"] == 2_00  # what the first two left of T3
    assert "400 fen is more than the 200 fen of it not yet reversed" in r.findings[1].message
    # Two partial reversals summing to the payment cancel it wholly.
    assert kinds(run(paid_both(t3, part[0], row("T3R9", kind="reversal", reverses="T3", amount=6_00,
                                                on="2026-03-09")))) == []


def test_a_reversal_matches_the_payee_however_the_number_is_typed_and_the_ref_however_cased():
    ids = {**IDS, ("cn-rid", "15010219900101001x"): ALICE}
    book = Book(100, {g.grant_ref: g for g in (GRANT, OTHER)}, [], frozenset())
    rows = paid_both(row("T3", amount=7_00, on="2026-03-06"),
                     row("T3R", kind="reversal", reverses="T3", amount=7_00, on="2026-03-06",
                         grant_ref=" nmg-2026-001", payee="15010219900101001x"))
    r = reconcile(lambda: iter(rows), book, AS_OF, payee_ref=lambda s, n: ids.get((s, n)), barred=lambda *a: ())
    assert kinds(r) == []


def test_a_reversal_of_a_reversal_cancels_nothing():
    rows = paid_both(row("T3", amount=7_00, on="2026-03-06"),
                     row("T3R", kind="reversal", reverses="T3", amount=7_00, on="2026-03-07"),
                     row("T3RR", kind="reversal", reverses="T3R", amount=7_00, on="2026-03-08"))
    r = run(rows)
    assert kinds(r) == [("reversal_mismatch", "T3RR", "nmg-2026-001")]
    assert "T3R is itself a reversal" in r.findings[0].message


def test_a_reversal_repeated_under_its_txn_id_cancels_once():
    t3 = row("T3", amount=10_00, on="2026-03-06")
    rev = row("T3R", kind="reversal", reverses="T3", amount=5_00, on="2026-03-07")
    r = run(paid_both(t3, rev, rev))
    assert kinds(r) == [("invalid_row", "T3R", None), ("overpaid", None, "nmg-2026-001")]
    assert r.findings[1].amounts["excess_fen"] == 5_00


_REVERSALS = [row("T1"), row("T2", grant_ref="nmg-2026-002", payee=BOB_ID, amount=50_000_00),
              row("T3", amount=9_00, on="2026-03-06"), row("T3", amount=8_00, on="2026-03-06"),
              row("RA", kind="reversal", reverses="T3", amount=5_00, on="2026-03-07"),
              row("RB", kind="reversal", reverses="T3", amount=5_00, on="2026-03-07"),
              row("RC", kind="reversal", reverses="T2", amount=1, on="2026-03-01", grant_ref="x"),
              row("RD", kind="reversal", reverses="NOPE", amount=1), row("RE", kind="reversal", reverses="NOPE", amount=2),
              row("RA", kind="reversal", reverses="T3", amount=1_00, on="2026-03-08")]


@settings(max_examples=50, deadline=None)
@given(st.permutations(_REVERSALS))
def test_reversals_give_the_same_findings_in_any_order(rows):
    assert [f.to_json() for f in run(rows).findings] == [f.to_json() for f in run(_REVERSALS).findings]


def test_rows_after_the_as_of_date_are_not_reconciled_yet():
    assert kinds(run(paid_both(row("T3", amount=1_00, on="2026-12-01")))) == []


def test_invalid_rows_name_the_column_and_the_rule():
    r = run(paid_both(row("B1", amount=0), row("B2", on="2026-02-30"), row("B3", kind="refund"),
                      row("B4", kind="reversal", reverses="")))
    assert [(f.kind, f.txn_id) for f in r.findings] == [("invalid_row", f"B{i}") for i in range(1, 5)]
    # Named by content (the row's digest) and txn_id, never by position (decision 0014).
    assert all(f.message.startswith("row ") and f.message[4:20].isalnum() and f.amounts == {} for f in r.findings)
    assert [f.message.split(": ", 1)[1] for f in r.findings] == [
        "amount_fen must be a positive integer number of fen", "booked_on must be a date YYYY-MM-DD",
        "kind must be one of payment, recovery, reversal", "reverses a reversal names the txn_id it cancels"]


def test_findings_and_fingerprint_do_not_depend_on_row_order():
    rows = paid_both(row("T1-again"), row("T9", grant_ref="x"), row("R1", kind="recovery", amount=3))
    a, b = run(rows), run(list(reversed(rows)))
    assert kinds(a) == kinds(b) and a.fingerprint == b.fingerprint and a.rows == 5
    assert run(rows[:-1]).fingerprint != a.fingerprint


@settings(max_examples=60, deadline=None)
@given(st.permutations(range(6)), st.integers(1, 4))
def test_any_order_and_any_split_of_instalments_gives_the_same_answer(order, parts):
    amount, rows = 100_000_00, []
    for i in range(parts):
        share = amount // parts + (amount % parts if i == 0 else 0)
        rows.append(row(f"T1-{i}", amount=share, on=f"2026-03-{5 + i:02d}"))
    rows += [row("T2", grant_ref="nmg-2026-002", payee=BOB_ID, amount=50_000_00), row("T5", grant_ref="?", amount=1),
             row("T6", amount=1, on="2026-05-01")]
    shuffled = [rows[i] for i in order if i < len(rows)] + rows[6:]
    assert kinds(run(shuffled)) == [("overpaid", None, "nmg-2026-001"), ("unknown_grant", "T5", "?")]


def test_a_duplicate_is_the_same_payee_however_the_number_is_typed():
    ids = {**IDS, ("cn-rid", "15010219900101001x"): ALICE}
    book = Book(100, {g.grant_ref: g for g in (GRANT, OTHER)}, [], frozenset())
    rows = paid_both(row("T1-again", payee="15010219900101001x"))
    r = reconcile(lambda: iter(rows), book, AS_OF, payee_ref=lambda s, n: ids.get((s, n)), barred=lambda *a: ())
    assert kinds(r) == [("duplicate_payment", "T1-again", "nmg-2026-001")]


# Rows that collide: three copies of one payment under different ids, a txn_id
# booked twice with different amounts, a recovery repeated. Whatever order the
# funding system's view returns them in, the report must be the same (decision
# 0006: the same multiset of rows gives the same report bytes).
_COLLIDING = [row("T1"), row("T1-b"), row("T1-c"), row("T2", grant_ref="nmg-2026-002", payee=BOB_ID, amount=50_000_00),
              row("T2", grant_ref="nmg-2026-002", payee=BOB_ID, amount=60_000_00),
              row("R1", kind="recovery", amount=3), row("R1", kind="recovery", amount=4)]


@settings(max_examples=100, deadline=None)
@given(st.permutations(_COLLIDING))
def test_colliding_rows_give_the_same_findings_in_any_order(rows):
    reference = [f.to_json() for f in run(_COLLIDING).findings]
    assert [f.to_json() for f in run(rows).findings] == reference
