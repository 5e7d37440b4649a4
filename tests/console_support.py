"""The console under test: `ledger serve` (uvicorn) on loopback over a ledger
built with the CLI (demo keys and authorities, then a barred person and a clean
one recorded the way recorders record), and headless Debian Chromium driven by
Playwright.

Chromium is Debian's package (`.ci/browser-up`, run by `make test`);
Playwright's own browser download cannot work on these machines, so it is
never used: we launch /usr/bin/chromium by path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ledger.log.checkpoint import Checkpoint, parse_body
from ledger.log.merkle import leaf_hash, node_hash, split_point
from ledger.log.tlog_proof import TlogProof
from ledger.signing import keystore
from ledger.signing import note as notes
from tests.api_support import LEDGER, start_serve

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("LEDGER_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "var" / "screenshots"

# Synthetic, check-valid identifiers (docs/contracts.md §2.6).
BARRED = "150102199001010019"
CLEAN = "152201198006150025"
BAD_CHECK = "150102199001010018"  # right length and date, wrong MOD 11-2 check character
MARKUP = "150102198503120029"  # a subject whose ledger text is markup (it must show as text)
MARKUP_TEXT = '<img src=x onerror="document.body.dataset.pwned=1">伪造<b>加粗</b>'
# The region's office records the region-wide bar and the acts on it (docs/authorities.md).
HOHHOT = {"id": "nmg-talent-office", "region": "150000"}
SANCTION_BASIS = {"article": "条例第六十六条", "document_no": "内人社失信〔2026〕77号"}


@dataclass
class Served:
    base: str
    env: dict
    tmp: Path
    tokens: dict[str, str] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    seqs: dict[str, int] = field(default_factory=dict)

    def cli(self, *args: str, stdin: str | None = None) -> str:
        out = subprocess.run([LEDGER, *args], capture_output=True, text=True, env=self.env, timeout=300, input=stdin)
        assert out.returncode == 0, f"ledger {' '.join(args)}: {out.stderr}"
        return out.stdout

    def entry(self, seq: int) -> dict:
        return json.loads(self.cli("entry", str(seq), "--raw"))

    def size(self) -> int:
        return httpx.get(f"{self.base}/healthz", timeout=10).json()["tree_size"]


def require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run `bash .ci/browser-up` (make test and CI do) to install "
                           "Debian's chromium for the console's browser tests")


def _drafts(refs: dict[str, str]) -> list[dict]:
    """A 2025 grant, then a region-wide sanction in force 2026-02-01 to 2028-01-31 (Art. 66)."""
    def draft(type_, body, rid, refs_=()):
        return {"type": type_, "authority": HOHHOT, "actor": "officer-07@nmg-talent-office", "subject": refs["barred"],
                "refs": list(refs_), "request_id": rid, "body": body}

    return [draft("subsidy.granted", {"programme": "草原英才", "kind": "research_funding", "amount_fen": 300_000_00,
                                      "grant_ref": "NMG-CONSOLE-1", "budget_account": "2130101",
                                      "decision_date": "2025-03-01", "region": "150102"}, "console-grant-1"),
            draft("sanction.imposed", {"severity": "serious", "grounds": "伪造学历证明申报人才项目",
                                       "legal_basis": SANCTION_BASIS, "deciding_body": "内蒙古自治区人力资源和社会保障厅",
                                       "decision_date": "2026-01-10", "effective_from": "2026-02-01",
                                       "effective_until": "2028-01-31",
                                       "scope": {"benefits": ["honor", "subsidy", "talent_project"], "regions": ["150000"]}},
                  "console-sanction-1")]


def _clawback_draft(refs: dict[str, str], grant_seq: int) -> dict:
    """100,000 yuan of the grant ordered back (Art. 65); 40,000 is recovered later."""
    return {"type": "clawback.ordered", "authority": HOHHOT, "actor": "officer-07@nmg-talent-office", "subject": refs["barred"],
            "refs": [grant_seq], "request_id": "console-claw-1",
            "body": {"amount_fen": 100_000_00, "deadline": "2026-12-31", "grounds": "未按约定履行服务期",
                     "legal_basis": {"article": "条例第六十五条", "document_no": "呼人社追〔2026〕3号"},
                     "decision_date": "2026-02-15", "deciding_body": "呼和浩特市人力资源和社会保障局"}}


def start_server(tmp: Path) -> tuple[Served, subprocess.Popen]:
    env = {**os.environ, "LEDGER_KEY_PASSPHRASE": "pw-for-console-tests", "LEDGER_KEY_DIR": str(tmp / "private"),
           "LEDGER_VKEY_DIR": str(tmp / "keys"), "LEDGER_STATE_DIR": str(tmp / "state"),
           "LEDGER_DATABASE_URL": f"sqlite:///{tmp}/ledger.db"}
    s = Served("", env, tmp)  # its base URL once it serves
    s.cli("db", "upgrade")
    s.cli("demo", "--entries", "40", "--seed", "5")
    s.refs["barred"] = json.loads(s.cli("subject", "add", f"cn-rid:{BARRED}", "--name", "张三", "--json"))["subject"]
    s.refs["clean"] = json.loads(s.cli("subject", "add", f"cn-rid:{CLEAN}", "--name", "李四", "--json"))["subject"]
    out = json.loads(s.cli("record", "-", "--json", stdin="\n".join(json.dumps(d, ensure_ascii=False) for d in _drafts(s.refs))))
    s.seqs["grant"], s.seqs["sanction"] = out[0]["seq"], out[1]["seq"]
    out = json.loads(s.cli("record", "-", "--json", stdin=json.dumps(_clawback_draft(s.refs, s.seqs["grant"]), ensure_ascii=False)))
    s.seqs["clawback"] = out[0]["seq"]
    recovered = {"type": "clawback.recovered", "authority": HOHHOT, "actor": "officer-07@nmg-talent-office",
                 "subject": s.refs["barred"], "refs": [s.seqs["clawback"]], "request_id": "console-recovered-1",
                 "body": {"amount_fen": 40_000_00, "recovered_on": "2026-04-01"}}
    s.cli("record", "-", stdin=json.dumps(recovered, ensure_ascii=False))
    s.cli("checkpoint")
    issue = lambda *a: s.cli("tokens", "issue", *a, "--expires", "1d").strip()  # noqa: E731
    s.tokens["officer"] = issue("--role", "programme_officer", "--authority", "nmg-talent-office", "--region", "150000",
                                "--label", "审核员")
    s.tokens["auditor"] = issue("--role", "auditor")
    s.base, proc = start_serve(env)
    return s, proc


@contextmanager
def running_server(tmp: Path) -> Iterator[Served]:
    """``start_server`` as a module fixture's body: the server stops whatever the tests did."""
    s, proc = start_server(tmp)
    try:
        yield s
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def launch_browser(playwright):
    """Debian's Chromium, headless, with a fresh profile (no state between runs),
    in the users' time zone (China Standard Time, UTC+8: local and UTC dates differ
    before 08:00, which the pre-award page's default date must get right)."""
    profile = tempfile.mkdtemp(prefix="ledger-chromium-")
    context = playwright.chromium.launch_persistent_context(
        profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, locale="zh-CN",
        timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 900})
    return context, profile


