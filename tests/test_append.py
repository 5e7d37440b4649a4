"""The append path: sequencing, chaining, idempotency, all-or-nothing batches,
typed errors for bad input, and append-only enforcement by the database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from ledger.cli.writing import parse_drafts
from ledger.errors import RequestConflict, UnknownEntryType, ValidationError
from ledger.log import entry_types
from ledger.log.append import append_entries
from ledger.log.entry import GENESIS_PREV, Draft
from ledger.log.verify import verify_log
from ledger.store import log_store
from tests.conftest import BAOTOU, HOHHOT, FixedClock, note


def size(ledger) -> int:
    with ledger.engine.connect() as conn:
        return log_store.size(conn)


def test_entries_are_sequenced_chained_and_signed(ledger):
    first = size(ledger)
    out = ledger.notes(5)
    assert [e.seq for e in out] == list(range(first, first + 5))
    for a, b in zip(out, out[1:]):
        assert b.prev == a.leaf_hash.hex()
    assert all(e.signer == f"test-{HOHHOT.id}" for e in out)
    with ledger.engine.connect() as conn:
        assert log_store.get_entry(conn, 0).prev == GENESIS_PREV
        assert log_store.get_canonical(conn, out[2].seq) == out[2].canonical
    report, _ = verify_log(ledger.engine, workers=1)
    assert report.size == first + 5


def test_retry_with_same_request_id_returns_the_original(ledger):
    original = ledger.append([note("once")])[0]
    before = size(ledger)
    again = ledger.append([note("once")])[0]
    assert again == original and size(ledger) == before
    # in a batch, mixed with new drafts and repeated within the batch
    out = ledger.append([note("once"), note("new-1"), note("new-1")])
    assert out[0] == original and out[1] == out[2] and size(ledger) == before + 1


def test_request_id_reused_with_other_content_is_a_conflict_and_writes_nothing(ledger):
    ledger.append([note("dup", text_="first")])
    before = size(ledger)
    with pytest.raises(RequestConflict) as e:
        ledger.append([note("fresh"), note("dup", text_="second")])
    assert "request_id" in str(e.value) and e.value.seq >= 0
    with pytest.raises(RequestConflict):
        ledger.append([note("x", text_="a"), note("x", text_="b")])
    assert size(ledger) == before


def test_same_request_id_under_another_authority_is_another_request(ledger):
    a = ledger.append([note("shared", HOHHOT)])[0]
    b = ledger.append([note("shared", BAOTOU)])[0]
    assert a.seq != b.seq and b.signer == f"test-{BAOTOU.id}"


@pytest.mark.parametrize("draft, field, rule", [
    (Draft("no.such", HOHHOT, "o", None, (), "r1", {}), "type", "unknown entry type"),
    (Draft("note.recorded", HOHHOT, "o", None, (), "r1", {}), "body.text", "is required"),
    (Draft("note.recorded", HOHHOT, "o", None, (), "r1", {"text": 5}), "body.text", "must be text"),
    (Draft("note.recorded", HOHHOT, "o", None, (), "r1", {"text": "x", "extra": 1}), "body.extra", "not a field"),
    (Draft("note.recorded", HOHHOT, "o", None, (), "r1", {"text": "x", "category": "y" * 65}), "body.category", "1-64"),
    (Draft("note.recorded", HOHHOT, "o", None, (), "r1", {"text": "x", "category": 1.5}), "body.category", "must be text"),
    (Draft("note.recorded", HOHHOT, "o", None, (), "r1", {"text": "bad \ud800 surrogate"}), "body.text", "lone surrogate"),
    (Draft("note.recorded", HOHHOT, "o", "ABC", (), "r1", {"text": "x"}), "subject", "64 lowercase hex"),
    (Draft("note.recorded", HOHHOT, "", None, (), "r1", {"text": "x"}), "actor", "1-128"),
    (Draft("note.recorded", HOHHOT, "o", None, (), "", {"text": "x"}), "request_id", "1-128"),
    (Draft("note.recorded", HOHHOT, "o", None, (9999,), "r1", {"text": "x"}), "refs", "does not exist"),
    (Draft("note.recorded", HOHHOT, "o", None, (3, 2), "r1", {"text": "x"}), "refs", "strictly increasing"),
    (Draft("note.recorded", type(HOHHOT)("hrss-150100", "15010"), "o", None, (), "r1", {"text": "x"}),
     "authority.region", "GB/T 2260"),
    (Draft("log.initialized", HOHHOT, "o", None, (), "r1", {"origin": "o", "log_key": "k"}), "type", "first entry"),
])
def test_bad_input_gets_a_typed_error_naming_the_field_and_writes_nothing(ledger, draft, field, rule):
    before = size(ledger)
    with pytest.raises((ValidationError, UnknownEntryType)) as e:
        ledger.append([note("fine-before"), draft])
    assert field in str(e.value) and rule in str(e.value)
    if isinstance(e.value, ValidationError):
        assert any(p.field == field for p in e.value.problems)
        assert e.value.index == 1  # names the bad item of the batch
    assert size(ledger) == before


def test_oversized_body_is_refused(ledger):
    before = size(ledger)
    with pytest.raises(ValidationError) as e:
        ledger.append([note("big", text_="x" * 4001)])
    assert "body.text" in str(e.value)
    with pytest.raises(ValidationError) as e:
        ledger.append([Draft("note.recorded", HOHHOT, "o", None, tuple(range(65)), "many", {"text": "x"})])
    assert "refs" in str(e.value)
    assert size(ledger) == before


def test_body_over_the_byte_limit_is_refused(ledger, monkeypatch):
    monkeypatch.setattr(entry_types, "MAX_BODY_BYTES", 100)
    with pytest.raises(ValidationError) as e:
        ledger.append([note("big", text_="内" * 60)])
    assert "body: is " in str(e.value) and "more than 100" in str(e.value)


def test_non_utf8_input_is_refused_with_the_byte_offset():
    with pytest.raises(ValidationError) as e:
        parse_drafts(b'{"type": "note.recorded", "x": "\xff"}\n')
    assert e.value.problems[0].field == "input" and "not UTF-8" in str(e.value)


def test_unregistered_authority_cannot_sign(ledger):
    from ledger.log.entry import Authority
    from ledger.signing.keys import Signer

    stranger = Authority("hrss-150300", "150300")
    ledger.keyring.authorities[stranger.id] = Signer.from_seed("stranger", b"s")
    with pytest.raises(ValidationError) as e:
        ledger.append([note("s1", stranger)])
    assert e.value.problems[0].field == "authority.id" and "not a registered authority" in str(e.value)


def test_an_authority_cannot_claim_another_region(ledger):
    """The region an entry names is the one registered for its authority
    (docs/authorities.md): claiming a wider one to pass the jurisdiction rule fails."""
    from ledger.log.entry import Authority

    with pytest.raises(ValidationError) as e:
        ledger.append([note("claim", Authority(HOHHOT.id, "150000"))])
    assert e.value.problems[0].field == "authority.region" and "registered for 150100" in str(e.value)


def test_recorded_at_never_goes_backwards(ledger):
    late = ledger.append([note("late")])[0]
    backwards = FixedClock(start=datetime(2020, 1, 1, tzinfo=UTC))
    early = append_entries(ledger.engine, [note("early")], ledger.keyring, backwards)[0]
    assert early.recorded_at == late.recorded_at
    assert early.recorded_at.endswith("Z") and len(early.recorded_at) == 27


def test_the_database_refuses_update_and_delete(ledger):
    ledger.notes(3)
    statements = ["UPDATE entries SET type = 'x' WHERE seq = 1", "DELETE FROM entries WHERE seq = 1",
                  "UPDATE tree_nodes SET hash = hash", "DELETE FROM tree_nodes"]
    if ledger.store.dialect == "postgresql":
        statements += ["TRUNCATE entries", "TRUNCATE tree_nodes"]
    for sql in statements:
        with pytest.raises(sa.exc.DBAPIError) as e:
            with ledger.engine.begin() as conn:
                conn.execute(sa.text(sql))
        assert "append-only" in str(e.value) or "permission denied" in str(e.value)
    verify_log(ledger.engine, workers=1)


def test_postgres_app_role_cannot_disable_triggers(ledger):
    if ledger.store.dialect != "postgresql":
        pytest.skip("the application role is a PostgreSQL notion")
    for sql in ["ALTER TABLE entries DISABLE TRIGGER ALL", "DROP TRIGGER entries_append_only ON entries",
                "UPDATE entries SET type = 'x'"]:
        with pytest.raises(sa.exc.DBAPIError) as e:
            with ledger.engine.begin() as conn:
                conn.execute(sa.text(sql))
        assert "must be owner" in str(e.value) or "permission denied" in str(e.value)
