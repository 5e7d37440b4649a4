"""The console signs in the browser (docs/console.md, Signing key; decision 0016):
an officer's Ed25519 key is made by WebCrypto in headless Debian Chromium,
non-extractable, kept in IndexedDB; an admin enrols it (``key.registered``);
the pre-award check is recorded as a statement signed in the browser. Real
``ledger serve`` on loopback, real keys, the entry checked by ``ledger verify``
and by Python's own Ed25519. Screenshots go to var/screenshots/."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from playwright import sync_api

from ledger.log.statement import statement_from_json
from ledger.signing.keys import parse_vkey
from tests.console_support import (
    BARRED,
    CLEAN,
    login,
    shot,
    start_server,
)

expect = sync_api.expect
expect.set_options(timeout=30_000)  # a loaded 2-core machine: wait, never sleep

AUTHORITY = "nmg-talent-office"
STATEMENT_OPS = ("ConsoleStatementToSign", "ConsoleRecordStatements")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    s, proc = start_server(tmp_path_factory.mktemp("console-signing"))
    issue = lambda *a: s.cli("tokens", "issue", *a, "--expires", "1d").strip()  # noqa: E731
    s.tokens["admin"] = issue("--role", "admin", "--label", "密钥管理员")
    # One login per scenario: a browser keeps one key per login (IndexedDB record keyed by token id).
    for who in ("signer", "unenrolled", "keyless", "cli", "replacer", "tamper"):
        s.tokens[who] = issue("--role", "programme_officer", "--authority", AUTHORITY, "--region", "150000",
                              "--label", who)
    yield s
    proc.terminate()
    proc.wait(timeout=10)






def open_key_page(page, served) -> None:
    page.goto(f"{served.base}/console/key")
    page.wait_for_selector("body[data-ready]")


def make_key(page, served, who: str) -> dict:
    """Log in as ``who``, make a key on the key page; what the page shows of it."""
    login(page, served, who, "check")
    open_key_page(page, served)
    if page.locator("#no-key").is_visible():  # else this login already made one in this browser
        page.click("#key-generate")
    expect(page.locator("#key-card")).to_be_visible()
    expect(page.locator("#key-status")).to_have_attribute("data-state", re.compile(r"pending|enrolled"))
    return {"vkey": page.input_value("#key-vkey"), "name": page.inner_text("#key-name"),
            "fingerprint": page.inner_text("#key-fingerprint")}


def stored_key(page, served, who: str) -> dict:
    """Read this login's IndexedDB record in the page and try every way out of the private key."""
    token_id = served.tokens[who].split("_")[1]
    return page.evaluate("""async (login) => {
      const db = await new Promise((ok, no) => { const r = indexedDB.open("ledger-console", 1);
        r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
      const rec = await new Promise((ok, no) => { const r = db.transaction("signing-keys").objectStore("signing-keys").get(login);
        r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
      db.close();
      if (!rec) return null;
      const exports = {};
      for (const format of ["pkcs8", "jwk", "raw"]) {
        try { await crypto.subtle.exportKey(format, rec.privateKey); exports[format] = "exported"; }
        catch (e) { exports[format] = e.name; }
      }
      const raw = new Uint8Array(await crypto.subtle.exportKey("raw", rec.publicKey));
      return { name: rec.name, login: rec.login, extractable: rec.privateKey.extractable, usages: rec.privateKey.usages,
               type: rec.privateKey.type, algorithm: rec.privateKey.algorithm.name, exports,
               publicKey: btoa(String.fromCharCode(...raw)) };
    }""", token_id)


def enrol_with_cli(served, vkey: str, holder: str) -> None:
    """The documented CLI route (docs/console.md): the vkey line in keys/NAME.vkey, then ledger keys register."""
    name = vkey.split("+")[0]
    (served.tmp / "keys" / f"{name}.vkey").write_text(vkey + "\n")
    served.cli("keys", "register", name, "--authority", AUTHORITY, "--holder", holder)


