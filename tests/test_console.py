"""The web console (issue 9) in a real browser: headless Debian Chromium,
driven by Playwright, against `ledger serve` on loopback. Each page is used
the way staff and auditors use it, and a screenshot of each is saved under
var/screenshots/ (git-ignored)."""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from pathlib import Path

import httpx
import pytest
from playwright import sync_api  # the `test` extra installs it: never skipped

from .console_support import (BAD_CHECK, BARRED, CLEAN, SANCTION_BASIS, SCREENSHOTS, close_browser, launch_browser,
                              require_chromium, start_server)

expect = sync_api.expect
expect.set_options(timeout=30_000)  # a loaded 2-core CI machine: wait, never sleep

STATIC = Path(__file__).resolve().parent.parent / "ledger" / "console" / "static"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    s, proc = start_server(tmp_path_factory.mktemp("console"))
    yield s
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        context, profile = launch_browser(p)
        yield context
        close_browser(context, profile)


@pytest.fixture
def page(browser):
    """A new tab (its own sessionStorage: log in per test); script errors fail the test."""
    tab = browser.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    yield tab
    tab.close()
    assert not errors, errors


def shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def login(page, served, who: str, lands_on: str) -> None:
    page.goto(f"{served.base}/")
    page.wait_for_selector("body[data-ready]")
    page.fill("#token", served.tokens[who])
    page.click("#login-submit")
    page.wait_for_url(f"**/console/{lands_on}")
    page.wait_for_selector("body[data-ready]")


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
        if e["type"] == type_:
            return e
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
    # No asset names another host (the SVG namespace is an identifier, never fetched).
    for f in STATIC.rglob("*"):
        if f.suffix in (".html", ".js", ".css"):
            text = f.read_text().replace("http://www.w3.org/2000/svg", "")
            assert not re.search(r"https?://", text), f"{f.relative_to(STATIC)} names another host"
            assert "//cdn" not in text and "@import" not in text, f
    # The reference routes: public data without a token; the identifier check with one.
    assert httpx.get(f"{served.base}/console/api/regions").json()["code"] == "150000"
    assert httpx.get(f"{served.base}/console/api/log-key").json()["vkey"].startswith("dev-log+")
    assert httpx.post(f"{served.base}/console/api/identifier", json={"text": f"cn-rid:{BARRED}"}).status_code == 401
    ok = httpx.post(f"{served.base}/console/api/identifier", json={"text": f"cn-rid:{BAD_CHECK}"},
                    headers={"Authorization": f"Bearer {served.tokens['officer']}"}).json()
    assert ok["ok"] is False and "check character" in ok["problems"][0]["rule"]
    # GraphiQL stays off: it would load its scripts from a CDN.
    assert httpx.get(f"{served.base}/graphql").status_code in (404, 405)


# --- login -------------------------------------------------------------------------
def test_login_rejects_a_bad_token_and_accepts_a_good_one(page, served):
    page.goto(f"{served.base}/console/check")  # not logged in: sent to the login page
    page.wait_for_url("**/console/?next=*")
    page.wait_for_selector("body[data-ready]")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
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


# --- the pre-award check -------------------------------------------------------------
def test_identifier_check_character_error_as_you_type(page, served):
    login(page, served, "officer", "check")
    page.locator("#identifier").press_sequentially(BAD_CHECK[:10])
    expect(page.locator("#id-local")).to_contain_text("18")  # too short so far
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
    run_check(page, BARRED, "150100", "150102")
    expect(page.locator("#answer")).to_have_text("禁止授予")
    blocking = page.locator("#blocking")
    expect(blocking).to_contain_text(str(served.seqs["sanction"]))
    expect(blocking).to_contain_text(SANCTION_BASIS["article"])
    expect(blocking).to_contain_text(SANCTION_BASIS["document_no"])
    expect(blocking).to_contain_text("2026-02-01 — 2028-01-31")
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


# --- the timeline --------------------------------------------------------------------
def test_timeline_groups_entries_and_draws_the_sanction_period(page, served):
    login(page, served, "officer", "check")
    page.goto(f"{served.base}/console/timeline")
    page.wait_for_selector("body[data-ready]")
    page.fill("#subject", BARRED)
    page.click("#timeline-submit")
    expect(page.locator("#timeline")).to_be_visible()
    expect(page.locator("#group-grant")).to_contain_text("¥300,000.00")
    expect(page.locator("#group-clawback")).to_contain_text("¥60,000.00")  # outstanding
    expect(page.locator("#group-clawback")).to_contain_text("clawback.recovered")
    expect(page.locator("#group-sanction")).to_contain_text("2026-02-01 — 2028-01-31")
    expect(page.locator("#group-sanction")).to_contain_text("生效中")
    expect(page.locator(f'#axis rect.sanction[data-seq="{served.seqs["sanction"]}"]')).to_have_count(1)
    seqs = [int(x) for x in page.locator("#all-entries tbody tr td:first-child").all_inner_texts()]
    assert seqs == sorted(seqs) and {served.seqs["grant"], served.seqs["sanction"], served.seqs["clawback"]} <= set(seqs)
    shot(page, "07-timeline")


