"""Reference data the console needs and the GraphQL API does not serve. Thin
edges: each route makes one call into ``ledger`` and formats the result.

- ``GET /console/api/regions``: the GB/T 2260 tree for the region picker
  (public reference data, no token);
- ``GET /console/api/log-key``: the log's verifier key as the log itself states
  it (``log.initialized`` at seq 0). Public, like ``keys/*.vkey`` in the repo.
  The audit page only *pre-fills* the key the user pins with it: a server that
  lies here is caught by a user who pins the key they got elsewhere;
- ``GET /console/api/authorities``: the registered authorities' ids, names and
  regions (public bodies, as ``authority.registered`` entries record them), so
  the console names a deciding body instead of showing its id;
- ``GET /console/api/labels``: the Chinese labels of entry types, body fields
  and codes (``ledger.evidence.labels``, the evidence report's vocabulary), so
  the timeline words entries as the report does;
- ``POST /console/api/identifier``: the server's (authoritative) check of an
  identifier, ``{"text": "cn-rid:…"}``. Bearer token required, like
  ``/graphql``; the number travels in the body, never in a URL (PIPL: no
  identity numbers in access logs or Referer headers). The body is bounded
  before it is read (``Content-Length``, then the stream itself), and every
  answer is ``Cache-Control: no-store``: it names an identity number.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ledger.access.recording import entry_at
from ledger.console.region_tree import region_tree
from ledger.domain import identifiers
from ledger.errors import LedgerError, NotFound, ValidationError

MAX_IDENTIFIER_BODY = 1024  # {"text": "<scheme>:<at most a passport number>"}


async def regions(request: Request) -> JSONResponse:
    return JSONResponse(region_tree())


async def log_key(request: Request) -> JSONResponse:
    from ledger.api.context import run

    state = request.app.state.ledger
    try:
        genesis = await run(entry_at, state.engine, 0)
    except NotFound:
        return JSONResponse({"error": "the log is empty"}, 404)
    return JSONResponse({"vkey": genesis.body["log_key"], "origin": genesis.body["origin"]})


async def authorities(request: Request) -> JSONResponse:
    from ledger.api.context import run

    rows = await run(_authorities, request.app.state.ledger.engine)
    return JSONResponse(rows)


def _authorities(engine) -> list[dict]:
    from ledger.domain.facts import authority_registry
    from ledger.store import log_store

    with engine.connect() as conn:
        reg = authority_registry(conn, log_store.size(conn))
    return [{"id": r.id, "name": r.name, "region": r.region} for r in sorted(reg.records.values(), key=lambda r: r.seq)]


async def labels(request: Request) -> JSONResponse:
    from ledger.evidence.labels import vocabulary

    return JSONResponse(vocabulary())


NO_STORE = {"Cache-Control": "no-store"}  # answers about an identity number are never cached


def _answer(content: dict, status: int = 200) -> JSONResponse:
    return JSONResponse(content, status, headers=NO_STORE)


def _too_large() -> JSONResponse:
    return _answer({"ok": False, "problems": [{"field": "text", "rule": "request too large"}]}, 413)


async def _bounded_body(request: Request) -> bytes | None:
    """The request body, or None once it exceeds MAX_IDENTIFIER_BODY (declared or sent)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isascii() or not declared.isdigit()
                                 or int(declared) > MAX_IDENTIFIER_BODY):
        return None
    body = bytearray()
    async for chunk in request.stream():  # chunked uploads too: stop reading at the limit
        body += chunk
        if len(body) > MAX_IDENTIFIER_BODY:
            return None
    return bytes(body)


async def identifier(request: Request) -> JSONResponse:
    # Lazy import: ledger.api.app mounts this module (avoid an import cycle).
    from ledger.api.app import _principal

    principal = await _principal(request.app.state.ledger, request)
    if isinstance(principal, JSONResponse):
        principal.headers.update(NO_STORE)
        return principal
    body = await _bounded_body(request)
    if body is None:
        return _too_large()
    try:
        text = json.loads(body)["text"]
        if not isinstance(text, str):
            raise TypeError("text")
        parsed = identifiers.parse(text, "text")
    except (ValueError, KeyError, TypeError):
        return _answer({"ok": False, "problems": [{"field": "text", "rule": 'send {"text": "<scheme>:<id>"}'}]}, 400)
    except ValidationError as e:
        return _answer({"ok": False, "problems": [{"field": p.field, "rule": p.rule} for p in e.problems]})
    except LedgerError as e:  # any other refusal from the parser, named
        return _answer({"ok": False, "problems": [{"field": "text", "rule": str(e)}]})
    return _answer({"ok": True, "identifier": str(parsed), "scheme": parsed.scheme, "kind": parsed.kind})


def routes() -> list[Route]:
    return [Route("/api/regions", regions), Route("/api/log-key", log_key),
            Route("/api/authorities", authorities), Route("/api/labels", labels),
            Route("/api/identifier", identifier, methods=["POST"])]