def graphql_bodies(requests: list) -> list[dict]:
    return [json.loads(r.post_data) for r in requests if r.url.endswith("/graphql") and r.post_data]


def run_check(page, identifier: str, league: str, county: str, on: str = "2026-10-01") -> None:
    page.goto(page.url.split("/console/")[0] + "/console/check")
    page.wait_for_selector("body[data-ready]")
    page.fill("#identifier", identifier)
    page.select_option("#region-league", league)
    page.select_option("#region-county", county)
    page.fill("#on", on)
    page.click("#check-submit")
    expect(page.locator("#result")).to_be_visible()


# --- the browser can do it ------------------------------------------------------------
def test_chromium_makes_non_extractable_ed25519_keys_that_python_verifies(page, served):
    """The first check of decision 0016: this machine's headless Chromium has WebCrypto
    Ed25519; a key made with extractable=false signs, cannot be exported, and its
    signatures verify with pyca/cryptography (RFC 8032, the same scheme as the log's)."""
    page.goto(f"{served.base}/console/")  # loopback: a secure context
    out = page.evaluate("""async () => {
      const pair = await crypto.subtle.generateKey({name: "Ed25519"}, false, ["sign", "verify"]);
      const message = new TextEncoder().encode("integrity-ledger/statement/v2\\n{}");
      const sig = new Uint8Array(await crypto.subtle.sign({name: "Ed25519"}, pair.privateKey, message));
      const pub = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
      let exported = "exported";
      try { await crypto.subtle.exportKey("pkcs8", pair.privateKey); } catch (e) { exported = e.name; }
      const b64 = (b) => btoa(String.fromCharCode(...b));
      return { secure: isSecureContext, sig: b64(sig), pub: b64(pub), exported, extractable: pair.privateKey.extractable };
    }""")
    assert out["secure"] and out["extractable"] is False and out["exported"] == "InvalidAccessError"
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(out["pub"]))
    public.verify(base64.b64decode(out["sig"]), b"integrity-ledger/statement/v2\n{}")  # raises if not
    with pytest.raises(Exception):  # noqa: B017 - InvalidSignature: the check can fail
        public.verify(base64.b64decode(out["sig"]), b"integrity-ledger/statement/v2\n{ }")


# --- enrolment --------------------------------------------------------------------------
def test_the_key_page_makes_a_key_that_never_leaves_the_browser(page, served):
    sent: list = []
    page.on("request", lambda r: sent.append(r))
    shown = make_key(page, served, "unenrolled")
    expect(page.locator("#key-status")).to_have_attribute("data-state", "pending")
    expect(page.locator("#key-status")).to_have_text("尚未登记，不能签名")
    shot(page, "20-key-pending")
    key = parse_vkey(shown["vkey"])
    fp = hashlib.sha256(key.public).hexdigest()
    assert shown["fingerprint"].replace(" ", "") == fp  # what the officer reads out is SHA-256 of the raw key
    assert shown["name"] == key.name == f"{AUTHORITY}-{fp[:8]}"
    stored = stored_key(page, served, "unenrolled")
    assert stored["extractable"] is False and stored["usages"] == ["sign"] and stored["type"] == "private"
    assert stored["algorithm"] == "Ed25519" and stored["name"] == key.name
    assert stored["exports"] == {"pkcs8": "InvalidAccessError", "jwk": "InvalidAccessError", "raw": "InvalidAccessError"}
    assert base64.b64decode(stored["publicKey"]) == key.public
    # The key stays with this login in this browser: a reload shows the same one.
    page.reload()
    page.wait_for_selector("body[data-ready]")
    expect(page.locator("#key-name")).to_have_text(key.name)
    # Making it sent queries only: no mutation, no key material but the public key.
    for body in graphql_bodies(sent):
        assert body["query"].lstrip().startswith("query"), body
        assert "ConsoleRecordStatements" not in body["query"]


