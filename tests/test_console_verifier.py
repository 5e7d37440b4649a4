"""The console's in-browser verifier agrees with the Python side, case by case,
in real Chromium: RFC 9162 inclusion against the reference's vectors (happy and
mutated), RFC 8785 against ``ledger.log.canonical``, and the identifier check
characters against ``ledger.domain.identifiers`` (python-stdnum).

The modules are imported from the console's own static files on a served page,
exactly as the audit and check pages import them."""

from __future__ import annotations

import random

import pytest
from stdnum.cn import ric

from ledger.domain.identifiers import normalise
from ledger.errors import ValidationError
from ledger.log import canonical
from tests.console_support import require_chromium
from tests.proof_vectors import generate
from tests.test_console import served  # noqa: F401 (module fixture: ledger serve on loopback)

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def page(served):  # noqa: F811
    require_chromium()
    from tests.console_support import close_browser, launch_browser

    with sync_api.sync_playwright() as p:
        context, profile = launch_browser(p)
        tab = context.new_page()
        tab.goto(f"{served.base}/console/")  # same origin as the modules
        yield tab
        close_browser(context, profile)


def test_inclusion_verifier_agrees_with_the_rfc9162_reference(page):
    cases = [{"name": c["name"], "index": c["index"], "size": c["size"], "leaf": c["leaf"].hex(),
              "root": c["root"].hex(), "proof": [h.hex() for h in c["proof"]], "want": c["want"]}
             for c in generate() if c["kind"] == "inclusion"]
    assert len(cases) > 500 and {c["want"] for c in cases} == {"accept", "reject"}
    got = page.evaluate("""async (cases) => {
        const m = await import("/console/static/js/verify/merkle.js");
        const b = await import("/console/static/js/verify/bytes.js");
        const out = [];
        for (const c of cases) {
            try {
                await m.verifyInclusion(c.index, c.size, b.fromHex(c.leaf), c.proof.map(b.fromHex), b.fromHex(c.root));
                out.push("accept");
            } catch (e) {
                if (!(e instanceof b.VerifyError)) throw e;  // a crash is not a rejection
                out.push("reject");
            }
        }
        return out;
    }""", cases)
    wrong = [(c["name"], c["want"], g) for c, g in zip(cases, got, strict=True) if g != c["want"]]
    assert not wrong, wrong[:10]


def _values(rng: random.Random, depth: int = 0):
    """JSON values the ledger can hold: no floats, integers within ±(2^53-1),
    text with escapes, controls, non-ASCII and characters beyond the BMP."""
    alphabet = ["a", "Z", "0", " ", '"', "\\", "/", "\n", "\t", "\x00", "\x1f", "\x7f", "é", "草原", "\u2028",
                "\ufeff", "😀", "\U0001d11e", "ￜ", "\ue000"]

    def text() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 6)))

    kind = rng.randrange(7 if depth < 3 else 5)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.choice([0, -1, 1, 2**53 - 1, -(2**53 - 1), rng.randrange(-10**6, 10**6)])
    if kind in (2, 3, 4):
        return text()
    if kind == 5:
        return [_values(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    return {text(): _values(rng, depth + 1) for _ in range(rng.randrange(0, 5))}


def test_jcs_writes_exactly_what_the_ledger_encodes(page):
    rng = random.Random(8785)
    values = [_values(rng) for _ in range(400)]
    values += [{"\U0001f600": 1, "\ufb33": 2, "a": 3}, {"\ue000": 1, "\U00010000": 2}]  # UTF-16 order of keys
    got = page.evaluate("""async (values) => {
        const j = await import("/console/static/js/verify/jcs.js");
        return values.map((v) => j.canonicalize(v));
    }""", values)
    wrong = [(v, g, canonical.encode(v).decode()) for v, g in zip(values, got, strict=True)
             if g != canonical.encode(v).decode()]
    assert not wrong, wrong[:5]


def _rid(rng: random.Random) -> str:
    body = (rng.choice(["150102", "150203", "152201", "150105", "152501"]) + f"{rng.randrange(1950, 2010)}"
            f"{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}{rng.randrange(0, 1000):03d}")
    return body + ric.calc_check_digit(body)


def test_identifier_checks_agree_with_the_server(page):
    def server(t: str) -> str | None:
        for scheme in ("cn-rid", "cn-uscc"):
            try:
                return f"{scheme}:{normalise(scheme, t).value}"
            except ValidationError:
                continue
        return None

    rng = random.Random(11643)
    # Numbers the server takes (python-stdnum also checks that the birthplace code
    # existed at the birth date, which the page leaves to the server's answer).
    good: list[str] = []
    while len(good) < 150:
        if server(t := _rid(rng)) == f"cn-rid:{t}":
            good.append(t)
    texts = good + [g[:17] + rng.choice([c for c in "0123456789X" if c != g[17]]) for g in good]  # wrong check
    texts += [g[:6] + g[8:17] for g in good if g[6:8] == "19"][:40]  # 15-digit numbers (born 19xx), upgraded
    texts += [g[:10] + "1399" + g[14:] for g in good[:20]]  # impossible birth dates
    texts += ["91150100MA0N2XXX5T", "91110000600037341L", "911101086000373411"]  # credit codes, good and bad
    got = page.evaluate("""async (texts) => {
        const ids = await import("/console/static/js/ids.js");
        return texts.map((t) => { const r = ids.checkIdentifier(t); return r.ok ? `${r.scheme}:${r.value}` : null; });
    }""", texts)

    wrong = [(t, g, server(t)) for t, g in zip(texts, got, strict=True) if g != server(t)]
    assert not wrong, wrong[:10]
    assert sum(g is not None for g in got) >= 150 + 40
