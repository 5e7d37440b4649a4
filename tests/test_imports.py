"""Imports in chunks (ledger/log/imports.py): the lock shared between chunks, input
checked whole before anything is written, resumable by request_id, and a crash
or a refusal mid-import leaving whole chunks only. Both engines (``ledger``)."""

from __future__ import annotations

import json
import threading
from dataclasses import replace

import pytest

from ledger.errors import ValidationError
from ledger.log.append import append_statements
from ledger.log.imports import append_in_chunks
from ledger.log.statement import SignedStatement, sign_statement
from ledger.log.verify import verify_log
from ledger.store import log_store
from tests.conftest import BAOTOU, note, run_cli


def size(ledger) -> int:
    with ledger.engine.connect() as conn:
        return log_store.size(conn)


def statements(ledger, n: int, tag: str = "imp") -> list[SignedStatement]:
    return [sign_statement(note(f"{tag}-{i}"), ledger.keyring.authorities[note("x").authority.id], ledger.clock.now)
            for i in range(n)]


def no_pause(_seconds: float) -> None:
    return None


def test_an_import_in_chunks_records_every_statement_in_order(ledger):
    before = size(ledger)
    seen: list[tuple[int, int]] = []
    result = append_in_chunks(ledger.engine, statements(ledger, 25), ledger.clock, chunk_size=10,
                              progress=lambda done, total: seen.append((done, total)), sleep=no_pause)
    assert result.chunks == 3 and seen == [(10, 25), (20, 25), (25, 25)]
    assert [e.seq for e in result.entries] == list(range(before, before + 25))
    assert [e.request_id for e in result.entries] == [f"imp-{i}" for i in range(25)]
    verify_log(ledger.engine, workers=1)


def test_a_bad_signature_anywhere_is_refused_before_any_chunk_is_written(ledger):
    items = statements(ledger, 25)
    items[17] = SignedStatement(replace(items[17].statement, body={"text": "改过的"}), items[17].sig)
    before = size(ledger)
    with pytest.raises(ValidationError) as e:
        append_in_chunks(ledger.engine, items, ledger.clock, chunk_size=10, sleep=no_pause)
    assert e.value.index == 17 and e.value.problems[0].field == "sig"
    assert size(ledger) == before


def test_a_refusal_under_the_lock_keeps_earlier_chunks_and_a_rerun_resumes(ledger):
    items = statements(ledger, 25)
    # refs beyond the head are judged under the lock, at the head (docs/contracts.md §2.7)
    bad = sign_statement(replace(note("imp-15"), refs=(10**9,)), ledger.keyring.authorities[note("x").authority.id],
                         ledger.clock.now)
    before = size(ledger)
    with pytest.raises(ValidationError) as e:
        append_in_chunks(ledger.engine, [*items[:15], bad, *items[16:]], ledger.clock, chunk_size=10,
                         sleep=no_pause)
    assert e.value.index == 15
    assert [p.field for p in e.value.problems] == ["refs", "committed"]
    assert "the 10 entries before item 10" in str(e.value)
    assert size(ledger) == before + 10  # the first chunk, whole; nothing of the second
    # The fixed input again: the first ten come back as retries, the rest are appended once.
    again = append_in_chunks(ledger.engine, items, ledger.clock, chunk_size=10, sleep=no_pause)
    assert [e.seq for e in again.entries] == list(range(before, before + 25))
    assert size(ledger) == before + 25
    verify_log(ledger.engine, workers=1)


def test_a_crash_in_a_chunk_leaves_whole_chunks_and_a_rerun_completes(ledger):
    """Fault injection: the process dies (an exception) inside the third chunk's transaction."""
    items, before, calls = statements(ledger, 25), size(ledger), []
    real = ledger.clock

    def dying_clock():
        calls.append(1)
        if len(calls) == 3:  # _append reads the clock once per chunk, under the lock
            raise KeyboardInterrupt("killed")
        return real()

    with pytest.raises(KeyboardInterrupt):
        append_in_chunks(ledger.engine, items, dying_clock, chunk_size=10, sleep=no_pause)
    assert size(ledger) == before + 20
    verify_log(ledger.engine, workers=1)
    done = append_in_chunks(ledger.engine, items, ledger.clock, chunk_size=10, sleep=no_pause)
    assert [e.seq for e in done.entries] == list(range(before, before + 25))
    verify_log(ledger.engine, workers=1)


