"""The console speaks Chinese (English on the switch), not the server's English
or its codes (docs/console.md, Language). Unit tests tie every eligibility
reason kind the rules can give to words in both languages; browser tests
(headless Chromium against `ledger serve`) read the rendered text of a barred,
a needs-review and a clean answer."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from playwright import sync_api

from tests.console_support import BARRED, CLEAN, login, running_server, shot

expect = sync_api.expect
expect.set_options(timeout=30_000)

ROOT = Path(__file__).resolve().parent.parent
I18N = ROOT / "ledger" / "console" / "static" / "js" / "i18n.js"
ELIGIBILITY = ROOT / "ledger" / "domain" / "eligibility.py"
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")  # a word of the server's English (single letters: e.g. an X check digit)


# --- every reason kind has words -------------------------------------------------------
def reason_kinds() -> set[str]:
    """The kinds eligibility.py gives: the first argument of every Reason(...) and _sanction_reason(...) call."""
    kinds = set()
    for node in ast.walk(ast.parse(ELIGIBILITY.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("Reason", "_sanction_reason"):
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                kinds.add(node.args[0].value)
    return kinds


def messages(language: str) -> dict[str, str]:
    """The keys and texts of one language's table in i18n.js."""
    text = I18N.read_text()
    start = text.index(f"const {language} = {{")
    end = text.index("\n};", start)
    return dict(re.findall(r'"([\w.]+)":\s*"((?:[^"\\]|\\.)*)"', text[start:end]))


def test_the_kinds_are_parsed_from_the_rules():
    # The parse must see the kinds the Reason docstring lists, or the test below proves nothing.
    assert reason_kinds() == {"sanction", "employer_sanction", "clawback_overdue", "clawback_outstanding",
                              "ending_soon", "starting_soon", "exemption_applied"}


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_reason_kind_has_words_in_both_languages(language):
    table = messages(language)
    for kind in reason_kinds():
        keys = [f"reason.{kind}"] if kind != "exemption_applied" else [
            "reason.exemption_applied.sanction", "reason.exemption_applied.clawback"]
        for key in keys:
            assert table.get(key), f"{language}: no words for reason kind {kind} ({key})"
            if language == "zh":
                assert not LATIN_WORD.search(re.sub(r"\{\w+\}", "", table[key])), f"{key} has English in it: {table[key]}"


def test_a_missing_kind_would_fail():
    """The check above is not vacuous: a table without one kind's words is caught."""
    table = messages("zh")
    del table["reason.clawback_overdue"]
    assert any(not table.get(f"reason.{k}") for k in reason_kinds() if k != "exemption_applied")


# --- the browser -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("console-language")) as s:
        yield s


def run_check(page, identifier: str, league: str, county: str, on: str = "2026-10-01") -> None:
    page.fill("#identifier", identifier)
    page.select_option("#region-league", league)
    page.select_option("#region-county", county)
    page.fill("#on", on)
    page.click("#check-submit")
    expect(page.locator("#result")).to_be_visible()


def start(page, served, who: str, lands_on: str, language: str = "zh") -> None:
    """Log in and show the page in ``language`` (the choice is kept in the module's shared localStorage)."""
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, served, who, lands_on)
    page.evaluate(f"localStorage.setItem('ledger.console.lang', '{language}')")
    page.reload()
    page.wait_for_selector("body[data-ready]")


def english_in(page, selector: str) -> list[str]:
    return LATIN_WORD.findall(page.locator(selector).inner_text())


