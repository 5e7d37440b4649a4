"""An award round of 1,000 candidates answered (docs/award-rounds.md): the target is
10 s on the project's 2-core machine.

    .venv/bin/python bench/round.py [--candidates N] [--entries N] [--runs N] [--engine sqlite|postgresql]

Not timed: a store bootstrapped as bench/common.py does, with bench/domain_append.py's
realistic domain mix appended through the real append path (5,000 drafts by default:
about a thousand people and organisations with links, grants, clawbacks, sanctions,
amendments, ends, corrections and checks), every subject added to the vault. Then,
timed, each run: the candidate list as CSV (N rows drawn from those subjects, one in
ten an identifier nobody holds; benefits, programmes and award dates varied) posted
to ``POST /console/api/round/screen`` through the real ASGI app (in process, bearer
token, the list parsed, the subjects looked up, the facts loaded, every answer
decided and sent back as JSON). The figure is the median of the runs; the service
alone (``award_round.screen`` on parsed candidates) is reported beside it.
No assertions: this script measures and prints.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from starlette.testclient import TestClient  # noqa: E402

from bench.common import bootstrap, fresh_store, make_keyring, median, progress, utc_now  # noqa: E402
from bench.domain_append import BATCH, PROGRAMMES, REGION, build_mix, programme_drafts  # noqa: E402
from ledger.access import award_round, tokens  # noqa: E402
from ledger.access.policy import Principal, Role  # noqa: E402
from ledger.api.app import create_app  # noqa: E402
from ledger.api.context import AppState  # noqa: E402
from ledger.config import Settings  # noqa: E402
from ledger.domain import candidates  # noqa: E402
from ledger.domain.subjects import add_subject  # noqa: E402
from ledger.domain.vault import Vault  # noqa: E402
from ledger.log.append import append_entries  # noqa: E402

BENEFITS = ("honor", "subsidy", "talent_project")


def candidate_csv(idents: list[str], n: int, seed: int = 7) -> bytes:
    """``n`` distinct rows: identifiers from ``idents`` (one in ten nobody's), varied questions."""
    rng = random.Random(seed)
    rows, seen = [], set()
    while len(rows) < n:
        ident = rng.choice(idents) if rng.random() > 0.1 else f"cn-rid:{_nobody(rng)}"
        row = (ident, rng.choice(PROGRAMMES), rng.choice(BENEFITS), REGION, f"2026-{rng.randint(3, 12):02d}-{rng.randint(1, 28):02d}")
        if row not in seen:
            seen.add(row)
            rows.append(row)
    return ("identifier,programme,benefit,region,date\n" + "".join(",".join(r) + "\n" for r in rows)).encode()


def _nobody(rng: random.Random) -> str:
    from stdnum.cn import ric

    base = f"150102199{rng.randint(0, 9)}0{rng.randint(1, 9)}1{rng.randint(0, 9)}{rng.randint(0, 999):03d}"
    return base + ric.calc_check_digit(base + "0")  # the argument carries a check place


def round_statements(screened, ring, reference: str) -> list:
    """One signed eligibility.checked per candidate on record: proceed if eligible, else refuse."""
    from ledger.log.entry import Authority, Draft
    from ledger.log.statement import sign_statement

    signer, out = ring.authorities["hrss-150100"], []
    for a in screened.answers:
        if a.subject is None:
            continue
        c, d = a.candidate, a.decision
        body = {"officer": "审核员", "programme": c.programme, "award_ref": reference, "benefit": c.benefit,
                "region": c.region, "on": c.on.isoformat(), "answer": d.answer, "tree_size": d.tree_size,
                "blocking": d.blocking_seqs, "decision": "proceed" if d.answer == "eligible" else "refuse"}
        draft = Draft("eligibility.checked", Authority("hrss-150100", "150100"), "token:bench", a.subject, (),
                      f"{reference}-{c.row}", body)
        out.append(sign_statement(draft, signer, utc_now()))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--candidates", type=int, default=1000)
    ap.add_argument("--entries", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--engine", default="sqlite", choices=["sqlite", "postgresql"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-round-") as tmp, fresh_store(args.engine, Path(tmp)) as store:
        ring = make_keyring()
        bootstrap(store.engine, ring)
        append_entries(store.engine, programme_drafts(), ring, utc_now)
        vault = Vault(bytes(range(32)))
        idents: list[str] = []

        def ref_of(ident) -> str:
            idents.append(str(ident))
            return add_subject(store.engine, vault, str(ident), "测试人员", utc_now)[0]

        progress(f"building the ledger: {args.entries} domain drafts")
        with store.engine.connect() as conn:
            from ledger.store import log_store
            base = log_store.size(conn)
        drafts = build_mix(args.entries, base, ref_of)
        for lo in range(0, len(drafts), BATCH):
            append_entries(store.engine, drafts[lo:lo + BATCH], ring, utc_now)
        data = candidate_csv(idents, args.candidates)
        state = AppState(store.engine, ring, vault, utc_now, settings=Settings(origin="bench.example/ledger",
                                                                               state_dir=Path(tmp) / "state"))
        token, _ = tokens.issue(store.engine, ring, "programme_officer", utc_now, actor="operator:bench", label="bench",
                                authority_id="hrss-150100", region="150100")
        client = TestClient(create_app(state))
        progress(f"{len(set(idents))} subjects; screening {args.candidates} candidates, {args.runs} runs")
        route, service, recording, counts = [], [], [], {}
        parsed = candidates.read(data).candidates
        officer = Principal("bench", Role.programme_officer, "hrss-150100", "150100")
        for run in range(args.runs):
            t0 = time.perf_counter()
            r = client.post("/console/api/round/screen", content=data, headers={"Authorization": f"Bearer {token}"})
            route.append(time.perf_counter() - t0)
            body = r.json()
            assert body.get("ok"), body  # a measurement of a refusal would be no measurement
            counts = {a: sum(1 for x in body["answers"] if x["answer"] == a) for a in ("eligible", "barred", "needs_review")}
            t0 = time.perf_counter()
            screened = award_round.screen(store.engine, vault, officer, parsed)
            service.append(time.perf_counter() - t0)
            # Recording the round: statements signed here with the authority's key (standing in
            # for the officer's browser, which signs ~8.7 k/s: decision 0016), then one batch.
            signed = round_statements(screened, ring, f"BENCH-{run}")
            t0 = time.perf_counter()
            award_round.record_round(store.engine, officer, f"BENCH-{run}", signed, utc_now)
            recording.append(time.perf_counter() - t0)
    print(f"award round: {args.candidates} candidates on {args.engine}, log of {args.entries} domain entries "
          f"({len(set(idents))} subjects); answers {counts}")
    print(f"  POST /console/api/round/screen (parse, look up, load facts, decide, JSON): median {median(route):.2f} s "
          f"over {args.runs} runs (min {min(route):.2f}, max {max(route):.2f}); target 10 s")
    print(f"  award_round.screen alone: median {median(service):.2f} s")
    print(f"  award_round.record_round of the {len(signed)} on record (one batch, signatures verified, rules "
          f"judged, appended): median {median(recording):.2f} s")


if __name__ == "__main__":
    main()
