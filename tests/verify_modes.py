"""Run ``verify_log`` every way it can split the work and insist on one answer.

The per-entry checks run in worker processes a segment at a time, segments end
at key entries and chunks, and the main process checks where segments meet
(``ledger.log.row_check``). A problem found on one side of a boundary and not
the other, or a stale key registry handed to a worker, would show here as two
modes disagreeing on the seq, the kind or the wording.
"""

from __future__ import annotations

import copy
from typing import Any
from unittest import mock

from ledger.errors import IntegrityError
from ledger.log import verify

# Chunks of 3 and 7 put segment boundaries next to every entry of a small log,
# key entries included; PARALLEL_THRESHOLD is lowered so that small logs use the pool.
MODES: dict[str, dict[str, Any]] = {
    "one process": {"workers": 1},
    "one process, chunks of 3": {"workers": 1, "chunk": 3},
    "two workers, chunks of 3": {"workers": 2, "chunk": 3},
    "two workers, chunks of 7": {"workers": 2, "chunk": 7},
}


def outcome(engine: Any, mode: dict[str, Any], **kw: Any) -> tuple[Any, ...]:
    if "state" in kw:
        kw["state"] = copy.deepcopy(kw["state"])  # verify advances the state it is given
    with mock.patch.object(verify, "PARALLEL_THRESHOLD", 0):
        try:
            report, _ = verify.verify_log(engine, **mode, **kw)
        except IntegrityError as e:
            return ("error", e.seq, e.kind, e.detail)
    return ("verified", report.size, report.root, report.start, report.signatures, report.nodes, report.checkpoints)


def verify_every_way(engine: Any, **kw: Any) -> tuple[Any, ...]:
    """The one outcome of every mode; raises the ``IntegrityError`` if it is one."""
    seen = {name: outcome(engine, mode, **kw) for name, mode in MODES.items()}
    first = next(iter(seen.values()))
    assert all(o == first for o in seen.values()), seen
    if first[0] == "error":
        raise IntegrityError(first[1], first[2], first[3])
    return first
