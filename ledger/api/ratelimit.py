"""Per-token admission to the API (docs/limits.md, Rate and concurrency): a
token bucket of query cost, and a cap on the requests a token has running.

- The bucket holds ``burst`` cost units and refills at ``per_second``. An
  operation is charged its estimated cost (ledger/api/cost.py) once it is
  known, before it runs, and may take the bucket below zero; while the bucket
  is below zero the token's requests are refused at the door (429), before
  their body is read, until the refill brings it back. Cost, not a request
  count, because an eligibility check and a page of 100 subjects differ by a
  factor of 80 in what they ask (GitHub and Shopify meter their GraphQL APIs
  the same way).
- At most ``max_in_flight`` requests of a token run at once; up to
  ``max_queued`` more wait their turn in order; beyond that, 429.

Scope: one server process. Several servers behind a load balancer each keep
their own buckets, so a token gets each server's allowance. Not in scope: who
may call what (ledger/access/policy.py) and what one request may ask for
(ledger/api/cost.py).

Keyed by the caller (ledger/api/app.py uses a SHA-256 of the whole bearer
token, which only its holder can present; never the token id alone, which is
public: every entry's ``actor``). Buckets are made and charged only for
authenticated requests; a request of a key already refused is refused again
before the token is looked up (``precheck``), so a client hammering after a
429 costs no database read.

Runs on the event loop only (no locks): the state changes between awaits.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

# Tokens tracked before idle ones (bucket full, nothing running) are forgotten.
PRUNE_AT = 4096


@dataclass(frozen=True)
class Refusal:
    """Why a request was not admitted, and when to try again."""

    reason: str  # "rate": the bucket is below zero; "in_flight": too many running and waiting
    message: str
    retry_after: int  # whole seconds (RFC 9110 §10.2.3 Retry-After: delay-seconds)


@dataclass
class _Token:
    level: float  # cost units available; below zero: in debt
    at: float  # when level was computed (clock seconds)
    running: int = 0
    waiting: deque[asyncio.Future[None]] = field(default_factory=deque)


class Admission:
    """The limits of every token seen by this process; None switches one off."""

    def __init__(self, per_second: float | None, burst: int, max_in_flight: int | None, max_queued: int,
                 clock: Callable[[], float] = time.monotonic):
        if per_second is not None and (per_second <= 0 or burst < 1):
            raise ValueError(f"a bucket of {burst} refilling at {per_second}/s: both must be positive")
        if max_in_flight is not None and max_in_flight < 1:
            raise ValueError(f"max_in_flight {max_in_flight}: at least 1, or None for no cap")
        self.per_second, self.burst, self.clock = per_second, burst, clock
        self.max_in_flight, self.max_queued = max_in_flight, max_queued
        self.tokens: dict[str, _Token] = {}

    def precheck(self, key: str) -> Refusal | None:
        """The refusal ``enter`` would give now, for a key already seen; None
        for a new one. Costs no I/O: refusals can be answered before the
        token is looked up (the key must then be one only the token's holder
        can present: ledger/api/app.py keys by a hash of the whole token)."""
        t = self.tokens.get(key)
        return self._refusal(self._token(key)) if t is not None else None

    async def enter(self, key: str) -> Refusal | None:
        """Admit one request, after waiting for a running slot if need be (the
        caller must ``leave``), or say why not (then nothing is held)."""
        t = self._token(key)
        refused = self._refusal(t)
        if refused is not None:
            return refused
        if self.max_in_flight is None or (t.running < self.max_in_flight and not t.waiting):
            t.running += 1
            return None
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        t.waiting.append(turn)
        try:
            await turn  # ``leave`` hands its running slot to the first waiter
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.leave(key)  # handed a slot, then cancelled: pass it on
            else:
                t.waiting.remove(turn)
            raise
        return None

    def leave(self, key: str) -> None:
        t = self.tokens.get(key)
        if t is None:
            return
        while t.waiting:
            turn = t.waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # the slot changes hands: running stays the same
                return
        t.running = max(0, t.running - 1)

    def _refusal(self, t: _Token) -> Refusal | None:
        if t.level < 0:
            wait = max(1, math.ceil(-t.level / self.per_second)) if self.per_second else 1
            return Refusal("rate", f"this token's query budget is spent ({self.burst} cost units, refilled at "
                                   f"{self.per_second:g} per second): retry in {wait} s", wait)
        busy = self.max_in_flight is not None and t.running >= self.max_in_flight
        if busy and len(t.waiting) >= self.max_queued:
            return Refusal("in_flight", f"{t.running} requests of this token are running and {len(t.waiting)} "
                                        f"waiting (limits {self.max_in_flight} and {self.max_queued}): wait for "
                                        "an answer before sending more", 1)
        return None

    def charge(self, key: str, cost: int) -> None:
        """Take an operation's cost from the token's bucket (it may go below zero)."""
        if self.per_second is not None:
            t = self._token(key)
            t.level -= cost

    def _token(self, key: str) -> _Token:
        now = self.clock()
        t = self.tokens.get(key)
        if t is None:
            if len(self.tokens) >= PRUNE_AT:
                self._prune(now)
            t = self.tokens[key] = _Token(level=float(self.burst), at=now)
        elif self.per_second is not None:
            t.level = min(float(self.burst), t.level + (now - t.at) * self.per_second)
            t.at = now
        return t

    def _prune(self, now: float) -> None:
        """Forget tokens that are idle with a full bucket: a fresh entry is the same."""
        def idle(t: _Token) -> bool:
            full = self.per_second is None or t.level + (now - t.at) * self.per_second >= self.burst
            return full and t.running == 0 and not t.waiting

        for key in [k for k, t in self.tokens.items() if idle(t)]:
            del self.tokens[key]
