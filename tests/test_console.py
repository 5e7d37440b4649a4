"""The web console (docs/console.md) in a real browser: headless Debian Chromium,
driven by Playwright, against `ledger serve` on loopback. Each page is used
the way staff and auditors use it, and a screenshot of each is saved under
var/screenshots/ (git-ignored)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import struct
import time
import zipfile
from pathlib import Path

import httpx
import pytest
from playwright import sync_api  # the `test` extra installs it: never skipped

from ledger.signing.keys import Signer
from tests.console_support import (
    BAD_CHECK,
    BARRED,
    CLEAN,
    HOHHOT,
    MARKUP,
    MARKUP_TEXT,
    SANCTION_BASIS,
    checkpoint_of,
    enrol_browser_key,
    forge_log,
    login,
    running_server,
    shot,
)

expect = sync_api.expect
expect.set_options(timeout=30_000)  # a loaded 2-core CI machine: wait, never sleep

STATIC = Path(__file__).resolve().parent.parent / "ledger" / "console" / "static"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("console")) as s:
        yield s






def run_check(page, identifier: str, league: str, county: str, on: str = "2026-10-01") -> None:
    page.fill("#identifier", identifier)
    page.select_option("#region-league", league)
    page.select_option("#region-county", county)
    page.fill("#on", on)
    page.click("#check-submit")
    expect(page.locator("#result")).to_be_visible()


def last_entry(served, type_: str) -> dict:
    for seq in range(served.size() - 1, -1, -1):
        e = served.entry(seq)
        if e.get("statement", e)["type"] == type_:  # v2 nests the content under statement (§2.7)
            return {**e, **e.get("statement", {})}
    raise AssertionError(f"no {type_} entry")


# --- serving -----------------------------------------------------------------------
def test_console_is_served_locally_with_security_headers(served):
    r = httpx.get(f"{served.base}/", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/console/"
    for path in ("/console/", "/console/check", "/console/timeline", "/console/audit"):
        r = httpx.get(served.base + path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        csp = r.headers["content-security-policy"]
        for directive in ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"):
            assert directive in csp, (path, csp)
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"
        # Every script, stylesheet and link is ours, served from this origin.
        for ref in re.findall(r'(?:src|href)="([^"]+)"', r.text):
            assert ref.startswith("/console/") or ref == "data:,", (path, ref)
            if ref.startswith("/"):
                asset = httpx.get(served.base + ref)
                assert asset.status_code == 200, ref
                assert "content-security-policy" in asset.headers
    # No asset names another host (the SVG namespace is an identifier, never fetched; the
    # vendored libraries' preserved license comments, /*! … */, name their home pages as text).
    for f in STATIC.rglob("*"):
        if f.suffix in (".html", ".js", ".css"):
            text = re.sub(r"/\*!.*?\*/", "", f.read_text(), flags=re.S).replace("http://www.w3.org/2000/svg", "")
            assert not re.search(r"https?://", text), f"{f.relative_to(STATIC)} names another host"
            assert "//cdn" not in text and "@import" not in text, f
    # The reference routes: public data without a token; the identifier check with one.
    assert httpx.get(f"{served.base}/console/api/regions").json()["code"] == "150000"
    assert httpx.get(f"{served.base}/console/api/log-key").json()["vkey"].startswith("dev-log+")
    assert httpx.post(f"{served.base}/console/api/identifier", json={"text": f"cn-rid:{BARRED}"}).status_code == 401
    ok = httpx.post(f"{served.base}/console/api/identifier", json={"text": f"cn-rid:{BAD_CHECK}"},
                    headers={"Authorization": f"Bearer {served.tokens['officer']}"}).json()
    assert ok["ok"] is False and "check character" in ok["problems"][0]["rule"]
    # Answers about an identity number are never cached (the pages keep no-cache).
    auth = {"Authorization": f"Bearer {served.tokens['officer']}"}
    r = httpx.post(f"{served.base}/console/api/identifier", json={"text": f"cn-rid:{BARRED}"}, headers=auth)
    assert r.json()["ok"] is True and r.headers["cache-control"] == "no-store"
    r = httpx.post(f"{served.base}/console/api/identifier", json={"text": f"cn-rid:{BARRED}"})
    assert r.status_code == 401 and r.headers["cache-control"] == "no-store"
    assert httpx.get(f"{served.base}/console/check").headers["cache-control"] == "no-cache"
    # The body is bounded before it is read: by its declared length, and when it is sent chunked.
    big = json.dumps({"text": "cn-rid:" + "1" * 5000}).encode()
    r = httpx.post(f"{served.base}/console/api/identifier", content=big, headers=auth)
    assert r.status_code == 413 and r.headers["cache-control"] == "no-store"
    r = httpx.post(f"{served.base}/console/api/identifier", content=iter([big[:600], big[600:]]), headers=auth)
    assert r.status_code == 413 and "content-length" not in r.request.headers
    # GraphiQL stays off: it would load its scripts from a CDN.
    assert httpx.get(f"{served.base}/graphql").status_code in (404, 405)


# --- login -------------------------------------------------------------------------
def test_login_rejects_a_bad_token_and_accepts_a_good_one(page, served):
    page.goto(f"{served.base}/console/check")  # not logged in: sent to the login page
    page.wait_for_url("**/console/?next=*")
    page.wait_for_selector("body[data-ready]")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    assert "null" not in page.locator("#bar").inner_text()  # the bar's absent parts once read "null"
    expect(page.locator("#public-link")).to_have_attribute("href", "/console/public")  # the public notices, no login
    page.fill("#token", "il_000000000000_" + "0" * 64)
    page.click("#login-submit")
    expect(page.locator("#login-message")).to_contain_text("令牌无效")
    shot(page, "01-login-rejected")
    page.fill("#token", served.tokens["officer"])
    page.click("#login-submit")
    page.wait_for_url("**/console/check")  # back where the user was going
    expect(page.locator("#who")).to_contain_text("项目经办人")
    assert page.evaluate("sessionStorage.getItem('ledger.console.token')") == served.tokens["officer"]
    assert page.evaluate("document.cookie") == ""  # the token is never a cookie


def test_login_form_never_puts_the_token_in_a_url(page, served):
    """Before login.js has loaded (here: never), the form cannot carry the token
    anywhere: the button is disabled, the input has no name, the form posts."""
    token = served.tokens["officer"]
    sent: list[str] = []
    page.on("request", lambda r: sent.append(f"{r.method} {r.url} {r.post_data or ''}"))
    page.route("**/js/login.js", lambda route: route.abort())
    page.goto(f"{served.base}/console/?next=/console/check")
    expect(page.locator("#login-submit")).to_be_disabled()
    assert page.locator("#token").get_attribute("name") is None
    assert page.locator("#login-form").get_attribute("method") == "post"
    page.fill("#token", token)
    page.press("#token", "Enter")  # implicit submission: nothing, the default button is disabled
    page.click("#login-submit", force=True)  # nor a click on it
    assert page.url == f"{served.base}/console/?next=/console/check"
    with page.expect_navigation():  # a native submit all the same: nothing named, so nothing sent
        page.evaluate("document.getElementById('login-form').submit()")
    assert "il_" not in page.url and "token" not in page.url
    assert sent and not any(token in line for line in sent), sent
    page.unroute("**/js/login.js")
    page.goto(f"{served.base}/console/")
    page.wait_for_selector("body[data-ready]")
    expect(page.locator("#login-submit")).to_be_enabled()  # login.js took over the submit


# --- the pre-award check -------------------------------------------------------------
def test_identifier_check_character_error_as_you_type(page, served):
    login(page, served, "officer", "check")
    page.locator("#identifier").press_sequentially(BAD_CHECK[:10])
    expect(page.locator("#id-local")).to_have_text("居民身份号码应为 18 位（或 15 位旧号），现为 10 位")  # too short so far
    page.locator("#identifier").press_sequentially(BAD_CHECK[10:])
    expect(page.locator("#id-local")).to_contain_text("校验码错误：末位为 8，应为 9")
    shot(page, "02-check-identifier-error")
    page.fill("#identifier", "91152201078377449Q")  # a credit code with a wrong check character
    expect(page.locator("#id-local")).to_contain_text("GB 32100")
    page.fill("#identifier", BARRED)
    expect(page.locator("#id-local")).to_contain_text(f"cn-rid:{BARRED}")
    expect(page.locator("#id-server")).to_contain_text(f"服务器确认：cn-rid:{BARRED}")


def test_barred_subject_shows_the_sanction_and_the_check_is_recorded(page, served):
    login(page, served, "officer", "check")
    enrol_browser_key(page, served)  # recording signs in the browser (decision 0016)
    run_check(page, BARRED, "150100", "150102")
    expect(page.locator("#answer")).to_have_text("禁止授予")
    blocking = page.locator("#blocking")
    expect(blocking).to_contain_text(str(served.seqs["sanction"]))
    expect(blocking).to_contain_text(SANCTION_BASIS["article"])
    expect(blocking).to_contain_text(SANCTION_BASIS["document_no"])
    expect(blocking).to_contain_text("2026年2月1日 — 2028年1月31日")  # dates in words, not ISO
    expect(page.locator("#clawbacks")).to_contain_text("¥60,000.00")  # ordered 100,000, recovered 40,000
    expect(page.locator('input[name="decision"][value="refuse"]')).to_be_checked()
    shot(page, "03-check-barred")
    page.fill("#award-ref", "草原英才〔2026〕第12号")
    page.fill("#officer", "王审核")
    page.click("#record-submit")
    expect(page.locator("#record-message")).to_contain_text("已记录")
    shot(page, "04-check-recorded")
    e = last_entry(served, "eligibility.checked")
    assert e["body"]["answer"] == "barred" and e["body"]["decision"] == "refuse"
    assert e["body"]["award_ref"] == "草原英才〔2026〕第12号" and e["body"]["region"] == "150102"
    assert e["body"]["blocking"] == [served.seqs["sanction"]] and e["subject"] == served.refs["barred"]
    assert str(e["seq"]) in page.locator("#record-message").inner_text()


def test_override_needs_an_approver_and_a_reason(page, served):
    login(page, served, "officer", "check")
    enrol_browser_key(page, served)  # recording signs in the browser (decision 0016)
    run_check(page, BARRED, "150100", "")
    page.fill("#award-ref", "一事一议〔2026〕3号")
    page.fill("#officer", "王审核")
    page.check('input[name="decision"][value="override"]')
    expect(page.locator("#approver")).to_be_visible()
    page.click("#record-submit")
    expect(page.locator("#record-message")).to_contain_text("须填写批准人和理由")
    page.fill("#approver", "自治区人社厅 李厅长")
    page.fill("#reason", "国家重大项目急需，经厅务会研究同意")
    page.click("#record-submit")
    expect(page.locator("#record-message")).to_contain_text("已记录")
    shot(page, "05-check-override")
    e = last_entry(served, "eligibility.checked")
    assert e["body"]["decision"] == "override" and e["body"]["approver"] == "自治区人社厅 李厅长"
    assert e["body"]["reason"] == "国家重大项目急需，经厅务会研究同意" and e["body"]["region"] == "150100"


def test_clean_subject_is_eligible(page, served):
    login(page, served, "officer", "check")
    enrol_browser_key(page, served)  # recording signs in the browser (decision 0016)
    run_check(page, CLEAN, "152200", "152201")
    expect(page.locator("#answer")).to_have_text("可以授予")
    expect(page.locator("#blocking")).to_have_count(0)
    expect(page.locator('input[name="decision"][value="proceed"]')).to_be_checked()
    shot(page, "06-check-eligible")
    page.fill("#award-ref", "鸿雁行动〔2026〕8号")
    page.fill("#officer", "赵经办")
    page.click("#record-submit")
    expect(page.locator("#record-message")).to_contain_text("已记录")
    e = last_entry(served, "eligibility.checked")
    assert (e["body"]["answer"], e["body"]["decision"], e["subject"]) == ("eligible", "proceed", served.refs["clean"])


def test_an_identifier_nobody_holds_answers_no_record(page, served):
    """A valid identifier with no subject in the vault: eligible with no record behind
    it (the same answer the CLI and the API give), and nothing to record."""
    login(page, served, "officer", "check")
    run_check(page, "152201199003010021", "152200", "152201")
    expect(page.locator("#answer")).to_have_text("可以授予")
    expect(page.locator("#answer-meta")).to_contain_text("没有该主体的任何记录")
    expect(page.locator("#record-form")).to_be_hidden()


def test_after_the_bar_an_overdue_clawback_needs_review(page, served):
    """Art. 65: once the sanction has run out (2028-01-31), the unrecovered
    clawback (due 2026-12-31) still stops a plain award: the answer is needs review."""
    login(page, served, "officer", "check")
    run_check(page, BARRED, "150100", "150102", on="2028-06-01")
    expect(page.locator("#answer")).to_have_text("需要复核")
    expect(page.locator("#blocking")).not_to_contain_text(str(served.seqs["sanction"]))  # the bar is over
    expect(page.locator("#blocking")).to_contain_text("追缴")  # what needs review: the clawback
    expect(page.locator("#blocking")).to_contain_text(str(served.seqs["clawback"]))
    expect(page.locator("#clawbacks")).to_contain_text("¥60,000.00")
    expect(page.locator("#clawbacks")).to_contain_text("2026年12月31日")
    shot(page, "06b-check-needs-review")


def test_changing_the_question_hides_the_answer_and_its_record_form(page, served):
    """An answer (and the record button) belongs to the question it answered:
    any change to the form takes them away, so a record never lands on the previous subject."""
    login(page, served, "officer", "check")
    for change in (lambda: page.fill("#identifier", CLEAN), lambda: page.select_option("#benefit", "honor"),
                   lambda: page.fill("#on", "2026-11-01"), lambda: page.select_option("#region-county", "150103")):
        run_check(page, BARRED, "150100", "150102")
        expect(page.locator("#record-submit")).to_be_visible()
        change()
        expect(page.locator("#result")).to_be_hidden()
        expect(page.locator("#record-submit")).to_be_hidden()
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.post_data or ""))
    page.evaluate("document.getElementById('record-form').requestSubmit()")  # even forced: nothing to record
    run_check(page, CLEAN, "152200", "152201")  # a round trip after it
    assert not any(op in body for body in sent for op in ("ConsoleStatementToSign", "ConsoleRecordStatements"))


def test_default_award_date_is_the_local_date(page, served):
    """17:30 UTC on 1 March is already 2 March in China (the browser runs in Asia/Shanghai)."""
    page.clock.set_fixed_time("2026-03-01T17:30:00Z")
    login(page, served, "officer", "check")
    expect(page.locator("#on")).to_have_value("2026-03-02")


# --- the timeline --------------------------------------------------------------------
def test_timeline_groups_entries_and_draws_the_sanction_period(page, served):
    login(page, served, "auditor", "audit")  # the timeline reads entries: not a programme officer's (docs/api.md)
    page.goto(f"{served.base}/console/timeline")
    page.wait_for_selector("body[data-ready]")
    page.fill("#subject", BARRED)
    page.click("#timeline-submit")
    expect(page.locator("#timeline")).to_be_visible()
    expect(page.locator("#group-grant")).to_contain_text("¥300,000.00")
    expect(page.locator("#group-clawback")).to_contain_text("¥60,000.00")  # outstanding
    expect(page.locator("#group-clawback")).to_contain_text("追回资金到账")  # clawback.recovered, in words
    expect(page.locator("#group-sanction")).to_contain_text("2026-02-01 — 2028-01-31")
    expect(page.locator("#group-sanction")).to_contain_text("生效中")
    expect(page.locator(f'#axis rect.sanction[data-seq="{served.seqs["sanction"]}"]')).to_have_count(1)
    seqs = [int(x) for x in page.locator("#all-entries tbody tr td:first-child").all_inner_texts()]
    assert seqs == sorted(seqs) and {served.seqs["grant"], served.seqs["sanction"], served.seqs["clawback"]} <= set(seqs)
    shot(page, "07-timeline")
    # ?subject= takes a subject reference (what the pre-award page links with) ...
    page.goto(f"{served.base}/console/timeline?subject={served.refs['barred']}")
    page.wait_for_selector("body[data-ready]")
    expect(page.locator("#group-sanction")).to_contain_text("生效中")
    # ... and never an identity number: it is dropped from the address bar, unread.
    page.goto(f"{served.base}/console/timeline?subject={BARRED}")
    page.wait_for_selector("body[data-ready]")
    assert BARRED not in page.url and page.url.endswith("/console/timeline")
    expect(page.locator("#subject")).to_have_value("")
    expect(page.locator("#timeline")).to_be_hidden()


def test_timeline_for_a_programme_officer_shows_the_standing_without_entries(page, served):
    """history is null for an officer (docs/api.md): the page shows the standing and
    says why the entries are missing, instead of breaking."""
    login(page, served, "officer", "check")
    page.goto(f"{served.base}/console/timeline?subject={served.refs['barred']}")
    page.wait_for_selector("body[data-ready]")
    expect(page.locator("#timeline")).to_be_visible()
    expect(page.locator("#group-sanction")).to_contain_text("生效中")
    expect(page.locator("#group-grant")).to_contain_text("¥300,000.00")
    expect(page.locator("#timeline-meta")).to_contain_text("不能查看原始条目")
    expect(page.locator("#all-entries tbody tr")).to_have_count(0)


def test_ledger_text_is_shown_as_text_never_as_markup(page, served):
    ref = json.loads(served.cli("subject", "add", f"cn-rid:{MARKUP}", "--name", "王五", "--json"))["subject"]
    draft = {"type": "sanction.imposed", "authority": HOHHOT, "actor": "officer-07@hrss-150100", "subject": ref,
             "refs": [], "request_id": "console-markup-1",
             "body": {"severity": "general", "grounds": MARKUP_TEXT, "legal_basis": SANCTION_BASIS,
                      "deciding_body": MARKUP_TEXT, "decision_date": "2026-01-10", "effective_from": "2026-02-01",
                      "effective_until": "2027-01-31",
                      "scope": {"benefits": ["honor"], "regions": ["150100"]}}}
    served.cli("record", "-", stdin=json.dumps(draft, ensure_ascii=False))
    login(page, served, "officer", "check")
    run_check(page, MARKUP, "150100", "150102")
    expect(page.locator("#sanctions")).to_contain_text(MARKUP_TEXT)  # the deciding body, literally
    login(page, served, "auditor", "audit")
    page.goto(f"{served.base}/console/timeline")
    page.wait_for_selector("body[data-ready]")
    page.fill("#subject", MARKUP)
    page.click("#timeline-submit")
    expect(page.locator("#all-entries")).to_contain_text(MARKUP_TEXT)  # the grounds, literally
    assert page.locator("main img, main b").count() == 0  # no element was made of it
    assert page.evaluate("document.body.dataset.pwned") is None
    shot(page, "07b-timeline-markup-as-text")


# --- the audit page ------------------------------------------------------------------
def _tampered(proof: str, what: str) -> str:
    """One byte changed in the entry (extra), the path, or the checkpoint's signature;
    or the index line pointing at the previous leaf."""
    head, _, note = proof.partition("\n\n")
    lines = head.split("\n")

    def flip(b64: str, at: int) -> str:
        raw = bytearray(base64.b64decode(b64))
        raw[at] ^= 0x01
        return base64.b64encode(bytes(raw)).decode()

    if what == "entry":
        raw = base64.b64decode(lines[1][6:])
        at = raw.index("伪造".encode())  # inside the grounds text: still JSON, a different entry
        lines[1] = "extra " + flip(lines[1][6:], at + 2)
    elif what == "path":
        lines[3] = flip(lines[3], 7)
    elif what == "index":
        index = int(lines[2][6:])
        lines[2] = f"index {index - 1}"
    else:
        sig = note.rstrip("\n").split("\n")[-1]
        name, blob = sig.rsplit(" ", 1)
        note = note.replace(sig, f"{name} {flip(blob, 20)}")
    return "\n".join(lines) + "\n\n" + note


def registered_vkey(served, seq: int) -> str:
    """The vkey a ``key.registered`` entry registers: its body (v1) or its statement's body (v2)."""
    e = json.loads(served.cli("entry", str(seq), "--raw"))
    return (e["statement"] if e["v"] == 2 else e)["body"]["vkey"]