def test_admin_enrols_the_key_and_the_officer_signs_and_records_a_check(browser, served):
    officer, admin = browser.new_page(), browser.new_page()
    errors: list[str] = []
    for tab in (officer, admin):
        tab.on("pageerror", lambda e: errors.append(str(e)))
    shown = make_key(officer, served, "signer")
    shot(officer, "21-key-made")
    # The admin enrols it on the console, after comparing the fingerprint it shows.
    login(admin, served, "admin", "keys")
    admin.fill("#enrol-authority", AUTHORITY)
    admin.fill("#enrol-holder", "王审核")
    admin.fill("#enrol-key", shown["vkey"])
    expect(admin.locator("#enrol-fingerprint")).to_contain_text(shown["fingerprint"])
    admin.check("#enrol-confirm")
    admin.click("#enrol-submit")
    expect(admin.locator("#enrol-message")).to_contain_text(f"已登记：{shown['name']}")
    expect(admin.locator("#key-list")).to_contain_text(shown["name"])
    shot(admin, "22-admin-enrolled")
    registered = json.loads(served.cli("entry", str(served.size() - 1), "--raw"))
    stated = registered.get("statement", registered)
    assert stated["type"] == "key.registered" and stated["body"]["vkey"] == shown["vkey"]
    assert stated["body"]["authority_id"] == AUTHORITY and stated["body"]["holder"] == "王审核"
    # The officer's page now says enrolled.
    officer.click("#key-refresh")
    expect(officer.locator("#key-status")).to_have_attribute("data-state", "enrolled")
    shot(officer, "23-key-enrolled")
    # Sign and record a check; watch everything the page sends.
    sent: list = []
    officer.on("request", lambda r: sent.append(r))
    run_check(officer, BARRED, "150100", "150102")
    expect(officer.locator("#record-key")).to_contain_text(f"将由本浏览器中您的密钥 {shown['name']} 签名")
    officer.fill("#award-ref", "草原英才〔2026〕第31号")
    officer.fill("#officer", "王审核")
    officer.click("#record-submit")
    expect(officer.locator("#record-message")).to_contain_text("已记录")
    expect(officer.locator("#record-message")).to_contain_text(shown["name"])
    shot(officer, "24-check-signed-in-browser")
    seq = int(officer.locator("#record-message").get_attribute("data-seq"))
    entry = json.loads(served.cli("entry", str(seq), "--raw"))
    # A v2 entry whose statement is the browser's: its key, its signature, the answer shown.
    assert entry["v"] == 2 and entry["statement"]["key"] == shown["name"]
    st = statement_from_json(entry["statement"])
    key = parse_vkey(shown["vkey"])
    key.verify(base64.b64decode(entry["sig"]), st.signed_bytes)  # the browser's key signed it
    assert st.type == "eligibility.checked" and st.subject == served.refs["barred"]
    assert st.body["answer"] == "barred" and st.body["decision"] == "refuse"
    assert st.body["blocking"] == [served.seqs["sanction"]] and st.body["award_ref"] == "草原英才〔2026〕第31号"
    served.cli("verify")  # the whole log verifies with the browser-signed entry in it
    # What crossed the network: GraphQL only, and of key material only the signature.
    bodies = graphql_bodies(sent)
    recorded = [b for b in bodies if "ConsoleRecordStatements" in b["query"]]
    assert len(recorded) == 1 and json.loads(recorded[0]["variables"]["statements"][0]) == {
        "statement": entry["statement"], "sig": entry["sig"]}
    for r in sent:
        assert r.url.startswith(served.base), r.url
    blobs = {m for b in bodies for m in re.findall(r"[A-Za-z0-9+/]{40,}={0,2}", json.dumps(b["variables"]))
             if not re.fullmatch(r"[0-9a-f]{64}", m)}  # subject references are hex, not key material
    assert blobs <= {entry["sig"]}, blobs  # no private key, no JWK, nothing else base64
    stored = stored_key(officer, served, "signer")
    assert stored["exports"]["pkcs8"] == "InvalidAccessError" and stored["exports"]["jwk"] == "InvalidAccessError"
    for tab in (officer, admin):
        tab.close()
    assert not errors, errors


