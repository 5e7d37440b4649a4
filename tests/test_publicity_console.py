"""The public publicity page in headless Chromium, with no login: it lists the
publicised sanctions masked, searches by the full identifier, and no page text
carries a full identifier or a person's full name (docs/publicity.md)."""

from __future__ import annotations

import threading
import time

import pytest
import uvicorn
from playwright.sync_api import expect

from ledger.api.app import create_app
from ledger.api.context import AppState
from tests.api_support import free_port
from tests.conftest import open_store
from tests.console_support import shot
from tests.publicity_support import ETHNIC, PEOPLE, build


@pytest.fixture
def store(tmp_path):
    with open_store("sqlite", tmp_path) as s:
        yield s


@pytest.fixture
def base(domain):
    build(domain)
    app = create_app(AppState(domain.engine, None, domain.vault, domain.clock))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(timeout=10)


def _assert_masked(text: str) -> None:
    for ident, name in PEOPLE.items():
        assert ident.partition(":")[2] not in text
        if "有限公司" not in name:
            assert name not in text


def test_public_page_without_login_shows_masked_data_only(page, base):
    page.goto(f"{base}/console/public")
    page.wait_for_selector("#public-rows tr td.code")
    assert page.url.endswith("/console/public")  # no redirect to the login page
    rows = page.inner_text("#public-rows")
    assert "张*三" in rows and "乌*·**尔" in rows and "草原科技有限公司" in rows and "1501**********" in rows
    assert page.locator("#public-rows tr").count() == 5
    _assert_masked(page.content())
    shot(page, "public-list")

    page.fill("#public-identifier", f"cn-rid:{ETHNIC}")
    page.click("#public-search-submit")
    # A locator wait, not wait_for_function: the page's CSP (script-src 'self') forbids the eval it uses.
    expect(page.locator("#public-rows tr")).to_have_count(1)
    assert "乌*·**尔" in page.inner_text("#public-rows")
    page.fill("#public-identifier", "")  # the typed number leaves the page before the text is scanned
    _assert_masked(page.content())
    shot(page, "public-search")

    page.fill("#public-identifier", f"cn-rid:{ETHNIC[:10]}")
    page.click("#public-search-submit")
    page.wait_for_selector("#public-message.error")
