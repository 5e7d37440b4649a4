"""The ASGI app: bearer-token authentication, per-token admission and request
checks in front of the strawberry GraphQL view, plus ``/healthz`` and the web
console (``/console/``, ledger/console: static pages that call ``/graphql``
with the same tokens).

Authentication happens here, before GraphQL parsing, so an anonymous caller
learns nothing about the schema and costs one indexed lookup. Then, in this
order (docs/limits.md): the token's rate and in-flight limits (429), the body's
size (413) and form (400, ledger/api/request.py); the schema refuses a
document too deep, too long, too aliased or too costly (ledger/api/cost.py);
the answer's size is checked before it is sent. Every refusal is JSON with an
``extensions.code``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from datetime import UTC, datetime

from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.schema.exceptions import CannotGetOperationTypeError

from ledger.access.policy import Principal, Role, require_export_download
from ledger.access.recording import entry_at
from ledger.access.tokens import authenticate
from ledger.api.context import AppState, Context, Limits, run
from ledger.api.ratelimit import Refusal
from ledger.api.request import BadRequest, decode
from ledger.api.schema import build_schema
from ledger.config import Settings
from ledger.console import console_routes, is_public
from ledger.errors import Forbidden, Unauthenticated
from ledger.log.operator import load_keyring
from ledger.signing.private_files import private_dir
from ledger.store.engine import make_engine

log = logging.getLogger("ledger.api")


class LedgerGraphQL(GraphQL[Context, None]):
    def __init__(self, state: AppState):
        super().__init__(build_schema(state.limits), graphql_ide=None, allow_queries_via_get=False)
        self.state = state

    async def get_context(self, request, response) -> Context:
        scope = request.scope
        return Context(self.state, scope["ledger.principal"], scope["ledger.request"].operation_name,
                       scope["ledger.caller"], request=request, response=response)

    async def __call__(self, scope, receive, send):
        """strawberry's view, with its HTTP refusals (an unknown operationName, …) as JSON."""
        try:
            response = await self.run(Request(scope, receive))
        except HTTPException as e:
            code = "unknown_operation" if isinstance(e.__cause__, CannotGetOperationTypeError) else "bad_request"
            response = _error(e.status_code, code, e.reason)
        await response(scope, receive, send)


def _error(status: int, code: str, message: str, headers: dict | None = None, **details) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code, **details}}]}, status,
                        headers=headers)


def _execution_error(code: str, message: str, **details) -> JSONResponse:
    """An error of a request that was executed: the GraphQL shape, data null (HTTP 200)."""
    return JSONResponse({"data": None, "errors": [{"message": message, "extensions": {"code": code, **details}}]})


def _presented(request: Request) -> str | None:
    """The bearer token as presented (``Authorization: Bearer <token>``), or None."""
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    return presented.strip() if scheme.lower() == "bearer" else None


async def _principal(state: AppState, request: Request) -> Principal | JSONResponse:
    """The bearer token's principal, or the 401 answer (with WWW-Authenticate)."""
    presented = _presented(request)
    try:
        if presented is None:
            raise Unauthenticated("missing bearer token")
        return await run(authenticate, state.engine, presented, state.clock())
    except Unauthenticated as e:
        return _error(401, "unauthenticated", str(e), {"WWW-Authenticate": "Bearer"})


def _caller(request: Request) -> str:
    """The admission key: SHA-256 of the token as ``_principal`` reads it. Only
    the token's holder can present it (the token id alone is public), a valid
    token has exactly one text (so no spelling of the header gets a second
    bucket), and a bucket exists only once that text authenticated."""
    return hashlib.sha256((_presented(request) or "").encode()).hexdigest()


async def _pause(seconds: float) -> None:
    await asyncio.sleep(seconds)


def _too_many(refusal: Refusal) -> JSONResponse:
    # RFC 6585 §4: 429 Too Many Requests, with Retry-After (RFC 9110 §10.2.3).
    return _error(429, "rate_limited", refusal.message, {"Retry-After": str(refusal.retry_after)},
                  reason=refusal.reason, retry_after=refusal.retry_after)


class _BodyTooLarge(Exception):
    pass