def test_a_console_without_an_enrolled_key_cannot_record(page, served):
    """No key, or a key not (yet) enrolled: the page refuses to sign and sends nothing;
    and the log refuses the same statement signed by that key and sent by hand."""
    login(page, served, "keyless", "check")
    sent: list = []
    page.on("request", lambda r: sent.append(r))
    run_check(page, CLEAN, "152200", "152201")
    expect(page.locator("#record-key")).to_contain_text("本浏览器没有您的签名密钥")
    page.fill("#award-ref", "鸿雁行动〔2026〕40号")
    page.fill("#officer", "赵经办")
    page.click("#record-submit")
    expect(page.locator("#record-message")).to_contain_text("本浏览器没有您的签名密钥")
    shot(page, "25-record-refused-no-key")
    shown = make_key(page, served, "unenrolled")  # made in the earlier test, or now: never enrolled
    expect(page.locator("#key-status")).to_have_attribute("data-state", "pending")
    run_check(page, CLEAN, "152200", "152201")
    page.fill("#award-ref", "鸿雁行动〔2026〕41号")
    page.fill("#officer", "赵经办")
    page.click("#record-submit")
    expect(page.locator("#record-message")).to_contain_text(f"您的签名密钥（{shown['name']}）尚未登记")
    shot(page, "26-record-refused-not-enrolled")
    assert not any(op in b["query"] for b in graphql_bodies(sent) for op in STATEMENT_OPS)
    # The page is not the only guard: the log refuses that key's signature (not registered).
    size = served.size()
    out = page.evaluate("""async ({ login, subject }) => {
      const { load } = await import("/console/static/js/signing_key.js");
      const { statement, signedAt, signedBytes } = await import("/console/static/js/statement.js");
      const { sign } = await import("/console/static/js/signing_key.js");
      const { gql } = await import("/console/static/js/api.js");
      const key = await load(login);
      const me = JSON.parse(sessionStorage.getItem("ledger.console.me"));
      const st = statement({ type: "eligibility.checked", authority: { id: me.authority_id, region: me.region },
        actor: `token:${me.token_id}`, subject, refs: [], request_id: crypto.randomUUID(),
        body: { officer: "赵经办", programme: "鸿雁行动", award_ref: "X-1", benefit: "subsidy", region: "152201",
                on: "2026-10-01", answer: "eligible", tree_size: 1, blocking: [], decision: "proceed" },
        signed_at: signedAt(), key: key.name });
      const sig = await sign(key, signedBytes(st));
      return (await gql(`mutation M($s: [String!]!) { record_statements(statements: $s) { __typename
        ... on ValidationFailed { problems { field rule } } ... on Error { code message } } }`,
        { s: [JSON.stringify({ statement: st, sig })] })).record_statements;
    }""", {"login": served.tokens["unenrolled"].split("_")[1], "subject": served.refs["clean"]})
    assert out["__typename"] in ("ValidationFailed", "Forbidden"), out
    assert served.size() == size  # nothing written


