"""Imports that share the append lock: a large input appended in chunks.

A league migrating ten years of grants appends tens of thousands of entries; as
one batch it holds the append lock for the whole of it, and a programme officer
recording a check waits behind it (or times out). Here the input is checked
whole before the lock (shape, rules of each type, every signature: a bad line
is refused before anything is written), then appended ``chunk_size`` entries
per transaction, the lock released between chunks; a chunk is sized to hold
the lock about ``CHUNK_SECONDS``.

What a caller gives up, and gets back:

- **Not all-or-nothing.** A chunk is all-or-nothing; the import is not. A rule
  that fails under the lock (a sanction ended twice, a ref to an entry another
  writer has since amended) stops the import at that chunk: the chunks before
  it stay committed, nothing of the failing chunk is written, and the error
  says how many entries are in. ``append_statements`` keeps the single-batch
  guarantee for a caller who needs it (``ledger record`` without
  ``--chunk-size``).
- **Restartable.** Every statement carries its ``request_id``; running the same
  input again returns the committed entries as retries (same content, same
  entries) and appends the rest. A crash at any point leaves whole chunks.
- **Fair to other writers.** PostgreSQL's advisory lock queues its waiters, so
  a waiting write goes next. SQLite has no queue: a waiting connection polls
  (its busy handler sleeps up to 100 ms between tries), and an importer that
  re-takes the lock at once would starve it; between chunks the importer
  therefore pauses ``pause`` seconds on SQLite.
"""

from __future__ import annotations

import gc
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine

from ledger.errors import Problem, ValidationError
from ledger.log.append import Clock, append_prepared, prepare_statements
from ledger.log.entry import Entry
from ledger.log.statement import SignedStatement

# How long one chunk may hold the lock: chunks are sized to it from the time the
# previous one took (a grant's rules cost ten times a note's), so a write that
# waits behind a chunk is answered within about a second (bench/import_latency.py).
CHUNK_SECONDS = 0.5
# PostgreSQL: a quarter second. On 2 cores the server, the importer and the other
# writer share the CPU, and a chunk's time varies about threefold with the server's
# own work (index upkeep, checkpoints; measured with bench/import_latency.py
# --entries 100000): chunks sized to 0.5 s let a waiting write's p99 reach 2.4 s.
CHUNK_SECONDS_BY_DIALECT = {"sqlite": CHUNK_SECONDS, "postgresql": 0.25}
FIRST_CHUNK, MIN_CHUNK, MAX_CHUNK = 100, 10, 5000
RECENT_CHUNKS = 3  # the next chunk is sized from the slowest of these, per entry
# SQLite only: longer than the busy handler's longest sleep (100 ms), so a waiting
# writer polls at least once while the lock is free.
SQLITE_PAUSE = 0.11


def next_chunk_size(size: int, seconds: float, target: float = CHUNK_SECONDS) -> int:
    """The chunk that should take ``target`` seconds, if ``size`` entries took ``seconds``."""
    if seconds <= 0:
        return MAX_CHUNK
    return max(MIN_CHUNK, min(MAX_CHUNK, round(size * target / seconds)))


@dataclass(frozen=True)
class ImportResult:
    entries: list[Entry]
    chunks: int


def append_in_chunks(
    engine: Engine,
    signed: Sequence[SignedStatement],
    clock: Clock,
    *,
    chunk_size: int | None = None,
    pause: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    timer: Callable[[], float] = time.perf_counter,
) -> ImportResult:
    """Append ``signed`` in chunks, each its own transaction: ``chunk_size`` entries,
    or (None) as many as take about ``CHUNK_SECONDS_BY_DIALECT`` seconds under the lock.

    ``ValidationError`` before any chunk for input that can never be appended
    (named by item, nothing written); during the chunks, the chunk's error with
    the item's index in ``signed`` and a ``committed`` problem saying how many
    entries the earlier chunks recorded."""
    if chunk_size is not None and chunk_size < 1:
        raise ValidationError([Problem("chunk_size", "must be at least 1")])
    prepared = prepare_statements(engine, signed)
    total = len(prepared.items)
    wait = (SQLITE_PAUSE if engine.dialect.name == "sqlite" else 0.0) if pause is None else pause
    target = CHUNK_SECONDS_BY_DIALECT.get(engine.dialect.name, CHUNK_SECONDS)
    out: list[Entry] = []
    chunks, lo, size = 0, 0, chunk_size or FIRST_CHUNK
    recent: deque[tuple[int, float]] = deque(maxlen=RECENT_CHUNKS)  # (entries, seconds) of the last chunks
    with _collector_outside_the_lock():
        while lo < total:
            hi = min(lo + size, total)
            if chunks and wait:
                sleep(wait)  # the lock is free: let a waiting writer take it
            started = timer()
            try:
                with _no_collection():
                    out.extend(append_prepared(engine, prepared, lo, hi, clock))
            except ValidationError as e:
                if lo == 0:
                    raise
                raise ValidationError([*e.problems, Problem(
                    "committed", f"the {lo} entries before item {lo} were recorded in earlier chunks; "
                    "fix the input and run it again: those are returned as retries")], index=e.index) from e
            if chunk_size is None:
                recent.append((hi - lo, timer() - started))
                # Sized from the slowest of the last chunks per entry, not the last alone: a
                # fast chunk followed by a chunk sized from it alone was the slow one.
                size = next_chunk_size(*max(recent, key=lambda c: c[1] / c[0]), target)
            chunks, lo = chunks + 1, hi
            gc.freeze()  # the entries kept so far: the collector need not scan them again
            if progress:
                progress(hi, total)
    return ImportResult(out, chunks)


@contextmanager
def _collector_outside_the_lock() -> Iterator[None]:
    """Keep Python's cyclic garbage collector from pausing a chunk under the lock.

    An import holds every statement of its input (and the entries appended so far)
    for its whole run; a full collection scans them all, and with 100,000 items that
    is a 0.4 to 0.6 s pause (bench/import_latency.py, 16 of them in one import),
    which a chunk that met it held the append lock through. So the input is frozen
    (``gc.freeze``: left out of every later collection) before the first chunk, and
    what each chunk adds is frozen after it; collections stay cheap, and none runs
    during a chunk (``_no_collection``). On the way out everything is unfrozen,
    which returns it to the collector (a caller's own frozen objects too)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextmanager
def _no_collection() -> Iterator[None]:
    """No cyclic collection while a chunk holds the lock: one that is due runs at the
    first allocation after it, outside the lock."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