async def _read_body(receive, limit: int) -> bytes | None:
    """The whole body (chunked uploads too, so the limit holds without a
    Content-Length); None if the client went away."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        if len(body) > limit:
            raise _BodyTooLarge
        if not message.get("more_body", False):
            return bytes(body)


class _HeldAnswer:
    """The ASGI ``send`` of the GraphQL view, held back until the answer is
    complete: then sent, or replaced by a JSON error when it is over
    ``limit`` bytes (so no answer, however large, goes out)."""

    def __init__(self, send, limit: int | None):
        self.send, self.limit = send, limit
        self.start: dict | None = None
        self.chunks: list[bytes] = []
        self.size = 0
        self.sent = False

    async def __call__(self, message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body":
            self.size += len(message.get("body", b""))
            if self.limit is None or self.size <= self.limit:
                self.chunks.append(message.get("body", b""))
            else:
                self.chunks = []
            if not message.get("more_body", False):
                await self.flush()
        else:
            await self.send(message)

    async def flush(self) -> None:
        self.sent = True
        if self.limit is not None and self.size > self.limit:
            log.warning("refused an answer of %d bytes (limit %d)", self.size, self.limit)
            refusal = _execution_error("response_too_large",
                                       f"the answer is {self.size} bytes, over the limit of {self.limit}: ask for "
                                       "fewer fields or smaller pages (docs/limits.md)", bytes=self.size,
                                       limit=self.limit)
            return await refusal({"type": "http"}, _no_receive, self.send)
        assert self.start is not None
        await self.send(self.start)
        await self.send({"type": "http.response.body", "body": b"".join(self.chunks)})


async def _no_receive():  # pragma: no cover - a JSONResponse never reads the request
    return {"type": "http.disconnect"}


class Guard:
    """Authenticate, admit, bound and check the body, then hand the request to
    GraphQL and bound its answer (module docstring)."""

    def __init__(self, state: AppState, inner):
        self.state, self.inner = state, inner

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await _error(404, "not_found", "not found")(scope, receive, send)
        if scope["method"] != "POST":
            return await _error(405, "method_not_allowed", "POST a JSON body to /graphql",
                                {"Allow": "POST"})(scope, receive, send)
        request = Request(scope, receive)
        limit = self.state.limits.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await _error(413, "too_large", f"request body over {limit} bytes")(scope, receive, send)
        caller = _caller(request)
        refused = self.state.admission.precheck(caller)
        if refused is not None:
            # Back before its Retry-After: no database read, and the answer takes a while, so
            # hammering costs the caller time rather than this server CPU (docs/limits.md).
            await _pause(self.state.limits.early_retry_delay_s)
            return await _too_many(refused)(scope, receive, send)
        principal = await _principal(self.state, request)
        if isinstance(principal, JSONResponse):
            return await principal(scope, receive, send)
        refused = await self.state.admission.enter(caller)
        if refused is not None:
            return await _too_many(refused)(scope, receive, send)
        try:
            await self._admitted({**scope, "ledger.caller": caller}, receive, send, request, principal)
        finally:
            self.state.admission.leave(caller)

    async def _admitted(self, scope, receive, send, request: Request, principal: Principal) -> None:
        limit = self.state.limits.max_body_bytes
        try:
            body = await _read_body(receive, limit)
        except _BodyTooLarge:
            return await _error(413, "too_large", f"request body over {limit} bytes")(scope, receive, send)
        if body is None:
            return
        try:
            sent = decode(request.headers.get("content-type"), body)
        except BadRequest as e:
            return await _error(400, e.code, str(e))(scope, receive, send)
        replayed = False

        async def replay():  # the body, once more, for the view
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        held = _HeldAnswer(send, self.state.limits.max_response_bytes)
        try:
            await self.inner({**scope, "ledger.principal": principal, "ledger.request": sent}, replay, held)
        except Exception:
            if held.sent:
                raise
            log.exception("unexpected error answering token %s", principal.token_id)
            await _error(500, "internal", "Unexpected error (logged).")(scope, receive, send)


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
    # Roles that may never download are refused before the file is looked up, so
    # a 404 tells them nothing about which exports exist.
    if principal.role not in (Role.auditor, Role.court):
        return _error(403, "forbidden", f"role {principal.role.value} may not download evidence exports")
    path = state.export_dir / f"{export_id}.zip"
    meta = state.export_dir / f"{export_id}.json"
    if not re.fullmatch(r"[0-9a-f]{64}", export_id) or not path.exists():
        return _error(404, "not_found", "no such export")
    # What the bundle discloses is what its custody entry in the log says (case
    # and subjects), not the case text alone: two court tokens may share a case.
    custody = await run(entry_at, state.engine, json.loads(meta.read_text())["custody_seq"])
    try:
        require_export_download(principal, custody.body["case"], custody.body["subjects"])
    except Forbidden:
        return _error(403, "forbidden", f"export {export_id[:12]}… holds subjects outside this token's case")
    return FileResponse(path, media_type="application/zip", filename=f"evidence-{export_id[:12]}.zip")


class NoStore:
    """ASGI wrapper: ``Cache-Control: no-store`` (and ``Pragma: no-cache`` for HTTP/1.0
    caches) on every response but the console's public pages and assets. GraphQL
    answers, evidence downloads, errors and the console's data routes name subjects
    and cases: RFC 9111 §5.2.2.5, no cache, shared or private (a browser's disk
    cache included), may store them. Set last, over whatever a route said."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or is_public(scope["path"]):
            return await self.app(scope, receive, send)

        async def send_no_store(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Cache-Control"] = "no-store"
                headers["Pragma"] = "no-cache"
            await send(message)

        await self.app(scope, receive, send_no_store)


def create_app(state: AppState) -> Starlette:
    graphql = Guard(state, LedgerGraphQL(state))
    app = Starlette(routes=[Route("/healthz", healthz), Route("/graphql", graphql),
                            Route("/exports/{export_id}.zip", download_export), *console_routes()],
                    middleware=[Middleware(NoStore)])
    app.state.ledger = state
    _private_export_dir(state)
    return app


def _private_export_dir(state: AppState) -> None:
    """Exports disclose names, identity numbers and salts: their directory is made
    0700 before the first one is written (docs/keys-and-files.md). A read-only
    host that cannot create it serves no exports; it still answers queries."""
    try:
        private_dir(state.export_dir)
    except OSError as e:
        log.warning("export directory %s not created: %s", state.export_dir, e)


def state_from_settings(settings: Settings, limits: Limits | None = None) -> AppState:
    """The server's state: the log key if a passphrase is configured (else no key:
    signed statements only), the vault if its key file exists (else references only).

    Authority keys are read from the server's key directory only, never from the
    authority-key directory (decision 0015): a host set up as `make run` sets it up
    holds the log key alone, and records arrive as statements signed elsewhere. A
    key directory that holds authority keys is the legacy set-up (decision 0005),
    where the draft mutations sign with them."""
    engine = make_engine(settings.database_url)
    keyring = load_keyring(engine, settings, authority_dirs=(settings.key_dir,)) if settings.passphrase_value else None
    vault = settings.vault() if settings.vault_key_file.exists() else None
    return AppState(engine, keyring, vault, lambda: datetime.now(UTC), limits or Limits(), settings)
