"""Bulk append of a realistic domain mix, next to ``note.recorded`` in the same run.

    .venv/bin/python bench/domain_append.py [--quick] [--runs N] [--entries N] [--json OUT]
                                            [--engines sqlite,postgresql] [--profile]

Each run gets a fresh store per variant (SQLite file: WAL, synchronous=FULL; or a
new PostgreSQL schema appended to as ledger_app), bootstrapped as bench/common.py
does, the programmes registered and the subjects added to the vault (none of that
timed). Then N drafts (5000; 2000 with --quick) go through ``append_entries`` in
batches of 1000, each signed with the authority's real Ed25519 key:

- ``domain``: whole subjects' histories over many subjects (about one in eight an
  organisation), in subject order: links to an employer, honours, grants,
  clawbacks with recoveries and waivers, sanctions with amendments, ends and
  corrections, eligibility checks, exemptions (the types of docs/entry-types.md,
  shaped as ``ledger demo`` records them). No draft is refused: awards are
  decided before any sanction takes effect. Refs are the seqs the earlier drafts
  will get (the log's size plus their position).
- ``note``: N ``note.recorded`` drafts on a fresh store, the baseline.

The variants' order alternates between runs; the figure is the median rate, and
the ratio domain/note is taken within each run, then its median. ``--profile``
adds a cProfile of one domain batch of 1000 on SQLite (the top functions by
cumulative time). No assertions: this script measures and reports.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    HOHHOT,
    bootstrap,
    check_postgres,
    fresh_store,
    make_keyring,
    median,
    note,
    progress,
    utc_now,
)
from ledger.demo.region import org_id, person_id  # noqa: E402
from ledger.domain.subjects import add_subject  # noqa: E402
from ledger.domain.vault import Vault  # noqa: E402
from ledger.log.append import append_entries  # noqa: E402
from ledger.log.entry import Draft  # noqa: E402
from ledger.store import log_store  # noqa: E402

BATCH = 1000
REGION = HOHHOT.region  # 150100: every record is within the Hohhot authority's jurisdiction
PROGRAMMES = ("草原英才", "鸿雁行动", "一事一议")
BASIS = {"article": "条例第六十六条", "document_no": "呼人社失信〔2026〕1号"}
BODY = "呼和浩特市人力资源和社会保障局"


def programme_drafts() -> list[Draft]:
    return [Draft("programme.registered", HOHHOT, "officer-1", None, (), f"programme:{code}",
                  {"code": code, "name": f"{code}计划", "region": REGION,
                   "benefits": ["honor", "subsidy", "talent_project"], "deciding_body": BODY})
            for code in PROGRAMMES]


def _day(rng: random.Random, start: date, span: int) -> str:
    return (start + timedelta(days=rng.randrange(span))).isoformat()


class Mix:
    """Builds drafts in append order; ``seq`` of each is ``base`` plus its position."""

    def __init__(self, base: int, seed: int) -> None:
        self.base, self.rng = base, random.Random(seed)
        self.drafts: list[Draft] = []

    def add(self, type_: str, subject: str, body: dict[str, Any], refs: tuple[int, ...] = ()) -> int:
        seq = self.base + len(self.drafts)
        self.drafts.append(Draft(type_, HOHHOT, f"officer-{seq % 17:02d}", subject, refs, f"mix-{seq}", body))
        return seq


def build_mix(n: int, base: int, ref_of: Any, seed: int = 1) -> list[Draft]:
    """At least ``n`` drafts (whole stories), cut to ``n``; ``ref_of(identifier)`` adds the
    subject to the vault and returns its reference."""
    m = Mix(base, seed)
    rng, k, orgs = m.rng, 0, cast(list[str], [])
    while len(m.drafts) < n:
        k += 1
        sub = random.Random(f"{seed}:{k}")
        if k % 8 == 1:
            org = ref_of(org_id(sub, REGION))
            orgs.append(org)
            m.add("subsidy.granted", org, {"programme": "一事一议", "kind": "project", "amount_fen": 2_000_000_00,
                                           "grant_ref": f"ORG-{seed}-{k}", "budget_account": "2130199",
                                           "decision_date": _day(rng, date(2024, 1, 1), 600), "region": REGION})
            if rng.random() < 0.3:
                m.add("sanction.imposed", org, _sanction(rng, ["subsidy", "talent_project"]))
            continue
        p = ref_of(person_id(sub, REGION))
        programme = rng.choice(PROGRAMMES)
        if orgs and rng.random() < 0.6:
            m.add("subject.linked", p, {"organisation": rng.choice(orgs), "relation": "employee",
                                        "valid_from": _day(rng, date(2018, 1, 1), 1500)})
        if rng.random() < 0.4:
            h = m.add("honor.granted", p, {"title": f"{programme}人才", "level": "league_city", "programme": programme,
                                           "awarding_body": "呼和浩特市人民政府",
                                           "decision_date": _day(rng, date(2023, 1, 1), 300), "region": REGION})
            if rng.random() < 0.1:
                m.add("honor.revoked", p, {"grounds": "申报材料弄虚作假", "legal_basis": BASIS,
                                           "decision_date": "2026-06-01", "deciding_body": "呼和浩特市人民政府"}, (h,))
        grants = []
        for i in range(rng.choice([1, 1, 2, 3])):
            grants.append(m.add("subsidy.granted", p, {
                "programme": programme, "kind": rng.choice(["research_funding", "living_allowance", "housing"]),
                "amount_fen": rng.choice([20_000_00, 50_000_00, 100_000_00]), "grant_ref": f"NMG-{seed}-{k}-{i}",
                "budget_account": "2130101", "decision_date": _day(rng, date(2024, 1, 1), 500), "region": REGION}))
        if rng.random() < 0.3:
            c = m.add("clawback.ordered", p, {"amount_fen": 10_000_00, "deadline": "2026-09-30",
                                              "grounds": "未按约定履行服务期", "legal_basis": BASIS,
                                              "decision_date": "2026-02-15", "deciding_body": BODY}, (grants[0],))
            m.add("clawback.recovered", p, {"amount_fen": 4_000_00, "recovered_on": "2026-04-01"}, (c,))
            if rng.random() < 0.3:
                m.add("clawback.waived", p, {"amount_fen": 2_000_00, "reason": "项目依法终止，部分减免",
                                             "decision_date": "2026-05-01", "deciding_body": BODY}, (c,))
            if rng.random() < 0.1:
                m.add("exemption.granted", p, {"project": f"{programme}资助项目",
                                               "finding": "依法依规、勤勉尽责、未谋取不正当利益",
                                               "decision_date": "2026-05-20", "deciding_body": BODY}, (c,))
        if rng.random() < 0.25:
            s = m.add("sanction.imposed", p, _sanction(rng, ["honor", "subsidy", "talent_project"]))
            roll = rng.random()
            if roll < 0.3:
                m.add("sanction.amended", p, {"effective_until": "2029-12-31", "reason": "复核后延长期限",
                                              "decision_date": "2026-08-01", "deciding_body": BODY}, (s,))
            elif roll < 0.5:
                m.add("sanction.ended", p, {"reason": "credit_repair", "ended_on": "2026-09-01",
                                            "deciding_body": BODY}, (s,))
            elif roll < 0.6:
                m.add("entry.corrected", p, {"reason": "录入对象错误", "deciding_body": BODY}, (s,))
            if rng.random() < 0.5:
                m.add("eligibility.checked", p, {"officer": "审核员", "programme": programme, "award_ref": f"AW-{k}",
                                                 "benefit": "subsidy", "region": REGION, "on": "2026-10-01",
                                                 "answer": "barred", "tree_size": s + 1, "blocking": [s],
                                                 "decision": "refuse"})
    return m.drafts[:n]  # refs only point back: a story cut short refs nothing beyond the cut


def _sanction(rng: random.Random, benefits: list[str]) -> dict[str, Any]:
    start = _day(rng, date(2026, 1, 1), 120)
    return {"severity": "serious", "grounds": "伪造学历证明申报人才项目", "legal_basis": BASIS, "deciding_body": BODY,
            "decision_date": start, "effective_from": start,
            "effective_until": (date.fromisoformat(start) + timedelta(days=730)).isoformat(),
            "scope": {"benefits": benefits, "regions": [REGION]}}


def _prepared(store: Any, n: int, kind: str) -> tuple[list[Draft], Any]:
    """Bootstrap, register the programmes, and (domain) add the subjects: not timed."""
    ring = make_keyring()
    bootstrap(store.engine, ring)
    append_entries(store.engine, programme_drafts(), ring, utc_now)
    if kind == "note":
        return [note(f"n-{i}") for i in range(n)], ring
    vault = Vault(bytes(range(32)))
    with store.engine.connect() as conn:
        base = log_store.size(conn)
    return build_mix(n, base, lambda ident: add_subject(store.engine, vault, ident, "测试人员", utc_now)[0]), ring


def _append_all(store: Any, drafts: list[Draft], ring: Any) -> float:
    t0 = time.perf_counter()
    for lo in range(0, len(drafts), BATCH):
        append_entries(store.engine, drafts[lo:lo + BATCH], ring, utc_now)
    return time.perf_counter() - t0


def measure(engine_kind: str, n: int, runs: int, tmp: Path) -> dict[str, Any]:
    rates: dict[str, list[float]] = {"domain": [], "note": []}
    for r in range(runs):
        order = ("domain", "note") if r % 2 == 0 else ("note", "domain")
        for kind in order:
            with fresh_store(engine_kind, tmp) as store:
                drafts, ring = _prepared(store, n, kind)
                seconds = _append_all(store, drafts, ring)
                rates[kind].append(len(drafts) / seconds)
                progress(f"{engine_kind} run {r + 1}/{runs} {kind}: {len(drafts)} in {seconds:.2f} s "
                         f"({len(drafts) / seconds:,.0f}/s)")
    ratios = [d / nt for d, nt in zip(rates["domain"], rates["note"], strict=True)]
    return {"entries": n, "runs": runs, "domain_per_s": median(rates["domain"]), "note_per_s": median(rates["note"]),
            "ratio": median(ratios), "domain_runs": rates["domain"], "note_runs": rates["note"], "ratios": ratios}


def profile(tmp: Path, n: int) -> str:
    with fresh_store("sqlite", tmp) as store:
        drafts, ring = _prepared(store, n, "domain")
        _append_all(store, drafts[:-BATCH], ring)
        prof = cProfile.Profile()
        prof.enable()
        append_entries(store.engine, drafts[-BATCH:], ring, utc_now)
        prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(35)
    return out.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--entries", type=int)
    ap.add_argument("--engines", default="sqlite,postgresql")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    n = args.entries or (2000 if args.quick else 5000)
    runs = args.runs or 3
    results: dict[str, Any] = {"targets": {"sqlite_per_s": 5000, "sqlite_ratio": 0.6, "postgresql_per_s": 3000}}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.engines.split(","):
            if kind == "postgresql" and (why := check_postgres()):
                results[kind] = {"skipped": why}
                continue
            results[kind] = measure(kind, n, runs, Path(tmp))
        if args.profile:
            results["profile"] = profile(Path(tmp), n)
    for kind in args.engines.split(","):
        r = results[kind]
        if "skipped" in r:
            print(f"{kind}: not measured ({r['skipped']})")
        else:
            print(f"{kind}: domain {r['domain_per_s']:,.0f}/s, note {r['note_per_s']:,.0f}/s, "
                  f"ratio {r['ratio']:.2f} (median of {runs} runs, {n} entries, batches of {BATCH})")
    if args.profile:
        print(results["profile"])
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
