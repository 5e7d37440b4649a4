"""RFC 9111 §5.2.2.5: every API answer that may carry personal data says
``Cache-Control: no-store`` (and ``Pragma: no-cache``), refusals and errors
included; only the console's static pages and assets, the same for everyone,
stay cacheable (``no-cache``: revalidated)."""

from __future__ import annotations

import pytest

from ledger.console import is_public
from tests.api_support import make_api
from tests.conftest import PERSON


def no_store(r) -> bool:
    return r.headers.get("cache-control") == "no-store" and r.headers.get("pragma") == "no-cache"


@pytest.fixture
def api(domain):
    return make_api(domain)


def test_graphql_answers_and_refusals_are_not_stored(api, domain):
    p = domain.subject(PERSON, "张三")
    domain.sanction(p)
    answered = api.post("auditor", "query($s: String!) { subject(identifier: $s) { __typename } }", {"s": PERSON})
    assert answered.status_code == 200 and no_store(answered), answered.headers
    refusals = [
        api.post(None, "{ __typename }"),  # 401
        api.client.get("/graphql"),  # 405
        api.client.post("/graphql", content=b"{not json", headers={"Authorization": f"Bearer {api.tokens['auditor']}",
                                                                   "Content-Type": "application/json"}),  # 400
        api.client.get("/no/such/path"),  # 404
    ]
    assert [r.status_code for r in refusals] == [401, 405, 400, 404]
    assert all(no_store(r) for r in refusals), [dict(r.headers) for r in refusals]


def test_an_evidence_download_is_not_stored(api, domain):
    p = domain.subject(PERSON, "张三")
    domain.sanction(p)
    api.court("court", [p])
    ready = api.gql("court", "mutation($s: [String!]!) { request_export(subjects: $s) { __typename "
                             "... on ExportReady { download_path } } }", s=[PERSON])["request_export"]
    auth = {"Authorization": f"Bearer {api.tokens['court']}"}
    r = api.client.get(ready["download_path"], headers=auth)
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip" and no_store(r), r.headers
    forbidden = api.client.get(ready["download_path"], headers={"Authorization": f"Bearer {api.tokens['recorder']}"})
    assert forbidden.status_code == 403 and no_store(forbidden)


def test_console_data_routes_are_not_stored_and_its_static_files_are_revalidated(api):
    auth = {"Authorization": f"Bearer {api.tokens['auditor']}"}
    data = [api.client.post("/console/api/identifier", json={"text": PERSON}, headers=auth),
            api.client.get("/console/api/log-key"), api.client.get("/console/api/regions"), api.client.get("/healthz")]
    assert all(r.status_code == 200 and no_store(r) for r in data), [(r.status_code, dict(r.headers)) for r in data]
    for path in ("/console/", "/console/check", "/console/audit", "/console/static/js/api.js"):
        r = api.client.get(path)
        assert r.status_code == 200 and r.headers["cache-control"] == "no-cache" and "pragma" not in r.headers, path
        assert r.headers["content-security-policy"].startswith("default-src 'self'")  # the console's own headers stay


@pytest.mark.parametrize(("path", "public"), [
    ("/console/", True), ("/console/timeline", True), ("/console/static/css/site.css", True),
    ("/console/api/regions", False), ("/console/api/identifier", False), ("/", False), ("/login", False),
    ("/graphql", False), ("/exports/" + "0" * 64 + ".zip", False), ("/console/staticx", False),
])
def test_only_the_consoles_pages_and_assets_are_public(path, public):
    assert is_public(path) is public
