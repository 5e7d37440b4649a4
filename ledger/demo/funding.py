"""A simulated funding system for the demo ledger (``make reconcile``, docs/reconciliation.md): a realistic book of
payments and recoveries consistent with the ledger, plus a seeded, known set of
injected discrepancies of every kind, and the ground truth.

Consistent means: every live grant paid to its subject (sometimes in two
instalments) within days of its decision, before any clawback or correction and
never on a day the subject was barred; every live clawback recovered in full
before its deadline; a few wrong bookings reversed (wholly, or in two parts:
same grant and payee, on or after the booking). Injected discrepancies use
disjoint grants and txn ids starting with "X", so each produces exactly one
finding. Anything the base book could not avoid (a grant that could not be paid
on any clean day) is listed in the ground truth as ``injected: false``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from sqlalchemy import Engine

from ledger.domain import vault_store
from ledger.domain.vault import Vault
from ledger.errors import NotFound
from ledger.finance.job import Lookups, load_book, size_at_end_of
from ledger.finance.reconciliation import ClawbackFact, GrantFact
from ledger.finance.transactions import Txn
from ledger.store import log_store


@dataclass
class Simulation:
    txns: list[Txn] = field(default_factory=list)
    truth: list[dict] = field(default_factory=list)

    def expect(self, kind: str, txn_id: str | None, grant_ref: str | None, injected: bool = True) -> None:
        self.truth.append({"kind": kind, "txn_id": txn_id, "grant_ref": grant_ref, "injected": injected})


def simulate(engine: Engine, vault: Vault, as_of: date, *, seed: int = 1, per_kind: int = 3,
             unpaid_days: int = 90) -> Simulation:
    rng = random.Random(seed)
    with engine.connect() as conn:
        size = size_at_end_of(conn, as_of, log_store.size(conn))
        book = load_book(conn, size, as_of)
        look = Lookups(conn, vault, size, book.sanctioned)
        ids: dict[str, tuple[str, str]] = {}

        def ident(ref: str) -> tuple[str, str] | None:
            if ref not in ids:
                try:
                    d = vault_store.reveal(conn, vault, ref)
                    ids[ref] = (d.scheme, d.id)
                except NotFound:  # erased: the funding system cannot be told who it is
                    return None
            return ids[ref]

        return _Builder(book, look, ident, as_of, rng, per_kind, unpaid_days).build()


class _Builder:
    def __init__(self, book, look, ident, as_of, rng, per_kind, unpaid_days):
        self.book, self.look, self.ident, self.as_of = book, look, ident, as_of
        self.rng, self.n, self.unpaid_days = rng, per_kind, unpaid_days
        self.sim = Simulation()
        self.used: set[int] = set()  # grants already carrying an injection
        self.base: dict[int, list[Txn]] = {}  # grant seq -> its base payments
        self.recoveries: dict[int, Txn] = {}  # clawback seq -> its base recovery
        self.by_seq = {g.seq: g for g in book.grants.values()}
        self.claws_of: dict[int, list[ClawbackFact]] = {}
        for c in book.clawbacks:
            for s in c.grant_seqs:
                self.claws_of.setdefault(s, []).append(c)

    # --- helpers ------------------------------------------------------------------
    def stop(self, g: GrantFact) -> date | None:
        dates = [c.decision_date for c in self.claws_of.get(g.seq, [])]
        if g.voided_on:
            dates.append(g.voided_on)
        return min(dates) if dates else None

    def clean_day(self, g: GrantFact, day: date) -> bool:
        stop = self.stop(g)
        return (g.decision_date <= day <= self.as_of and (stop is None or day <= stop)
                and not self.look.barred(g.subject, g.region, g.programme, day))

    def pay(self, txn_id: str, g: GrantFact, amount: int, day: date, payee=None, kind="payment") -> Txn:
        scheme, number = payee or self.ident(g.subject)
        return Txn(txn_id, kind, "", g.grant_ref.upper(), scheme, number, amount, day, g.programme)

    def pick(self, candidates: list[GrantFact]) -> list[GrantFact]:
        free = [g for g in candidates if g.seq not in self.used]
        chosen = self.rng.sample(free, min(self.n, len(free)))
        self.used.update(g.seq for g in chosen)
        return sorted(chosen, key=lambda g: g.seq)

    # --- the book -----------------------------------------------------------------
    def build(self) -> Simulation:
        self.base_book()
        self.inject()
        for g_seq in sorted(self.base):
            self.sim.txns.extend(self.base[g_seq])
        self.sim.txns.extend(self.recoveries[c] for c in sorted(self.recoveries))
        self.sim.txns.sort(key=lambda t: (t.booked_on, t.txn_id))
        return self.sim

    def base_book(self) -> None:
        for g in sorted(self.book.grants.values(), key=lambda g: g.seq):
            if g.voided_on is not None:
                continue
            who = self.ident(g.subject)
            days = [g.decision_date + timedelta(days=k) for k in (self.rng.randint(1, 10), 0, 1, 2, 3)]
            day = next((d for d in days if self.clean_day(g, d)), None)
            if who is None or day is None:
                self.used.add(g.seq)
                if g.decision_date <= self.as_of - timedelta(days=self.unpaid_days):
                    self.sim.expect("unpaid_grant", None, g.grant_ref, injected=False)
                continue
            if g.amount_fen >= 2 and self.rng.random() < 0.3 and self.clean_day(g, day + timedelta(days=30)):
                half = g.amount_fen // 2
                self.base[g.seq] = [self.pay(f"P{g.seq:09d}-1", g, half, day),
                                    self.pay(f"P{g.seq:09d}-2", g, g.amount_fen - half, day + timedelta(days=30))]
            else:
                self.base[g.seq] = [self.pay(f"P{g.seq:09d}-1", g, g.amount_fen, day)]
        for c in self.book.clawbacks:
            g = self.by_seq.get(c.grant_seqs[0])
            due = c.amount_fen - c.waived_fen
            if g is None or due <= 0 or self.ident(g.subject) is None:
                continue
            day = min(c.decision_date + timedelta(days=5), c.deadline, self.as_of)
            self.recoveries[c.seq] = self.pay(f"R{c.seq:09d}", g, due, day, kind="recovery")

    def plain(self) -> list[GrantFact]:
        """Grants paid once in the base book, with no clawback, sanction or void."""
        return [self.by_seq[s] for s, ts in self.base.items()
                if len(ts) == 1 and s not in self.claws_of and self.by_seq[s].subject not in self.book.sanctioned]

    def inject(self) -> None:
        sim, plain = self.sim, self.plain()
        subjects = sorted({g.subject for g in plain})
        for k, g in enumerate(self.pick(plain)):  # a grant the ledger never made
            t = replace(self.base[g.seq][0], txn_id=f"X-UNKNOWN-{k}", grant_ref=f"NMG-NOSUCH-{k}")
            self.base.setdefault(-1 - k, []).append(t)
            self.used.discard(g.seq)  # the real grant stays clean
            sim.expect("unknown_grant", t.txn_id, t.grant_ref.casefold())
        for g in self.pick(plain):  # paid to someone else
            other = next(s for s in subjects if s != g.subject)
            t = self.base[g.seq][0]
            self.base[g.seq] = [replace(t, payee_scheme=self.ident(other)[0], payee_id=self.ident(other)[1])]
            sim.expect("payee_mismatch", t.txn_id, g.grant_ref)
        for k, g in enumerate(self.pick(plain)):  # paid more than granted
            extra = self.pay(f"X-OVER-{k}", g, 1_000_00, self.base[g.seq][0].booked_on + timedelta(days=1))
            if self.clean_day(g, extra.booked_on):
                self.base[g.seq].append(extra)
                sim.expect("overpaid", None, g.grant_ref)
        for k, g in enumerate(self.pick(plain)):  # booked twice under another id
            self.base[g.seq].append(replace(self.base[g.seq][0], txn_id=f"X-DUP-{k}"))
            sim.expect("duplicate_payment", f"X-DUP-{k}", g.grant_ref)
        for g in self.pick(plain)[:1]:  # the same txn_id twice
            self.base[g.seq].append(self.base[g.seq][0])
            sim.expect("duplicate_payment", self.base[g.seq][0].txn_id, g.grant_ref)
        for k, g in enumerate(self.pick(plain)):  # a wrong booking, reversed (in two parts once): no finding
            wrong = self.pay(f"X-WRONG-{k}", g, 999_00, self.base[g.seq][0].booked_on)
            parts = [999_00] if k else [333_00, 666_00]
            self.base[g.seq] += [wrong, *[replace(wrong, txn_id=f"X-WRONG-{k}-REV{i}", kind="reversal",
                                                   reverses=wrong.txn_id, amount_fen=a,
                                                   booked_on=wrong.booked_on + timedelta(days=i))
                                           for i, a in enumerate(parts)]]
        others = sorted(plain, key=lambda g: g.seq)
        for k, g in enumerate(self.pick(plain)):  # a reversal that matches nothing: it cancels nothing
            t = self.base[g.seq][0]
            if k % 2 == 0:  # 1 fen, booked against another grant
                elsewhere = next(o for o in others if o.seq != g.seq)
                rev = replace(t, txn_id=f"X-MISREV-{k}", kind="reversal", reverses=t.txn_id,
                              grant_ref=elsewhere.grant_ref.upper(), amount_fen=1)
            else:  # the whole payment, booked the day before it
                rev = replace(t, txn_id=f"X-MISREV-{k}", kind="reversal", reverses=t.txn_id,
                              booked_on=t.booked_on - timedelta(days=1))
            self.base[g.seq].append(rev)
            sim.expect("reversal_mismatch", rev.txn_id, g.grant_ref)
        for k, g in enumerate(self.pick(plain)):  # money back that nobody ordered
            self.base[g.seq].append(self.pay(f"X-UNREC-{k}", g, 500_00, self.base[g.seq][0].booked_on, kind="recovery"))
            sim.expect("unrecorded_recovery", f"X-UNREC-{k}", g.grant_ref)
        old = [g for g in plain if g.decision_date <= self.as_of - timedelta(days=self.unpaid_days)]
        for g in self.pick(old):  # never paid
            del self.base[g.seq]
            sim.expect("unpaid_grant", None, g.grant_ref)
        self.inject_barred()
        self.inject_revoked()
        self.inject_recoveries()
        self.base[-1000] = [
            Txn("X-BAD-0", "payment", "", "NMG-ANY", "passport", "DEU/C1", 0, self.as_of, "x"),  # zero amount
            Txn("X-ORPHAN-0", "reversal", "P-NEVER-BOOKED", "", "", "", 100, self.as_of, "x"),
        ]
        sim.expect("invalid_row", "X-BAD-0", None)
        sim.expect("orphan_reversal", "X-ORPHAN-0", None)

    def inject_barred(self) -> None:
        """Move a sanctioned subject's payment into its bar (as the ledger knew it then)."""
        found = 0
        for s_seq, ts in sorted(self.base.items()):
            g = self.by_seq.get(s_seq)
            if found >= self.n or g is None or len(ts) != 1 or g.subject not in self.book.sanctioned or s_seq in self.used:
                continue
            stop = self.stop(g)
            last = min(self.as_of, stop) if stop else self.as_of
            # Every 7th day, then the last bookable day itself: a bar counts as the
            # ledger knew it that day, so a ledger recorded today is barred only
            # from today on, which the 7-day steps may not land on.
            days = [g.decision_date + timedelta(days=k) for k in range(1, 800, 7)] + [last]
            for day in days:
                if day <= g.decision_date or day > last:
                    continue
                if self.look.barred(g.subject, g.region, g.programme, day):
                    self.base[s_seq] = [replace(ts[0], booked_on=day)]
                    self.used.add(s_seq)
                    self.sim.expect("paid_while_barred", ts[0].txn_id, g.grant_ref)
                    found += 1
                    break

    def inject_revoked(self) -> None:
        found = 0
        for c in sorted(self.book.clawbacks, key=lambda c: c.seq):
            g = self.by_seq.get(c.grant_seqs[0])
            ts = self.base.get(c.grant_seqs[0], [])
            day = c.decision_date + timedelta(days=1)
            if (found >= self.n or g is None or len(ts) != 1 or g.seq in self.used or day > self.as_of
                    or self.look.barred(g.subject, g.region, g.programme, day) or len(self.claws_of[g.seq]) != 1):
                continue
            self.base[g.seq] = [replace(ts[0], booked_on=day)]
            self.used.add(g.seq)
            self.sim.expect("paid_after_revocation", ts[0].txn_id, g.grant_ref)
            found += 1
        for k, g in enumerate(g for g in self.book.grants.values() if g.voided_on and g.voided_on < self.as_of):
            if k >= 1 or self.ident(g.subject) is None or self.look.barred(g.subject, g.region, g.programme, self.as_of):
                break
            self.base[g.seq] = [self.pay(f"X-VOID-{k}", g, g.amount_fen, self.as_of)]
            self.sim.expect("paid_after_revocation", f"X-VOID-{k}", g.grant_ref)

    def inject_recoveries(self) -> None:
        """Over-recover some clawbacks, under-recover others past their deadline."""
        alone = [c for c in self.book.clawbacks if c.seq in self.recoveries and len(c.grant_seqs) == 1
                 and len(self.claws_of[c.grant_seqs[0]]) == 1 and c.grant_seqs[0] not in self.used]
        self.rng.shuffle(alone)
        over, under = alone[: self.n], [c for c in alone[self.n:] if c.deadline < self.as_of][: self.n]
        for k, c in enumerate(over):
            g = self.by_seq[c.grant_seqs[0]]
            r = self.recoveries[c.seq]
            self.base.setdefault(g.seq, []).append(replace(r, txn_id=f"X-OVERREC-{k}", amount_fen=777))
            self.used.add(g.seq)
            self.sim.expect("over_recovered", None, g.grant_ref)
        for c in under:
            g = self.by_seq[c.grant_seqs[0]]
            r = self.recoveries[c.seq]
            if r.amount_fen > 1:
                self.recoveries[c.seq] = replace(r, amount_fen=r.amount_fen // 2)
                self.used.add(g.seq)
                self.sim.expect("clawback_overdue", None, g.grant_ref)


def score(report: dict, truth: list[dict]) -> dict:
    """Precision and recall of a report's findings against the ground truth,
    matching on (kind, txn_id, grant_ref)."""
    got = {(f["kind"], f["txn_id"], f["grant_ref"]) for f in report["findings"]}
    want = {(f["kind"], f["txn_id"], f["grant_ref"]) for f in truth}
    hit = got & want
    return {"precision": len(hit) / len(got) if got else 1.0, "recall": len(hit) / len(want) if want else 1.0,
            "expected": len(want), "found": len(got),
            "missing": sorted(map(list, want - got), key=str), "unexpected": sorted(map(list, got - want), key=str)}
