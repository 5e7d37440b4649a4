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
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
LEDGER = str(Path(sys.executable).parent / "ledger")
CHROMIUM = os.environ.get("LEDGER_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "var" / "screenshots"

# Synthetic, check-valid identifiers (domain brief).
BARRED = "150102199001010019"
CLEAN = "152201198006150025"
BAD_CHECK = "150102199001010018"  # right length and date, wrong MOD 11-2 check character
HOHHOT = {"id": "hrss-150100", "region": "150100"}
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _drafts(refs: dict[str, str]) -> list[dict]:
    """A 2025 grant, then a region-wide sanction in force 2026-02-01 to 2028-01-31 (Art. 66)."""
    def draft(type_, body, rid, refs_=()):
        return {"type": type_, "authority": HOHHOT, "actor": "officer-07@hrss-150100", "subject": refs["barred"],
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
    return {"type": "clawback.ordered", "authority": HOHHOT, "actor": "officer-07@hrss-150100", "subject": refs["barred"],
            "refs": [grant_seq], "request_id": "console-claw-1",
            "body": {"amount_fen": 100_000_00, "deadline": "2026-12-31", "grounds": "未按约定履行服务期",
                     "legal_basis": {"article": "条例第六十五条", "document_no": "呼人社追〔2026〕3号"},
                     "decision_date": "2026-02-15", "deciding_body": "呼和浩特市人力资源和社会保障局"}}


def start_server(tmp: Path) -> tuple[Served, subprocess.Popen]:
    env = {**os.environ, "LEDGER_KEY_PASSPHRASE": "pw-for-console-tests", "LEDGER_KEY_DIR": str(tmp / "private"),
           "LEDGER_VKEY_DIR": str(tmp / "keys"), "LEDGER_STATE_DIR": str(tmp / "state"),
           "LEDGER_DATABASE_URL": f"sqlite:///{tmp}/ledger.db"}
    port = free_port()
    s = Served(f"http://127.0.0.1:{port}", env, tmp)
    s.cli("db", "upgrade")
    s.cli("demo", "--entries", "40", "--seed", "5")
    s.refs["barred"] = json.loads(s.cli("subject", "add", f"cn-rid:{BARRED}", "--name", "张三", "--json"))["subject"]
    s.refs["clean"] = json.loads(s.cli("subject", "add", f"cn-rid:{CLEAN}", "--name", "李四", "--json"))["subject"]
    out = json.loads(s.cli("record", "-", "--json", stdin="\n".join(json.dumps(d, ensure_ascii=False) for d in _drafts(s.refs))))
    s.seqs["grant"], s.seqs["sanction"] = out[0]["seq"], out[1]["seq"]
    out = json.loads(s.cli("record", "-", "--json", stdin=json.dumps(_clawback_draft(s.refs, s.seqs["grant"]), ensure_ascii=False)))
    s.seqs["clawback"] = out[0]["seq"]
    recovered = {"type": "clawback.recovered", "authority": HOHHOT, "actor": "officer-07@hrss-150100",
                 "subject": s.refs["barred"], "refs": [s.seqs["clawback"]], "request_id": "console-recovered-1",
                 "body": {"amount_fen": 40_000_00, "recovered_on": "2026-04-01"}}
    s.cli("record", "-", stdin=json.dumps(recovered, ensure_ascii=False))
    s.cli("checkpoint")
    issue = lambda *a: s.cli("tokens", "issue", *a, "--expires", "1d").strip()  # noqa: E731
    s.tokens["officer"] = issue("--role", "programme_officer", "--authority", "nmg-talent-office", "--region", "150000",
                                "--label", "审核员")
    s.tokens["auditor"] = issue("--role", "auditor")
    proc = subprocess.Popen([LEDGER, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{s.base}/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "ledger serve did not start in 60 s"
        time.sleep(0.1)
    return s, proc


def launch_browser(playwright):
    """Debian's Chromium, headless, with a fresh profile (no state between runs)."""
    profile = tempfile.mkdtemp(prefix="ledger-chromium-")
    context = playwright.chromium.launch_persistent_context(
        profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, locale="zh-CN",
        viewport={"width": 1280, "height": 900})
    return context, profile


def close_browser(context, profile: str) -> None:
    context.close()
    shutil.rmtree(profile, ignore_errors=True)
