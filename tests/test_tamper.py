"""Tampering directly in the database, with the append-only triggers dropped
first, is always detected and the right seq is named (foundation issue)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import replace

import pytest
import sqlalchemy as sa

from ledger.errors import IntegrityError
from ledger.log import merkle, publish
from ledger.log.verify import verify_log
from ledger.signing.keys import Signer
from ledger.store.schema import entries, tree_nodes
from tests.conftest import note
from tests.verify_modes import verify_every_way

SIZE = 40
TARGET = 10
SUBJECT = hashlib.sha256(b"subject").hexdigest()


@pytest.fixture
def log(ledger):
    """A 40-entry log; entry TARGET has a subject so every column has a value."""
    have = 5  # genesis + two authorities, each registered with its key
    drafts = [note(f"t{i}", subject=SUBJECT if i == TARGET else None) for i in range(have, SIZE)]
    ledger.append(drafts)
    verify_log(ledger.engine, workers=1)
    return ledger


def drop_triggers(store) -> None:
    with store.owner.begin() as conn:
        if store.dialect == "sqlite":
            for table in ("entries", "tree_nodes", "checkpoints"):
                for action in ("update", "delete"):
                    conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {table}_no_{action}"))
        else:
            for table in ("entries", "tree_nodes", "checkpoints"):
                conn.execute(sa.text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))


def tamper(store, *statements) -> None:
    drop_triggers(store)
    with store.owner.begin() as conn:
        for stmt in statements:
            conn.execute(stmt)


def assert_detected(ledger, seq: int, kind: str | None = None, **kw) -> IntegrityError:
    """The problem at ``seq``, named the same whichever way verify splits the work."""
    with pytest.raises(IntegrityError) as e:
        verify_every_way(ledger.engine, **kw)
    assert e.value.seq == seq, str(e.value)
    if kind:
        assert e.value.kind == kind, str(e.value)
    return e.value


def row(ledger, seq: int):
    with ledger.engine.connect() as conn:
        return conn.execute(sa.select(entries).where(entries.c.seq == seq)).one()


def flip(data: bytes, i: int) -> bytes:
    return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1:]


@pytest.mark.parametrize("column", ["leaf_hash", "prev"])
def test_changed_byte_in_a_hash_column(log, column):
    value = bytes(getattr(row(log, TARGET), column))
    tamper(log.store, entries.update().where(entries.c.seq == TARGET).values({column: flip(value, 7)}))
    assert_detected(log, TARGET)


@pytest.mark.parametrize("column", ["type", "recorded_at", "authority_id", "subject", "request_id", "signer"])
def test_changed_character_in_a_text_column(log, column):
    value = getattr(row(log, TARGET), column)
    changed = value[:-1] + "~"
    tamper(log.store, entries.update().where(entries.c.seq == TARGET).values({column: changed}))
    assert_detected(log, TARGET, "column")


@pytest.mark.parametrize("where", ["first", "middle", "last", "in-body-text", "in-signature"])
def test_changed_byte_in_the_canonical_bytes(log, where):
    data = bytes(row(log, TARGET).canonical)
    i = {"first": 0, "middle": len(data) // 2, "last": len(data) - 1,
         "in-body-text": data.index("考核".encode()) + 1, "in-signature": data.index(b'"sig":"') + 12}[where]
    tamper(log.store, entries.update().where(entries.c.seq == TARGET).values(canonical=flip(data, i)))
    assert_detected(log, TARGET)


def test_entry_rewritten_consistently_with_its_own_hash_is_caught_by_the_next_link_or_node(log):
    """An attacker re-computes the leaf hash of an edited entry: the chain or the tree names it."""
    data = bytes(row(log, TARGET).canonical).replace("考核".encode(), "表彰".encode())
    tamper(log.store, entries.update().where(entries.c.seq == TARGET)
           .values(canonical=data, leaf_hash=merkle.leaf_hash(data)))
    assert_detected(log, TARGET)


def test_deleted_entry(log):
    tamper(log.store, entries.delete().where(entries.c.seq == TARGET))
    err = assert_detected(log, TARGET, "gap")
    assert "missing" in err.detail


def test_two_entries_swapped(log):
    a, b = row(log, TARGET), row(log, TARGET + 1)
    cols = {c: getattr(a, c) for c in a._fields if c != "seq"}, {c: getattr(b, c) for c in b._fields if c != "seq"}
    tamper(log.store,
           entries.delete().where(entries.c.seq.in_([TARGET, TARGET + 1])),
           entries.insert().values(seq=TARGET, **cols[1]),
           entries.insert().values(seq=TARGET + 1, **cols[0]))
    assert_detected(log, TARGET)


def test_tail_truncated_leaves_orphan_tree_nodes(log):
    tamper(log.store, entries.delete().where(entries.c.seq >= 30))
    err = assert_detected(log, 30, "node")
    assert "tail removed" in err.detail


def test_tail_truncated_with_its_nodes_is_caught_by_the_checkpoint(log):
    publish.publish(log.engine, log.keyring.log, "test.example/ledger", log.clock)
    tamper(log.store, entries.delete().where(entries.c.seq >= 30),
           tree_nodes.delete().where((tree_nodes.c.idx + 1).op("<<")(tree_nodes.c.level) > 30))
    assert_detected(log, 30, "truncated")


def test_tail_truncated_with_everything_is_caught_by_the_verifiers_own_state(log):
    _, state = verify_log(log.engine, workers=1)
    tamper(log.store, entries.delete().where(entries.c.seq >= 30),
           tree_nodes.delete().where((tree_nodes.c.idx + 1).op("<<")(tree_nodes.c.level) > 30))
    assert_detected(log, 30, "truncated", state=state)


def test_forged_entry_appended_with_a_forged_signature(log):
    last = row(log, SIZE - 1)
    genuine = log.append([note("genuine")])[0]  # shape to copy, then rolled back below
    tamper(log.store, entries.delete().where(entries.c.seq == genuine.seq),
           tree_nodes.delete().where((tree_nodes.c.idx + 1).op("<<")(tree_nodes.c.level) > SIZE))
    forger = Signer.from_seed(genuine.signer, b"not the real key")
    unsigned = replace(genuine, body={"text": "伪造的表彰"}, prev=bytes(last.leaf_hash).hex(), sig="")
    forged = replace(unsigned, sig=base64.b64encode(forger.sign(unsigned.signing_bytes)).decode())
    tamper(log.store, entries.insert().values(
        seq=forged.seq, prev=bytes.fromhex(forged.prev), leaf_hash=forged.leaf_hash, type=forged.type,
        recorded_at=forged.recorded_at, authority_id=forged.authority.id, subject=None,
        request_id=forged.request_id, signer=forged.signer, canonical=forged.canonical))
    err = assert_detected(log, SIZE, "signature")
    assert "does not verify" in err.detail


def test_forged_entry_by_an_unregistered_signer(log):
    genuine = log.append([note("genuine")])[0]
    tamper(log.store, entries.delete().where(entries.c.seq == genuine.seq))
    forger = Signer.from_seed("forger", b"forger")
    unsigned = replace(genuine, signer="forger", sig="")
    forged = replace(unsigned, sig=base64.b64encode(forger.sign(unsigned.signing_bytes)).decode())
    tamper(log.store, entries.insert().values(
        seq=forged.seq, prev=bytes.fromhex(forged.prev), leaf_hash=forged.leaf_hash, type=forged.type,
        recorded_at=forged.recorded_at, authority_id=forged.authority.id, subject=None,
        request_id=forged.request_id, signer="forger", canonical=forged.canonical))
    err = assert_detected(log, SIZE, "signature")
    assert "not a registered key" in err.detail


@pytest.mark.parametrize("level, idx", [(1, 5), (2, 2), (3, 1), (5, 0)])
def test_changed_tree_node(log, level, idx):
    with log.engine.connect() as conn:
        h = conn.execute(sa.select(tree_nodes.c.hash).where(tree_nodes.c.level == level, tree_nodes.c.idx == idx)).scalar_one()
    tamper(log.store, tree_nodes.update().where(tree_nodes.c.level == level, tree_nodes.c.idx == idx)
           .values(hash=flip(bytes(h), 0)))
    err = assert_detected(log, idx << level, "node")
    assert f"level {level}, index {idx}" in err.detail


def test_deleted_tree_node(log):
    tamper(log.store, tree_nodes.delete().where(tree_nodes.c.level == 2, tree_nodes.c.idx == 4))
    err = assert_detected(log, 16, "node")
    assert "missing" in err.detail


def test_earliest_problem_is_named_when_there_are_several(log):
    data = bytes(row(log, 25).canonical)
    tamper(log.store, entries.update().where(entries.c.seq == 25).values(canonical=flip(data, 3)),
           entries.delete().where(entries.c.seq == 12))
    assert_detected(log, 12, "gap")


# --- found by review of the per-entry checks in worker processes (docs/decisions/0009) ----------
def test_a_key_entry_stored_as_text_with_the_same_bytes_neither_crashes_nor_hides(log):
    """SQLite lets the file's holder store a key entry's bytes as TEXT. The bytes are the
    same, so the log still verifies (as it did); it once crashed the reading of the rows,
    which hid real problems at lower seqs."""
    if log.store.dialect != "sqlite":
        pytest.skip("PostgreSQL's bytea holds bytes only")
    with log.engine.connect() as conn:
        key_seq = conn.execute(sa.select(entries.c.seq).where(entries.c.type == "key.registered")
                               .order_by(entries.c.seq)).scalars().first()
    tamper(log.store, sa.text(f"UPDATE entries SET canonical = CAST(canonical AS TEXT) WHERE seq = {key_seq}"))
    assert verify_every_way(log.engine)[0] == "verified"
    value = row(log, 1).request_id
    tamper(log.store, entries.update().where(entries.c.seq == 1).values(request_id=value[:-1] + "~"))
    assert_detected(log, 1, "column")


def test_a_node_over_a_rewritten_entry_is_named_at_its_first_seq(log):
    """Entry TARGET+1 rewritten with its own leaf hash, nodes left as they were: the node over
    TARGET and TARGET+1 is wrong from TARGET on, and a single pass names it there (not the
    signature one seq later)."""
    data = bytes(row(log, TARGET + 1).canonical).replace("考核".encode(), "表彰".encode())
    tamper(log.store, entries.update().where(entries.c.seq == TARGET + 1)
           .values(canonical=data, leaf_hash=merkle.leaf_hash(data)))
    assert_detected(log, TARGET, "node")


def test_of_two_wrong_nodes_the_lower_seq_is_named_whatever_the_chunk(log):
    tamper(log.store, tree_nodes.delete().where(tree_nodes.c.level == 1, tree_nodes.c.idx == 15),
           tree_nodes.delete().where(tree_nodes.c.level == 2, tree_nodes.c.idx == 0))
    err = assert_detected(log, 0, "node")
    assert "level 2, index 0" in err.detail
