"""Per-process state (engine, keys, vault, clock) and per-request context.

Consistency: a request reads the log at one tree size, taken once when first
needed. Projection rows and entries carry their seq, so every read filters
``seq < size`` and a page, its subjects and their sanctions all describe the
same ledger even while appends continue.

Blocking I/O (SQLAlchemy, sync) runs in worker threads (``run``) so the event
loop keeps serving other requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from strawberry.dataloader import DataLoader

from ledger.access.policy import Principal
from ledger.api.ratelimit import Admission
from ledger.config import Settings
from ledger.domain.facts import awards_of, clawbacks_of, sanctions_of
from ledger.domain.status import size_known_at
from ledger.domain.vault import Vault
from ledger.log.append import Clock
from ledger.signing.keyring import Keyring
from ledger.store.schema import grants, honors


@dataclass
class Limits:
    """What one request, and one token, may ask of a server process
    (docs/limits.md gives each number's reason). None switches a limit off."""

    max_depth: int = 10
    max_tokens: int = 2000
    max_aliases: int = 15
    max_page: int = 100  # first: / ids: caps
    max_body_bytes: int = 64 * 1024
    introspection: bool = False
    max_cost: int | None = 50_000  # estimated cost of one operation (ledger/api/cost.py)
    cost_per_second: float | None = 25_000  # a token's bucket of cost refills at this rate ...
    cost_burst: int = 100_000  # ... up to this (ledger/api/ratelimit.py)
    max_in_flight: int | None = 2  # requests of one token running at once ...
    max_queued: int = 8  # ... and waiting their turn; more are refused
    early_retry_delay_s: float = 1.0  # a caller refused again before its Retry-After waits this long for the 429
    max_response_bytes: int | None = 4 * 1024 * 1024  # one answer's JSON

    def __post_init__(self) -> None:
        if self.cost_per_second is not None and self.max_cost is not None and self.cost_burst < self.max_cost:
            raise ValueError(f"cost_burst {self.cost_burst} is below max_cost {self.max_cost}: "
                             "an operation within budget could never run")

    def admission(self) -> Admission:
        return Admission(self.cost_per_second, self.cost_burst, self.max_in_flight, self.max_queued)


@dataclass
class AppState:
    engine: Engine
    keyring: Keyring | None  # None: a read-only server (no private keys loaded)
    vault: Vault | None  # None: subjects by reference only
    clock: Clock
    limits: Limits = field(default_factory=Limits)
    settings: Settings = field(default_factory=Settings)  # origin, key and state directories (exports)
    admission: Admission = field(init=False)  # per-token buckets and slots, this process only

    def __post_init__(self) -> None:
        self.admission = self.limits.admission()

    @property
    def export_dir(self) -> Path:
        return self.settings.state_dir / "exports"

    def today(self) -> date:
        return self.clock().date()


async def run(fn: Callable[..., Any], *args, **kwargs) -> Any:
    def call():
        try:
            return fn(*args, **kwargs)
        except StopIteration as e:  # cannot cross into a Future: the request would hang
            raise RuntimeError("StopIteration escaped a ledger call") from e

    return await asyncio.to_thread(call)


class Context(dict):
    """strawberry passes this as ``info.context``; a dict subclass so the ASGI
    view's ``request``/``response`` keys still work."""

    def __init__(self, state: AppState, principal: Principal, operation_name: str | None = None,
                 caller: str | None = None, **extra):
        super().__init__(**extra)
        self.state, self.principal = state, principal
        self.operation_name = operation_name  # as the request sent it (strawberry fills in the first one's)
        self.caller = caller or principal.token_id  # the admission key (ledger/api/app.py)
        self._size: asyncio.Future | None = None
        # Each loader's key is (subject, size); one SQL batch per distinct size.
        self.sanctions = DataLoader(self._batch(sanctions_of))
        self.clawbacks = DataLoader(self._batch(clawbacks_of))
        self.honors = DataLoader(self._batch(lambda c, s, n: awards_of(c, honors, s, n), dicts=True))
        self.grants = DataLoader(self._batch(lambda c, s, n: awards_of(c, grants, s, n), dicts=True))

    def charge(self, cost: int) -> None:
        """Take an operation's estimated cost from the token's bucket (ledger/api/ratelimit.py)."""
        self.state.admission.charge(self.caller, cost)

    async def size(self, known_at: int | datetime | None = None) -> int:
        """The request's tree size (or the size known at ``known_at``)."""
        if known_at is not None:
            return await run(self._size_known_at, known_at)
        if self._size is None:
            self._size = asyncio.ensure_future(run(self._size_known_at, None))
        return await self._size

    def _size_known_at(self, known_at):
        with self.state.engine.connect() as conn:
            return size_known_at(conn, known_at)

    def _batch(self, reader, *, dicts: bool = False):
        engine = self.state.engine

        def load(keys: list[tuple[str, int]]) -> list[list]:
            by_size: dict[int, list[str]] = {}
            for subject, size in keys:
                by_size.setdefault(size, []).append(subject)
            found: dict[tuple[str, int], list] = {}
            with engine.connect() as conn:
                for size, subjects in by_size.items():
                    for item in reader(conn, sorted(set(subjects)), size):
                        subject = item["subject"] if dicts else item.subject
                        found.setdefault((subject, size), []).append(item)
            return [found.get(k, []) for k in keys]

        async def batch(keys):
            return await run(load, list(keys))

        return batch