def no_overflow(page) -> None:
    """The page is exactly as wide as the 1280 px viewport: nothing sticks out of its card."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, f"page is {width} px wide in a 1280 px window"


def test_a_barred_answer_is_all_chinese(page, served):
    start(page, served, "officer", "check")
    run_check(page, BARRED, "150100", "150102")
    expect(page.locator("#answer")).to_have_text("禁止授予")
    expect(page.locator("#blocking h3")).to_have_text("阻止授予的原因")
    reason = page.locator("#blocking .reason-text").first
    expect(reason).to_contain_text(f"受第 {served.seqs['sanction']} 号失信惩戒限制")
    assert english_in(page, "#reasons") == [], page.locator("#reasons").inner_text()
    assert "barred by" not in page.locator("#result").inner_text()
    expect(page.locator("#clawbacks")).to_contain_text("¥60,000.00")
    expect(page.locator("#sanctions")).to_contain_text("内蒙古自治区 (150000)")  # regions by name, not by code alone
    expect(page.locator("#sanctions")).to_contain_text("内蒙古自治区人力资源和社会保障厅")  # the deciding body by name
    no_overflow(page)
    shot(page, "lang-01-check-barred-zh")
    page.click("#lang-switch")  # the same answer, reworded in English without asking again
    expect(reason).to_contain_text(f"Barred by sanction {served.seqs['sanction']}")
    no_overflow(page)
    shot(page, "lang-02-check-barred-en")


def test_a_needs_review_answer_is_headed_for_review(page, served):
    start(page, served, "officer", "check")
    run_check(page, BARRED, "150100", "150102", on="2028-06-01")
    expect(page.locator("#answer")).to_have_text("需要复核")
    expect(page.locator("#blocking h3")).to_have_text("需要复核的原因")
    expect(page.locator("#blocking .reason-text").first).to_contain_text(f"第 {served.seqs['clawback']} 号追缴")
    expect(page.locator("#blocking")).to_contain_text("¥60,000.00")
    assert english_in(page, "#reasons") == [], page.locator("#reasons").inner_text()
    assert "fen" not in page.locator("#result").inner_text()
    shot(page, "lang-03-check-review-zh")


def test_a_clean_answer_has_no_english(page, served):
    start(page, served, "officer", "check")
    run_check(page, CLEAN, "152200", "152201")
    expect(page.locator("#answer")).to_have_text("可以授予")
    expect(page.locator("#blocking")).to_have_count(0)
    assert english_in(page, "#reasons") == []


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("where", ["check", "timeline", "audit"])
def test_no_horizontal_overflow_at_1280(page, served, language, where):
    if where == "check":
        start(page, served, "officer", "check", language)
    else:  # the timeline reads entries: an auditor's page, not a programme officer's
        start(page, served, "auditor", "audit", language)
    if where == "check":
        run_check(page, BARRED, "150100", "150102")
    elif where == "timeline":
        page.goto(f"{served.base}/console/timeline?subject={served.refs['barred']}")
        page.wait_for_selector("body[data-ready]")
    no_overflow(page)
    shot(page, f"lang-10-{where}-{language}-1280")


def test_the_timeline_reads_as_sentences(page, served):
    start(page, served, "auditor", "audit")
    page.goto(f"{served.base}/console/timeline?subject={served.refs['barred']}")
    page.wait_for_selector("body[data-ready]")
    expect(page.locator("#timeline")).to_be_visible()
    text = page.locator("#all-entries").inner_text()
    assert not re.search(r"\b[a-z]+\.[a-z_]+\b", text), "a raw entry type is shown"  # sanction.imposed, subsidy.granted…
    assert '":' not in text and "{" not in text, "a raw JSON body is shown"
    expect(page.locator("#all-entries")).to_contain_text("对该主体作出失信惩戒（严重失信）")
    expect(page.locator("#all-entries")).to_contain_text("列入失信惩戒")  # the type, in the report's words
    expect(page.locator("#all-entries")).to_contain_text("责令追回资金 ¥100,000.00")  # amounts in 元, separated
    expect(page.locator("#all-entries")).to_contain_text("2026年2月1日")  # dates as Chinese dates
    shot(page, "lang-20-timeline-zh")
    page.click("#lang-switch")
    expect(page.locator("#all-entries")).to_contain_text("imposed a sanction")
    shot(page, "lang-21-timeline-en")


# --- refusals are said by their code ---------------------------------------------------------
SERVER = [ROOT / "ledger" / "api", ROOT / "ledger" / "console"]
# The shapes in which the server names a refusal's code: a union member's ``code=``, a JSON
# ``"code":``, ``BadRequest("…")``, ``_error(status, "…")``, ``_execution_error("…")``,
# ``_refusal(message, "…")`` and the HTTP refusals app.py names by condition.
CODE_SHAPES = [r'code="([a-z_]+)"', r'"code":\s*"([a-z_]+)"', r'BadRequest\("([a-z_]+)"', r'_error\(\d+, "([a-z_]+)"',
               r'_execution_error\(\s*"([a-z_]+)"', r'_refusal\([^\n]*?,\s*"([a-z_]+)"', r'\n\s+"([a-z_]+)", (?:cost|field)=',
               r'code = "([a-z_]+)" if .* else "([a-z_]+)"']


def server_codes() -> set[str]:
    codes: set[str] = set()
    for folder in SERVER:
        for path in folder.glob("*.py"):
            text = path.read_text()
            for shape in CODE_SHAPES:
                for found in re.findall(shape, text):
                    codes.update(found if isinstance(found, tuple) else (found,))
    return codes


def test_the_codes_are_parsed_from_the_server():
    # Non-vacuous: the parse sees codes of every shape, or the test below proves nothing.
    assert {"validation", "barred", "conflict", "forbidden", "not_found", "unavailable", "rate_limited", "internal",
            "too_large", "invalid_json", "unauthenticated", "cost_exceeded", "operation_name_required",
            "unknown_operation", "bad_request", "response_too_large", "rows"} <= server_codes()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_refusal_code_has_words_in_both_languages(language):
    table = messages(language)
    for code in server_codes():
        key = f"error.{code}"
        assert table.get(key), f"{language}: no words for the server's refusal code {code} ({key})"
        if language == "zh":
            assert not LATIN_WORD.search(re.sub(r"\{\w+\}", "", table[key])), f"{key} has English in it: {table[key]}"


def test_a_refusal_is_said_by_its_code_not_in_the_servers_english(page, served):
    """A rate-limited check (HTTP 429, docs/limits.md) reads as a sentence with the seconds to
    wait, in the page's language; the server's English message does not reach the page."""
    import json

    start(page, served, "officer", "check")
    refusal = {"errors": [{"message": "too many requests for this token: retry in 7 s",
                           "extensions": {"code": "rate_limited", "reason": "token", "retry_after": 7}}]}
    page.route("**/graphql", lambda route: route.fulfill(status=429, content_type="application/json",
                                                         headers={"Retry-After": "7"}, body=json.dumps(refusal)))
    page.fill("#identifier", CLEAN)
    page.select_option("#region-league", "150100")
    page.select_option("#region-county", "150102")
    page.fill("#on", "2026-10-01")
    page.click("#check-submit")
    out = page.locator("#check-message")
    expect(out).to_have_text("请求过于频繁，请在 7 秒后重试。")
    page.click("#lang-switch")
    expect(out).to_have_text("Too many requests: try again in 7 s.")
    page.unroute("**/graphql")
