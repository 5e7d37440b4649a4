"""No console page loads anything from another host (docs/console.md, the security model).

An integrity registry's console that pulls a script, font or chart library from
a CDN hands that host the page: it could read every identifier typed and every
token. Two independent checks, so that one blind spot does not hide a load:

- in headless Chromium, every page of ``ledger.console.site.PAGES`` opened for
  each role and without a login, with every request the page makes intercepted:
  a request to any origin but the server's is recorded and aborted, and a
  Content-Security-Policy violation reported by the browser fails the test;
- in the files served, every URL a page or script names (HTML ``src``/``href``,
  ES module imports, CSS ``url()``/``@import``) is same-origin.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ledger.console import site
from tests.console_support import start_server

# Schemes that never reach the network (the favicon is ``data:,``; downloads are blobs).
LOCAL_SCHEMES = {"data", "blob", "about"}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    s, proc = start_server(tmp_path_factory.mktemp("console-hosts"))
    s.tokens["admin"] = s.cli("tokens", "issue", "--role", "admin", "--expires", "1d").strip()
    yield s
    proc.terminate()
    proc.wait(timeout=10)


def _open_every_page(page, served, token: str | None) -> dict[str, list[str]]:
    """Open each console page (logged in with ``token`` or not); return, per page,
    the requests it made to another origin and the CSP violations it reported."""
    own = urlsplit(served.base)
    seen: dict[str, list[str]] = {}
    current: list[str] = []

    def gate(route):
        url = urlsplit(route.request.url)
        if url.scheme in LOCAL_SCHEMES or (url.scheme, url.netloc) == (own.scheme, own.netloc):
            route.continue_()
        else:
            current.append(route.request.url)
            route.abort()

    page.route("**/*", gate)
    page.on("console", lambda m: current.append(f"console: {m.text}") if "Content Security Policy" in m.text else None)
    page.goto(f"{served.base}/console/login")
    if token is not None:
        page.fill("#token", token)
        page.click("#login-submit")
        page.wait_for_load_state("networkidle")
    for path in site.PAGES:
        current.clear()
        response = page.goto(f"{served.base}/console{path}")
        assert response is not None and response.status == 200, f"/console{path}: {response and response.status}"
        page.wait_for_load_state("networkidle")
        seen[path] = list(current)
    page.unroute("**/*")
    return seen


@pytest.mark.parametrize("who", [None, "officer", "auditor", "admin"])
def test_no_page_loads_anything_from_another_host(page, served, who):
    token = None if who is None else served.tokens[who]
    seen = _open_every_page(page, served, token)
    assert set(seen) == set(site.PAGES)  # every page was opened
    assert {path: hits for path, hits in seen.items() if hits} == {}


def test_the_gate_sees_a_load_from_another_host(page, served):
    """The browser check can fail: a script from another host added to a page is
    refused by the CSP, and the browser reports it where the check listens."""
    page.goto(f"{served.base}/console/login")
    # What a careless change would add; the CSP must refuse it too (script-src 'self').
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.evaluate("""() => { const s = document.createElement('script');
        s.src = 'https://cdn.example.invalid/chart.js'; document.head.append(s); }""")
    page.wait_for_timeout(500)
    assert violations, "the CSP let a script from another host be requested"


def test_every_page_response_carries_a_same_origin_csp(served):
    import httpx

    for path in site.PAGES:
        r = httpx.get(f"{served.base}/console{path}", timeout=10)
        csp = r.headers["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        for name in ("default-src", "script-src", "style-src", "connect-src", "font-src"):
            assert directives[name] == "'self'", (path, name, directives[name])
        assert directives["img-src"] == "'self' data:"


# --- the files served ------------------------------------------------------------------

HTML_URL = re.compile(r"""\b(?:src|href|action)\s*=\s*["']([^"']*)["']""")
JS_IMPORT = re.compile(r"""(?:\bimport\s*(?:[\w*{}\s,]+\s*from\s*)?|\bimport\s*\(\s*)["']([^"']+)["']""")
CSS_URL = re.compile(r"""(?:url\(\s*["']?|@import\s+["'])([^"')]+)""")
# A namespace name, not a load (createElementNS for the timeline's SVG).
NOT_LOADS = {"http://www.w3.org/2000/svg"}


def _same_origin(url: str) -> bool:
    parts = urlsplit(url)
    if url.startswith("//"):
        return False  # protocol-relative: another host
    return parts.scheme in ("", *LOCAL_SCHEMES) and not parts.netloc


def _named_urls(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    pattern = {".html": HTML_URL, ".js": JS_IMPORT, ".css": CSS_URL}[path.suffix]
    urls = pattern.findall(text)
    # Any absolute URL written anywhere (fetch("https://…"), a string built later).
    urls += [u for u in re.findall(r"""(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s"'`)]*""", text) if u not in NOT_LOADS]
    return urls


def _served_files() -> list[Path]:
    return sorted(p for p in site.STATIC.rglob("*") if p.suffix in (".html", ".js", ".css") and p.is_file()
                  and "vendor" not in p.relative_to(site.STATIC).parts)


def test_served_files_name_only_same_origin_urls():
    files = _served_files()
    assert any(p.suffix == ".html" for p in files) and any(p.suffix == ".js" for p in files)
    offenders = {str(p.relative_to(site.STATIC)): bad for p in files
                 if (bad := [u for u in _named_urls(p) if not _same_origin(u)])}
    assert offenders == {}


@pytest.mark.parametrize("text,suffix", [
    ('<script type="module" src="https://cdn.jsdelivr.net/npm/chart.js"></script>', ".html"),
    ('<link rel="stylesheet" href="//fonts.googleapis.com/css">', ".html"),
    ('import { Chart } from "https://esm.sh/chart.js";', ".js"),
    ('const r = await fetch("https://api.example.com/x");', ".js"),
    ("@import 'https://fonts.googleapis.com/css2?family=Noto';", ".css"),
    ("body { background: url(https://example.com/bg.png); }", ".css"),
])
def test_the_file_scan_finds_a_load_from_another_host(tmp_path, text, suffix):
    f = tmp_path / f"page{suffix}"
    f.write_text(text, encoding="utf-8")
    assert [u for u in _named_urls(f) if not _same_origin(u)], text
