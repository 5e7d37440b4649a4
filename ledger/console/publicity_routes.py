"""The public publicity list's routes (docs/publicity.md): no token needed.
Thin edges: each route makes one call into ``ledger.domain.publicity``.

- ``GET /console/api/publicity?page=N&per_page=M``: a page (at most
  ``publicity.MAX_PAGE`` items) of the sanctions publicised today in
  Asia/Shanghai, masked;
- ``POST /console/api/publicity/search`` with ``{"identifier": "<scheme>:<id>"}``:
  the publicised sanctions of exactly that identifier. The number travels in
  the body, never in a URL (PIPL: no identity numbers in access logs or Referer
  headers); a partial number is refused as invalid, never matched.

Every answer is ``Cache-Control: no-store`` (the app's ``NoStore`` sets it on
every data route): a cached list would keep publishing a sanction after its
credit repair. Each client (its IP address as the server sees it) has its own
bucket (``ledger.api.ratelimit.Admission``), a search costing ``SEARCH_COST``
list pages, so the identifier space cannot be walked by search.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ledger.access.policy import Action, require_public
from ledger.api.ratelimit import Admission
from ledger.console.reference import _bounded_body
from ledger.domain import identifiers, publicity
from ledger.errors import LedgerError, ValidationError
from ledger.finance.business_day import ZONE
from ledger.store import log_store

NO_STORE = {"Cache-Control": "no-store"}
PER_SECOND, BURST = 1.0, 60  # a client's bucket: 60 units, refilled at one a second
LIST_COST, SEARCH_COST = 1, 5
MAX_IN_FLIGHT, MAX_QUEUED = 2, 4


def admission(request: Request) -> Admission:
    """The public routes' own buckets (keyed by client address, not by token), made on first use."""
    state = request.app.state
    if getattr(state, "publicity_admission", None) is None:
        state.publicity_admission = Admission(PER_SECOND, BURST, MAX_IN_FLIGHT, MAX_QUEUED)
    return state.publicity_admission  # type: ignore[no-any-return]


def list_cache(request: Request) -> publicity.ListCache:
    """The app's one cached public list (``publicity.ListCache``), made on first use."""
    state = request.app.state
    if getattr(state, "publicity_list", None) is None:
        state.publicity_list = publicity.ListCache()
    return state.publicity_list  # type: ignore[no-any-return]


def _answer(content: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(content, status, headers={**NO_STORE, **(headers or {})})


def today(request: Request) -> date:
    """Today in Asia/Shanghai: publicity periods are dates in China (docs/publicity.md)."""
    return request.app.state.ledger.clock().astimezone(ZONE).date()


async def _admitted(request: Request, cost: int, call) -> JSONResponse:
    require_public(None, Action.read_publicity)
    gate, key = admission(request), f"ip:{request.client.host if request.client else '-'}"
    refused = gate.precheck(key) or await gate.enter(key)
    if refused is not None:
        return _answer({"error": refused.message}, 429, {"Retry-After": str(refused.retry_after)})
    try:
        gate.charge(key, cost)
        return await call()
    finally:
        gate.leave(key)


def _int(text: str | None, default: int) -> int | None:
    if text is None:
        return default
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else None


async def publicity_list(request: Request) -> JSONResponse:
    from ledger.api.context import run

    async def call() -> JSONResponse:
        state = request.app.state.ledger
        if state.vault is None:
            return _answer({"error": "this server holds no vault: nothing can be publicised"}, 503)
        page, per_page = _int(request.query_params.get("page"), 1), _int(request.query_params.get("per_page"), 20)
        if page is None or per_page is None or page < 1 or not 1 <= per_page <= publicity.MAX_PAGE:
            return _answer({"ok": False, "problems": [{"field": "page", "rule": f"page >= 1, per_page 1-{publicity.MAX_PAGE}"}]}, 400)
        on = today(request)

        def read():
            with state.engine.connect() as conn:
                return publicity.public_page(conn, state.vault, log_store.size(conn), on, page, per_page,
                                             list_cache(request))

        p = await run(read)
        return _answer({"on": on.isoformat(), "page": p.page, "per_page": p.per_page, "total": p.total,
                        "items": p.items})

    return await _admitted(request, LIST_COST, call)


async def publicity_search(request: Request) -> JSONResponse:
    from ledger.api.context import run

    async def call() -> JSONResponse:
        state = request.app.state.ledger
        if state.vault is None:
            return _answer({"error": "this server holds no vault: nothing can be publicised"}, 503)
        body = await _bounded_body(request)
        if body is None:
            return _answer({"ok": False, "problems": [{"field": "identifier", "rule": "request too large"}]}, 413)
        try:
            text = json.loads(body)["identifier"]
            if not isinstance(text, str):
                raise TypeError("identifier")
            ident = identifiers.parse(text, "identifier")
        except (ValueError, KeyError, TypeError):
            return _answer({"ok": False, "problems": [{"field": "identifier",
                                                       "rule": 'send {"identifier": "<scheme>:<full number>"}'}]}, 400)
        except ValidationError as e:  # a partial number is not an identifier: refused, never matched
            return _answer({"ok": False, "problems": [{"field": p.field, "rule": p.rule} for p in e.problems]}, 400)
        except LedgerError as e:
            return _answer({"ok": False, "problems": [{"field": "identifier", "rule": str(e)}]}, 400)
        on = today(request)

        def read():
            with state.engine.connect() as conn:
                return publicity.search(conn, state.vault, log_store.size(conn), on, ident)

        return _answer({"ok": True, "on": on.isoformat(), "items": await run(read)})

    return await _admitted(request, SEARCH_COST, call)


def routes() -> list[Route]:
    return [Route("/api/publicity", publicity_list), Route("/api/publicity/search", publicity_search, methods=["POST"])]
