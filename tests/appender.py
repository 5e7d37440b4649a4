"""A separate OS process that appends to a ledger (used by the concurrency and
crash tests). Run: python -m tests.appender URL MODE ARGS...

Modes:
  notes WORKER COUNT  append COUNT single-entry notes, request ids shared
                      across workers for even i (so each must apply once)
  batches BATCH       append batches forever, printing "ack <last seq>" after
                      each commit; with LEDGER_TEST_HANG_IN_BATCH set, print
                      "inside" between storing entries and storing tree nodes
                      on the third batch, then hang (the parent SIGKILLs us)
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