def log_vkey(served) -> str:
    return (Path(served.env["LEDGER_VKEY_DIR"]) / "dev-log.vkey").read_text().strip()


def pin(page, vkey: str) -> None:
    """What an auditor does first: put the key they hold in the field and pin it."""
    page.fill("#vkey", vkey)
    page.click("#pin")
    # Polled with evaluate: wait_for_function compiles its predicate with eval, which the console's CSP forbids.
    deadline = time.monotonic() + 10
    while page.evaluate("() => localStorage.getItem('ledger.console.pinned-vkey')") != vkey:
        assert time.monotonic() < deadline, "the key was not pinned"
        page.wait_for_timeout(50)


def verify_in_browser(page, text: str | None = None) -> None:
    if text is not None:
        page.fill("#proof", text)
    page.click("#verify")
    expect(page.locator("#verdict")).to_have_attribute("data-check", re.compile(r"\w"))


def expect_failure(page, check: str, *words: str) -> None:
    verdict = page.locator("#verdict")
    expect(verdict).to_have_attribute("data-check", check)
    for w in words:
        expect(verdict).to_contain_text(w)
    expect(page.locator(f'#steps li.fail[data-check="{check}"]')).to_have_count(1)


def test_audit_verifies_a_good_proof_and_names_the_failed_check_of_a_tampered_one(page, served):
    proof = served.cli("prove", "inclusion", str(served.seqs["sanction"]), "--format", "tlog-proof")
    login(page, served, "auditor", "audit")
    expect(page.locator("#cp-note")).to_contain_text("talent.nmg.example/integrity-ledger")
    vkey = log_vkey(served)
    page.evaluate("localStorage.removeItem('ledger.console.pinned-vkey')")  # tests share one browser profile
    page.reload()
    page.wait_for_selector("body[data-ready]")
    expect(page.locator("#vkey")).to_have_value(vkey)  # pre-filled from the server: the user compares and pins it
    expect(page.locator("#key-message")).to_contain_text("尚未固定")
    pin(page, vkey)
    expect(page.locator("#key-message")).to_have_text("已固定：dev-log")
    verify_in_browser(page, proof)
    expect(page.locator("#verdict")).to_have_attribute("data-check", "ok")
    expect(page.locator("#verdict")).to_contain_text(f"条目 {served.seqs['sanction']}（sanction.imposed）")
    expect(page.locator("#steps li.ok")).to_have_count(5)
    shot(page, "08-audit-proof-ok")
    for what, check, words in [("entry", "inclusion", "包含证明"), ("path", "inclusion", "包含证明"),
                               ("index", "inclusion", "包含证明"), ("signature", "checkpoint_signature", "检查点签名")]:
        verify_in_browser(page, _tampered(proof, what))
        expect_failure(page, check, f"验证失败 — {words}")
        shot(page, f"09-audit-tampered-{what}")
    # Another key typed into the field is not used until it is pinned.
    other = registered_vkey(served, 2)  # key.registered of an authority key
    page.fill("#vkey", other)
    expect(page.locator("#key-message")).to_contain_text("尚未固定")
    verify_in_browser(page, proof)
    expect(page.locator("#verdict")).to_have_attribute("data-check", "unpinned")
    expect(page.locator("#steps li")).to_have_count(0)
    # A different pinned key: the same good proof fails on the signature (trust is the pinned key).
    pin(page, other)
    verify_in_browser(page, proof)
    expect_failure(page, "checkpoint_signature", f"no signature by {other.split('+')[0]}")
    # The same name with another key: its key ID differs, so no line of the note is its signature.
    impostor = Signer.generate("dev-log").verifier
    pin(page, impostor.vkey())
    verify_in_browser(page, proof)
    expect_failure(page, "checkpoint_signature", f"no signature by dev-log with key ID {impostor.id.hex()}")
    pin(page, vkey)