def test_a_server_that_asks_for_other_bytes_gets_no_signature(page, served):
    """The browser signs only the bytes it computed from the screen: if the server's
    bytes to sign differ (a host trying to get a different statement signed), nothing
    is signed or sent."""
    shown = make_key(page, served, "tamper")
    enrol_with_cli(served, shown["vkey"], "tamper")
    page.click("#key-refresh")
    expect(page.locator("#key-status")).to_have_attribute("data-state", "enrolled")

    def swap(route):
        body = json.loads(route.request.post_data or "{}")
        if "ConsoleStatementToSign" not in body.get("query", ""):
            route.continue_()
            return
        response = route.fetch()
        data = response.json()
        st = json.loads(base64.b64decode(data["data"]["statement_to_sign"]["signed_bytes"]).split(b"\n", 1)[1])
        st["body"]["decision"] = "proceed"  # what a lying host would like signed
        text = "integrity-ledger/statement/v2\n" + json.dumps(st, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        data["data"]["statement_to_sign"]["signed_bytes"] = base64.b64encode(text.encode()).decode()
        route.fulfill(response=response, json=data)

    sent: list = []
    page.on("request", lambda r: sent.append(r))
    page.route("**/graphql", swap)
    size = served.size()
    run_check(page, BARRED, "150100", "150102")
    page.fill("#award-ref", "草原英才〔2026〕第32号")
    page.fill("#officer", "王审核")
    page.click("#record-submit")
    expect(page.locator("#record-message")).to_contain_text("不一致")
    assert not any("ConsoleRecordStatements" in b["query"] for b in graphql_bodies(sent))
    assert served.size() == size


def test_cli_enrolment_revocation_and_replacing_a_key(browser, page, served):
    """The CLI route enrols a browser's key; the admin revokes it on the console, and the
    page refuses to sign with it; a replacement gets a new name (a name is never
    re-bound), is pending until enrolled, then signs; the log keeps both keys' history."""
    first = make_key(page, served, "replacer")
    enrol_with_cli(served, first["vkey"], "replacer")
    page.click("#key-refresh")
    expect(page.locator("#key-status")).to_have_attribute("data-state", "enrolled")
    admin = browser.new_page()
    login(admin, served, "admin", "keys")
    admin.fill("#revoke-name", first["name"])
    admin.fill("#revoke-reason", "浏览器数据已清除，密钥替换")
    admin.click("#revoke-submit")
    expect(admin.locator("#revoke-message")).to_contain_text(f"已吊销：{first['name']}")
    shot(admin, "29-admin-revoked")
    admin.close()
    page.click("#key-refresh")
    expect(page.locator("#key-status")).to_have_attribute("data-state", "revoked")
    expect(page.locator("#key-status-detail")).to_contain_text("被吊销")
    sent: list = []
    page.on("request", lambda r: sent.append(r))
    run_check(page, CLEAN, "152200", "152201")
    page.fill("#award-ref", "鸿雁行动〔2026〕50号")
    page.fill("#officer", "赵经办")
    page.click("#record-submit")
    expect(page.locator("#record-message")).to_contain_text("已吊销")
    assert not any(op in b["query"] for b in graphql_bodies(sent) for op in STATEMENT_OPS)
    open_key_page(page, served)
    page.on("dialog", lambda d: d.accept())
    page.click("#key-replace")
    expect(page.locator("#key-name")).not_to_have_text(first["name"])
    expect(page.locator("#key-status")).to_have_attribute("data-state", "pending")
    shot(page, "27-key-replaced")
    second = page.inner_text("#key-name")
    assert second.startswith(f"{AUTHORITY}-") and second != first["name"]
    enrol_with_cli(served, page.input_value("#key-vkey"), "replacer")
    page.click("#key-refresh")
    expect(page.locator("#key-status")).to_have_attribute("data-state", "enrolled")
    run_check(page, CLEAN, "152200", "152201")
    page.fill("#award-ref", "鸿雁行动〔2026〕51号")
    page.fill("#officer", "赵经办")
    page.click("#record-submit")
    expect(page.locator("#record-message")).to_contain_text(f"由本浏览器的密钥 {second} 签名")
    seq = int(page.locator("#record-message").get_attribute("data-seq"))
    assert served.entry(seq)["statement"]["key"] == second
    served.cli("verify")


def test_key_pages_switch_to_english(page, served):
    login(page, served, "admin", "keys")
    page.click("#lang-switch")
    expect(page.locator("h1")).to_have_text("Key enrolment")
    expect(page.locator("nav")).to_contain_text("Key enrolment")
    shot(page, "28-keys-english")
    page.click("#lang-switch")
    expect(page.locator("h1")).to_have_text("签名密钥登记")