# --- the audit page ------------------------------------------------------------------
def _tampered(proof: str, what: str) -> str:
    """One byte changed in the entry (extra), the path, or the checkpoint's signature."""
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
    else:
        sig = note.rstrip("\n").split("\n")[-1]
        name, blob = sig.rsplit(" ", 1)
        note = note.replace(sig, f"{name} {flip(blob, 20)}")
    return "\n".join(lines) + "\n\n" + note


def verify_in_browser(page, text: str | None = None) -> None:
    if text is not None:
        page.fill("#proof", text)
    page.click("#verify")
    expect(page.locator("#verdict")).to_have_attribute("data-check", re.compile(r"\w"))


def test_audit_verifies_a_good_proof_and_names_the_failed_check_of_a_tampered_one(page, served):
    proof = served.cli("prove", "inclusion", str(served.seqs["sanction"]), "--format", "tlog-proof")
    login(page, served, "auditor", "audit")
    expect(page.locator("#cp-note")).to_contain_text("talent.nmg.example/integrity-ledger")
    vkey = (Path(served.env["LEDGER_VKEY_DIR"]) / "dev-log.vkey").read_text().strip()
    expect(page.locator("#vkey")).to_have_value(vkey)  # pre-filled from the server: the user compares and pins it
    page.click("#pin")
    expect(page.locator("#key-message")).to_contain_text("已固定：dev-log")
    verify_in_browser(page, proof)
    expect(page.locator("#verdict")).to_have_attribute("data-check", "ok")
    expect(page.locator("#verdict")).to_contain_text(f"条目 {served.seqs['sanction']}（sanction.imposed）")
    expect(page.locator("#steps li.ok")).to_have_count(5)
    shot(page, "08-audit-proof-ok")
    for what, check, words in [("entry", "inclusion", "包含证明"), ("path", "inclusion", "包含证明"),
                               ("signature", "checkpoint_signature", "检查点签名")]:
        verify_in_browser(page, _tampered(proof, what))
        expect(page.locator("#verdict")).to_have_attribute("data-check", check)
        expect(page.locator("#verdict")).to_contain_text(f"验证失败 — {words}")
        shot(page, f"09-audit-tampered-{what}")
    # A different pinned key: the same good proof fails on the signature (trust is the pinned key).
    other = served.cli("entry", "1", "--raw")  # key.registered of an authority key
    page.fill("#vkey", json.loads(other)["body"]["vkey"])
    verify_in_browser(page, proof)
    expect(page.locator("#verdict")).to_have_attribute("data-check", "checkpoint_signature")


def test_audit_fetches_a_proof_by_seq_from_the_timeline_link(page, served):
    login(page, served, "auditor", "audit")
    page.goto(f"{served.base}/console/audit?seq={served.seqs['clawback']}")
    expect(page.locator("#proof")).to_have_value(re.compile(rf"\nindex {served.seqs['clawback']}\n"))
    verify_in_browser(page)
    expect(page.locator("#verdict")).to_have_attribute("data-check", "ok")


def test_audit_verifies_an_evidence_bundle_and_refuses_a_tampered_one(page, served):
    out = served.tmp / "case.zip"
    served.cli("export", "--case", "(2026)内01行初9号", "--requested-by", "呼和浩特市中级人民法院",
               "--subject", f"cn-rid:{BARRED}", "--out", str(out))
    login(page, served, "auditor", "audit")
    page.set_input_files("#file", str(out))
    expect(page.locator("#file-name")).to_contain_text("case.zip")
    verify_in_browser(page)
    expect(page.locator("#verdict")).to_have_attribute("data-check", "ok")
    expect(page.locator("#verdict")).to_contain_text("证据包验证通过：案件 (2026)内01行初9号")
    expect(page.locator('#steps li.ok[data-check="entry_signature"]')).to_have_count(1)
    shot(page, "10-audit-bundle-ok")
    # One byte of one entry changed inside the zip: the manifest's SHA-256 no longer matches.
    with zipfile.ZipFile(out) as z:
        files = {n: z.read(n) for n in z.namelist()}
    name = f"entries/{served.seqs['sanction']}.json"
    files[name] = files[name].replace("伪造".encode(), "伪照".encode())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in files.items():
            z.writestr(n, data)
    bad = served.tmp / "case-tampered.zip"
    bad.write_bytes(buf.getvalue())
    page.set_input_files("#file", str(bad))
    expect(page.locator("#file-name")).to_contain_text("case-tampered.zip")
    verify_in_browser(page)
    expect(page.locator("#verdict")).to_have_attribute("data-check", "manifest")
    expect(page.locator("#verdict")).to_contain_text(name)
    shot(page, "11-audit-bundle-tampered")


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