def test_audit_refuses_to_verify_with_a_key_nobody_pinned(page, served):
    """The server's own key proves nothing: until the user pins a key, nothing is verified."""
    proof = served.cli("prove", "inclusion", str(served.seqs["grant"]), "--format", "tlog-proof")
    login(page, served, "auditor", "audit")
    page.evaluate("localStorage.removeItem('ledger.console.pinned-vkey')")
    page.reload()
    page.wait_for_selector("body[data-ready]")
    expect(page.locator("#vkey")).to_have_value(log_vkey(served))  # the server's suggestion, the right key even
    verify_in_browser(page, proof)
    expect(page.locator("#verdict")).to_have_attribute("data-check", "unpinned")
    expect(page.locator("#verdict")).to_contain_text("未验证：尚未固定公钥")
    expect(page.locator("#steps li")).to_have_count(0)
    shot(page, "08b-audit-unpinned")
    page.click("#pin")  # compared, pinned: now it verifies
    verify_in_browser(page, proof)
    expect(page.locator("#verdict")).to_have_attribute("data-check", "ok")


def test_audit_refuses_entry_bytes_that_are_not_canonical(page, served):
    """A log operator signing a tree of their own: the checkpoint and the path verify,
    and the entry check refuses bytes that are not exactly RFC 8785 (as the Python verifier does)."""
    seq = served.seqs["sanction"]
    good = base64.b64decode(served.cli("prove", "inclusion", str(seq), "--format", "tlog-proof").split("\n")[1][6:])
    origin = "talent.nmg.example/integrity-ledger"
    login(page, served, "auditor", "audit")
    pin(page, log_vkey(served))
    spaced = json.dumps(json.loads(good), ensure_ascii=False, indent=1).encode()
    floated = good.replace(b'"seq":%d' % seq, b'"seq":%d.0' % seq)
    huge = good.replace(b'"seq":%d' % seq, b'"seq":9007199254740993')
    for data, words in [(spaced, "not RFC 8785"), (floated, "not RFC 8785"), (huge, "not an integer within")]:
        assert data != good
        _, proofs = forge_log(served, {seq: data}, seq + 2, origin)
        verify_in_browser(page, proofs[seq])
        expect(page.locator('#steps li.ok[data-check="inclusion"]')).to_have_count(1)  # it is in the forged tree
        expect_failure(page, "entry", words)
    _, proofs = forge_log(served, {seq: good}, seq + 2, origin)  # the control: the same forgery with good bytes
    verify_in_browser(page, proofs[seq])
    expect(page.locator("#verdict")).to_have_attribute("data-check", "ok")


