"""Reconciliation at scale (docs/benchmarks.md §5): one million funding transactions against
two hundred thousand grants, end to end through ``ledger.finance.job.produce``,
next to a straightforward pandas implementation producing the same findings
from the same inputs (same run).

    .venv/bin/python bench/reconcile.py [--quick] [--runs N] [--json OUT] [--cache DIR] [--no-breakdown]

The ledger is a SQLite file (``make_engine``: WAL), migrated with
``ledger.store.migrate.upgrade`` and bulk-loaded synthetically, the way
bench/status.py loads its projections (building 200,000 signed grants through
the append path would take longer than this benchmark; bench/append.py
measures that path):

- the vault: S subjects (200,000; 20,000 with --quick), 88% persons with
  resident identity numbers (python-stdnum-valid, real Inner Mongolia
  birthplace codes), 10% foreign experts with passports, 2% employers with
  unified social credit codes. Each row is the row ``Vault.add`` writes (salt,
  reference, blind index, data key wrapped and record sealed with AES-256-GCM
  by the vault's own code, under a fixed 32-byte master), bulk-inserted;
  ``Vault.add``'s per-row lookup is skipped.
- entries and projections: one ``entries`` row per domain entry (minimal
  columns, placeholder canonical bytes and hashes, ``recorded_at`` non-decreasing
  along seq, so ``size_at_end_of`` and every ``seq < size`` filter work as on a
  real log) and its projection row: G grants (200,000; 20,000 with --quick)
  known at the as-of date plus 0.5% recorded the day after (outside the book),
  sanctions on 2% of the subjects (some amended or ended; scopes that bar
  subsidies, scopes that do not, and bars recorded after the payments they
  cover), clawbacks on 2% of the grants (waivers, recoveries, exemptions),
  corrections voiding 0.5% of the grants.
- the funding system: a docs/contracts.md §2.5 CSV of exactly N rows (1,000,000;
  100,000 with --quick): every live grant paid to its subject in 1-9
  instalments, every due clawback recovered, plus ~1% discrepancies of every
  kind with a ground truth (unknown grant refs, some of grants the ledger only
  recorded after the as-of date; payments to another subject, to an identifier
  not in the vault, to a malformed one; re-bookings under another txn_id and
  repeated rows; overpayments; recoveries nobody ordered, over-recoveries,
  overdue clawbacks; payments inside a bar as known that day, after a clawback
  or a correction; invalid rows; orphan reversals; reversed wrong bookings,
  whole or in parts, which must produce nothing; reversals that do not match
  what they name (another grant, booked before it, too much); grants never
  paid). The ledger's entries are real v1 entries (canonical bytes with the
  bodies the projection rows come from: the night checks the rows against
  them) with placeholder hashes and signatures.

Measured, each in a fresh subprocess (peak RSS is the child's own ``VmHWM``,
interpreter and imports included), medians of several runs (3 by default), the
order alternating between runs:

(a) the ledger: ``ledger.finance.job.produce`` end to end, exactly what the
    nightly DAG's reconcile task runs: the anchor lookup, the tree size at the
    end of the as-of day, ``load_book`` and ``Lookups`` (vault blind index),
    two streaming passes over ``CsvSource``, the findings, ``report.json``
    (RFC 8785), ``findings.csv`` and ``summary.html``. The anchor (one signed
    append) is not part of the timing.
(b) the baseline: a straightforward pandas implementation of every finding
    kind (``child_pandas``): ``read_sql`` of the ledger's tables at the tree
    size of the end of the as-of day, ``read_csv`` of the funding file, the
    contract's row rules vectorised, then merges, ``duplicated()``, ``groupby``
    and ``cumsum`` for repeated txn_ids, a loop over the reversals (what is
    left to reverse depends on the earlier ones), repeated txn_ids, unknown grants, payees
    (a blind index per distinct payee, the ledger's identifier normalisation
    only on a miss), re-bookings, payee mismatches, payments after a void or a
    clawback, bars as known at the end of the booking day (latest sanction
    version and exits recorded by then, scope and period), over- and unpaid
    grants, unrecorded, excess and overdue recoveries. It writes the findings
    in the ledger's findings.csv columns; it does not fingerprint the input,
    write messages (except for invalid rows), report.json or summary.html.

Then the two sides' findings (first run) are compared as multisets of (kind,
txn_id, grant_ref, subject, seqs, amounts), the message left out:
``findings_equal``, per-kind counts, and a few differences if any. The ledger's
findings are also scored against the ground truth (precision and recall,
``ledger.demo.funding.score``). Once (not timed against anything), a breakdown
of the ledger's time by phase with the lookups instrumented.

No assertions on timings: this script measures and reports.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import json
import os
import platform
import random
import resource
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.markup import escape  # noqa: E402
from rich.table import Table  # noqa: E402

SEED = 1
GENERATOR = 3  # bump when the generated data changes (invalidates --cache)
AS_OF = date(2026, 11, 29)
D0 = date(2024, 1, 1)
UNPAID_DAYS = 90
MASTER = hashlib.sha256(b"bench/reconcile.py vault master").digest()  # fixed 32-byte vault master
CACHE_MARKER = "bench-reconcile.json"

err = Console(stderr=True, highlight=False)


def progress(msg: str) -> None:
    err.print(f"[dim]{time.strftime('%H:%M:%S')}  {escape(msg)}[/dim]")


def peak_rss_mib() -> float:
    """This process's peak RSS: VmHWM (per address space, so it starts afresh at exec). ru_maxrss
    is not used: Linux carries the forking parent's high-water mark across fork and exec into it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- The synthetic ledger and funding system -------------------------------------------------

class Subject:
    __slots__ = ("i", "scheme", "value", "ref", "league", "sanction", "spelling")

    def __init__(self, i, scheme, value, ref, league):
        self.i, self.scheme, self.value, self.ref, self.league = i, scheme, value, ref, league
        self.sanction = self.spelling = None


class Grant:
    __slots__ = ("i", "subject", "ref", "region", "programme", "kind", "amount", "decision", "recorded", "late",
                 "recent", "seq", "pays", "claw", "void", "used")

    def __init__(self, **kw):
        for k in self.__slots__:
            setattr(self, k, kw.get(k))
        self.pays, self.used = [], False  # pays: [txn_id, amount_fen, booked_on, payee (scheme, id) or None]


class Event:
    """A ledger entry to be: recorded_at decides its seq."""
    __slots__ = ("at", "type", "authority", "subject", "seq")

    def __init__(self, at: str, type_: str, authority: str, subject: str | None):
        self.at, self.type, self.authority, self.subject, self.seq = at, type_, authority, subject, None


