"""An independent model of the domain rules, written from docs/effects.md and
the README's rules, for the model-based test (tests/test_rules_model.py).

It shares no code with ``ledger.domain`` (no facts, no fold, no eligibility,
no projection, no regions helper) and not with tests/eligibility_reference.py:
it keeps a plain list of the records the test made, and answers every question
by replaying that list from scratch, the slow and obvious way. When it and the
ledger disagree, one of them misreads the table.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

RETIRED = {"152100": "150700", "152300": "150500", "152400": "150400", "152600": "150900", "152700": "150600",
           "152800": "150800"}
CORRECTABLE = {"honor.granted", "honor.revoked", "subsidy.granted", "clawback.ordered", "clawback.recovered",
               "clawback.waived", "sanction.imposed", "sanction.amended", "sanction.ended", "exemption.granted",
               "entry.corrected", "subject.linked"}


def same_programme(a: str, b: str) -> bool:
    """Programme names compare after NFC, trimming and case folding."""
    def key(x: str) -> str:
        return unicodedata.normalize("NFC", x).strip().casefold()
    return key(a) == key(b)


def region_applies(decided_for: str, asked: str) -> bool:
    """GB/T 2260: 150000 reaches every 15xxxx, 150100 every 1501xx, a county itself."""
    if decided_for[2:] == "0000":
        return asked[:2] == decided_for[:2]
    if decided_for[4:] == "00":
        return asked[:4] == decided_for[:4]
    return asked == decided_for


@dataclass
class Rec:
    seq: int
    type: str
    subject: str | None
    refs: tuple[int, ...]
    body: dict


@dataclass
class SanctionView:
    seq: int
    start: date
    until: date | None
    benefits: set[str]
    regions: list[str]
    programmes: set[str]
    void: bool
    exempt: bool
    end: date | None  # the earliest live end


@dataclass
class ClawbackView:
    seq: int
    amount: int
    deadline: date
    decided: date
    void: bool
    exempt: bool
    moves: list[tuple[str, int, date]] = field(default_factory=list)  # (kind, fen, on)

    def owed_on(self, day: date) -> int:
        if self.void or self.exempt or day < self.decided:
            return 0
        return max(0, self.amount - sum(f for _, f, on in self.moves if on <= day))

    def owed_now(self) -> int:
        if self.void or self.exempt:
            return 0
        return max(0, self.amount - sum(f for _, f, _ in self.moves))


def _memo(method):
    """Replays are pure functions of the records so far: remember them until the next ``add``."""
    def wrapper(self, *args):
        key = (method.__name__, *args)
        if key not in self._memo:
            self._memo[key] = method(self, *args)
        return self._memo[key]
    return wrapper


class Model:
    def __init__(self) -> None:
        self.recs: list[Rec] = []
        self.programmes: set[str] = set()
        self._memo: dict = {}

    def add(self, rec: Rec) -> None:
        self.recs.append(rec)
        self._memo.clear()
        if rec.type == "programme.registered":
            self.programmes.add(rec.body["code"])

    # --- replay --------------------------------------------------------------
    @_memo
    def known(self, size: int) -> list[Rec]:
        return [r for r in self.recs if r.seq < size]

    @_memo
    def voided(self, size: int) -> set[int]:
        out: set[int] = set()
        for r in sorted((r for r in self.known(size) if r.type == "entry.corrected"), key=lambda r: -r.seq):
            if r.seq not in out:
                out.add(r.refs[0])
        return out

    @_memo
    def by_seq(self, size: int) -> dict[int, Rec]:
        return {r.seq: r for r in self.known(size)}

    @_memo
    def sanctions(self, subject: str, size: int) -> list[SanctionView]:
        void, out = self.voided(size), []
        recs = self.known(size)
        for r in recs:
            if r.type != "sanction.imposed" or r.subject != subject:
                continue
            b = r.body
            start, until = date.fromisoformat(b["effective_from"]), b.get("effective_until")
            until = date.fromisoformat(until) if until else None
            benefits, regions = set(b["scope"]["benefits"]), list(b["scope"]["regions"])
            programmes = set(b["scope"].get("programmes") or [])
            ends, exempt = [], False
            for a in recs:
                if a.seq in void or r.seq not in a.refs:
                    continue
                if a.type == "sanction.amended":
                    ab = a.body
                    if "effective_from" in ab:
                        start = date.fromisoformat(ab["effective_from"])
                    if "indefinite" in ab:
                        until = None
                    elif "effective_until" in ab:
                        until = date.fromisoformat(ab["effective_until"])
                    if "scope" in ab:
                        benefits, regions = set(ab["scope"]["benefits"]), list(ab["scope"]["regions"])
                        programmes = set(ab["scope"].get("programmes") or [])
                elif a.type == "sanction.ended":
                    ends.append(date.fromisoformat(a.body["ended_on"]))
                elif a.type == "exemption.granted":
                    exempt = True
            out.append(SanctionView(r.seq, start, until, benefits, regions, programmes, r.seq in void, exempt,
                                    min(ends) if ends else None))
        return out

    @_memo
    def clawbacks(self, subject: str, size: int) -> list[ClawbackView]:
        void, recs, out = self.voided(size), self.known(size), []
        for r in recs:
            if r.type != "clawback.ordered" or r.subject != subject:
                continue
            c = ClawbackView(r.seq, r.body["amount_fen"], date.fromisoformat(r.body["deadline"]),
                             date.fromisoformat(r.body["decision_date"]), r.seq in void, False)
            for a in recs:
                if a.seq in void or r.seq not in a.refs:
                    continue
                if a.type == "exemption.granted":
                    c.exempt = True
                elif a.type == "clawback.recovered":
                    c.moves.append(("recovered", a.body["amount_fen"], date.fromisoformat(a.body["recovered_on"])))
                elif a.type == "clawback.waived":
                    c.moves.append(("waived", a.body["amount_fen"], date.fromisoformat(a.body["decision_date"])))
            out.append(c)
        return out

    @_memo
    def employers(self, subject: str, size: int, on: date) -> list[str]:
        void = self.voided(size)
        orgs = set()
        for r in self.known(size):
            if r.type == "subject.linked" and r.subject == subject and r.seq not in void:
                start = date.fromisoformat(r.body["valid_from"])
                end = r.body.get("valid_until")
                if start <= on and (end is None or on <= date.fromisoformat(end)):
                    orgs.add(r.body["organisation"])
        return sorted(orgs)

    # --- the answer --------------------------------------------------------------
    @staticmethod
    def _bars(s: SanctionView, benefit: str, region: str, programme: str | None, on: date) -> bool:
        if s.void or s.exempt or benefit not in s.benefits:
            return False
        if not any(region_applies(r, region) for r in s.regions):
            return False
        if s.programmes and programme is not None and not any(same_programme(programme, p) for p in s.programmes):
            return False
        if on < s.start or (s.until is not None and on > s.until):
            return False
        return s.end is None or on < s.end

    def answer(self, subject: str, benefit: str, region: str, programme: str | None, on: date,
               size: int) -> tuple[str, set[int]]:
        """(answer, the seqs that decide it): barred by own sanctions; else needs
        review for a barred employer or an overdue clawback; else eligible."""
        barring = {s.seq for s in self.sanctions(subject, size) if self._bars(s, benefit, region, programme, on)}
        if barring:
            return "barred", barring
        review = {s.seq for org in self.employers(subject, size, on) for s in self.sanctions(org, size)
                  if self._bars(s, benefit, region, programme, on)}
        review |= {c.seq for c in self.clawbacks(subject, size) if on > c.deadline and c.owed_on(on) > 0}
        return ("needs_review", review) if review else ("eligible", set())

    # --- would the ledger take this record? (None: yes; else why not) ---------------
    def refusal(self, rtype: str, subject: str, refs: tuple[int, ...], body: dict, size: int) -> str | None:
        recs = self.by_seq(size)
        for ref in refs:
            if ref not in recs or recs[ref].subject != subject:
                return "refs"
        for region in self._regions_of(body):
            if region in RETIRED or region[:4] in {k[:4] for k in RETIRED}:
                return "region"
        for p in self._programmes_of(body):
            if not any(same_programme(p, known) for known in self.programmes):
                return "programme"
        judge = getattr(self, "_refuse_" + rtype.replace(".", "_"), None)
        return judge(subject, [recs[r] for r in refs], body, size) if judge else None

    def _live(self, rec: Rec, size: int) -> bool:
        return rec.seq not in self.voided(size)

    def _acted_on(self, rtype: str, target: Rec, size: int) -> bool:
        """Has a live ``rtype`` already acted on ``target``?"""
        void = self.voided(size)
        return any(r.type == rtype and target.seq in r.refs and r.seq not in void for r in self.known(size))

    def _refuse_honor_revoked(self, subject, targets, body, size):
        t = targets[0]
        if t.type != "honor.granted" or not self._live(t, size) or self._acted_on("honor.revoked", t, size):
            return "refs"
        return None

    def _refuse_award(self, benefit, subject, body, size):
        on = date.fromisoformat(body["decision_date"])
        barred = self.answer(subject, benefit, body["region"], body["programme"], on, size)[0] == "barred"
        return "barred" if barred and "override" not in body else None

    def _refuse_honor_granted(self, subject, targets, body, size):
        return self._refuse_award("honor", subject, body, size)

    def _refuse_subsidy_granted(self, subject, targets, body, size):
        return self._refuse_award("subsidy", subject, body, size)

    def _refuse_clawback_ordered(self, subject, targets, body, size):
        if any(t.type != "subsidy.granted" or not self._live(t, size) for t in targets):
            return "refs"
        refs = {t.seq for t in targets}
        recs = self.by_seq(size)
        ordered = sum(c.amount - sum(f for k, f, _ in c.moves if k == "waived")
                      for c in self.clawbacks(subject, size)
                      if not c.void and not c.exempt and set(recs[c.seq].refs) & refs)
        return "amount" if body["amount_fen"] > sum(t.body["amount_fen"] for t in targets) - ordered else None

    def _refuse_money(self, subject, targets, body, size):
        t = targets[0]
        if t.type != "clawback.ordered" or not self._live(t, size):
            return "refs"
        c = next(c for c in self.clawbacks(subject, size) if c.seq == t.seq)
        if c.exempt:
            return "refs"
        return "amount" if body["amount_fen"] > c.owed_now() else None

    _refuse_clawback_recovered = _refuse_money
    _refuse_clawback_waived = _refuse_money

    def _refuse_sanction_ended(self, subject, targets, body, size):
        t = targets[0]
        return "refs" if t.type != "sanction.imposed" or not self._live(t, size) else None

    def _refuse_sanction_amended(self, subject, targets, body, size):
        if self._refuse_sanction_ended(subject, targets, body, size):
            return "refs"
        s = next(s for s in self.sanctions(subject, size) if s.seq == targets[0].seq)
        if s.exempt:
            return "refs"
        start = date.fromisoformat(body["effective_from"]) if "effective_from" in body else s.start
        until = None if "indefinite" in body else (
            date.fromisoformat(body["effective_until"]) if "effective_until" in body else s.until)
        return "period" if until is not None and until < start else None

    def _refuse_exemption_granted(self, subject, targets, body, size):
        for t in targets:
            if t.type not in ("sanction.imposed", "clawback.ordered") or not self._live(t, size):
                return "refs"
            if self._acted_on("exemption.granted", t, size):
                return "refs"
        return None

    def _refuse_entry_corrected(self, subject, targets, body, size):
        t = targets[0]
        return "refs" if t.type not in CORRECTABLE or not self._live(t, size) else None

    def _refuse_sanction_imposed(self, subject, targets, body, size):
        until = body.get("effective_until")
        return "period" if until and until < body["effective_from"] else None

    @staticmethod
    def _regions_of(body: dict) -> list[str]:
        out = list(body.get("scope", {}).get("regions", []))
        if "region" in body:
            out.append(body["region"])
        return out

    @staticmethod
    def _programmes_of(body: dict) -> list[str]:
        out = list(body.get("scope", {}).get("programmes") or [])
        if "programme" in body:
            out.append(body["programme"])
        return out


def day(n: int) -> date:
    """Business dates in the test's small world: 2026-01-01 plus n days."""
    return date(2026, 1, 1) + timedelta(days=n)