def test_audit_fetches_a_proof_by_seq_from_the_timeline_link(page, served):
    login(page, served, "auditor", "audit")
    pin(page, log_vkey(served))
    page.goto(f"{served.base}/console/audit?seq={served.seqs['clawback']}")
    expect(page.locator("#proof")).to_have_value(re.compile(rf"\nindex {served.seqs['clawback']}\n"))
    verify_in_browser(page)
    expect(page.locator("#verdict")).to_have_attribute("data-check", "ok")


def _zip(files: dict[str, bytes], rehash: bool = True) -> bytes:
    """The bundle's files zipped again; ``rehash``: manifest.json made to match them
    (manifest.json is not signed: anyone who edits the zip can do this)."""
    files = dict(files)
    if rehash:
        m = json.loads(files["manifest.json"])
        m["files"] = {n: hashlib.sha256(b).hexdigest() for n, b in sorted(files.items()) if n != "manifest.json"}
        files["manifest.json"] = json.dumps(m, ensure_ascii=False, indent=1, sort_keys=True).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in sorted(files.items()):
            z.writestr(n, data)
    return buf.getvalue()


def upload(page, served, name: str, data: bytes) -> None:
    path = served.tmp / name
    path.write_bytes(data)
    page.set_input_files("#file", str(path))
    expect(page.locator("#file-name")).to_contain_text(name)
    verify_in_browser(page)