def test_another_writer_gets_the_lock_between_chunks(ledger):
    """The importer's pause is where a waiting write goes in: here the pause waits
    until the other writer has committed, so the order is fixed, not timed."""
    before = size(ledger)
    other_done = threading.Event()
    other: list[int] = []

    def other_writer():
        e = append_statements(ledger.engine, [sign_statement(note("officer-check", BAOTOU),
                                                             ledger.keyring.authorities[BAOTOU.id],
                                                             ledger.clock.now)], ledger.clock)[0]
        other.append(e.seq)
        other_done.set()

    def pause(_seconds: float) -> None:
        if not other_done.is_set():
            threading.Thread(target=other_writer).start()
            assert other_done.wait(30)

    result = append_in_chunks(ledger.engine, statements(ledger, 30), ledger.clock, chunk_size=10, pause=0.1,
                              sleep=pause)
    assert other == [before + 10]  # after the first chunk, before the second
    assert [e.seq for e in result.entries] == [*range(before, before + 10), *range(before + 11, before + 31)]
    verify_log(ledger.engine, workers=1)


def test_chunk_size_must_be_positive(ledger):
    with pytest.raises(ValidationError) as e:
        append_in_chunks(ledger.engine, statements(ledger, 2), ledger.clock, chunk_size=0)
    assert e.value.problems[0].field == "chunk_size"


def test_ledger_record_chunk_size_names_lines_and_resumes(tmp_path, cli_env):
    run_cli("demo", "--entries", "1")
    start = json.loads(run_cli("summary", "--json"))["size"]
    draft = {"type": "note.recorded", "authority": {"id": "hrss-150100", "region": "150100"}, "actor": "migration",
             "body": {"text": "历史数据迁移"}}
    lines = [json.dumps({**draft, "request_id": f"mig-{i}"}, ensure_ascii=False) for i in range(12)]
    broken = [*lines[:8], json.dumps({**draft, "request_id": "mig-8", "refs": [10**9]}), *lines[9:]]
    (tmp_path / "broken.jsonl").write_text("\n".join(broken) + "\n")
    (tmp_path / "fixed.jsonl").write_text("\n".join(lines) + "\n")
    err = json.loads(run_cli("record", str(tmp_path / "broken.jsonl"), "--chunk-size", "5", "--json", code=2))
    assert err["line"] == 9 and [p["field"] for p in err["problems"]] == ["refs", "committed"]
    assert json.loads(run_cli("summary", "--json"))["size"] == start + 5
    acks = json.loads(run_cli("record", str(tmp_path / "fixed.jsonl"), "--chunk-size", "5", "--json"))
    assert [a["seq"] for a in acks] == list(range(start, start + 12))
    assert json.loads(run_cli("verify", "--json"))["ok"]
    run_cli("record", str(tmp_path / "fixed.jsonl"), "--chunk-size", "0", code=2)


def test_chunks_are_sized_to_the_time_they_hold_the_lock(ledger):
    """Each chunk of the automatic size "takes" one second (a fake timer): twice the
    target on SQLite (0.5 s), four times on PostgreSQL (0.25 s), so the next is half
    (a quarter) as large, down to the minimum."""
    from itertools import count

    from ledger.log.imports import CHUNK_SECONDS_BY_DIALECT, MAX_CHUNK, MIN_CHUNK, next_chunk_size

    assert next_chunk_size(100, 0.25) == 200
    assert next_chunk_size(100, 0.0) == MAX_CHUNK
    assert next_chunk_size(100, 100.0) == MIN_CHUNK
    ticks = count()
    sizes: list[int] = []
    last = [0]

    def progress(done: int, total: int) -> None:
        sizes.append(done - last[0])
        last[0] = done

    result = append_in_chunks(ledger.engine, statements(ledger, 200), ledger.clock, progress=progress,
                              sleep=no_pause, timer=lambda: float(next(ticks)))
    expected = {0.5: [100, 50, 25, 12, 10, 3], 0.25: [100, 25, 10, 10, 10, 10, 10, 10, 10, 5]}
    want = expected[CHUNK_SECONDS_BY_DIALECT[ledger.engine.dialect.name]]
    assert sizes == want and result.chunks == len(want)
    assert len(result.entries) == 200


