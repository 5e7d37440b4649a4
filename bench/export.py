"""Evidence export time for a subject with N entries (docs/benchmarks.md §6).

Method: a fresh SQLite ledger; one subject in the vault with N signed
``eligibility.checked`` entries (plus a sanction), appended in batches. Timed:
``ledger.evidence.export.export`` (select the entries, the key entries, disclose the
subject, append the custody entry, sign a checkpoint, one inclusion proof per
entry, the report, the zip) and then ``ledger.evidence.verifier.verify_bundle`` on the
result. Baseline in the same run: reading the same N entries' canonical bytes
and zipping them (what a bundle without proofs, custody or report would cost).
Medians of --runs runs; each run exports again (a new custody entry each time).

    .venv/bin/python bench/export.py [--quick] [--entries 1000] [--runs 5] [--json PATH]
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
import zipfile
from pathlib import Path

from common import HOHHOT, ORIGIN, bootstrap, make_keyring, median, utc_now  # noqa: I001
from domain_append import programme_drafts
from sqlalchemy import select

from ledger.config import Settings
from ledger.domain.subjects import add_subject
from ledger.domain.vault import Vault
from ledger.evidence import export as evidence
from ledger.evidence.verifier import verify_bundle
from ledger.log.append import append_entries
from ledger.log.entry import Draft
from ledger.store.engine import make_engine
from ledger.store.migrate import upgrade
from ledger.store.schema import entries


def build(tmp: Path, n: int):
    engine = make_engine(f"sqlite:///{tmp}/ledger.db")
    upgrade(engine)
    ring = make_keyring()
    bootstrap(engine, ring)
    append_entries(engine, programme_drafts(), ring, utc_now)  # the checks name a registered programme
    vault = Vault(bytes(range(32)))
    ref, _ = add_subject(engine, vault, "cn-rid:150102199001010019", "张三", utc_now)
    basis = {"article": "条例第六十六条", "document_no": "内人社发〔2026〕1号"}
    append_entries(engine, [Draft("sanction.imposed", HOHHOT, "bench", ref, (), "s", {
        "severity": "serious", "grounds": "伪造申报材料", "legal_basis": basis, "deciding_body": "人社局",
        "decision_date": "2026-01-01", "effective_from": "2026-01-01", "effective_until": "2027-12-31",
        "scope": {"benefits": ["subsidy"], "regions": ["150100"]}})], ring, utc_now)  # HOHHOT is the city office
    for start in range(0, n - 1, 500):
        append_entries(engine, [Draft("eligibility.checked", HOHHOT, "bench", ref, (), f"c{i}", {
            "officer": "审核员", "programme": "草原英才", "award_ref": f"AW-{i}", "benefit": "subsidy",
            "region": "150100", "on": "2026-06-01", "answer": "barred", "tree_size": 4, "blocking": [3],
            "decision": "refuse"}) for i in range(start, min(start + 500, n - 1))], ring, utc_now)
    return engine, ring, vault, ref


def baseline(engine, ref) -> float:
    t = time.perf_counter()
    with engine.connect() as conn:
        rows = conn.execute(select(entries.c.seq, entries.c.canonical).where(entries.c.subject == ref)).all()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for seq, data in rows:
            z.writestr(f"entries/{seq}.json", bytes(data))
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=None, help="default 5; 3 with --quick")
    ap.add_argument("--quick", action="store_true", help="3 runs (the subject keeps its 1,000 entries)")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    a.runs = a.runs or (3 if a.quick else 5)
    with tempfile.TemporaryDirectory() as tmp:
        engine, ring, vault, ref = build(Path(tmp), a.entries)
        settings = Settings(origin=ORIGIN, vkey_dir=Path(tmp) / "vkeys")
        exp, ver, base, size = [], [], [], 0
        for i in range(a.runs):
            base.append(baseline(engine, ref))
            t = time.perf_counter()
            b = evidence.export(engine, ring, vault, settings, case=f"(2026)bench{i}", requested_by="bench",
                                subjects=[ref], seqs=[], clock=utc_now)
            exp.append(time.perf_counter() - t)
            t = time.perf_counter()
            r = verify_bundle(b.data, ring.log.verifier)
            ver.append(time.perf_counter() - t)
            size = len(b.data)
        out = {"entries_about_subject": a.entries, "bundle_entries": r.entries, "bundle_bytes": size, "runs": a.runs,
               "export_s": median(exp), "verify_s": median(ver), "baseline_read_and_zip_s": median(base),
               "export_over_baseline": median(exp) / median(base)}
    print(json.dumps(out, indent=1))
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
