"""Serving the console: its pages, its static assets, and the security headers
on every console response.

The pages are static HTML; the browser does the rest with ES modules from
``static/js`` (no build step, nothing from another origin). Why this shape and
not an npm build: docs/decisions/0008-web-console.md.
"""

from __future__ import annotations

from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.staticfiles import StaticFiles

from ledger.console import publicity_routes, reference, round_routes, supervision_routes

STATIC = Path(__file__).resolve().parent / "static"
PAGES = {"/": "login.html", "/login": "login.html", "/check": "check.html", "/timeline": "timeline.html",
         "/audit": "audit.html", "/key": "key.html", "/keys": "keys.html",
         "/round": "round.html", "/supervision": "supervision.html", "/public": "public.html"}

# Same-origin everything, no inline script or style, never framed (clickjacking
# of the record button). img-src data: only for the pages' empty favicon
# (``<link rel="icon" href="data:,">``, which saves a 404 per page).
CSP = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'",
    "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
])
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # for browsers without frame-ancestors
    "Referrer-Policy": "no-referrer",  # identifiers never leave in a Referer
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cache-Control": "no-cache",  # revalidate: a new release's scripts take effect at once
}


class SecurityHeaders:
    """ASGI wrapper: add SECURITY_HEADERS to every response it lets through."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    # A route's own Cache-Control (no-store on the identifier check) is stricter: keep it.
                    if name == "Cache-Control" and name in headers:
                        continue
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def is_public(path: str) -> bool:
    """A response the same for every caller and naming no one: the console's static
    pages and assets (HTML, JS, CSS). Everything else may carry personal data."""
    if not path.startswith("/console/"):
        return False
    return path.startswith("/console/static/") or path[len("/console"):] in PAGES


def _page(filename: str):
    async def endpoint(request: Request) -> FileResponse:
        return FileResponse(STATIC / filename, media_type="text/html; charset=utf-8")

    return endpoint


async def _to_console(request: Request) -> RedirectResponse:
    return RedirectResponse("/console/", status_code=307)


def console_routes() -> list[BaseRoute]:
    """``/`` and ``/console`` redirect to ``/console/``; pages, ``/console/static/…``
    and ``/console/api/…`` under one security-header wrapper."""
    inner = Router(routes=[*(Route(path, _page(f)) for path, f in PAGES.items()),
                           Mount("/static", app=StaticFiles(directory=STATIC)),
                           *reference.routes(), *publicity_routes.routes(), *round_routes.routes(),
                           *supervision_routes.routes()])
    return [Route("/", _to_console), Route("/console", _to_console), Mount("/console", app=SecurityHeaders(inner))]
