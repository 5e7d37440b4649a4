"""The supervision figures (docs/console.md, Supervision; decision 0026): the pure
aggregation against figures worked out by hand from a small scenario, a property
test against a naive recomputation, the CSV tables, and the console routes (who
may read, jurisdiction, drill-down, CSV) over a real store."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.access import supervision as service
from ledger.access.policy import Principal, Role
from ledger.domain import supervision as sup
from ledger.domain.supervision import (
    Clawback,
    Grant,
    MoneyMove,
    MoneyRow,
    Night,
    Override,
    OverrideGroup,
    SanctionEvent,
    SanctionRow,
)
from ledger.log.append import append_entries
from ledger.log.entry import Draft
from ledger.log.operator import OPERATOR
from ledger.signing.keyring import Keyring
from ledger.store import log_store
from tests.api_support import make_api
from tests.conftest import HOHHOT, PERSON, PERSON_2, REGIONAL

D = date.fromisoformat
AS_OF = D("2026-06-30")

# --- 1. A small scenario, its figures worked out by hand ---------------------------------------
GRANTS = [
    Grant(10, "150102", 30_000_000, D("2026-01-15"), False),  # 呼和浩特 新城区
    Grant(11, "150105", 5_000_000, D("2026-01-20"), False),  # 呼和浩特 赛罕区
    Grant(12, "150203", 2_000_000, D("2026-02-03"), False),  # 包头 青山区
    Grant(13, "150102", 1_000_000, D("2026-02-10"), True),  # voided: never happened
    Grant(14, "150000", 700_000, D("2026-03-01"), False),  # the region's own level
    Grant(15, "150102", 999, D("2026-07-02"), False),  # after as_of
]
CLAWBACKS = [
    Clawback(20, "150102", 10_000_000, D("2026-02-15"), D("2026-04-30"), False, False),  # overdue, 6,000,000 owed
    Clawback(21, "150203", 2_000_000, D("2026-03-01"), D("2026-05-31"), False, True),  # exempted: never overdue
    Clawback(22, "150105", 5_000_000, D("2026-03-05"), D("2026-08-31"), False, False),  # paid back in full
    Clawback(23, "150102", 1_000_000, D("2026-02-20"), D("2026-03-31"), True, False),  # voided, with its recovery
]
MOVES = [
    MoneyMove(30, 20, "recovered", 4_000_000, D("2026-04-01"), False),
    MoneyMove(31, 20, "recovered", 1_000_000, D("2026-05-10"), True),  # voided recovery
    MoneyMove(32, 20, "waived", 2_000_000, D("2026-07-05"), False),  # after as_of
    MoneyMove(33, 22, "recovered", 5_000_000, D("2026-03-20"), False),
    MoneyMove(34, 23, "recovered", 500_000, D("2026-03-10"), False),  # of a voided clawback
]
SANCTIONS = [
    SanctionEvent(40, 40, "imposed", "150100", D("2026-02-01")),
    SanctionEvent(41, 41, "imposed", "150000", D("2026-03-01")),
    SanctionEvent(42, 42, "imposed", "150200", D("2026-07-01")),  # takes effect after as_of
    SanctionEvent(50, 40, "ended", "150100", D("2026-05-15")),
    SanctionEvent(51, 41, "corrected", "150000", D("2026-04-02")),
]


def override(seq, kind, authority, officer, on, region="150102", amount=None):
    return Override(seq, kind, "eligibility.checked" if kind == "check" else "subsidy.granted", authority, officer,
                    "token:t1", "王五" if kind == "check" else None, "成果突出", region, D(on), "ab" * 32, amount)


OVERRIDES = [
    override(60, "award", "hrss-150100", "李局长", "2026-03-02", amount=1_000_000),
    override(61, "award", "hrss-150100", "李局长", "2026-04-01"),
    override(62, "check", "hrss-150100", "王处长", "2026-05-01"),
    override(63, "award", "hrss-150200", "赵主任", "2026-05-05", region="150203", amount=300_000),
    override(64, "award", "hrss-150200", "赵主任", "2026-07-10", region="150203", amount=1),  # after as_of
]
NIGHTS = [
    Night(70, D("2026-06-01"), "csv", 65, 120, {"overpaid": 2, "unknown_grant": 1, "payee_erased": 0}),
    Night(71, D("2026-06-02"), "csv", 70, 121, {"overpaid": 0, "unknown_grant": 3}),
    Night(72, D("2026-07-01"), "csv", 80, 130, {"overpaid": 9}),  # after as_of
]


def scenario(jurisdiction=None):
    return sup.figures(AS_OF, 99, GRANTS, CLAWBACKS, MOVES, SANCTIONS, OVERRIDES, NIGHTS, jurisdiction)


def test_money_by_league_and_month_as_worked_out_by_hand():
    assert scenario().money == (
        MoneyRow("150000", "2026-03", grants=1, granted_fen=700_000),
        MoneyRow("150100", "2026-01", grants=2, granted_fen=35_000_000),
        MoneyRow("150100", "2026-02", clawbacks=1, ordered_fen=10_000_000),
        MoneyRow("150100", "2026-03", clawbacks=1, ordered_fen=5_000_000, recovered_fen=5_000_000),
        MoneyRow("150100", "2026-04", recovered_fen=4_000_000, overdue=1, overdue_fen=6_000_000),
        MoneyRow("150200", "2026-02", grants=1, granted_fen=2_000_000),
        MoneyRow("150200", "2026-03", clawbacks=1, ordered_fen=2_000_000),
    )


def test_money_summed_by_league():
    assert sup.by_league(scenario().money) == (
        MoneyRow("150000", "", grants=1, granted_fen=700_000),
        MoneyRow("150100", "", grants=2, granted_fen=35_000_000, clawbacks=2, ordered_fen=15_000_000,
                 recovered_fen=9_000_000, overdue=1, overdue_fen=6_000_000),
        MoneyRow("150200", "", grants=1, granted_fen=2_000_000, clawbacks=1, ordered_fen=2_000_000),
    )


def test_a_waiver_before_as_of_reduces_what_is_overdue():
    later = D("2026-07-10")  # the 2,000,000 waiver of 2026-07-05 now counts
    rows = sup.money_by_league(GRANTS[:1], CLAWBACKS[:1], MOVES, later)
    assert [(r.month, r.overdue, r.overdue_fen, r.waived_fen) for r in rows] == [
        ("2026-01", 0, 0, 0), ("2026-02", 0, 0, 0), ("2026-04", 1, 4_000_000, 0), ("2026-07", 0, 0, 2_000_000)]
    # paid in full: no longer overdue
    assert sup.outstanding(CLAWBACKS[0], [*MOVES, MoneyMove(35, 20, "recovered", 4_000_000, D("2026-07-06"), False)],
                           later) == 0


def test_sanctions_by_league_and_month_as_worked_out_by_hand():
    assert scenario().sanctions == (
        SanctionRow("150000", "2026-03", imposed=1),
        SanctionRow("150000", "2026-04", corrected=1),
        SanctionRow("150100", "2026-02", imposed=1),
        SanctionRow("150100", "2026-05", ended=1),
    )


def test_overrides_by_authority_and_officer_the_most_first():
    f = scenario()
    assert f.overrides == (
        OverrideGroup("hrss-150100", "李局长", 2, 0, 1_000_000, (60, 61)),
        OverrideGroup("hrss-150100", "王处长", 0, 1, 0, (62,)),  # one each: by authority, then officer
        OverrideGroup("hrss-150200", "赵主任", 1, 0, 300_000, (63,)),
    )
    assert [o.seq for o in sup.overrides_of(f, "hrss-150100", None)] == [60, 61, 62]
    assert [o.seq for o in sup.overrides_of(f, "hrss-150100", "王处长")] == [62]
    assert sup.overrides_of(f, "nobody", None) == ()


def test_nights_up_to_as_of_with_the_kinds_in_the_documented_order():
    f = scenario()
    assert [n.seq for n in f.nights] == [70, 71]
    assert f.finding_kinds == ("unknown_grant", "overpaid", "payee_erased")  # docs/reconciliation.md's order


def test_a_jurisdiction_sees_only_what_lies_under_it():
    f = scenario("150200")
    assert f.money == (MoneyRow("150200", "2026-02", grants=1, granted_fen=2_000_000),
                       MoneyRow("150200", "2026-03", clawbacks=1, ordered_fen=2_000_000))
    assert f.sanctions == ()  # 150200's only sanction takes effect after as_of
    assert [g.seqs for g in f.overrides] == [(63,)]
    assert f.nights == ()  # the nights are the whole ledger's


def test_leagues_and_months():
    assert [sup.league(c) for c in ("150102", "150100", "152921", "150000")] == ["150100", "150100", "152900", "150000"]
    assert sup.month(D("2026-01-31")) == "2026-01"


def test_a_correction_voids_unless_it_is_itself_corrected():
    assert sup.voided_seqs([(10, 20)]) == {10}
    assert sup.voided_seqs([(10, 20), (20, 30)]) == {20}  # the correction was wrong: 10 stands
    assert sup.voided_seqs([(10, 20), (20, 30), (30, 40)]) == {10, 30}
    assert sup.voided_seqs([(10, 20), (10, 21), (20, 30)]) == {10, 20}  # 21 still voids 10


# --- the CSV tables -----------------------------------------------------------------------------

def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())  # a spreadsheet reads the Chinese as UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_money_csv_names_its_units_and_gives_fen_and_yuan():
    rows = read_csv(sup.to_csv(sup.table(scenario(), "money_by_league")))
    assert rows[0] == ["league", "league_name", "grants", "granted_fen", "granted_yuan", "clawbacks_ordered",
                       "ordered_fen", "ordered_yuan", "recovered_fen", "recovered_yuan", "waived_fen", "waived_yuan",
                       "overdue_clawbacks", "overdue_fen", "overdue_yuan"]
    assert rows[2] == ["150100", "呼和浩特市", "2", "35000000", "350000.00", "2", "15000000", "150000.00", "9000000",
                       "90000.00", "0", "0.00", "1", "6000000", "60000.00"]
    monthly = read_csv(sup.to_csv(sup.table(scenario(), "money")))
    assert monthly[0][:3] == ["league", "league_name", "month"] and len(monthly) == 8


def test_override_and_nights_csv():
    f = scenario()
    entries = read_csv(sup.to_csv(sup.table(f, "override_entries", "hrss-150200", "赵主任")))
    assert entries[1][:5] == ["63", "award", "subsidy.granted", "hrss-150200", "赵主任"]
    assert entries[1][10:12] == ["300000", "3000.00"]
    assert len(entries) == 2
    nights = read_csv(sup.to_csv(sup.table(f, "nights")))
    assert nights == [["as_of", "source", "seq", "tree_size", "input_rows", "unknown_grant", "overpaid", "payee_erased"],
                      ["2026-06-01", "csv", "70", "65", "120", "1", "2", "0"],
                      ["2026-06-02", "csv", "71", "70", "121", "3", "0", "0"]]
    with pytest.raises(ValueError):
        sup.table(f, "everything")


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_quoted():
    o = override(80, "award", "hrss-150100", "=HYPERLINK(\"http://x\")", "2026-03-02")
    f = sup.figures(AS_OF, 1, [], [], [], [], [o], [])
    rows = read_csv(sup.to_csv(sup.table(f, "override_entries")))
    assert rows[1][4] == "'=HYPERLINK(\"http://x\")"
    assert sup.yuan(-123) == "-1.23" and sup.yuan(5) == "0.05"


# --- a property: the totals against a naive recomputation ---------------------------------------
REGIONS = ("150000", "150102", "150105", "150203", "152921")
days = st.dates(date(2025, 11, 1), date(2026, 9, 30))


@st.composite
def books(draw):
    grants = [Grant(i, draw(st.sampled_from(REGIONS)), draw(st.integers(1, 10**9)), draw(days), draw(st.booleans()))
              for i in range(draw(st.integers(0, 8)))]
    claws = []
    for i in range(draw(st.integers(0, 6))):
        decided = draw(days)
        claws.append(Clawback(100 + i, draw(st.sampled_from(REGIONS)), draw(st.integers(1, 10**7)), decided,
                              draw(st.dates(decided, date(2026, 12, 31))), draw(st.booleans()), draw(st.booleans())))
    moves = [MoneyMove(200 + i, draw(st.sampled_from([c.seq for c in claws])), draw(st.sampled_from(["recovered", "waived"])),
                       draw(st.integers(1, 10**6)), draw(days), draw(st.booleans()))
             for i in range(draw(st.integers(0, 10)))] if claws else []
    return grants, claws, moves, draw(days)


@settings(max_examples=200, deadline=None)
@given(books())
def test_league_totals_equal_a_naive_recomputation(book):
    grants, claws, moves, as_of = book
    naive: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for g in grants:
        if not g.voided and g.decision_date <= as_of:
            naive[g.region[:4] + "00"]["granted_fen"] += g.amount_fen
            naive[g.region[:4] + "00"]["grants"] += 1
    for c in claws:
        if c.voided:
            continue
        lg = c.region[:4] + "00"
        if c.decision_date <= as_of:
            naive[lg]["ordered_fen"] += c.amount_fen
            naive[lg]["clawbacks"] += 1
        paid = 0
        for m in moves:
            if m.clawback_seq == c.seq and not m.voided and m.on <= as_of:
                naive[lg][f"{m.kind}_fen"] += m.amount_fen
                paid += m.amount_fen
        if not c.exempted and c.decision_date <= as_of and c.deadline < as_of and paid < c.amount_fen:
            naive[lg]["overdue_fen"] += c.amount_fen - paid
            naive[lg]["overdue"] += 1
    got = {r.league: {k: v for k, v in vars(r).items() if isinstance(v, int) and v}
           for r in sup.by_league(sup.money_by_league(grants, claws, moves, as_of))}
    want = {lg: {k: v for k, v in cells.items() if v} for lg, cells in naive.items()}
    assert {lg: c for lg, c in got.items() if c} == {lg: c for lg, c in want.items() if c}


# --- 2. The service and the routes over a real store ---------------------------------------------
AS_OF_Q = "as_of=2026-06-30"


@pytest.fixture
def world(domain):
    """Grants in Hohhot and Baotou, a region-wide sanction (Art. 66) then ended, another
    corrected, a grant let through it with an override, a check decided override, a
    clawback partly recovered and overdue on 2026-06-30, and one reconciliation night."""
    p, q = domain.subject(PERSON), domain.subject(PERSON_2)
    g1 = domain.grant(p, amount=300_000_00, on="2026-01-15", region="150102")
    domain.grant(q, amount=50_000_00, on="2026-02-03", region="150203")
    s = domain.sanction(p, start="2026-02-01", until="2027-12-31")
    wrong = domain.sanction(q, start="2026-03-01", until="2026-12-31")
    domain.record("entry.corrected", q, {"reason": "主体错误", "deciding_body": "自治区人社厅"}, refs=[wrong.seq])
    over = domain.grant(p, amount=10_000_00, on="2026-03-02", region="150102",
                        override={"approver": "李局长", "reason": "重大项目急需，经厅务会研究"})
    c = domain.record("clawback.ordered", p, {"amount_fen": 100_000_00, "deadline": "2026-04-30", "grounds": "未履行服务期",
                                              "legal_basis": {"article": "条例第六十五条", "document_no": "呼人社追〔2026〕3号"},
                                              "decision_date": "2026-02-15", "deciding_body": "呼和浩特市人社局"}, refs=[g1.seq])
    domain.record("clawback.recovered", p, {"amount_fen": 40_000_00, "recovered_on": "2026-04-01"}, refs=[c.seq])
    domain.record("sanction.ended", p, {"reason": "credit_repair", "ended_on": "2026-05-15", "deciding_body": "自治区人社厅"},
                  refs=[s.seq])
    with domain.engine.connect() as conn:
        at = log_store.size(conn)
    check = domain.record("eligibility.checked", p, {
        "officer": "王五", "programme": "草原英才", "award_ref": "AW-2026-17", "benefit": "subsidy", "region": "150102",
        "on": "2026-03-10", "answer": "barred", "tree_size": at, "blocking": [s.seq], "decision": "override",
        "approver": "张局长", "reason": "成果突出"}, authority=HOHHOT)
    counts = {k: 0 for k in ("unknown_grant", "payee_mismatch", "overpaid", "duplicate_payment", "paid_while_barred",
                             "paid_after_revocation", "unrecorded_recovery", "over_recovered", "clawback_overdue",
                             "unpaid_grant", "invalid_row", "orphan_reversal")}
    counts.update(overpaid=2, clawback_overdue=1)
    night = append_entries(domain.engine, [Draft("reconciliation.completed", OPERATOR, "reconciler", None, (),
                                                 "reconciliation:2026-06-01:csv", {
                                                     "as_of": "2026-06-01", "tree_size": at, "source": "csv", "input_rows": 12,
                                                     "input_fingerprint": "12:" + "0" * 64, "unpaid_days": 90,
                                                     "counts": counts, "report_sha256": "1" * 64})],
                           Keyring(domain.keyring.log), domain.clock)[0]
    api = make_api(domain)
    return api, {"s": s.seq, "wrong": wrong.seq, "over": over.seq, "check": check.seq, "night": night.seq}


def bearer(api, who):
    return {"Authorization": f"Bearer {api.tokens[who]}"}


def test_the_service_counts_the_recorded_scenario(world):
    api, seqs = world
    f = service.figures(api.ledger.engine, Principal("t", Role.auditor), D("2026-06-30"))
    assert sup.by_league(f.money) == (
        MoneyRow("150100", "", grants=2, granted_fen=310_000_00, clawbacks=1, ordered_fen=100_000_00,
                 recovered_fen=40_000_00, overdue=1, overdue_fen=60_000_00),
        MoneyRow("150200", "", grants=1, granted_fen=50_000_00),
    )
    # REGIONAL (150000) imposed both; the wrong one was corrected on the clock's day (2026-01-05 in Beijing)
    assert f.sanctions == (SanctionRow("150000", "2026-01", corrected=1), SanctionRow("150000", "2026-02", imposed=1),
                           SanctionRow("150000", "2026-05", ended=1))
    assert {(g.authority_id, g.officer, g.awards, g.checks, g.amount_fen, g.seqs) for g in f.overrides} == {
        (REGIONAL.id, "李局长", 1, 0, 10_000_00, (seqs["over"],)), (HOHHOT.id, "张局长", 0, 1, 0, (seqs["check"],))}
    assert [(n.seq, n.counts["overpaid"], n.counts["clawback_overdue"]) for n in f.nights] == [(seqs["night"], 2, 1)]
    # A region-scoped reader (Principal.region) sees only its subtree.
    scoped = service.figures(api.ledger.engine, Principal("t", Role.auditor, region="150200"), D("2026-06-30"))
    assert [m.league for m in scoped.money] == ["150200"] and scoped.overrides == () and scoped.nights == ()
    # At an earlier tree size the later records are not there.
    early = service.figures(api.ledger.engine, Principal("t", Role.auditor), D("2026-06-30"), tree_size=seqs["over"])
    assert early.overrides == () and early.tree_size == seqs["over"]


def test_a_token_is_needed_and_only_supervisors_read(world):
    api, _ = world
    c = api.client
    assert c.get(f"/console/api/supervision?{AS_OF_Q}").status_code == 401
    for who in ("officer", "recorder"):
        r = c.get(f"/console/api/supervision?{AS_OF_Q}", headers=bearer(api, who))
        assert r.status_code == 403 and r.json()["code"] == "forbidden"
        assert c.get(f"/console/api/supervision.csv?table=money&{AS_OF_Q}", headers=bearer(api, who)).status_code == 403
    r = c.get(f"/console/api/supervision?{AS_OF_Q}", headers=bearer(api, "auditor"))
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["as_of"] == "2026-06-30" and body["drill_down"] is True
    hohhot = next(m for m in body["money_by_league"] if m["league"] == "150100")
    assert (hohhot["granted_fen"], hohhot["overdue_fen"]) == (310_000_00, 60_000_00)


def test_the_admin_reads_the_figures_but_not_the_entries(world):
    api, seqs = world
    c = api.client
    body = c.get(f"/console/api/supervision?{AS_OF_Q}", headers=bearer(api, "admin")).json()
    assert body["drill_down"] is False and {tuple(g["seqs"]) for g in body["overrides"]} == {(seqs["over"],), (seqs["check"],)}
    r = c.get(f"/console/api/supervision/overrides?authority={REGIONAL.id}&{AS_OF_Q}", headers=bearer(api, "admin"))
    assert r.status_code == 403
    assert c.get(f"/console/api/supervision.csv?table=override_entries&{AS_OF_Q}", headers=bearer(api, "admin")).status_code == 403
    assert c.get(f"/console/api/supervision.csv?table=money&{AS_OF_Q}", headers=bearer(api, "admin")).status_code == 200


def test_the_drill_down_lists_the_entries_of_one_authority_and_officer(world):
    api, seqs = world
    r = api.client.get(f"/console/api/supervision/overrides?authority={REGIONAL.id}&officer=李局长&{AS_OF_Q}",
                       headers=bearer(api, "auditor"))
    assert r.status_code == 200
    [e] = r.json()["entries"]
    assert (e["seq"], e["kind"], e["type"], e["officer"], e["amount_fen"], e["league"]) == (
        seqs["over"], "award", "subsidy.granted", "李局长", 10_000_00, "150100")
    assert len(e["subject"]) == 64 and "150102199001010019" not in r.text  # a reference, never the number
    r = api.client.get(f"/console/api/supervision/overrides?authority={HOHHOT.id}&{AS_OF_Q}", headers=bearer(api, "auditor"))
    [e] = r.json()["entries"]
    assert (e["seq"], e["kind"], e["checked_by"], e["officer"]) == (seqs["check"], "check", "王五", "张局长")
    assert api.client.get(f"/console/api/supervision/overrides?{AS_OF_Q}", headers=bearer(api, "auditor")).status_code == 400


def test_the_csv_routes(world):
    api, seqs = world
    r = api.client.get(f"/console/api/supervision.csv?table=money_by_league&{AS_OF_Q}", headers=bearer(api, "auditor"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"] and r.headers["cache-control"] == "no-store"
    rows = read_csv(r.content)
    assert rows[1][:5] == ["150100", "呼和浩特市", "2", "31000000", "310000.00"]
    assert rows[1][-3:] == ["1", "6000000", "60000.00"]
    r = api.client.get(f"/console/api/supervision.csv?table=nights&{AS_OF_Q}", headers=bearer(api, "auditor"))
    head, night = read_csv(r.content)
    assert dict(zip(head, night, strict=True))["overpaid"] == "2" and night[2] == str(seqs["night"])
    for bad in ("table=all", "table=money&as_of=2026-13-01", "table=money&tree_size=-1", "table=money&tree_size=999999"):
        assert api.client.get(f"/console/api/supervision.csv?{bad}", headers=bearer(api, "auditor")).status_code == 400, bad


# --- 3. The overrides projection (revision 0008) ---------------------------------------------------
def _override_rows(engine) -> list[tuple]:
    import sqlalchemy as sa

    from ledger.store.schema import overrides

    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(overrides).order_by(overrides.c.seq))]


def test_the_overrides_are_rows_written_with_the_entries(world):
    """One row per override, what the signed bodies say; a check decided otherwise and a
    grant without an override write none."""
    api, seqs = world
    rows = _override_rows(api.ledger.engine)
    assert [(r[0], r[1], r[2], r[4], r[6], r[9], r[11]) for r in rows] == [
        (seqs["over"], "award", "subsidy.granted", "李局长", None, "2026-03-02", 10_000_00),
        (seqs["check"], "check", "eligibility.checked", "张局长", "王五", "2026-03-10", None)]


def test_a_rewritten_override_is_drift(world):
    """Whoever holds the file (or the PostgreSQL owner) renames the approver past the
    trigger: verify's projection check names the table, the row and the column."""
    import sqlalchemy as sa

    from ledger.domain import projection_check
    from ledger.domain.projection_check import ProjectionDrift

    api, seqs = world
    store = api.ledger.store
    with store.owner.begin() as conn:
        if store.dialect == "sqlite":
            conn.execute(sa.text("DROP TRIGGER overrides_no_update"))
        else:
            conn.execute(sa.text("ALTER TABLE overrides DISABLE TRIGGER USER"))
        conn.execute(sa.text(f"UPDATE overrides SET approver = '某人' WHERE seq = {seqs['over']}"))
    with api.ledger.engine.connect() as conn, pytest.raises(ProjectionDrift) as e:
        projection_check.check(conn, log_store.size(conn))
    assert e.value.table == "overrides" and e.value.seq == seqs["over"]
    assert "approver is '某人', the log says '李局长'" in str(e.value)


