"""The supervision page's routes (docs/console.md, Supervision; decision 0026).
Thin edges: each route reads its query, makes one call into
``ledger.access.supervision`` and formats the result.

- ``GET /console/api/supervision?as_of=YYYY-MM-DD&tree_size=N``: the figures as
  JSON (money and sanctions by league and month, overrides by authority and
  officer, the reconciliation nights); ``as_of`` defaults to today in
  Asia/Shanghai, ``tree_size`` to the log's size;
- ``GET /console/api/supervision/overrides?authority=ID&officer=NAME&as_of=…``:
  the drill-down, the override entries of one authority (and officer);
- ``GET /console/api/supervision.csv?table=<one of supervision.TABLES>&as_of=…``:
  one table as CSV (header row; amounts in ``*_fen`` and ``*_yuan`` columns).

Bearer token on every route, like ``/graphql``; every answer is
``Cache-Control: no-store``. No identifier travels: the drill-down names
subjects by their reference only, as the timeline does.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ledger.access import supervision as service
from ledger.access.policy import Principal
from ledger.console.round_routes import NO_STORE, _answer, _caller, _refusal
from ledger.domain import supervision
from ledger.errors import LedgerError
from ledger.finance.business_day import ZONE


def _bad(field: str, rule: str) -> JSONResponse:
    return _answer({"ok": False, "code": "validation", "problems": [{"field": field, "rule": rule}]}, 400)


def _query(request: Request) -> tuple[date, int | None] | JSONResponse:
    q = request.query_params
    try:
        as_of = date.fromisoformat(q["as_of"]) if q.get("as_of") else \
            request.app.state.ledger.clock().astimezone(ZONE).date()
    except ValueError:
        return _bad("as_of", "a date, YYYY-MM-DD")
    size = q.get("tree_size")
    if size is not None and not (size.isascii() and size.isdigit() and len(size) <= 15):
        return _bad("tree_size", "a whole number")
    return as_of, int(size) if size is not None else None


def _override(o: supervision.Override) -> dict[str, Any]:
    return {"seq": o.seq, "kind": o.kind, "type": o.type, "authority_id": o.authority_id, "officer": o.officer,
            "checked_by": o.checked_by, "actor": o.actor, "reason": o.reason, "region": o.region,
            "league": supervision.league(o.region), "on": o.on.isoformat(), "subject": o.subject,
            "amount_fen": o.amount_fen}


def _figures(f: supervision.Figures, drill: bool) -> dict[str, Any]:
    return {"ok": True, "as_of": f.as_of.isoformat(), "tree_size": f.tree_size, "drill_down": drill,
            "money": [vars(m) for m in f.money], "sanctions": [vars(s) for s in f.sanctions],
            "money_by_league": [vars(m) for m in supervision.by_league(f.money)],
            "sanctions_by_league": [vars(s) for s in supervision.sanctions_totals(f.sanctions)],
            "overrides": [{**vars(g), "seqs": list(g.seqs)} for g in f.overrides],
            "finding_kinds": list(f.finding_kinds),
            "nights": [{"seq": n.seq, "as_of": n.as_of.isoformat(), "source": n.source, "tree_size": n.tree_size,
                        "input_rows": n.input_rows, "counts": dict(n.counts)} for n in f.nights]}


Handler = Callable[[Request, Principal, date, int | None], Awaitable[Response]]


def _route(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """What every supervision route does first and last: the caller (bearer token), the
    query (``as_of``, ``tree_size``), and an expected refusal (``LedgerError``) as JSON."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        principal = await _caller(request)
        if isinstance(principal, Response):
            return principal
        query = _query(request)
        if isinstance(query, Response):
            return query
        try:
            return await handler(request, principal, *query)
        except LedgerError as e:
            return _refusal(e)

    return endpoint


async def _run(request: Request, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(engine, *args)`` off the event loop (the API's thread hand-off)."""
    from ledger.api.context import run

    return await run(fn, request.app.state.ledger.engine, *args)


@_route
async def figures(request: Request, principal: Principal, as_of: date, size: int | None) -> Response:
    f = await _run(request, service.figures, principal, as_of, size)
    return _answer(_figures(f, service.may_drill_down(principal)))


@_route
async def overrides(request: Request, principal: Principal, as_of: date, size: int | None) -> Response:
    authority, officer = request.query_params.get("authority"), request.query_params.get("officer")
    if not authority:
        return _bad("authority", "the authority id whose overrides to list")
    f, rows = await _run(request, service.override_entries, principal, as_of, authority, officer, size)
    return _answer({"ok": True, "as_of": f.as_of.isoformat(), "tree_size": f.tree_size, "authority_id": authority,
                    "officer": officer, "entries": [_override(o) for o in rows]})


@_route
async def csv_table(request: Request, principal: Principal, as_of: date, size: int | None) -> Response:
    name = request.query_params.get("table", "")
    if name not in supervision.TABLES:
        return _bad("table", f"one of {', '.join(supervision.TABLES)}")
    authority, officer = request.query_params.get("authority"), request.query_params.get("officer")
    if name == "override_entries":
        f, _ = await _run(request, service.override_entries, principal, as_of, authority or "", officer, size)
    else:
        f = await _run(request, service.figures, principal, as_of, size)
    data = supervision.to_csv(supervision.table(f, name, authority or None, officer))
    filename = f"supervision-{name}-{f.as_of.isoformat()}-{f.tree_size}.csv"
    return Response(data, media_type="text/csv; charset=utf-8",
                    headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'})


def routes() -> list[Route]:
    return [Route("/api/supervision", figures), Route("/api/supervision/overrides", overrides),
            Route("/api/supervision.csv", csv_table)]