def test_audit_verifies_an_evidence_bundle_and_refuses_a_tampered_one(page, served):
    out = served.tmp / "case.zip"
    served.cli("export", "--case", "(2026)内01行初9号", "--requested-by", "呼和浩特市中级人民法院",
               "--subject", f"cn-rid:{BARRED}", "--out", str(out))
    with zipfile.ZipFile(out) as z:
        files = {n: z.read(n) for n in z.namelist()}
    login(page, served, "auditor", "audit")
    pin(page, log_vkey(served))
    page.set_input_files("#file", str(out))
    expect(page.locator("#file-name")).to_contain_text("case.zip")
    verify_in_browser(page)
    expect(page.locator("#verdict")).to_have_attribute("data-check", "ok")
    expect(page.locator("#verdict")).to_contain_text("证据包验证通过：案件 (2026)内01行初9号")
    expect(page.locator('#steps li.ok[data-check="entry_signature"]')).to_have_count(1)
    # The verdict says what it covers: the reports and the manifest are not authenticated by the log.
    expect(page.locator("#covered")).to_contain_text("checkpoint.txt, entries/ (")
    expect(page.locator("#not-covered")).to_have_attribute(
        "data-files", "VERIFY.md manifest.json report.html report.pdf verify_bundle.py")
    expect(page.locator("#not-covered")).to_contain_text("未经日志认证：VERIFY.md, manifest.json, report.html")
    shot(page, "10-audit-bundle-ok")

    name = f"entries/{served.seqs['sanction']}.json"
    proof_name = f"proofs/{served.seqs['sanction']}.tlog-proof"
    edited = files[name].replace("伪造".encode(), "伪照".encode())
    # One byte of one entry changed inside the zip: the manifest's SHA-256 no longer matches.
    upload(page, served, "case-tampered.zip", _zip({**files, name: edited}, rehash=False))
    expect_failure(page, "manifest", name)
    shot(page, "11-audit-bundle-tampered")
    # The same with manifest.json re-hashed: the entry no longer is the one its proof carries.
    upload(page, served, "case-rehashed.zip", _zip({**files, name: edited}))
    expect_failure(page, "entry", proof_name, "differs from the entry carried")
    # ... and with the proof's copy edited too: it is not in the signed tree.
    head, _, note = files[proof_name].decode().partition("\n\n")
    lines = head.split("\n")
    lines[1] = "extra " + base64.b64encode(edited).decode()
    proof = ("\n".join(lines) + "\n\n" + note).encode()
    upload(page, served, "case-reproved.zip", _zip({**files, name: edited, proof_name: proof}))
    expect_failure(page, "inclusion", proof_name, "computed root")
    # The report is outside what the log authenticates: edited, it still passes, and the verdict says so.
    report = files["report.html"].replace("伪造".encode(), "无".encode())
    assert report != files["report.html"]
    upload(page, served, "case-report-edited.zip", _zip({**files, "report.html": report}))
    expect(page.locator("#verdict")).to_have_attribute("data-check", "ok")
    expect(page.locator("#not-covered")).to_contain_text("report.html")
    # A forged signature in a tree the log key signed (hashes, proofs and checkpoint all
    # consistent): the entry signature check catches it.
    entry = json.loads(files[name])
    sig = bytearray(base64.b64decode(entry["sig"]))
    sig[5] ^= 0x01
    forged = files[name].replace(entry["sig"].encode(), base64.b64encode(bytes(sig)).decode().encode())
    cp = checkpoint_of(files["checkpoint.txt"].decode())
    entries = {int(n[len("entries/"):-len(".json")]): b for n, b in files.items() if n.startswith("entries/")}
    note, proofs = forge_log(served, {**entries, served.seqs["sanction"]: forged}, cp.size, cp.origin)
    upload(page, served, "case-forged.zip", _zip({**files, name: forged, "checkpoint.txt": note.encode(),
                                                  **{f"proofs/{s}.tlog-proof": p.encode() for s, p in proofs.items()}}))
    expect(page.locator('#steps li.ok[data-check="inclusion"]')).to_have_count(1)
    expect_failure(page, "entry_signature", f"seq {served.seqs['sanction']}", "does not verify")
    # A zip bomb: a member that inflates past the size it declares is stopped there.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", b"\0" * 5_000_000)
    bomb = bytearray(buf.getvalue())
    for signature, at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # uncompressed size, local and central
        where = bomb.index(signature) + at
        bomb[where:where + 4] = struct.pack("<I", 10)
    upload(page, served, "bomb.zip", bytes(bomb))
    expect_failure(page, "zip", "inflates to more than the 10 bytes")
    # A file the end record does not count (hidden from a reader that trusts the count).
    hidden = bytearray(_zip(files, rehash=False))
    end = hidden.rindex(b"PK\x05\x06")
    count = struct.unpack("<H", hidden[end + 10:end + 12])[0]
    hidden[end + 8:end + 12] = struct.pack("<HH", count - 1, count - 1)
    upload(page, served, "hidden.zip", bytes(hidden))
    expect_failure(page, "zip", f"holds {count} files, its end record says {count - 1}")
    # The right bundle against a wrong pinned key: the bundled log key is not the pinned one.
    other = registered_vkey(served, 2)
    pin(page, other)
    upload(page, served, "case-again.zip", out.read_bytes())
    expect_failure(page, "key", f"keys/dev-log.vkey is not the pinned log key {other.split('+')[0]}")
    pin(page, log_vkey(served))


# --- language ------------------------------------------------------------------------
def test_english_on_request_and_remembered(page, served):
    login(page, served, "officer", "check")
    page.click("#lang-switch")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Pre-award check")
    run_check(page, BARRED, "150100", "150102")
    expect(page.locator("#answer")).to_have_text("Barred")
    expect(page.locator("#blocking")).to_contain_text("Legal basis")
    shot(page, "12-check-english")
    page.goto(f"{served.base}/console/timeline")  # the choice persists (localStorage)
    page.wait_for_selector("body[data-ready]")
    expect(page.locator("h1")).to_have_text("Subject timeline")
    page.click("#lang-switch")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("h1")).to_have_text("主体时间线")