def test_a_chunk_is_sized_from_the_slowest_recent_chunk_per_entry(ledger):
    """A fast chunk does not size the next one alone: chunk times 1, 0.1, 1, 1 s (fake
    timer) for chunks of 100, 50, ... give the next size from the slowest per entry."""
    from ledger.log.imports import CHUNK_SECONDS_BY_DIALECT, next_chunk_size

    durations = iter([1.0, 0.1, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0] * 10)
    clock = [0.0]
    calls = [0]

    def timer() -> float:  # started, then finished: every second call advances by the next duration
        calls[0] += 1
        if calls[0] % 2 == 0:
            clock[0] += next(durations)
        return clock[0]

    sizes: list[int] = []
    last = [0]

    def progress(done: int, total: int) -> None:
        sizes.append(done - last[0])
        last[0] = done

    append_in_chunks(ledger.engine, statements(ledger, 300), ledger.clock, progress=progress, sleep=no_pause,
                     timer=timer)
    target = CHUNK_SECONDS_BY_DIALECT[ledger.engine.dialect.name]
    first = next_chunk_size(100, 1.0, target)
    # The second chunk took a tenth of the time: sized from it alone, the third would be ten times
    # the second; sized from the slowest recent chunk per entry (the first), it is the same.
    assert sizes[:3] == [100, first, first]
    assert sizes[3] == next_chunk_size(first, 1.0, target)  # the third was slow again


def test_no_garbage_collection_runs_while_a_chunk_holds_the_lock(ledger, monkeypatch):
    """A full collection of an import's objects paused chunks under the lock for 0.4 to
    0.6 s (bench/import_latency.py). With the collector made eager, collections still run
    during the import, but none inside a chunk; the collector is left as it was."""
    import gc

    from ledger.log import imports

    inside = [False]
    during: list[bool] = []

    def observe(phase: str, info: dict) -> None:
        if phase == "start":
            during.append(inside[0])

    real = imports.append_prepared

    def chunk(*args, **kw):
        inside[0] = True
        try:
            return real(*args, **kw)
        finally:
            inside[0] = False

    monkeypatch.setattr(imports, "append_prepared", chunk)
    thresholds = gc.get_threshold()
    gc.set_threshold(10, 1, 1)
    gc.callbacks.append(observe)
    try:
        append_in_chunks(ledger.engine, statements(ledger, 60), ledger.clock, chunk_size=20, sleep=no_pause)
    finally:
        gc.callbacks.remove(observe)
        gc.set_threshold(*thresholds)
    assert during and not any(during)  # collections ran, none inside a chunk
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_the_request_lookup_probes_the_index_whatever_the_statistics(ledger):
    """PostgreSQL planned `request_id IN (…)` from column statistics a fresh ledger lacks,
    and read every entry of the authority per chunk (1.7 s at 80,000 entries, under the
    lock). The lookup is one probe of the unique index per id, with or without them."""
    import sqlalchemy as sa

    from ledger.store.log_store import _BY_REQUEST_PG, by_request

    if ledger.engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL plan")
    entries_ = ledger.append([note(f"probe-{i}") for i in range(5)])
    a = entries_[0].authority.id
    with ledger.engine.connect() as conn:
        found = by_request(conn, [(a, "probe-1"), (a, "probe-3"), (a, "nowhere")])
    assert sorted(k[1] for k in found) == ["probe-1", "probe-3"] and found[(a, "probe-3")].seq == entries_[3].seq
    with ledger.engine.connect() as conn:
        plan = "\n".join(r[0] for r in conn.execute(sa.text(f"EXPLAIN {_BY_REQUEST_PG.text}"),
                                                     {"a": a, "rids": ["probe-1", "x"]}))
    assert "uq_entries_request" in plan and "request_id" in plan.split("Index Cond")[1].split("\n")[0], plan