def test_the_application_cannot_rewrite_an_override(world):
    import sqlalchemy as sa

    api, _ = world
    for statement in ("UPDATE overrides SET approver = 'x'", "DELETE FROM overrides"):
        with pytest.raises(sa.exc.DBAPIError), api.ledger.engine.begin() as conn:
            conn.execute(sa.text(statement))
    assert len(_override_rows(api.ledger.engine)) == 2


def test_the_upgrade_to_0008_writes_the_rows_of_the_entries_already_there(world):
    """A ledger at revision 0007 holds override entries but no table: the upgrade writes
    exactly the rows the append path writes, makes the table insert-only, and (on
    PostgreSQL) lets the application role that appends grants append overrides too."""
    import sqlalchemy as sa

    from ledger.store.migrate import current_revision, head_revision, upgrade

    api, seqs = world
    store, engine = api.ledger.store, api.ledger.engine
    written = _override_rows(engine)
    with store.owner.begin() as conn:
        conn.execute(sa.text("DROP TABLE overrides"))
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0007'"))
    upgrade(store.owner)  # without --app-role, as an operator upgrading in place would
    assert current_revision(store.owner) == head_revision()
    assert _override_rows(engine) == written
    with pytest.raises(sa.exc.DBAPIError), engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM overrides"))
    p = api.ledger.subject(PERSON)
    later = api.ledger.grant(p, amount=1_000_00, on="2026-03-20", region="150102",
                             override={"approver": "赵处长", "reason": "急需"})
    assert [r[0] for r in _override_rows(engine)] == [seqs["over"], seqs["check"], later.seq]
