"""The ASGI app: bearer-token authentication and a body-size limit in front of
the strawberry GraphQL view, plus ``/healthz`` and the web console
(``/console/``, ledger/console: static pages that call ``/graphql`` with the
same tokens).

Authentication happens here, before GraphQL parsing, so an anonymous caller
learns nothing about the schema and costs one indexed lookup.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL

from ledger.access.policy import Principal, Role
from ledger.access.tokens import authenticate
from ledger.api.context import AppState, Context, Limits, run
from ledger.api.schema import build_schema
from ledger.config import Settings
from ledger.console import console_routes
from ledger.errors import Unauthenticated
from ledger.log.operator import load_keyring
from ledger.store.engine import make_engine


class LedgerGraphQL(GraphQL[Context, None]):
    def __init__(self, state: AppState):
        super().__init__(build_schema(state.limits), graphql_ide=None, allow_queries_via_get=False)
        self.state = state

    async def get_context(self, request, response) -> Context:
        return Context(self.state, request.scope["ledger.principal"], request=request, response=response)


def _error(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status, headers=headers)


async def _principal(state: AppState, request: Request) -> Principal | JSONResponse:
    """The bearer token's principal, or the 401 answer (with WWW-Authenticate)."""
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    try:
        if scheme.lower() != "bearer":
            raise Unauthenticated("missing bearer token")
        return await run(authenticate, state.engine, presented.strip(), state.clock())
    except Unauthenticated as e:
        return _error(401, "unauthenticated", str(e), {"WWW-Authenticate": "Bearer"})


class Guard:
    """Authenticate, bound the body, then hand the request to GraphQL."""

    def __init__(self, state: AppState, inner):
        self.state, self.inner = state, inner

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await _error(404, "not_found", "not found")(scope, receive, send)
        request = Request(scope, receive)
        limit = self.state.limits.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await _error(413, "too_large", f"request body over {limit} bytes")(scope, receive, send)
        principal = await _principal(self.state, request)
        if isinstance(principal, JSONResponse):
            return await principal(scope, receive, send)
        # Read the body here (chunked uploads too) so the limit holds without a
        # Content-Length, then replay it to the view.
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > limit:
                return await _error(413, "too_large", f"request body over {limit} bytes")(scope, receive, send)
            more = message.get("more_body", False)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        scope = dict(scope)
        scope["ledger.principal"] = principal
        await self.inner(scope, replay, send)


async def healthz(request: Request) -> JSONResponse:
    state: AppState = request.app.state.ledger

    def size():
        from ledger.store import log_store

        with state.engine.connect() as conn:
            return log_store.size(conn)

    return JSONResponse({"ok": True, "tree_size": await run(size)})


async def download_export(request: Request):
    """GET /exports/<id>.zip: the bundle, for a court token of the same case or an auditor."""
    state: AppState = request.app.state.ledger
    principal = await _principal(state, request)
    if isinstance(principal, JSONResponse):
        return principal
    export_id = request.path_params["export_id"]
    path = state.export_dir / f"{export_id}.zip"
    meta = state.export_dir / f"{export_id}.json"
    if not re.fullmatch(r"[0-9a-f]{64}", export_id) or not path.exists():
        return _error(404, "not_found", "no such export")
    case = json.loads(meta.read_text())["case"]
    if not (principal.role is Role.auditor or (principal.role is Role.court and principal.case_ref == case)):
        return _error(403, "forbidden", f"export {export_id[:12]}… belongs to another case")
    return FileResponse(path, media_type="application/zip", filename=f"evidence-{export_id[:12]}.zip")


def create_app(state: AppState) -> Starlette:
    graphql = Guard(state, LedgerGraphQL(state))
    app = Starlette(routes=[Route("/healthz", healthz), Route("/graphql", graphql, methods=["POST"]),
                            Route("/exports/{export_id}.zip", download_export), *console_routes()])
    app.state.ledger = state
    return app


def state_from_settings(settings: Settings, limits: Limits | None = None) -> AppState:
    """The server's state: signing keys if a passphrase is configured (else
    read-only), the vault if its key file exists (else references only)."""
    engine = make_engine(settings.database_url)
    keyring = load_keyring(engine, settings) if settings.passphrase_value else None
    vault = settings.vault() if settings.vault_key_file.exists() else None
    return AppState(engine, keyring, vault, lambda: datetime.now(UTC), limits or Limits(), settings)
