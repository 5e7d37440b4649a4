"""Reference data the console needs and the GraphQL API does not serve. Thin
edges: each route makes one call into ``ledger`` and formats the result.

- ``GET /console/api/regions``: the GB/T 2260 tree for the region picker
  (public reference data, no token);
- ``GET /console/api/log-key``: the log's verifier key as the log itself states
  it (``log.initialized`` at seq 0). Public, like ``keys/*.vkey`` in the repo.
  The audit page only *pre-fills* the key the user pins with it: a server that
  lies here is caught by a user who pins the key they got elsewhere;
- ``POST /console/api/identifier``: the server's (authoritative) check of an
  identifier, ``{"text": "cn-rid:…"}``. Bearer token required, like
  ``/graphql``; the number travels in the body, never in a URL (PIPL: no
  identity numbers in access logs or Referer headers).
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .. import identifiers
from ..errors import LedgerError, NotFound, ValidationError
from ..recording import entry_at
from .region_tree import region_tree

MAX_IDENTIFIER_BODY = 1024  # {"text": "<scheme>:<at most a passport number>"}


async def regions(request: Request) -> JSONResponse:
    return JSONResponse(region_tree())


async def log_key(request: Request) -> JSONResponse:
    from ..api.context import run

    state = request.app.state.ledger
    try:
        genesis = await run(entry_at, state.engine, 0)
    except NotFound:
        return JSONResponse({"error": "the log is empty"}, 404)
    return JSONResponse({"vkey": genesis.body["log_key"], "origin": genesis.body["origin"]})


async def identifier(request: Request) -> JSONResponse:
    # Lazy import: ledger.api.app mounts this module (avoid an import cycle).
    from ..api.app import _principal

    principal = await _principal(request.app.state.ledger, request)
    if isinstance(principal, JSONResponse):
        return principal
    body = await request.body()
    if len(body) > MAX_IDENTIFIER_BODY:
        return JSONResponse({"ok": False, "problems": [{"field": "text", "rule": "request too large"}]}, 413)
    try:
        text = json.loads(body)["text"]
        if not isinstance(text, str):
            raise TypeError("text")
        parsed = identifiers.parse(text, "text")
    except (ValueError, KeyError, TypeError):
        return JSONResponse({"ok": False, "problems": [{"field": "text", "rule": 'send {"text": "<scheme>:<id>"}'}]}, 400)
    except ValidationError as e:
        return JSONResponse({"ok": False, "problems": [{"field": p.field, "rule": p.rule} for p in e.problems]})
    except LedgerError as e:  # any other refusal from the parser, named
        return JSONResponse({"ok": False, "problems": [{"field": "text", "rule": str(e)}]})
    return JSONResponse({"ok": True, "identifier": str(parsed), "scheme": parsed.scheme, "kind": parsed.kind})


def routes() -> list[Route]:
    return [Route("/api/regions", regions), Route("/api/log-key", log_key),
            Route("/api/identifier", identifier, methods=["POST"])]
