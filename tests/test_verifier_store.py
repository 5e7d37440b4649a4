"""The nightly verifier's resume point in the database (ledger/log/verifier_store.py,
decision 0021). The row is a cache: the attacks below write it to hide a rewritten
log, and the verifier must then start again from seq 0 and find the rewrite."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from ledger.errors import IntegrityError
from ledger.log import publish, verifier_store
from ledger.log.verify import verify_log
from ledger.store.schema import entries, verifier_states
from tests.conftest import ORIGIN, note


def _verified(ledger, name="nightly", *, publish_at_end=True):
    trusted = ledger.keyring.log.verifier
    report, state = verify_log(ledger.engine, trusted_log_key=trusted,
                               state=verifier_store.load(ledger.engine, name, trusted), workers=1)
    verifier_store.save(ledger.engine, name, state, ledger.clock)
    if publish_at_end:
        publish.publish(ledger.engine, ledger.keyring.log, ORIGIN, ledger.clock, size=state.size)
    return report, state


def test_a_night_resumes_from_the_state_a_signed_checkpoint_vouches_for(ledger):
    first, state = _verified(ledger)
    assert first.start == 0 and state.size == first.size
    ledger.append([note(f"n-{i}") for i in range(3)])
    second, _ = _verified(ledger)
    assert second.start == first.size and second.size == first.size + 3  # only the new entries


def test_without_a_checkpoint_at_its_size_the_state_is_not_used(ledger):
    _verified(ledger, publish_at_end=False)
    ledger.append([note("n-1")])
    again, _ = _verified(ledger)
    assert again.start == 0


def test_without_a_trusted_key_the_state_is_not_used(ledger):
    _, state = _verified(ledger)
    assert verifier_store.load(ledger.engine, "nightly", None) is None
    loaded = verifier_store.load(ledger.engine, "nightly", ledger.keyring.log.verifier)
    assert loaded is not None and loaded.to_json() == state.to_json()


def test_a_forged_state_is_ignored_and_the_rewrite_behind_it_is_found(ledger):
    """The attack: rewrite an entry's bytes, then write a state whose root matches
    the rewritten log so that verification would resume past it. The checkpoint
    signed by the log key still carries the old root: the state is refused, the
    verifier starts at seq 0 and names the rewritten entry."""
    _, state = _verified(ledger)
    forged = dict(state.to_json(), root="00" * 32)
    with ledger.engine.begin() as conn:
        conn.execute(update(verifier_states).where(verifier_states.c.name == "nightly").values(state=json.dumps(forged)))
    assert verifier_store.load(ledger.engine, "nightly", ledger.keyring.log.verifier) is None
    if ledger.engine.dialect.name != "sqlite":
        return  # the rewrite itself needs the owner to drop a trigger: done on the SQLite run
    with ledger.engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS entries_no_update")
        canonical = conn.execute(select(entries.c.canonical).where(entries.c.seq == 1)).scalar_one()
        conn.execute(update(entries).where(entries.c.seq == 1).values(canonical=bytes(canonical).replace(b"1", b"2", 1)))
    with pytest.raises(IntegrityError) as e:
        _verified(ledger)
    assert e.value.seq == 1


def test_a_state_signed_for_another_size_is_not_used(ledger):
    """A state moved to a size whose checkpoint has another root is refused too."""
    _, state = _verified(ledger)
    ledger.append([note("n-1")])
    publish.publish(ledger.engine, ledger.keyring.log, ORIGIN, ledger.clock)  # a checkpoint at size+1
    moved = dict(state.to_json(), size=state.size + 1)
    with ledger.engine.begin() as conn:
        conn.execute(update(verifier_states).where(verifier_states.c.name == "nightly").values(state=json.dumps(moved)))
    assert verifier_store.load(ledger.engine, "nightly", ledger.keyring.log.verifier) is None