class Build:
    def __init__(self, n_txns: int, n_grants: int, n_subjects: int, seed: int = SEED):
        self.N, self.G, self.S = n_txns, n_grants, n_subjects
        self.rng = random.Random(seed)
        self.scale = n_txns / 1_000_000
        self.events: list[Event] = []
        self.truth: list[dict] = []
        self.extra: list[list] = []  # CSV rows outside the grants' own instalments
        self.counts: dict[str, int] = {}

    def n(self, k: int) -> int:
        return max(1, round(k * self.scale))

    def at(self, day: date) -> str:
        # 00:00-15:59 UTC is 08:00-23:59 in Beijing: the UTC date is the business day (Asia/Shanghai).
        return f"{day.isoformat()}T{self.rng.randrange(57600) // 3600:02d}:{self.rng.randrange(60):02d}:" \
               f"{self.rng.randrange(60):02d}.{self.rng.randrange(10**6):06d}Z"

    def event(self, day: date, type_: str, authority: str, subject: str | None) -> Event:
        e = Event(self.at(day), type_, authority, subject)
        self.events.append(e)
        return e

    def expect(self, kind: str, txn_id: str | None, grant_ref: str | None) -> None:
        self.truth.append({"kind": kind, "txn_id": txn_id, "grant_ref": grant_ref, "injected": True})

    # --- subjects ------------------------------------------------------------------
    def subjects(self, vault) -> list[dict]:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from stdnum.cn import ric

        from ledger.demo.region import COUNTIES, FORMER, org_id
        from ledger.domain.identifiers import Identifier, normalise
        from ledger.domain.regions import LEAGUES_AND_CITIES
        from ledger.domain.vault import subject_ref

        rng = self.rng
        leagues = list(LEAGUES_AND_CITIES)
        # Which (county, birth year) python-stdnum accepts: test one number per pair, keep inner years only.
        valid: dict[str, list[tuple[str, int]]] = {}
        for league in leagues:
            for county in COUNTIES[league] + FORMER.get(league, []):
                years = []
                for y in range(1955, 2004):
                    body = f"{county}{y}0615123"
                    try:
                        normalise("cn-rid", body + ric.calc_check_digit(body + "0"))
                        years.append(y)
                    except Exception:  # noqa: BLE001 - not valid for that year
                        pass
                valid.setdefault(league, []).extend((county, y) for y in years[1:-1])
        countries = ["DEU", "FRA", "GBR", "USA", "JPN", "KOR", "RUS", "MNG", "CAN", "AUS", "ITA", "NLD"]
        self.people: list[Subject] = []
        seen: set[str] = set()
        rows = []
        created = "2024-01-01T00:00:00.000000Z"
        while len(self.people) < self.S:
            i = len(self.people)
            league = rng.choice(leagues)
            r = rng.random()
            if r < 0.88:
                county, year = rng.choice(valid[league])
                body = f"{county}{year}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}{rng.randrange(1000):03d}"
                ident = Identifier("cn-rid", body + ric.calc_check_digit(body + "0"))
            elif r < 0.98:
                ident = Identifier("passport", f"{rng.choice(countries)}/E{i:08d}")
            else:
                scheme, _, value = org_id(rng, league).partition(":")
                ident = Identifier(scheme, value)
            if str(ident) in seen:
                continue
            seen.add(str(ident))
            salt, data_key = rng.randbytes(16), rng.randbytes(32)
            ref = subject_ref(salt, ident)
            record = json.dumps({"scheme": ident.scheme, "id": ident.value, "salt": salt.hex(),
                                 "name": f"受试者{i}"}, ensure_ascii=False).encode()
            rows.append({"ref": ref, "kind": ident.kind, "blind_index": vault.blind_index(ident),
                         "wrapped_key": vault._seal(vault._wrap, data_key, ref),
                         "payload": vault._seal(AESGCM(data_key), record, ref),
                         "created_at": created, "erased_seq": None})
            self.people.append(Subject(i, ident.scheme, ident.value, ref, league))
        # A sample must survive the engine's own normalisation unchanged (else the generator is wrong).
        for s in rng.sample(self.people, min(2000, len(self.people))):
            if normalise(s.scheme, s.value).value != s.value:
                raise RuntimeError(f"generated identifier {s.scheme}:{s.value} does not normalise to itself")
        return rows

    def payee(self, s: Subject) -> tuple[str, str]:
        # The funding system writes half of the check characters X in lower case (the engine normalises
        # them), always the same way for one person: the engine's duplicate key is the payee as written.
        if s.spelling is None:
            lower = s.scheme == "cn-rid" and s.value.endswith("X") and self.rng.random() < 0.5
            s.spelling = s.value.lower() if lower else s.value
        return s.scheme, s.spelling

    # --- grants and their instalments ---------------------------------------------
    def grants(self) -> None:
        from ledger.demo.region import PROGRAMMES

        rng = self.rng
        old_span = (AS_OF - timedelta(days=120) - D0).days
        late = max(1, self.G // 200)
        self.all_grants: list[Grant] = []
        target = self.N - self.n(11_300)  # leave room for the extra rows (recoveries, injections)
        p = (target / self.G - 1) / 8
        for i in range(self.G + late):
            s = self.people[rng.randrange(self.S)]
            recent, is_late = i >= self.G * 0.955 and i < self.G, i >= self.G
            if is_late:
                decision = AS_OF - timedelta(days=rng.randrange(5))
                recorded = AS_OF + timedelta(days=rng.randint(1, 3))
            elif recent:
                decision = AS_OF - timedelta(days=rng.randrange(80))
                recorded = min(decision + timedelta(days=rng.randrange(4)), AS_OF)
            else:
                decision = D0 + timedelta(days=rng.randrange(old_span))
                recorded = decision + timedelta(days=rng.randrange(4))
            region = s.league if rng.random() < 0.7 else rng.choice(["150102", "150203", "150402", "152501"])
            g = Grant(i=i, subject=s, ref=f"NMG-{region}-{decision.year}-{i:07d}", region=region,
                      programme=rng.choice(PROGRAMMES), amount=rng.randrange(10_000, 500_000) * 100,
                      kind=rng.choice(["research_funding", "living_allowance", "housing", "startup"]),
                      decision=decision, recorded=recorded, late=is_late, recent=recent)
            g.seq = self.event(recorded, "subsidy.granted", f"hrss-{s.league}", s.ref)
            if not is_late:
                k = 1 + sum(rng.random() < p for _ in range(8))
                self.instalments(g, k, decision + timedelta(days=rng.randint(1, 10)))
            self.all_grants.append(g)
        self.book_grants = [g for g in self.all_grants if not g.late]

    def instalments(self, g: Grant, k: int, first: date) -> None:
        part = g.amount // k
        g.pays = []
        for j in range(k):
            day = first + timedelta(days=10 * j)
            if day > AS_OF + timedelta(days=3):
                break  # the funding system's extract stops a few days after the as-of date
            amount = part if j < k - 1 else g.amount - part * (k - 1)
            g.pays.append([f"P{g.i:07d}-{j + 1}", amount, day, None])

    def last_paid(self, g: Grant) -> date | None:
        days = [p[2] for p in g.pays if p[2] <= AS_OF]
        return max(days) if days else None

    # --- sanctions, clawbacks, corrections ----------------------------------------
    def sanctions(self) -> list[dict]:
        rng = self.rng
        by_subject: dict[int, list[Grant]] = {}
        for g in self.book_grants:
            by_subject.setdefault(g.subject.i, []).append(g)
        self.grants_of = by_subject
        rows = []
        legal = json.dumps({"article": "条例第六十六条", "document_no": "内人社失信〔2026〕9号"}, ensure_ascii=False)
        for s in rng.sample(self.people, max(1, self.S // 50)):
            days = [p[2] for g in by_subject.get(s.i, []) for p in g.pays if p[2] <= AS_OF]
            first, last = (min(days), max(days)) if days else (None, None)
            r = rng.random()
            kind = "A" if r < 0.6 else "B" if r < 0.85 else "C"
            if kind == "A" and last is not None and last + timedelta(days=31) > AS_OF - timedelta(days=1):
                kind = "B"
            if kind == "C" and (last is None or last + timedelta(days=5) > AS_OF):
                kind = "B"
            benefits, until = ["subsidy", "talent_project"], None
            if kind == "A":  # bars subsidies from after the last payment
                recorded = (last or D0 + timedelta(days=rng.randrange(900))) + timedelta(days=rng.randint(30, 200))
                recorded = min(recorded, AS_OF - timedelta(days=1))
                start = recorded
                if rng.random() < 0.7:
                    until = start + timedelta(days=365 * rng.randint(1, 3))
            elif kind == "B":  # scope without subsidies: never bars a payment
                recorded = D0 + timedelta(days=rng.randrange((AS_OF - D0).days))
                start, benefits = recorded, [rng.choice(["honor", "talent_project"])]
            else:  # recorded after the payments, effective before them: not a bar as known then
                recorded = last + timedelta(days=rng.randint(5, min(20, (AS_OF - last).days)))
                start = first - timedelta(days=30)
            e = self.event(recorded, "sanction.imposed", "nmg-talent-office", s.ref)
            s.sanction = {"kind": kind, "event": e, "start": start, "until": until, "recorded": recorded,
                          "amended": False, "ended": False}
            rows.append((e, e, s, start, until, benefits, legal))
            if kind == "A" and rng.random() < 0.2 and recorded + timedelta(days=60) <= AS_OF:
                a = self.event(recorded + timedelta(days=rng.randint(10, 60)), "sanction.amended",
                               "nmg-talent-office", s.ref)
                until2 = start + timedelta(days=365 * 4)
                rows.append((a, e, s, start, until2, benefits, legal))
                s.sanction["amended"] = True
            elif kind == "A" and rng.random() < 0.1 and start + timedelta(days=100) <= AS_OF:
                x = self.event(start + timedelta(days=100), "sanction.ended", "nmg-talent-office", s.ref)
                s.sanction["ended"] = (x, start + timedelta(days=100))
        self.sanction_rows = rows
        self.counts["sanctioned_subjects"] = len(rows) - sum(1 for r in rows if r[0] is not r[1])
        return rows

    def clawbacks_and_voids(self) -> None:
        rng = self.rng
        old = [g for g in self.book_grants if not g.recent]
        self.claws = []
        for g in rng.sample(old, max(1, len(self.book_grants) // 50)):
            last = self.last_paid(g)
            if last is None or last + timedelta(days=6) > AS_OF:
                continue
            decision = min(last + timedelta(days=rng.randint(5, 200)), AS_OF - timedelta(days=1))
            recorded = min(decision + timedelta(days=rng.randrange(3)), AS_OF)
            c = {"grant": g, "amount": g.amount if rng.random() < 0.5 else g.amount // 2, "decision": decision,
                 "deadline": decision + timedelta(days=90), "waived": 0, "exempt": None, "moves": [], "row": None}
            c["event"] = self.event(recorded, "clawback.ordered", f"hrss-{g.subject.league}", g.subject.ref)
            g.claw = c
            if rng.random() < 0.03 and decision + timedelta(days=10) <= AS_OF:
                c["exempt"] = self.event(decision + timedelta(days=10), "exemption.granted", "nmg-talent-office",
                                         g.subject.ref)
            elif rng.random() < 0.2 and decision + timedelta(days=20) <= AS_OF:
                c["waived"] = c["amount"] // 10
                c["moves"].append(("waived", c["waived"], decision + timedelta(days=20),
                                   self.event(decision + timedelta(days=20), "clawback.waived",
                                              f"hrss-{g.subject.league}", g.subject.ref)))
            self.claws.append(c)
            if c["exempt"]:
                continue
            due = c["amount"] - c["waived"]
            if c["deadline"] < AS_OF or rng.random() < 0.5:
                day = min(decision + timedelta(days=rng.randint(5, 60)), c["deadline"], AS_OF)
                if day <= AS_OF and decision + timedelta(days=5) <= AS_OF:
                    c["row"] = [f"R{g.i:07d}", "recovery", "", g.ref, *self.payee(g.subject), due, day, g.programme]
                    if day + timedelta(days=2) <= AS_OF:
                        c["moves"].append(("recovered", due, day, self.event(
                            day + timedelta(days=2), "clawback.recovered", f"hrss-{g.subject.league}",
                            g.subject.ref)))
        self.voids = []
        free = [g for g in old if g.claw is None]
        for g in rng.sample(free, max(1, len(self.book_grants) // 200)):
            last = self.last_paid(g)
            before = rng.random() < 0.5 or last is None  # voided before any payment
            day = (g.recorded + timedelta(days=rng.randint(1, 3)) if before
                   else last + timedelta(days=rng.randint(5, 100)))
            if day > AS_OF:
                continue
            if before:
                g.pays = []
            g.void = {"event": self.event(day, "entry.corrected", "nmg-talent-office", g.subject.ref), "on": day}
            self.voids.append(g)

    # --- injected discrepancies ---------------------------------------------------
    def pick(self, pool: list, k: int) -> list:
        free = [x for x in pool if not (x.used if isinstance(x, Grant) else x["grant"].used)]
        chosen = self.rng.sample(free, min(k, len(free)))
        for x in chosen:
            (x if isinstance(x, Grant) else x["grant"]).used = True
        return chosen

    def row(self, g: Grant, txn_id: str, amount, day: date, kind="payment", payee=None, ref=None) -> list:
        scheme, value = payee or self.payee(g.subject)
        return [txn_id, kind, "", ref or g.ref, scheme, value, amount, day, g.programme]

    def inject(self) -> None:
        rng, n = self.rng, self.n
        plain = [g for g in self.book_grants if not g.recent and g.claw is None and g.void is None
                 and g.subject.sanction is None and g.pays and all(p[2] <= AS_OF for p in g.pays)]
        clean_people = [s for s in self.people if s.sanction is None]
        # unknown grant refs: typos, grants that never existed, grants the ledger recorded only after the as-of date
        for k, g in enumerate(rng.sample(plain, n(1700))):
            t = self.row(g, f"X-UNKNOWN-{k}", g.pays[0][1], g.pays[0][2], ref=f"NMG-{g.region}-NOSUCH-{k:06d}")
            self.extra.append(t)
            self.expect("unknown_grant", t[0], t[3].casefold())
        for k, g in enumerate(rng.sample([g for g in self.all_grants if g.late], min(n(300), self.G // 200))):
            t = self.row(g, f"X-LATE-{k}", g.amount, AS_OF)
            self.extra.append(t)
            self.expect("unknown_grant", t[0], t[3].casefold())
        # paid to someone else / to an identifier not in the vault / to a malformed number
        for k, g in enumerate(self.pick(plain, n(2000))):
            p = g.pays[rng.randrange(len(g.pays))]
            r = k % 10
            if r < 7:
                other = rng.choice(clean_people)
                while other is g.subject:
                    other = rng.choice(clean_people)
                p[3] = (other.scheme, other.value)
            elif r < 9 or g.subject.scheme != "cn-rid":
                p[3] = ("passport", f"USA/Z{k:08d}")  # valid, never registered
            else:
                v = g.subject.value
                p[3] = ("cn-rid", v[:17] + ("0" if v[17] != "0" else "1"))  # wrong check character
            self.expect("payee_mismatch", p[0], g.ref.casefold())
        # re-booked under another txn_id (the larger id is the duplicate), and repeated rows
        for k, g in enumerate(self.pick(plain, n(1500))):
            p = g.pays[rng.randrange(len(g.pays))]
            self.extra.append(self.row(g, f"X-DUP-{k}", p[1], p[2]))
            self.expect("duplicate_payment", f"X-DUP-{k}", g.ref.casefold())
        for g in self.pick(plain, n(500)):
            p = g.pays[rng.randrange(len(g.pays))]
            self.extra.append(self.row(g, p[0], p[1], p[2]))
            self.expect("duplicate_payment", p[0], g.ref.casefold())
        # overpaid
        for k, g in enumerate(self.pick(plain, n(1000))):
            self.extra.append(self.row(g, f"X-OVER-{k}", 1_000_00, max(p[2] for p in g.pays) + timedelta(days=1)))
            self.expect("overpaid", None, g.ref.casefold())
        # wrong bookings, reversed (docs/contracts.md §2.5: same grant_ref and payee, booked on or after the
        # payment, at most what is not yet reversed), whole or in two parts: no finding
        for k, g in enumerate(self.pick(plain, n(1000))):
            day = g.pays[0][2]
            self.extra.append(self.row(g, f"X-WRONG-{k}", 999_00, day))
            parts = (999_00,) if k % 4 else (400_00, 599_00)
            for j, part in enumerate(parts):  # booked the same day: on or after the payment, by the as-of date
                rev = self.row(g, f"X-WRONG-{k}-REV{'' if len(parts) == 1 else j}", part, day,
                               kind="reversal", ref=g.ref.upper() if k % 3 == 0 else None)  # refs match case-folded
                rev[2] = f"X-WRONG-{k}"
                self.extra.append(rev)
        # reversals that do not match what they name cancel nothing: reversal_mismatch (the payment counts)
        others = [g for g in plain if g.pays]
        for k, g in enumerate(self.pick(plain, n(200))):
            p = g.pays[0]
            r = k % 3
            if r == 0:  # a 1-fen "reversal" under another grant
                h = rng.choice(others)
                while h is g:
                    h = rng.choice(others)
                rev = self.row(h, f"X-MISREV-{k}", 1, p[2], kind="reversal")
            elif r == 1:  # booked before the payment it reverses
                rev = self.row(g, f"X-MISREV-{k}", p[1], p[2] - timedelta(days=1), kind="reversal")
            else:  # more than the payment
                rev = self.row(g, f"X-MISREV-{k}", p[1] + 1, p[2], kind="reversal")
            rev[2] = p[0]
            self.extra.append(rev)
            self.expect("reversal_mismatch", rev[0], g.ref.casefold())
        for k in range(n(200)):
            day = AS_OF - timedelta(days=rng.randrange(300))
            self.extra.append([f"X-ORPHAN-{k}", "reversal", f"P-NEVER-BOOKED-{k}", "", "", "", 100, day, "草原英才"])
            self.expect("orphan_reversal", f"X-ORPHAN-{k}", None)
        # recoveries nobody ordered
        for k, g in enumerate(self.pick(plain, n(500))):
            self.extra.append(self.row(g, f"X-UNREC-{k}", 500_00, g.pays[0][2], kind="recovery"))
            self.expect("unrecorded_recovery", f"X-UNREC-{k}", g.ref.casefold())
        # over-recovered / overdue (clawbacks that are alone on their grant, recovered in full in the base book)
        recovered = [c for c in self.claws if c["row"] is not None and c["grant"].subject.sanction is None]
        for k, c in enumerate(self.pick(recovered, n(300))):
            g = c["grant"]
            self.extra.append(self.row(g, f"X-OVERREC-{k}", 777, c["row"][7], kind="recovery"))
            self.expect("over_recovered", None, g.ref.casefold())
        due = [c for c in recovered if c["deadline"] < AS_OF and c["row"][6] >= 2]
        for c in self.pick(due, n(300)):
            c["row"][6] //= 2
            self.expect("clawback_overdue", None, c["grant"].ref.casefold())
        # paid after a clawback was ordered / after the grant was voided
        live = [c for c in self.claws if c["exempt"] is None and c["grant"].subject.sanction is None
                and c["decision"] + timedelta(days=5) <= AS_OF and c["grant"].pays]
        for c in self.pick(live, n(200)):
            g = c["grant"]
            p = max(g.pays, key=lambda p: p[2])
            p[2] = c["decision"] + timedelta(days=rng.randint(1, 5))
            self.expect("paid_after_revocation", p[0], g.ref.casefold())
        voided = [g for g in self.voids if g.pays and g.subject.sanction is None
                  and g.void["on"] + timedelta(days=5) <= AS_OF]
        for g in self.pick(voided, n(100)):
            p = max(g.pays, key=lambda p: p[2])
            p[2] = g.void["on"] + timedelta(days=rng.randint(1, 5))
            self.expect("paid_after_revocation", p[0], g.ref.casefold())
        # paid inside a bar, as the ledger knew it that day
        barred = [g for g in self.book_grants if not g.recent and g.claw is None and g.void is None and g.pays
                  and g.subject.sanction and g.subject.sanction["kind"] == "A" and not g.subject.sanction["amended"]
                  and not g.subject.sanction["ended"] and g.subject.sanction["recorded"] + timedelta(days=11) <= AS_OF]
        for g in self.pick(barred, n(300)):
            sc = g.subject.sanction
            day = max(sc["recorded"], sc["start"]) + timedelta(days=rng.randint(1, 10))
            if sc["until"] and day > sc["until"]:
                continue
            p = max(g.pays, key=lambda p: p[2])
            p[2] = day
            self.expect("paid_while_barred", p[0], g.ref.casefold())
        # invalid rows
        bad = [("amount_fen", "0"), ("amount_fen", "-100"), ("amount_fen", "12.50"), ("booked_on", "2026-02-30"),
               ("kind", "refund"), ("reverses", "")]
        for k in range(n(200)):
            g = rng.choice(plain)
            t = self.row(g, f"X-BAD-{k}", g.pays[0][1], g.pays[0][2])
            col, value = bad[k % len(bad)]
            if col == "reverses":
                t[1] = "reversal"
            else:
                t[{"amount_fen": 6, "booked_on": 7, "kind": 1}[col]] = value
            self.extra.append(t)
            self.expect("invalid_row", t[0], None)
        # never paid
        old = [g for g in plain if g.decision <= AS_OF - timedelta(days=UNPAID_DAYS)]
        for g in self.pick(old, n(300)):
            g.pays = []
            self.expect("unpaid_grant", None, g.ref.casefold())
        self.counts["injected_findings"] = len(self.truth)

    # --- exactly N rows --------------------------------------------------------------
    def csv_rows(self) -> list[list]:
        rows = list(self.extra)
        rows += [c["row"] for c in self.claws if c["row"] is not None]
        base = sum(len(g.pays) for g in self.all_grants)
        diff = self.N - len(rows) - base
        adjustable = [g for g in self.book_grants if not g.used and not g.recent and g.claw is None
                      and g.void is None and g.subject.sanction is None and 2 <= len(g.pays) <= 8
                      and all(p[2] <= AS_OF for p in g.pays)]
        self.rng.shuffle(adjustable)
        if abs(diff) > len(adjustable):
            raise RuntimeError(f"cannot reach {self.N} rows: {diff:+d} to adjust, {len(adjustable)} grants free")
        for g in adjustable[:abs(diff)]:
            self.instalments(g, len(g.pays) + (1 if diff > 0 else -1), g.pays[0][2])
        for g in self.all_grants:
            for txn_id, amount, day, payee in g.pays:
                rows.append(self.row(g, txn_id, amount, day, payee=payee))
        if len(rows) != self.N:
            raise RuntimeError(f"generated {len(rows)} rows, wanted {self.N}")
        rows.sort(key=lambda r: (str(r[7]), r[0]))
        return rows

    # --- write it all ----------------------------------------------------------------
    def write(self, d: Path) -> dict:
        from ledger.domain.vault import Vault
        from ledger.store.engine import make_engine
        from ledger.store.migrate import upgrade
        from ledger.store.schema import clawbacks, entries, exits, grants, money_moves, sanction_versions, subjects

        t0 = time.perf_counter()
        vault = Vault(MASTER, random=self.rng.randbytes)
        progress(f"generating {self.S:,} subjects")
        subject_rows = self.subjects(vault)
        progress(f"generating {self.G:,} grants and their instalments, sanctions, clawbacks, corrections")
        self.grants()
        self.sanctions()
        self.clawbacks_and_voids()
        self.inject()
        rows = self.csv_rows()
        self.events.sort(key=lambda e: e.at)
        for seq, e in enumerate(self.events):
            e.seq = seq
        size = sum(1 for e in self.events if e.at < f"{(AS_OF + timedelta(days=1)).isoformat()}T")
        progress(f"writing the ledger: {len(self.events):,} entries ({size:,} recorded by {AS_OF}), "
                 f"{len(subject_rows):,} vault subjects")
        db = d / "ledger.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        engine = make_engine(f"sqlite:///{db}")
        upgrade(engine)
        chunk = 50_000
        grant_rows = [
            {"seq": g.seq.seq, "subject": g.subject.ref, "grant_ref": g.ref.strip().casefold(),
             "programme": g.programme, "kind": g.kind, "amount_fen": g.amount,
             "decision_date": g.decision.isoformat(), "region": g.region} for g in self.all_grants]
        version_rows = [
            {"version_seq": v.seq, "sanction_seq": s.seq, "subject": subj.ref, "severity": "serious",
             "effective_from": start.isoformat(), "effective_until": until.isoformat() if until else None,
             "benefits": json.dumps(sorted(benefits)), "regions": '["150000"]', "programmes": "[]",
             "legal_basis": json.dumps(json.loads(legal), ensure_ascii=False, sort_keys=True),
             "deciding_body": "内蒙古自治区人力资源和社会保障厅"}
            for v, s, subj, start, until, benefits, legal in self.sanction_rows]
        ex = [{"target_seq": p.sanction["event"].seq, "exit_seq": p.sanction["ended"][0].seq, "subject": p.ref,
               "kind": "ended", "on_date": p.sanction["ended"][1].isoformat(), "reason": "credit_repair"}
              for p in self.people if p.sanction and p.sanction["ended"]]
        ex += [{"target_seq": g.seq.seq, "exit_seq": g.void["event"].seq, "subject": g.subject.ref,
                "kind": "voided", "on_date": None, "reason": None} for g in self.voids]
        ex += [{"target_seq": c["event"].seq, "exit_seq": c["exempt"].seq, "subject": c["grant"].subject.ref,
                "kind": "exempted", "on_date": c["decision"].isoformat(), "reason": None}
               for c in self.claws if c["exempt"]]
        claw_rows = [
            {"seq": c["event"].seq, "subject": c["grant"].subject.ref, "amount_fen": c["amount"],
             "deadline": c["deadline"].isoformat(), "grant_seqs": json.dumps([c["grant"].seq.seq]),
             "decision_date": c["decision"].isoformat()} for c in self.claws]
        moves = [{"move_seq": e.seq, "clawback_seq": c["event"].seq, "kind": kind, "amount_fen": amount,
                  "on_date": day.isoformat()} for c in self.claws for kind, amount, day, e in c["moves"]]
        bodies = entry_bodies(grant_rows, version_rows, ex, claw_rows, moves,
                              {g.seq.seq: g.ref for g in self.all_grants})
        with engine.begin() as conn:
            for lo in range(0, len(subject_rows), chunk):
                conn.execute(subjects.insert(), subject_rows[lo:lo + chunk])
            for lo in range(0, len(self.events), chunk):
                conn.execute(entries.insert(), [entry_row(e, *bodies.get(e.seq, ((), {})))
                                                for e in self.events[lo:lo + chunk]])
            # The projection rows, as the append path writes them from these entries: the night checks
            # them against the entries before it reads them (ledger.domain.projection_check).
            conn.execute(grants.insert(), grant_rows)
            conn.execute(sanction_versions.insert(), version_rows)
            conn.execute(exits.insert(), ex)
            conn.execute(clawbacks.insert(), claw_rows)
            if moves:
                conn.execute(money_moves.insert(), moves)
        engine.dispose()
        progress(f"writing the funding CSV: {len(rows):,} rows")
        from ledger.finance.transactions import COLUMNS
        with (d / "funding.csv").open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(COLUMNS)
            w.writerows([*r[:7], r[7].isoformat() if isinstance(r[7], date) else r[7], r[8]] for r in rows)
        (d / "ground-truth.json").write_text(json.dumps(self.truth, ensure_ascii=False) + "\n")
        kinds: dict[str, int] = {}
        for t in self.truth:
            kinds[t["kind"]] = kinds.get(t["kind"], 0) + 1
        return {"txns": self.N, "grants_in_book": len(self.book_grants), "grants_rows": len(self.all_grants),
                "subjects": self.S, "entries": len(self.events), "tree_size_at_as_of": size,
                "sanctioned_subjects": self.counts["sanctioned_subjects"], "clawbacks": len(self.claws),
                "voided_grants": len(self.voids), "reversed_wrong_bookings": self.n(1000),
                "mismatched_reversals": self.n(200),
                "injected": kinds, "injected_findings": len(self.truth),
                "csv_mib": round((d / "funding.csv").stat().st_size / 2**20, 1),
                "build_s": round(time.perf_counter() - t0, 1)}


def entry_bodies(grant_rows, version_rows, exit_rows, claw_rows, moves, refs_as_written) -> dict[int, tuple]:
    """Each domain entry's refs and body, such that ``ledger.domain.projection.rows_of`` makes exactly the
    projection rows written beside them (the night checks that before reading them)."""
    out: dict[int, tuple] = {}
    for r in grant_rows:
        out[r["seq"]] = ((), {"programme": r["programme"], "kind": r["kind"], "amount_fen": r["amount_fen"],
                              "grant_ref": refs_as_written[r["seq"]], "decision_date": r["decision_date"],
                              "region": r["region"], "budget_account": "2130101"})
    for v in version_rows:
        scope = {"benefits": json.loads(v["benefits"]), "regions": json.loads(v["regions"]),
                 "programmes": json.loads(v["programmes"])}
        until = {"effective_until": v["effective_until"]} if v["effective_until"] else {}
        if v["version_seq"] == v["sanction_seq"]:
            out[v["version_seq"]] = ((), {"severity": v["severity"], "effective_from": v["effective_from"], **until,
                                          "scope": scope, "legal_basis": json.loads(v["legal_basis"]),
                                          "deciding_body": v["deciding_body"], "decision_date": v["effective_from"],
                                          "grounds": "伪造申报材料"})
        else:
            out[v["version_seq"]] = ((v["sanction_seq"],), {"effective_from": v["effective_from"],
                                                            **(until or {"indefinite": True}), "scope": scope})
    for x in exit_rows:
        body = {"ended": {"ended_on": x["on_date"], "reason": x["reason"]}, "voided": {},
                "exempted": {"decision_date": x["on_date"]}}[x["kind"]]
        out[x["exit_seq"]] = ((x["target_seq"],), body)
    for c in claw_rows:
        out[c["seq"]] = (tuple(json.loads(c["grant_seqs"])), {"amount_fen": c["amount_fen"], "deadline": c["deadline"],
                                                              "decision_date": c["decision_date"]})
    for m in moves:
        day = {"recovered_on": m["on_date"]} if m["kind"] == "recovered" else {"decision_date": m["on_date"]}
        out[m["move_seq"]] = ((m["clawback_seq"],), {"amount_fen": m["amount_fen"], **day})
    return out


def entry_row(e: Event, refs: tuple, body: dict) -> dict:
    """An ``entries`` row whose canonical bytes parse as a v1 entry (``from_canonical``) with ``refs`` and
    ``body``; hashes, chain and signature are placeholders (nothing on the night's path checks them:
    ``ledger verify`` does, and bench/verify.py prices it)."""
    from ledger.log import canonical

    prev = e.seq.to_bytes(32, "big")
    envelope = {"v": 1, "seq": e.seq, "prev": prev.hex(), "type": e.type, "recorded_at": e.at,
                "authority": {"id": e.authority, "region": "150000"}, "actor": "bench", "subject": e.subject,
                "refs": list(refs), "request_id": f"bench-{e.seq}", "body": body, "signer": f"dev-{e.authority}",
                "sig": base64.b64encode(bytes(64)).decode()}
    return {"seq": e.seq, "prev": prev, "leaf_hash": hashlib.sha256(b"bench-leaf" + e.seq.to_bytes(8, "big")).digest(),
            "type": e.type, "recorded_at": e.at, "authority_id": e.authority, "subject": e.subject,
            "request_id": f"bench-{e.seq}", "signer": f"dev-{e.authority}", "canonical": canonical.encode(envelope)}


def build_data(d: Path, params: dict, cache: bool) -> dict:
    marker = d / CACHE_MARKER
    key = {"txns": params["txns"], "grants": params["grants"], "subjects": params["subjects"], "seed": SEED,
           "generator": GENERATOR, "as_of": AS_OF.isoformat()}
    if cache and marker.exists():
        info = json.loads(marker.read_text())
        if info.get("key") == key and (d / "ledger.db").exists() and (d / "funding.csv").exists():
            progress(f"reusing the cached ledger and CSV in {d}")
            return {**info["data"], "cached": True}
    progress(f"building: {params['txns']:,} transactions, {params['grants']:,} grants, {params['subjects']:,} subjects")
    data = Build(params["txns"], params["grants"], params["subjects"]).write(d)
    if cache:
        marker.write_text(json.dumps({"key": key, "data": data}, ensure_ascii=False) + "\n")
    return {**data, "cached": False}


# --- The measured children (each run: `bench/reconcile.py --child ledger|pandas|breakdown DIR OUT`) --------

def child_ledger(d: Path, out: Path) -> dict:
    rss0 = peak_rss_mib()
    from ledger.domain.vault import Vault
    from ledger.finance.business_day import end_of
    from ledger.finance.job import produce
    from ledger.finance.sources import CsvSource
    from ledger.store.engine import make_engine

    rss_imports = peak_rss_mib()
    marks: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    engine = make_engine(f"sqlite:///{d / 'ledger.db'}")
    p = produce(engine, Vault(MASTER), CsvSource(d / "funding.csv"), AS_OF, out, unpaid_days=UNPAID_DAYS,
                now=end_of(AS_OF), progress=lambda msg: marks.append((msg, time.perf_counter())))
    wall = time.perf_counter() - t0
    engine.dispose()
    # produce() reports three times: after the tree size, after the projection check, after load_book + Lookups.
    phases = {"anchor lookup, tree size at the end of the as-of day": marks[0][1] - t0,
              "projection check against the log's entries": marks[1][1] - marks[0][1],
              "load_book + Lookups (vault blind index)": marks[2][1] - marks[1][1],
              "two passes over the CSV, findings, report.json / findings.csv / summary.html":
                  t0 + wall - marks[2][1]}
    return {"wall_s": wall, "peak_rss_mib": peak_rss_mib(), "rss_at_start_mib": rss0,
            "rss_after_imports_mib": rss_imports, "rows": p.result.rows, "counts": p.result.counts,
            "findings": len(p.result.findings), "tree_size": p.report["tree_size"], "phases": phases,
            "report_sha256": p.report_sha256}


def child_pandas(d: Path, out: Path) -> dict:
    """The baseline: every finding kind of ``ledger.finance.reconciliation``, the way a data engineer would write it
    with pandas. The ledger's tables are read with ``read_sql`` (a row filter per statement, no joins); the
    CSV with one ``read_csv``; the matching is merges, ``duplicated()``, ``groupby`` and ``cumsum``.

    Reused from the ledger, not reimplemented: ``Vault.blind_index`` (HMAC-SHA256 under the vault's derived
    index key) and ``identifiers.normalise`` (GB 11643 / GB 32100 / passport validation, called only for
    payees whose identifier as written misses the index), and the contract's constants (``COLUMNS``,
    ``KINDS``, ``MAX_FEN``). Dates are parsed with ``date.fromisoformat`` once per distinct value and
    non-ASCII digit amounts with ``int()``, as the ledger's ``parse`` does.

    Not done (the ledger does): the anchor lookup (re-runs read at the anchored size), the input
    fingerprint, messages for kinds other than ``invalid_row``, report.json / summary.html. Assumed: unique
    grant refs and at most one exit per target (both refused by the ledger's append path), and one grant per
    clawback, as in the generated data: recoveries are allocated to a grant's clawbacks by a cumulative sum,
    which is not the ledger's allocation for a clawback over several grants (counted in
    ``multi_grant_clawbacks``)."""
    rss0 = peak_rss_mib()
    import numpy as np
    import pandas as pd

    from ledger.domain.identifiers import Identifier, normalise
    from ledger.domain.records import RECONCILIATION_KINDS
    from ledger.domain.vault import Vault
    from ledger.errors import LedgerError
    from ledger.finance.transactions import COLUMNS, KINDS, MAX_FEN

    rss_imports = peak_rss_mib()
    t0 = time.perf_counter()
    as_of = AS_OF.isoformat()  # dates stay ISO text: they compare as dates
    end_of_day = (datetime.combine(AS_OF, datetime.min.time()) + timedelta(hours=16)).strftime("%Y-%m-%dT%H:%M:%S")
    unpaid_before = (AS_OF - timedelta(days=UNPAID_DAYS)).isoformat()
    vault = Vault(MASTER)
    con = sqlite3.connect(d / "ledger.db")

    def sql(query: str, *params) -> pd.DataFrame:
        return pd.read_sql_query(query, con, params=params)

    # --- The ledger at the end of the as-of day -------------------------------------------------------------
    # Days are business days in Asia/Shanghai (UTC+8, no daylight saving): the as-of day ends at 16:00 UTC.
    log = sql("SELECT seq, recorded_at, substr(datetime(substr(recorded_at, 1, 19), '+8 hours'), 1, 10) AS day "
              "FROM entries")
    size = int(log["recorded_at"].lt(end_of_day).sum())  # recorded_at never decreases along seq
    recorded_on = log.loc[log["seq"].lt(size)].set_index("seq")["day"]  # the day each entry became known
    exits = sql("SELECT target_seq, exit_seq, kind, on_date FROM exits WHERE exit_seq < ?", size)
    exits["known_on"] = exits["exit_seq"].map(recorded_on)
    voids = (exits[exits["kind"].eq("voided")].sort_values("exit_seq").drop_duplicates("target_seq")
             .rename(columns={"target_seq": "seq", "exit_seq": "voided_seq", "known_on": "voided_on"}))
    grants = (sql("SELECT seq, subject, grant_ref, amount_fen, decision_date, region, programme FROM grants "
                  "WHERE seq < ? AND decision_date <= ?", size, as_of)
              .merge(voids[["seq", "voided_seq", "voided_on"]], on="seq", how="left"))
    claws = sql("SELECT seq, amount_fen, deadline, decision_date, grant_seqs FROM clawbacks "
                "WHERE seq < ? AND decision_date <= ?", size, as_of)
    claws = claws[~claws["seq"].isin(exits.loc[exits["kind"].isin(["voided", "exempted"]), "target_seq"])]
    waived = (sql("SELECT clawback_seq, amount_fen FROM money_moves WHERE kind = 'waived' AND move_seq < ?", size)
              .groupby("clawback_seq")["amount_fen"].sum())
    claws = claws.assign(waived_fen=claws["seq"].map(waived).fillna(0).astype("int64"),
                         grant_seqs=claws["grant_seqs"].map(json.loads))
    claws["due"] = claws["amount_fen"] - claws["waived_fen"]
    claws["first_grant"] = claws["grant_seqs"].str[0]
    claws["seqs"] = [" ".join(map(str, [s, *gs])) for s, gs in zip(claws["seq"], claws["grant_seqs"])]
    per_grant = (claws.explode("grant_seqs", ignore_index=True).rename(columns={"grant_seqs": "grant_seq"})
                 .dropna(subset="grant_seq"))
    per_grant["grant_seq"] = per_grant["grant_seq"].astype("int64")
    versions = sql("SELECT version_seq, sanction_seq, subject, effective_from, effective_until, benefits, regions, "
                   "programmes FROM sanction_versions WHERE version_seq < ?", size)
    versions["known_on"] = versions["version_seq"].map(recorded_on)
    index = sql("SELECT blind_index, ref AS payee FROM subjects WHERE blind_index IS NOT NULL")

    # --- The funding CSV: docs/contracts.md §2.5, row by row (vectorised) ----------------------------------------------
    raw = pd.read_csv(d / "funding.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    raw = raw[list(COLUMNS)].fillna("")
    rows = len(raw)
    line = np.arange(1, rows + 1)
    txn_id = raw["txn_id"].str.strip()
    kind = raw["kind"].str.strip().str.lower()
    amount_text = raw["amount_fen"].str.strip()
    digits = raw["amount_fen"].str.fullmatch(r"\s*\d{1,14}\s*")  # Python's \d: any Unicode digit
    amount = pd.to_numeric(amount_text.where(digits), errors="coerce")
    other = digits & amount.isna()  # digits to_numeric does not read (not ASCII): int() does, as in the ledger
    amount[other] = amount_text[other].map(int)
    booked = raw["booked_on"].str.strip()
    days = {}
    for text in booked.unique():
        try:
            days[text] = date.fromisoformat(text).isoformat()
        except ValueError:
            pass
    day = booked.map(days)
    reverses = raw["reverses"].str.strip()
    rules = [("txn_id", "is required"), ("kind", "must be one of " + ", ".join(KINDS)),
             ("amount_fen", "must be a positive integer number of fen"), ("booked_on", "must be a date YYYY-MM-DD"),
             ("reverses", "a reversal names the txn_id it cancels")]
    problem = np.select([txn_id.eq("").to_numpy(), (~kind.isin(KINDS)).to_numpy(),
                         (~(amount.gt(0) & amount.le(MAX_FEN))).to_numpy(), day.isna().to_numpy(),
                         (kind.eq("reversal") & reverses.eq("")).to_numpy()], [1, 2, 3, 4, 5], 0)
    bad = problem > 0
    invalid = pd.DataFrame({"txn_id": txn_id[bad].to_numpy(), "line": line[bad], "rule": problem[bad]})
    ok = ~bad
    ref_as_written = raw.loc[ok, "grant_ref"].str.strip()
    t = pd.DataFrame({"txn_id": txn_id[ok].to_numpy(), "kind": kind[ok].to_numpy(),
                      "reverses": reverses[ok].to_numpy(), "ref": ref_as_written.to_numpy(),
                      "grant_ref": ref_as_written.str.casefold().to_numpy(),
                      "scheme": raw.loc[ok, "payee_scheme"].str.strip().str.lower().to_numpy(),
                      "payee_id": raw.loc[ok, "payee_id"].str.strip().to_numpy(),
                      "amount": amount[ok].astype("int64").to_numpy(), "day": day[ok].to_numpy(),
                      "programme": raw.loc[ok, "programme"].str.strip().to_numpy()})
    del raw, txn_id, kind, amount_text, amount, booked, day, reverses, problem, ref_as_written
    t = t[t["day"].le(as_of)]  # booked later: a later night's
    # Where the ledger must pick one of several rows under one txn_id, it takes the first in this order of
    # the rows' fields (never the file's order); sorted once, so every drop_duplicates below keeps that one.
    field_order = ["kind", "ref", "scheme", "payee_id", "amount", "day", "programme", "reverses"]
    t = t.sort_values(field_order, kind="stable")

    # Who was paid: the blind index of the identifier as written; the ledger's normalisation on a miss.
    payees = t[["scheme", "payee_id"]].drop_duplicates()
    payees["blind_index"] = [vault.blind_index(Identifier(s, v.upper()))
                             for s, v in zip(payees["scheme"], payees["payee_id"])]
    payees = payees.merge(index, on="blind_index", how="left")
    miss = payees["payee"].isna()

    def normalised_index(scheme: str, number: str) -> str | None:
        try:
            return vault.blind_index(normalise(scheme, number))
        except LedgerError:
            return None

    payees.loc[miss, "blind_index"] = [normalised_index(s, v) for s, v in
                                       zip(payees.loc[miss, "scheme"], payees.loc[miss, "payee_id"])]
    payees = payees.drop(columns="payee").merge(index, on="blind_index", how="left")
    payees["who"] = payees["payee"].fillna(payees["scheme"] + ":" + payees["payee_id"].str.upper())
    t = t.merge(payees[["scheme", "payee_id", "payee", "who"]], on=["scheme", "payee_id"], how="left")

    # Reversals (docs/contracts.md §2.5): one reversal per txn_id (other copies are invalid rows). Each cancels
    # the whole or a part of the first row (field order) under the txn_id it names, if it has the same grant_ref
    # (trimmed, case-folded) and payee, is booked on or after it, and is for at most what of it is not yet
    # reversed (its target's reversals taken by date, then txn_id); otherwise reversal_mismatch, and it cancels
    # nothing. A reversal whose target is not in the input (or not booked by the as-of date) is an orphan.
    rv = t[t["kind"].eq("reversal")]
    rv_copies = rv[rv["txn_id"].duplicated()]
    rv = rv[~rv["txn_id"].duplicated()]
    named = t[t["txn_id"].isin(rv["reverses"])]
    targets = named.drop_duplicates("txn_id")
    orphans = rv[~rv["reverses"].isin(targets["txn_id"])]
    pairs = (rv.merge(targets, left_on="reverses", right_on="txn_id", suffixes=("", "_t"))
             .sort_values(["reverses", "day", "txn_id"], kind="stable"))
    left = dict(zip(targets["txn_id"], targets["amount"]))
    matched = []
    for r in pairs.itertuples(index=False):  # sequential by nature: what is left depends on earlier reversals
        ok_ = (r.kind_t != "reversal" and r.grant_ref == r.grant_ref_t and r.who == r.who_t and r.day >= r.day_t
               and r.amount <= left[r.reverses])
        if ok_:
            left[r.reverses] -= r.amount
        matched.append(ok_)
    mismatched = pairs[~np.array(matched, dtype=bool)] if len(pairs) else pairs
    mismatched = mismatched.merge(grants[["grant_ref", "seq", "subject"]], left_on="grant_ref_t",
                                  right_on="grant_ref", how="left", suffixes=("", "_g"))
    rest = targets[targets["kind"].ne("reversal")].assign(amount=lambda f: f["txn_id"].map(left))
    rest = rest[rest["amount"].gt(0)]
    # The target's txn_id is taken: the other rows under it (not reversals) are repeats.
    live = pd.concat([t[t["kind"].ne("reversal") & ~t["txn_id"].isin(named["txn_id"])], rest])
    named_again = named[named["kind"].ne("reversal") & ~named.index.isin(targets.index)]
    del t, named, targets, pairs
    live = live.sort_values(field_order, kind="stable")
    repeated = live["txn_id"].duplicated()  # a txn_id taken by a row before it in field order
    again = pd.concat([live[repeated], named_again])
    live = live[~repeated].drop(columns=["ref", "programme"])  # the grant's programme is the one that counts

    m = live.merge(grants[["grant_ref", "seq", "subject"]], on="grant_ref", how="left")
    del live
    unknown = m[m["seq"].isna()]
    m = m[m["seq"].notna()].astype({"seq": "int64"})
    rec = m[m["kind"].eq("recovery")]
    unrecorded = rec[~rec["seq"].isin(per_grant["grant_seq"])]
    recovered = rec.groupby("seq")["amount"].sum()
    pay = m[m["kind"].eq("payment")]
    del m

    # The same payment under several txn_ids: all but the smallest id are duplicates.
    key = ["seq", "who", "amount", "day"]
    same = pay[pay.duplicated(key, keep=False)].sort_values("txn_id")
    rebooked = same[same.duplicated(key)]
    pay = pay.drop(rebooked.index)

    mismatch = pay[~pay["payee"].eq(pay["subject"])]
    stops = pd.concat([
        grants.loc[grants["voided_seq"].notna(), ["seq", "voided_on", "voided_seq"]]
        .set_axis(["seq", "stop_on", "stop_seq"], axis=1).assign(rank=0),
        per_grant[["grant_seq", "decision_date", "seq"]].set_axis(["seq", "stop_on", "stop_seq"], axis=1)
        .assign(rank=1)])
    stops = stops.sort_values(["seq", "stop_on", "rank", "stop_seq"]).drop_duplicates("seq")
    late = pay.merge(stops, on="seq")
    late = late[late["day"].gt(late["stop_on"])]

    # Barred as the ledger knew it at the end of the booking day: the sanction's latest version and its exits
    # recorded by then; in force on that day; in scope for subsidies in the grant's region and programme.
    cand = (pay[pay["payee"].isin(versions["subject"])].reset_index(names="pid")
            .merge(grants[["seq", "region", "programme"]], on="seq"))
    cv = cand[["pid", "payee", "day", "region", "programme"]].merge(versions, left_on="payee", right_on="subject")
    cv = cv[cv["known_on"].le(cv["day"])].sort_values("version_seq").drop_duplicates(["pid", "sanction_seq"],
                                                                                      keep="last")
    ce = (cv[["pid", "sanction_seq", "day"]].merge(exits[exits["kind"].isin(["ended", "voided", "exempted"])],
                                                    left_on="sanction_seq", right_on="target_seq"))
    ce = ce[ce["known_on"].le(ce["day"])]
    ended = ce[ce["kind"].eq("ended")].groupby(["pid", "sanction_seq"], as_index=False)["on_date"].min()
    lifted = ce.loc[ce["kind"].ne("ended"), ["pid", "sanction_seq"]].drop_duplicates().assign(lifted=True)
    cv = (cv.merge(ended.rename(columns={"on_date": "ended_on"}), on=["pid", "sanction_seq"], how="left")
          .merge(lifted, on=["pid", "sanction_seq"], how="left"))

    def prefix(code: str) -> str:  # GB/T 2260: 150000 covers 15xxxx, 150100 covers 1501xx
        return code[:2] if code.endswith("0000") else code[:4] if code.endswith("00") else code

    scope = [("subsidy" in json.loads(b)) and any(region.startswith(prefix(r)) for r in json.loads(rs))
             and (programme in json.loads(ps) or ps == "[]")
             for b, rs, ps, region, programme in zip(cv["benefits"], cv["regions"], cv["programmes"],
                                                     cv["region"], cv["programme"])]
    in_force = (cv["lifted"].isna() & cv["effective_from"].le(cv["day"])
                & (cv["effective_until"].isna() | cv["day"].le(cv["effective_until"]))
                & (cv["ended_on"].isna() | cv["day"].lt(cv["ended_on"])))
    blocking = (cv[np.array(scope, dtype=bool) & in_force.to_numpy()].sort_values("sanction_seq")
                .groupby("pid")["sanction_seq"].agg(lambda s: " ".join(map(str, s))).rename("blocking"))
    barred = cand.merge(blocking, left_on="pid", right_index=True)

    # Per grant: paid more than granted; old, live and never paid.
    paid = grants.assign(paid=grants["seq"].map(pay.groupby("seq")["amount"].sum()).fillna(0).astype("int64"))
    overpaid = paid[paid["paid"].gt(paid["amount_fen"])]
    unpaid = paid[paid["paid"].eq(0) & paid["voided_seq"].isna() & paid["decision_date"].le(unpaid_before)]

    # Recoveries against the clawbacks ordered (less waivers), allocated to a grant's clawbacks in seq order.
    due = per_grant.groupby("grant_seq")["due"].sum()
    over_rec = recovered.to_frame("got").join(due, how="inner").reset_index(names="seq")
    over_rec = over_rec[over_rec["got"].gt(over_rec["due"])].merge(grants[["seq", "grant_ref", "subject"]], on="seq")
    alloc = per_grant.sort_values("seq")
    before = alloc.groupby("grant_seq")["due"].cumsum() - alloc["due"]
    alloc = alloc.assign(got=(alloc["grant_seq"].map(recovered).fillna(0) - before).clip(lower=0, upper=alloc["due"])
                         .astype("int64"))
    alloc = alloc.groupby("seq", as_index=False)["got"].sum().merge(claws, on="seq")
    overdue = (alloc[alloc["deadline"].lt(as_of) & alloc["got"].lt(alloc["due"])]
               .merge(grants[["seq", "grant_ref", "subject"]].rename(columns={"seq": "first_grant"}),
                      on="first_grant", how="left"))

    # --- The findings, in the ledger's findings.csv columns -------------------------------------------------
    def amounts(**cols) -> list[str]:
        names = list(cols)
        return [json.dumps(dict(zip(names, map(int, v))), sort_keys=True) for v in zip(*cols.values())]

    def found(kind_, f, txn=None, ref=None, subject=None, seqs=None, amts=None, message=None) -> pd.DataFrame:
        n = len(f)
        col = lambda v: [""] * n if v is None else list(v)  # noqa: E731
        return pd.DataFrame({"kind": [kind_] * n, "txn_id": col(txn), "grant_ref": col(ref),
                             "subject": col(subject), "seqs": col(seqs), "amounts": amts or [""] * n,
                             "message": col(message)})

    def seqs_of(*cols) -> list[str]:
        return [" ".join(map(str, v)) for v in zip(*cols)]

    fen = lambda f: amounts(amount_fen=f["amount"])  # noqa: E731
    ref_or_blank = lambda s: s.fillna("")  # noqa: E731
    findings = pd.concat([
        found("invalid_row", invalid, invalid["txn_id"],
              message=[" ".join(rules[r - 1]) for r in invalid["rule"]]),
        found("invalid_row", rv_copies, rv_copies["txn_id"], amts=fen(rv_copies)),
        found("orphan_reversal", orphans, orphans["txn_id"]),
        found("reversal_mismatch", mismatched, mismatched["txn_id"], mismatched["grant_ref_t"],
              ref_or_blank(mismatched["subject"]),
              [str(int(q)) if q == q else "" for q in mismatched["seq"]],
              amounts(amount_fen=mismatched["amount"], reversed_fen=mismatched["amount_t"])),
        found("duplicate_payment", again[again["kind"].eq("payment")], again.loc[again["kind"].eq("payment"), "txn_id"],
              again.loc[again["kind"].eq("payment"), "grant_ref"], amts=fen(again[again["kind"].eq("payment")])),
        found("invalid_row", again[again["kind"].ne("payment")], again.loc[again["kind"].ne("payment"), "txn_id"],
              again.loc[again["kind"].ne("payment"), "grant_ref"], amts=fen(again[again["kind"].ne("payment")])),
        found("unknown_grant", unknown, unknown["txn_id"], unknown["grant_ref"], amts=fen(unknown)),
        found("unrecorded_recovery", unrecorded, unrecorded["txn_id"], unrecorded["grant_ref"], unrecorded["subject"],
              seqs_of(unrecorded["seq"]), fen(unrecorded)),
        found("duplicate_payment", rebooked, rebooked["txn_id"], rebooked["grant_ref"], rebooked["subject"],
              seqs_of(rebooked["seq"]), fen(rebooked)),
        found("payee_mismatch", mismatch, mismatch["txn_id"], mismatch["grant_ref"], mismatch["subject"],
              seqs_of(mismatch["seq"]), fen(mismatch)),
        found("paid_after_revocation", late, late["txn_id"], late["grant_ref"], late["subject"],
              seqs_of(late["seq"], late["stop_seq"].astype("int64")), fen(late)),
        found("paid_while_barred", barred, barred["txn_id"], barred["grant_ref"], barred["payee"],
              seqs_of(barred["seq"], barred["blocking"]), fen(barred)),
        found("overpaid", overpaid, None, overpaid["grant_ref"], overpaid["subject"], seqs_of(overpaid["seq"]),
              amounts(granted_fen=overpaid["amount_fen"], paid_fen=overpaid["paid"],
                      excess_fen=overpaid["paid"] - overpaid["amount_fen"])),
        found("unpaid_grant", unpaid, None, unpaid["grant_ref"], unpaid["subject"], seqs_of(unpaid["seq"]),
              amounts(granted_fen=unpaid["amount_fen"])),
        found("over_recovered", over_rec, None, over_rec["grant_ref"], over_rec["subject"], seqs_of(over_rec["seq"]),
              amounts(ordered_fen=over_rec["due"], recovered_fen=over_rec["got"],
                      excess_fen=over_rec["got"] - over_rec["due"])),
        found("clawback_overdue", overdue, None, ref_or_blank(overdue["grant_ref"]), ref_or_blank(overdue["subject"]),
              overdue["seqs"], amounts(ordered_fen=overdue["amount_fen"], waived_fen=overdue["waived_fen"],
                                       recovered_fen=overdue["got"], outstanding_fen=overdue["due"] - overdue["got"])),
    ], ignore_index=True)
    out.mkdir(parents=True, exist_ok=True)
    findings.sort_values(["kind", "grant_ref", "txn_id", "seqs"]).to_csv(out / "findings.csv", index=False)
    wall = time.perf_counter() - t0
    con.close()
    counts = findings["kind"].value_counts()
    return {"wall_s": wall, "peak_rss_mib": peak_rss_mib(), "rss_at_start_mib": rss0,
            "rss_after_imports_mib": rss_imports, "rows": rows,
            "counts": {k: int(counts.get(k, 0)) for k in RECONCILIATION_KINDS}, "findings": len(findings),
            "tree_size": size, "multi_grant_clawbacks": int(claws["grant_seqs"].str.len().gt(1).sum()),
            "findings_sha256": hashlib.sha256((out / "findings.csv").read_bytes()).hexdigest()}


def child_breakdown(d: Path, out: Path) -> dict:
    """Where the ledger's time goes: produce()'s steps called one by one, the lookups instrumented."""
    import ledger.finance.job as rec
    from ledger.domain import projection_check
    from ledger.domain.identifiers import Identifier
    from ledger.domain.vault import Vault
    from ledger.errors import LedgerError
    from ledger.finance import business_day
    from ledger.finance.reconciliation import reconcile, row_digest
    from ledger.finance.sources import CsvSource
    from ledger.finance.transactions import parse
    from ledger.log import canonical
    from ledger.store import log_store
    from ledger.store.engine import make_engine

    vault, source = Vault(MASTER), CsvSource(d / "funding.csv")
    engine = make_engine(f"sqlite:///{d / 'ledger.db'}")
    ph: dict[str, float] = {}
    calls = {"payee_ref": 0, "barred": 0}
    time_in = {"payee_ref": 0.0, "barred": 0.0}
    real_size = rec.size_at_end_of

    t = time.perf_counter()
    with engine.connect() as conn:
        previous = rec.anchored(conn, AS_OF, source.label)
        size = real_size(conn, AS_OF, log_store.size(conn)) if previous is None else previous.body["tree_size"]
        ph["anchor lookup + tree size"] = time.perf_counter() - t
        t = time.perf_counter()
        projection_check.check(conn, size, projection_check.NIGHT_TABLES, beyond=False)
        ph["projection check (the night's tables rebuilt from the log's entries)"] = time.perf_counter() - t
        t = time.perf_counter()
        book = rec.load_book(conn, size, AS_OF)
        ph["load_book (grants, clawbacks, sanctioned)"] = time.perf_counter() - t
        t = time.perf_counter()
        look = rec.Lookups(conn, vault, size, book.sanctioned, business_day.recorded_before_end_of(AS_OF))
        ph["Lookups: blind index, day sizes, sanction rows (set-based)"] = time.perf_counter() - t

        def payee_ref(scheme, number):
            calls["payee_ref"] += 1
            t0 = time.perf_counter()
            try:
                return look.payee_ref(scheme, number)
            finally:
                time_in["payee_ref"] += time.perf_counter() - t0

        def barred(*a):
            calls["barred"] += 1
            t0 = time.perf_counter()
            try:
                return look.barred(*a)
            finally:
                time_in["barred"] += time.perf_counter() - t0

        t = time.perf_counter()
        result = reconcile(source.rows, book, AS_OF, payee_ref=payee_ref, barred=barred, unpaid_days=UNPAID_DAYS)
        total = time.perf_counter() - t
        ph["reconcile: payee_ref (HMAC, checksum only on a miss), per distinct payee"] = time_in["payee_ref"]
        ph["reconcile: barred (in memory, per payment to a sanctioned payee)"] = time_in["barred"]
        ph["reconcile: the rest (2 passes: csv, parse, digest, booking)"] = (
            total - time_in["payee_ref"] - time_in["barred"])
        ph["reconcile, total"] = total
        # The alternative payee lookup: the blind index of the identifier as written first, full validation on a miss.
        payees = {(r[4].strip().lower(), r[5].strip()) for r in source.rows() if r[1] == "payment"}  # COLUMNS order
        t = time.perf_counter()
        hits = 0
        for scheme, number in payees:
            ref = look.index.get(vault.blind_index(Identifier(scheme, number.upper())))
            if ref is None:
                try:
                    ref = look.payee_ref(scheme, number)
                except LedgerError:
                    ref = None
            else:
                hits += 1
        fast_payee = time.perf_counter() - t
    t = time.perf_counter()
    report = rec.build_report(result, book, source, UNPAID_DAYS)
    ph["build_report (findings to dicts)"] = time.perf_counter() - t
    t = time.perf_counter()
    data = canonical.encode(report)
    ph["canonical.encode(report) (RFC 8785, pure Python)"] = time.perf_counter() - t
    t = time.perf_counter()
    rec.write_reports(out / "breakdown", report, data)
    ph["write_reports (report.json, findings.csv, summary.html)"] = time.perf_counter() - t
    # The streaming pass's parts, each over all rows once.
    t = time.perf_counter()
    for _ in source.rows():
        pass
    read = time.perf_counter() - t
    t = time.perf_counter()
    for line, r in enumerate(source.rows(), 1):
        parse(r, line)
    parse_s = time.perf_counter() - t - read
    t = time.perf_counter()
    for r in source.rows():
        row_digest(r)
    digest_s = time.perf_counter() - t - read
    engine.dispose()
    return {"phases": ph, "calls": calls, "calls_s": time_in, "peak_rss_mib": peak_rss_mib(), "report_bytes": len(data),
            "per_pass": {"CsvSource.rows (csv.reader), one pass": read, "parse(), one pass": parse_s,
                         "row_digest(), one pass": digest_s},
            "distinct_payees": len(payees), "alt_payee_lookup_s": fast_payee, "alt_payee_hits": hits}


def run_child(kind: str, d: Path, out: Path) -> dict:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", kind, str(d), str(out)],
                          cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"the {kind} child failed:\n{proc.stderr}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["process_s"] = time.perf_counter() - t
    return res


def compare_findings(ledger_csv: Path, pandas_csv: Path, examples: int = 5) -> dict:
    """The two sides' findings.csv as multisets of (kind, txn_id, grant_ref, subject, seqs, amounts): the
    message is not compared (the baseline writes one only for invalid rows)."""
    from collections import Counter

    def load(path: Path) -> Counter:
        with path.open(newline="", encoding="utf-8") as f:
            return Counter((r["kind"], r["txn_id"], r["grant_ref"], r["subject"], r["seqs"],
                            json.dumps(json.loads(r["amounts"] or "{}"), sort_keys=True)) for r in csv.DictReader(f))

    led, pan = load(ledger_csv), load(pandas_csv)
    only_l, only_p = led - pan, pan - led
    fields = ("kind", "txn_id", "grant_ref", "subject", "seqs", "amounts")
    return {"findings_equal": led == pan, "keys_equal": {k[:3] for k in led} == {k[:3] for k in pan},
            "differing_kinds": sorted({k[0] for k in only_l} | {k[0] for k in only_p}),
            "ledger_only_count": sum(only_l.values()), "pandas_only_count": sum(only_p.values()),
            "ledger_only": [dict(zip(fields, k)) for k in sorted(only_l)[:examples]],
            "pandas_only": [dict(zip(fields, k)) for k in sorted(only_p)[:examples]]}


# --- Summary and output ---------------------------------------------------------------------

def median(xs):
    s = sorted(xs)
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


def summarise(runs: list[dict], txns: int) -> dict:
    out = {}
    for side in ("ledger", "pandas"):
        out[side] = {k: median([r[side][k] for r in runs]) for k in ("wall_s", "peak_rss_mib", "process_s",
                                                                     "rss_after_imports_mib")}
        out[side]["rows_per_s"] = txns / out[side]["wall_s"]
    out["ledger"]["phases"] = {k: median([r["ledger"]["phases"][k] for r in runs]) for k in runs[0]["ledger"]["phases"]}
    out["ratio"] = {"time": median([r["ledger"]["wall_s"] / r["pandas"]["wall_s"] for r in runs]),
                    "memory": median([r["ledger"]["peak_rss_mib"] / r["pandas"]["peak_rss_mib"] for r in runs])}
    out["target"] = {"time_s": 60, "rss_mib": 1024, "met": all(
        r["ledger"]["wall_s"] <= 60 and r["ledger"]["peak_rss_mib"] <= 1024 for r in runs),
        "faster_than_baseline": all(r["ledger"]["wall_s"] < r["pandas"]["wall_s"] for r in runs)}
    return out


def render(console: Console, result: dict) -> None:
    p, env, data, s = result["params"], result["environment"], result["data"], result["summary"]
    console.rule("[bold]Integrity Ledger: reconciliation at scale[/bold]")
    console.print(f"command: {escape(result['command'])}", highlight=False, soft_wrap=True)
    console.print(f"{env['platform']}, {env['cpus']} CPUs, {env['mem_gib']} GiB, Python {env['python']}, "
                  f"SQLite {env['sqlite']}, pandas {env['pandas']}", highlight=False)
    built = "cached" if data["cached"] else f"built in {data['build_s']:.0f} s"
    console.print(f"data ({built}): {data['txns']:,} transactions ({data['csv_mib']} MiB CSV) against "
                  f"{data['grants_in_book']:,} grants in the book ({data['grants_rows']:,} grant rows), "
                  f"{data['subjects']:,} vault subjects, {data['tree_size_at_as_of']:,} entries at the as-of date; "
                  f"{data['sanctioned_subjects']:,} sanctioned subjects, {data['clawbacks']:,} clawbacks, "
                  f"{data['voided_grants']:,} voided grants; {data['injected_findings']:,} injected discrepancies "
                  f"+ {data['reversed_wrong_bookings']:,} reversed wrong bookings", highlight=False)
    console.print(f"medians of {p['runs']} runs, each side in a fresh process; ratios taken within each run",
                  highlight=False)
    t = Table(title=f"{p['txns']:,} transactions x {data['grants_in_book']:,} grants, as of {AS_OF}")
    for c in ("side", "wall s", "rows/s", "peak RSS MiB", "RSS after imports MiB", "process s (with start-up)"):
        t.add_column(c, justify="left" if c == "side" else "right")
    for side, label in (("ledger", "ledger: reconcile.produce (all checks, reports)"),
                        ("pandas", "baseline: pandas merges (all checks, findings.csv)")):
        r = s[side]
        t.add_row(label, f"{r['wall_s']:.2f}", f"{r['rows_per_s']:,.0f}", f"{r['peak_rss_mib']:,.0f}",
                  f"{r['rss_after_imports_mib']:,.0f}", f"{r['process_s']:.2f}")
    t.add_row("ledger ÷ baseline", f"{s['ratio']['time']:.2f}×", "", f"{s['ratio']['memory']:.2f}×", "", "")
    console.print(t)
    met = "[green]met[/green]" if s["target"]["met"] else "[red]NOT met[/red]"
    faster = "[green]met[/green]" if s["target"]["faster_than_baseline"] else "[red]NOT met[/red]"
    console.print(f"target: ≤ 60 s and ≤ 1 GiB peak, every run: {met}; faster than the baseline, every "
                  f"run: {faster} (ledger ÷ baseline {s['ratio']['time']:.2f}× in time)")
    t = Table(title="ledger phases (produce()'s progress marks, medians)")
    t.add_column("phase")
    t.add_column("s", justify="right")
    for k, v in s["ledger"]["phases"].items():
        t.add_row(k, f"{v:.2f}")
    console.print(t)
    c = result["check"]
    t = Table(title="findings: ledger vs injected (ground truth) vs baseline")
    for col in ("kind", "injected", "ledger", "baseline", "equal"):
        t.add_column(col, justify="left" if col == "kind" else "right")
    for k in c["kinds"]:
        t.add_row(k, str(c["injected"].get(k, "")), str(c["ledger"].get(k, 0)), str(c["pandas"].get(k, 0)),
                  "yes" if k not in c["differing_kinds"] else "[red]no[/red]")
    t.add_row("total", str(sum(c["injected"].values())), str(sum(c["ledger"].values())),
              str(sum(c["pandas"].values())), "")
    console.print(t)
    sc = c["score"]
    console.print(f"ledger vs ground truth: precision {sc['precision']:.4f}, recall {sc['recall']:.4f} "
                  f"({sc['found']} found, {sc['expected']} expected); report identical in every run: "
                  f"{c['same_report']}, baseline's findings.csv identical in every run: {c['same_pandas_findings']}",
                  highlight=False)
    for k in ("missing", "unexpected"):
        if sc[k]:
            console.print(f"  {k} ({len(sc[k])}): {escape(str(sc[k][:5]))}{' …' if len(sc[k]) > 5 else ''}",
                          highlight=False)
    eq = "[green]true[/green]" if c["findings_equal"] else "[red]false[/red]"
    console.print(f"findings_equal (ledger vs baseline, multisets of (kind, txn_id, grant_ref, subject, seqs, "
                  f"amounts)): {eq}; as sets of (kind, txn_id, grant_ref): {c['keys_equal']}; same tree size: "
                  f"{c['tree_size_equal']}; clawbacks over several grants (the baseline allocates per grant): "
                  f"{c['multi_grant_clawbacks']}", highlight=False)
    for side in ("ledger_only", "pandas_only"):
        if c[side]:
            console.print(f"  {side} ({c[side + '_count']}):", highlight=False)
            for f in c[side]:
                console.print(f"    {escape(str(f))}", highlight=False, soft_wrap=True)
    b = result.get("breakdown")
    if b:
        t = Table(title="where the ledger's time goes (one instrumented run, steps called one by one)")
        t.add_column("step")
        t.add_column("s", justify="right")
        for k, v in b["phases"].items():
            t.add_row(k, f"{v:.2f}")
        for k, v in b["per_pass"].items():
            t.add_row(f"[dim]for scale: {k}[/dim]", f"{v:.2f}")
        console.print(t)
        cl = b["calls"]
        console.print(f"calls: payee_ref {cl['payee_ref']:,} (distinct payees), barred {cl['barred']:,} "
                      f"(no queries); report.json {b['report_bytes'] / 2**20:.1f} MiB. "
                      f"Alternative payee lookup (blind index of the identifier as written, full validation only "
                      f"on a miss): {b['alt_payee_lookup_s']:.2f} s for {b['distinct_payees']:,} payees "
                      f"({b['alt_payee_hits']:,} hits)", highlight=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="100,000 transactions, 20,000 grants and subjects")
    ap.add_argument("--runs", type=int, default=3, help="runs per side (default 3)")
    ap.add_argument("--json", dest="out", metavar="OUT", help="also write the results as JSON to OUT")
    ap.add_argument("--cache", metavar="DIR", type=Path,
                    help="keep the generated ledger and CSV in DIR and reuse them when DIR holds the same size")
    ap.add_argument("--no-breakdown", action="store_true", help="skip the instrumented breakdown run")
    ap.add_argument("--child", nargs=3, metavar=("KIND", "DIR", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, d, out = args.child
        fn = {"ledger": child_ledger, "pandas": child_pandas, "breakdown": child_breakdown}[kind]
        print(json.dumps(fn(Path(d), Path(out))))
        return

    import pandas

    params = {"txns": 100_000 if args.quick else 1_000_000, "grants": 20_000 if args.quick else 200_000,
              "subjects": 20_000 if args.quick else 200_000, "runs": args.runs, "quick": args.quick,
              "as_of": AS_OF.isoformat(), "unpaid_days": UNPAID_DAYS}
    exe = os.path.relpath(sys.executable) if not os.path.relpath(sys.executable).startswith("..") else sys.executable
    command = shlex.join([exe, *sys.argv])
    progress(f"command: {command}")
    started = time.perf_counter()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    result: dict = {"command": command, "params": params, "environment": {
        "python": platform.python_version(), "platform": platform.platform(terse=True), "cpus": os.cpu_count(),
        "mem_gib": round(mem), "sqlite": sqlite3.sqlite_version, "pandas": pandas.__version__}}
    with ExitStack() as stack:
        if args.cache:
            d = args.cache.resolve()
            d.mkdir(parents=True, exist_ok=True)
        else:
            d = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ledger-bench-reconcile-")))
        result["data"] = build_data(d, params, cache=bool(args.cache))
        outs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ledger-bench-reconcile-out-")))
        runs = []
        for r in range(args.runs):
            order = ("ledger", "pandas") if r % 2 == 0 else ("pandas", "ledger")
            run = {"order": list(order)}
            for side in order:
                progress(f"run {r + 1}/{args.runs}: {side}")
                run[side] = run_child(side, d, outs / f"run{r}-{side}")
                progress(f"  {side}: {run[side]['wall_s']:.2f} s, peak RSS {run[side]['peak_rss_mib']:.0f} MiB")
            runs.append(run)
        result["runs"] = runs
        result["summary"] = summarise(runs, params["txns"])
        from ledger.demo.funding import score

        report = json.loads((outs / "run0-ledger" / f"reconciliation-{AS_OF}" / "report.json").read_text())
        truth = json.loads((d / "ground-truth.json").read_text())
        injected: dict[str, int] = {}
        for t in truth:
            injected[t["kind"]] = injected.get(t["kind"], 0) + 1
        led, pan = runs[0]["ledger"]["counts"], runs[0]["pandas"]["counts"]
        result["check"] = {
            "kinds": list(led), "injected": injected, "ledger": led, "pandas": pan,
            "score": score(report, truth),
            **compare_findings(outs / "run0-ledger" / f"reconciliation-{AS_OF}" / "findings.csv",
                               outs / "run0-pandas" / "findings.csv"),
            "same_report": len({r["ledger"]["report_sha256"] for r in runs}) == 1,
            "same_pandas_findings": len({r["pandas"]["findings_sha256"] for r in runs}) == 1,
            "tree_size_equal": runs[0]["ledger"]["tree_size"] == runs[0]["pandas"]["tree_size"],
            "multi_grant_clawbacks": runs[0]["pandas"]["multi_grant_clawbacks"]}
        progress(f"findings equal: {result['check']['findings_equal']}")
        # The figures bench/run.py reads (the report's targets table and section), at the top level.
        result.update({side: result["summary"][side] for side in ("ledger", "pandas", "ratio")})
        result["findings_equal"] = result["check"]["findings_equal"]
        result["counts"] = {"ledger": led, "pandas": pan, "injected": injected}
        if not args.no_breakdown:
            progress("breakdown: the ledger's steps one by one, lookups instrumented")
            result["breakdown"] = run_child("breakdown", d, outs)
    result["elapsed_s"] = time.perf_counter() - started
    render(Console(width=max(Console().width, 130)), result)
    print(f"elapsed: {result['elapsed_s']:.0f} s")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