def close_browser(context, profile: str) -> None:
    context.close()
    shutil.rmtree(profile, ignore_errors=True)


# --- a log forged with the real log key ---------------------------------------------
# The browser's later checks (entry bytes, entry signatures) can only be reached
# by data the log key has signed. These helpers play a log operator who signs a
# tree of their own making: the checkpoint verifies, the proofs include, and the
# check that must catch the forgery is the one after them.
def _mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH over leaf hashes (written out here, independent of ledger.log.merkle's store)."""
    if len(leaves) == 1:
        return leaves[0]
    k = split_point(len(leaves))
    return node_hash(_mth(leaves[:k]), _mth(leaves[k:]))


def _path(m: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]), leaf's sibling first."""
    if len(leaves) == 1:
        return []
    k = split_point(len(leaves))
    if m < k:
        return _path(m, leaves[:k]) + [_mth(leaves[k:])]
    return _path(m - k, leaves[k:]) + [_mth(leaves[:k])]


def forge_log(served: Served, entries: dict[int, bytes], size: int, origin: str) -> tuple[str, dict[int, str]]:
    """A checkpoint signed by the served log's own key over a tree of ``size``
    leaves holding ``entries`` at their seqs (filler elsewhere), and a
    tlog-proof of each: (note, {seq: proof text})."""
    signer = keystore.load("dev-log", Path(served.env["LEDGER_KEY_DIR"]), served.env["LEDGER_KEY_PASSPHRASE"].encode())
    leaves = [leaf_hash(entries.get(i, b"filler %d" % i)) for i in range(size)]
    note = notes.sign(Checkpoint(origin, size, _mth(leaves)).body(), signer).render()
    return note, {seq: TlogProof(seq, tuple(_path(seq, leaves)), note, data).render() for seq, data in entries.items()}


def checkpoint_of(note: str) -> Checkpoint:
    return parse_body(notes.parse(note).text)


def enrol_browser_key(page, served: Served, authority_id: str = HOHHOT["id"]) -> str:
    """Make sure the logged-in officer's browser holds a signing key the log has
    enrolled (docs/console.md, Signing key): make it on the key page if there is
    none, register it with the documented CLI route if it is not enrolled. The
    browser profile is per test module, so this runs once per module and login.
    Returns the key's name; leaves the page on /console/check."""
    page.goto(f"{served.base}/console/key")
    page.wait_for_selector("body[data-ready]")
    if page.locator("#no-key").is_visible():
        page.click("#key-generate")
    page.wait_for_selector("#key-status[data-state]")
    vkey = page.input_value("#key-vkey")
    name = vkey.split("+")[0]
    if page.get_attribute("#key-status", "data-state") != "enrolled":
        (served.tmp / "keys" / f"{name}.vkey").write_text(vkey + "\n")
        served.cli("keys", "register", name, "--authority", authority_id, "--holder", "console tests")
    page.goto(f"{served.base}/console/check")
    page.wait_for_selector("body[data-ready]")
    return name


def shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def login(page, served: Served, who: str, lands_on: str) -> None:
    """Log in with ``served.tokens[who]`` and wait for the page the role lands on."""
    page.goto(f"{served.base}/")
    page.wait_for_selector("body[data-ready]")
    page.fill("#token", served.tokens[who])
    page.click("#login-submit")
    page.wait_for_url(f"**/console/{lands_on}")
    page.wait_for_selector("body[data-ready]")
