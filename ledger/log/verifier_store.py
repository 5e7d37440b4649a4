"""A scheduled verifier's resume point, kept in the database (revision 0007) so
that whichever machine runs the next night resumes where the last one stopped.

The row is a cache, not a trust anchor: anyone who can write the database could
write a state whose root matches a rewritten log. So a saved state is used only
when the log's own checkpoint at that size, signed by the *trusted* log key,
carries the same root (RFC 9162 §2.1.4: a verifier extends from a signed tree
head it trusts). Otherwise the verifier starts again from seq 0: slower, never
less safe.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine, delete, insert, select

from ledger.errors import KeyFormatError, SignatureError
from ledger.log.checkpoint import open_checkpoint
from ledger.log.entry import format_time
from ledger.log.verify import VerifierState
from ledger.signing.keys import VerifierKey
from ledger.store.schema import checkpoints, verifier_states


def load(engine: Engine, name: str, trusted_log_key: VerifierKey | None, origin: str | None = None) -> VerifierState | None:
    """The saved state of verifier ``name`` if a checkpoint signed by ``trusted_log_key``
    vouches for it; None (verify from the start) otherwise."""
    if trusted_log_key is None:
        return None  # nothing to check a cached root against
    with engine.connect() as conn:
        row = conn.execute(select(verifier_states.c.state).where(verifier_states.c.name == name)).first()
        if row is None:
            return None
        state = VerifierState.from_json(json.loads(row.state))
        note = conn.execute(select(checkpoints.c.note).where(checkpoints.c.size == state.size)).scalar()
    if note is None:
        return None
    try:
        cp = open_checkpoint(note, trusted_log_key, origin)
    except (KeyFormatError, SignatureError):
        return None
    return state if cp.size == state.size and cp.root == state.root else None


def save(engine: Engine, name: str, state: VerifierState, now: Callable[[], datetime]) -> None:
    """Replace verifier ``name``'s row in one transaction: a crash leaves the old
    state or the new one."""
    with engine.begin() as conn:
        conn.execute(delete(verifier_states).where(verifier_states.c.name == name))
        conn.execute(insert(verifier_states).values(name=name, size=state.size, state=json.dumps(state.to_json()),
                                                    saved_at=format_time(now())))
