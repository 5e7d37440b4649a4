"""The supervision page in headless Chromium (docs/console.md, Supervision; decision
0026): an auditor sees the money by league, the overrides by authority and officer,
drills down to the entries, downloads the CSV, and the charts are drawn by Chart.js
served from the console's own origin under its CSP. Real ``ledger serve`` on
loopback over a ledger built with the CLI (a demo recorded on the last finished
night, the console tests' barred person, two overrides of the award guard and two
reconciliation nights' anchors); screenshots under var/screenshots/supervision-*.png."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright import sync_api

from tests.api_support import start_serve
from tests.console_support import HOHHOT, Served, _clawback_draft, _drafts, login, shot

expect = sync_api.expect
expect.set_options(timeout=60_000)  # a loaded 2-core machine: wait, never sleep
VENDOR = Path(__file__).resolve().parent.parent / "ledger" / "console" / "static" / "vendor" / "chart.umd.js"
BARRED = "150102199001010019"


def _override(refs, rid: str, type_: str, body: dict, approver: str) -> dict:
    return {"type": type_, "authority": HOHHOT, "actor": "officer-07@nmg-talent-office", "subject": refs["barred"],
            "refs": [], "request_id": rid, "body": {**body, "override": {"approver": approver,
                                                                        "reason": "重大项目急需，经局务会研究决定"}}}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if not VENDOR.exists():
        pytest.fail(f"{VENDOR} is missing: run `make vendor` (make install, run and test do)")
    tmp = tmp_path_factory.mktemp("console-supervision")
    night = (datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(days=1)).date().isoformat()
    env = {**os.environ, "LEDGER_KEY_PASSPHRASE": "pw-for-console-tests", "LEDGER_KEY_DIR": str(tmp / "private"),
           "LEDGER_VKEY_DIR": str(tmp / "keys"), "LEDGER_STATE_DIR": str(tmp / "state"),
           "LEDGER_DATABASE_URL": f"sqlite:///{tmp}/ledger.db"}
    s = Served("", env, tmp)
    s.cli("db", "upgrade")
    # Authorities, keys and programmes only (no demo records: the figures below are the test's own),
    # recorded on a night that is over, so that the night reconciles.
    s.cli("demo", "--entries", "0", "--seed", "5", "--recorded-on", night)
    s.refs["barred"] = json.loads(s.cli("subject", "add", f"cn-rid:{BARRED}", "--name", "张三", "--json"))["subject"]
    out = json.loads(s.cli("record", "-", "--json", stdin="\n".join(json.dumps(d, ensure_ascii=False) for d in _drafts(s.refs))))
    s.seqs["grant"], s.seqs["sanction"] = out[0]["seq"], out[1]["seq"]
    claw = json.loads(s.cli("record", "-", "--json", stdin=json.dumps(_clawback_draft(s.refs, s.seqs["grant"]),
                                                                     ensure_ascii=False)))[0]["seq"]
    recovered = {"type": "clawback.recovered", "authority": HOHHOT, "actor": "officer-07@nmg-talent-office",
                 "subject": s.refs["barred"], "refs": [claw], "request_id": "sup-recovered-1",
                 "body": {"amount_fen": 40_000_00, "recovered_on": "2026-04-01"}}
    s.cli("record", "-", stdin=json.dumps(recovered, ensure_ascii=False))
    # Two awards the guard let through despite the region-wide bar (Art. 66), by two approvers.
    grant = {"programme": "草原英才", "kind": "project", "amount_fen": 50_000_00, "grant_ref": "NMG-OVERRIDE-1",
             "budget_account": "2130101", "decision_date": "2026-03-05", "region": "150102"}
    honor = {"title": "草原英才", "level": "regional", "programme": "草原英才", "awarding_body": "内蒙古自治区人民政府",
             "decision_date": "2026-04-01", "region": "150203"}
    drafts = [_override(s.refs, "sup-override-1", "subsidy.granted", grant, "李局长"),
              _override(s.refs, "sup-override-2", "honor.granted", honor, "赵处长")]
    out = json.loads(s.cli("record", "-", "--json", stdin="\n".join(json.dumps(d, ensure_ascii=False) for d in drafts)))
    s.seqs["override_li"], s.seqs["override_zhao"] = out[0]["seq"], out[1]["seq"]
    # Two funding systems' reconciliations of the night, anchored in the log.
    rows = "txn_id,kind,reverses,grant_ref,payee_scheme,payee_id,amount_fen,booked_on,programme\n" + "".join(
        f"T{i},payment,,NO-SUCH-GRANT-{i},cn-rid,{BARRED},100,{night},草原英才\n" for i in range(3))
    (tmp / "funding.csv").write_text(rows, encoding="utf-8")
    for name in ("finance-a", "finance-b"):
        s.cli("reconcile", "--funding", str(tmp / "funding.csv"), "--funding-name", name, "--as-of", night,
              "--out", str(tmp / "reports" / name))
    s.cli("checkpoint")
    issue = lambda *a: s.cli("tokens", "issue", *a, "--expires", "1d").strip()  # noqa: E731
    s.tokens["auditor"] = issue("--role", "auditor")
    s.tokens["admin"] = issue("--role", "admin")
    s.base, proc = start_serve(env)
    yield s
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def csp_reports(page):
    """Console messages about the Content-Security-Policy: there must be none."""
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    return seen


def painted(page, canvas_id: str) -> int:
    """How many pixels of the canvas are not transparent (0: nothing drawn)."""
    return page.evaluate(
        """(id) => { const c = document.getElementById(id); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                     let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }""", canvas_id)


def open_supervision(page, served, who: str = "auditor") -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, served, who, "audit" if who == "auditor" else "keys")
    page.click("nav a[href='/console/supervision']")
    page.wait_for_url("**/console/supervision")
    page.wait_for_selector("body[data-ready]")


def test_an_auditor_sees_the_money_and_the_overrides_drills_down_and_downloads(page, served, csp_reports):
    open_supervision(page, served)
    expect(page.locator("h1")).to_have_text("监督统计")
    night = (datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(days=1)).date().isoformat()

    # The money by league: Hohhot (150102's league) holds the console grant and the overridden one.
    hohhot = page.locator("#money-table tr[data-key='150100']")
    expect(hohhot).to_contain_text("呼和浩特市")
    expect(hohhot).to_contain_text("¥350,000.00")  # 300,000 (2025) + 50,000 (the override), 元 with separators
    expect(hohhot).to_contain_text("¥100,000.00")  # ordered back
    expect(hohhot).to_contain_text("¥40,000.00")  # recovered
    # The charts: Chart.js from /console/static/vendor, drawn on each canvas.
    for canvas in ("money-chart", "sanctions-chart", "overrides-chart", "nights-chart"):
        expect(page.locator(f"#{canvas}")).to_have_attribute("data-drawn", re.compile(r"^[1-9][0-9]*$"))  # its labels
        assert page.evaluate("(id) => !!window.Chart.getChart(id)", canvas), canvas
        assert painted(page, canvas) > 500, f"{canvas} is blank"
    expect(page.locator("#no-chart")).to_be_hidden()
    shot(page, "supervision-1-money")

    # Monthly detail of one league.
    page.click("#money-monthly summary")
    page.select_option("#money-league", "150100")
    expect(page.locator("#money-month-table tr[data-key='2026-03']")).to_contain_text("¥50,000.00")
    assert painted(page, "money-month-chart") > 500

    # The overrides by authority and officer, then the entries behind one.
    overrides = page.locator("#overrides-table tbody tr")
    expect(overrides).to_have_count(2)
    expect(page.locator("#overrides-table")).to_contain_text("李局长")
    expect(page.locator("#overrides-table")).to_contain_text("赵处长")
    li = page.locator("#overrides-table tbody tr", has_text="李局长")
    expect(li).to_contain_text("¥50,000.00")
    shot(page, "supervision-2-overrides")
    li.locator("button.drill").click()
    entries = page.locator("#override-entries-table tbody tr")
    expect(entries).to_have_count(1)
    expect(page.locator("#override-entries-heading")).to_contain_text("李局长")
    row = entries.first
    expect(row).to_contain_text("授予放行")
    expect(row).to_contain_text("重大项目急需")
    link = row.locator(f"a[href='/console/audit?seq={served.seqs['override_li']}']")
    expect(link).to_have_text(str(served.seqs["override_li"]))
    expect(row.locator(f"a[href='/console/timeline?subject={served.refs['barred']}']")).to_be_visible()
    assert BARRED not in page.locator("main").inner_text()  # a subject reference, never the number
    shot(page, "supervision-3-drill-down")

    # The CSV of the drill-down, and of the money by league.
    with page.expect_download() as dl:
        page.click("#csv-override_entries")
    rows = list(csv.reader(io.StringIO(dl.value.path().read_bytes().decode("utf-8-sig"))))
    assert rows[0][:2] == ["seq", "kind"] and [r[0] for r in rows[1:]] == [str(served.seqs["override_li"])]
    with page.expect_download() as dl:
        page.click("#csv-money_by_league")
    rows = list(csv.reader(io.StringIO(dl.value.path().read_bytes().decode("utf-8-sig"))))
    assert rows[0][:5] == ["league", "league_name", "grants", "granted_fen", "granted_yuan"]
    hohhot_row = next(r for r in rows if r[0] == "150100")
    assert hohhot_row[3:5] == ["35000000", "350000.00"]
    expect(page.locator("#csv-message")).to_contain_text("supervision-money_by_league-")

    # The nights: both funding systems, three unknown grants each.
    nights = page.locator("#nights-table tbody tr")
    expect(nights).to_have_count(2)
    a = page.locator("#nights-table tbody tr", has_text="finance-a")  # the source's identity: csv#finance-a
    expect(a).to_contain_text(night)
    expect(a.locator("td").nth(4)).to_have_text("3")  # unknown_grant, the first kind in docs/reconciliation.md
    expect(page.locator("#nights-table thead")).to_contain_text("无对应资助")
    page.locator("#nights").scroll_into_view_if_needed()
    shot(page, "supervision-4-nights")
    assert not csp_reports, csp_reports


def test_english_and_no_overflow_at_1280(page, served):
    open_supervision(page, served)
    page.click("#lang-switch")
    expect(page.locator("h1")).to_have_text("Supervision")
    expect(page.locator("#money-table thead")).to_contain_text("Granted")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    shot(page, "supervision-5-english-1280")
    page.click("#lang-switch")  # back to Chinese for the module's other tests (localStorage is shared)
    expect(page.locator("h1")).to_have_text("监督统计")


def test_without_the_chart_library_the_tables_still_show(page, served):
    page.route("**/console/static/vendor/chart.umd.js", lambda route: route.fulfill(status=404, body="missing"))
    open_supervision(page, served)
    expect(page.locator("#no-chart")).to_be_visible()
    expect(page.locator("#money-table tr[data-key='150100']")).to_contain_text("¥350,000.00")
    expect(page.locator("#overrides-table tbody tr")).to_have_count(2)
    assert page.locator("#money-chart").get_attribute("data-drawn") is None
    shot(page, "supervision-6-no-chart-library")


def test_an_admin_sees_the_figures_not_the_entries(page, served):
    open_supervision(page, served, "admin")
    expect(page.locator("#overrides-table tbody tr")).to_have_count(2)
    expect(page.locator("#overrides-table button.drill")).to_have_count(0)
    expect(page.locator("#overrides-table")).to_contain_text(str(served.seqs["override_li"]))
    expect(page.locator("#overrides")).to_contain_text("不能查看记录内容")


def test_the_vendor_file_is_served_from_the_console_itself(served):
    import httpx

    r = httpx.get(f"{served.base}/console/static/vendor/chart.umd.js", timeout=10)
    assert r.status_code == 200 and "Chart.js v4" in r.text[:200]
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    page = httpx.get(f"{served.base}/console/supervision", timeout=10).text
    assert 'src="/console/static/vendor/chart.umd.js"' in page
    assert all(u.startswith(("/console/", "data:")) for u in re.findall(r'(?:src|href)="([^"]*)"', page))  # no CDN
    assert subprocess.run(["git", "check-ignore", "-q", str(VENDOR)], cwd=VENDOR.parents[4]).returncode == 0  # built, never committed
