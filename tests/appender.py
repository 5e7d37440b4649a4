"""A separate OS process that appends to a ledger (used by the concurrency and
crash tests). Run: python -m tests.appender URL MODE ARGS...

Modes:
  notes WORKER COUNT  append COUNT single-entry notes, request ids shared
                      across workers for even i (so each must apply once)
  batches BATCH       append batches forever, printing "ack <last seq>" after
                      each commit; with LEDGER_TEST_HANG_IN_BATCH set, print
                      "inside" between storing entries and storing tree nodes
                      on the third batch, then hang (the parent SIGKILLs us)
  impose SUBJECT COUNT
                      as Hohhot (150100), impose COUNT sanctions scoped to
                      150100 on SUBJECT
  end SUBJECT SECONDS as Baotou (150200), for SECONDS keep sending
                      sanction.ended with ref = the log's current size (the
                      seq the next entry will get); print the outcomes
"""

from __future__ import annotations

import sys
import time

from ledger.log.append import append_entries
from ledger.store.engine import make_engine
from tests.conftest import FixedClock, make_keyring, note


def main(argv: list[str]) -> None:
    url, mode = argv[0], argv[1]
    engine = make_engine(url)
    ring, clock = make_keyring(), FixedClock()
    if mode == "notes":
        worker, count = int(argv[2]), int(argv[3])
        for i in range(count):
            rid = f"shared-{i}" if i % 2 == 0 else f"w{worker}-{i}"
            append_entries(engine, [note(rid)], ring, clock)
        print("done", flush=True)
    elif mode == "impose":
        subject, count = argv[2], int(argv[3])
        for i in range(count):
            append_entries(engine, [_sanction(subject, f"impose-{i}")], ring, clock)
        print("done", flush=True)
    elif mode == "end":
        _end_whatever_appears(engine, ring, clock, argv[2], float(argv[3]))
    elif mode == "batches":
        size = int(argv[2])
        hang = __import__("os").environ.get("LEDGER_TEST_HANG_IN_BATCH")
        if hang:
            _hang_inside_third_batch()
        n = 0
        while True:
            out = append_entries(engine, [note(f"b{n}-{i}") for i in range(size)], ring, clock)
            print(f"ack {out[-1].seq} b{n}", flush=True)
            n += 1


def _sanction(subject: str, rid: str):
    from ledger.log.entry import Draft
    from tests.conftest import BASIS, HOHHOT

    return Draft("sanction.imposed", HOHHOT, "officer-1", subject, (), rid, {
        "severity": "serious", "grounds": "伪造申报材料", "legal_basis": BASIS, "deciding_body": "呼和浩特市人社局",
        "decision_date": "2026-01-01", "effective_from": "2026-01-01", "scope": {"benefits": ["subsidy"],
                                                                               "regions": ["150100"]}})


def _end_whatever_appears(engine, ring, clock, subject: str, seconds: float) -> None:
    """The race an attacker runs: name a seq before it exists, hoping the
    jurisdiction check reads it before it is written."""
    from collections import Counter

    from ledger.errors import LedgerError
    from ledger.log.entry import Draft
    from ledger.store import log_store
    from tests.conftest import BAOTOU

    outcomes: Counter[str] = Counter()
    deadline, n = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            ref = log_store.size(conn)
        n += 1
        draft = Draft("sanction.ended", BAOTOU, "attacker", subject, (ref,), f"end-{n}",
                      {"reason": "credit_repair", "ended_on": "2026-02-01", "deciding_body": "包头市人社局"})
        try:
            append_entries(engine, [draft], ring, clock)
            outcomes["recorded"] += 1
        except LedgerError as e:
            outcomes[type(e).__name__] += 1
    print(" ".join(f"{k}={v}" for k, v in sorted(outcomes.items())), flush=True)


def _hang_inside_third_batch() -> None:
    from ledger.store import log_store

    real = log_store.insert_nodes
    calls = {"n": 0}

    def insert_nodes(conn, nodes):
        calls["n"] += 1
        if calls["n"] == 3:
            print("inside", flush=True)  # entries of this batch are written, not committed
            time.sleep(60)
        return real(conn, nodes)

    log_store.insert_nodes = insert_nodes


if __name__ == "__main__":
    main(sys.argv[1:])
