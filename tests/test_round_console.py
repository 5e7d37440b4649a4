"""The award round page in headless Chromium (docs/award-rounds.md): a round of
200 candidates (barred, needing review, eligible on record, and nobody on
record) uploaded, filtered, decided, signed in the browser and recorded as one
batch, then both reports downloaded and read back (openpyxl, tests/pdf_text.py).
Real ``ledger serve`` on loopback; screenshots under var/screenshots/."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest
from openpyxl import Workbook, load_workbook
from playwright import sync_api
from stdnum.cn import ric

from tests.console_support import BARRED, CLEAN, enrol_browser_key, login, running_server, shot
from tests.pdf_text import pdf_text

expect = sync_api.expect
expect.set_options(timeout=60_000)  # a loaded 2-core machine: wait, never sleep

REFERENCE = "2026-人才计划-第3批"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("console-round")) as s:
        yield s


def nobody(i: int) -> str:
    """A valid resident identity number no subject holds (born 1985, Xincheng district)."""
    base = f"15010219850101{i:03d}"
    return base + ric.calc_check_digit(base + "0")  # it takes the number with a check place


def round_rows() -> list[list[str]]:
    """200 candidates: 70 barred (the barred person during the sanction, 2026-02-01 to
    2028-01-31), 40 needing review (the same person after it, with the overdue clawback),
    50 eligible on record (the clean person), 40 nobody holds (eligible, nothing to record)."""
    day = lambda start, n: (date.fromisoformat(start) + timedelta(days=n)).isoformat()  # noqa: E731
    rows = [[f"cn-rid:{BARRED}", "草原英才", "subsidy", "150102", day("2026-03-01", i)] for i in range(70)]
    rows += [[f"cn-rid:{BARRED}", "草原英才", "honor", "150102", day("2028-03-01", i)] for i in range(40)]
    rows += [[CLEAN, "草原英才", "talent_project", "150102", day("2026-06-01", i)] for i in range(50)]
    rows += [[nobody(i), "草原英才", "subsidy", "150102", "2026-10-01"] for i in range(40)]
    return rows


def csv_bytes(rows) -> bytes:
    return ("identifier,programme,benefit,region,date\n" + "".join(",".join(r) + "\n" for r in rows)).encode()


def xlsx_bytes(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["identifier", "programme", "benefit", "region", "date"])
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upload(page, name: str, data: bytes) -> None:
    page.set_input_files("#round-file", files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data}])
    page.click("#upload-submit")


def visible_rows(page) -> int:
    return page.locator("#round-table tbody tr:visible").count()


def test_a_round_of_200_is_uploaded_filtered_decided_recorded_and_reported(page, served):
    login(page, served, "officer", "check")
    enrol_browser_key(page, served)
    page.goto(f"{served.base}/console/round")
    page.wait_for_selector("body[data-ready]")
    sent: list = []
    page.on("request", lambda r: sent.append(r))

    # The template, in both formats.
    with page.expect_download() as dl:
        page.click("#template-csv")
    assert dl.value.path().read_bytes().decode("utf-8-sig").startswith("identifier,programme,benefit,region,date")
    with page.expect_download() as dl:
        page.click("#template-xlsx")
    assert load_workbook(io.BytesIO(dl.value.path().read_bytes())).active["A1"].value == "identifier"

    # A list with bad rows: each named, nothing screened, nothing written.
    before = served.size()
    bad = round_rows()[:3] + [["150102199001010018", "草原英才", "subsidy", "150102", "2026-10-01"],
                              [CLEAN, "草原英才", "cash", "159999", "2026-02-30"]]
    upload(page, "bad.csv", csv_bytes(bad))
    expect(page.locator("#problems")).to_be_visible()
    problems = page.locator("#problem-table tbody tr")
    expect(problems).to_have_count(4)
    expect(problems.nth(0)).to_contain_text("5")  # row 5: the header is row 1
    expect(page.locator("#problem-table")).to_contain_text("check character")
    expect(page.locator("#answers")).to_be_hidden()
    shot(page, "round-1-bad-rows")

    # The round as XLSX: 200 answers at one tree size.
    upload(page, "round.xlsx", xlsx_bytes(round_rows()))
    expect(page.locator("#answers")).to_be_visible()
    expect(page.locator("#round-table tbody tr")).to_have_count(200)
    expect(page.locator("#round-counts")).to_contain_text("共 200 人：可以授予 90，禁止授予 70，需要复核 40")
    expect(page.locator("#round-meta")).to_contain_text(f"登记簿规模 {before}")
    # The bar's reason as reasonText renders it (reasons.js; whatever its words, it names the sanction's seq).
    expect(page.locator("#row-2 td.reasons li").first).to_contain_text(str(served.seqs["sanction"]))
    shot(page, "round-2-answers")

    # Filters.
    page.check('input[name="filter"][value="barred"]')
    assert visible_rows(page) == 70
    shot(page, "round-3-filter-barred")
    page.check('input[name="filter"][value="needs_review"]')
    assert visible_rows(page) == 40
    page.check('input[name="filter"][value="all"]')
    assert visible_rows(page) == 200

    # Decisions: proceeding on a bar is refused, an override needs approver and reason.
    page.fill("#reference", REFERENCE)
    page.fill("#officer", "王审核")
    page.select_option("#decision-2", "proceed")
    page.select_option("#decision-3", "override")
    page.click("#record-submit")
    expect(page.locator("#record-message")).to_contain_text("有 2 人的决定不符合规则")
    expect(page.locator("#row-2")).to_have_class("invalid")
    expect(page.locator("#error-3")).to_contain_text("批准人和理由")
    assert served.size() == before
    shot(page, "round-4-invalid-decisions")
    page.select_option("#decision-2", "refuse")
    page.fill("#approver-3", "李局长")
    page.fill("#reason-3", "经局务会研究，例外批准")
    page.select_option("#decision-72", "override")  # row 72: the first needing review
    page.fill("#approver-72", "李局长")
    page.fill("#reason-72", "追缴款已于会前还清，凭证附后")

    # Record: 160 on record signed in this browser, one batch.
    page.click("#record-submit")
    expect(page.locator("#record-message")).to_contain_text("已记录 160 条核查", timeout=120_000)
    shot(page, "round-5-recorded")
    seqs = [int(s) for s in page.get_attribute("#record-message", "data-seqs").split(",")]
    assert seqs == list(range(before, before + 160)) and served.size() == before + 160
    first, override, review = (served.entry(s)["statement"] for s in (seqs[0], seqs[1], seqs[70]))
    assert first["body"]["answer"] == "barred" and first["body"]["decision"] == "refuse"
    assert first["body"]["award_ref"] == REFERENCE and first["body"]["tree_size"] == before
    assert override["body"]["decision"] == "override" and override["body"]["approver"] == "李局长"
    assert review["body"]["answer"] == "needs_review" and review["body"]["decision"] == "override"
    served.cli("verify")
    for r in sent:  # identifiers never in a URL
        assert BARRED not in r.url and CLEAN not in r.url and r.url.startswith(served.base), r.url
    records = [r for r in sent if r.url.endswith("/console/api/round/record")]
    assert len(records) == 1 and len(json.loads(records[0].post_data)["statements"]) == 160

    # The reports.
    with page.expect_download() as dl:
        page.click("#report-xlsx")
    ws = load_workbook(io.BytesIO(dl.value.path().read_bytes()))["核查结果"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert [f"批次编号：{REFERENCE}"] == rows[1][:1] and f"核查所依据的账本树大小：{before}" in [r[0] for r in rows]
    table = [r for r in rows if isinstance(r[0], int)]
    assert len(table) == 200
    assert table[1][6] == "受惩戒限制，不得授予" and table[1][8] == "特批授予" and table[1][9] == "李局长"
    assert sum(1 for r in table if r[6] == "需人工复核") == 40
    assert all(BARRED not in str(c) for r in rows for c in r)  # masked in the report
    with page.expect_download() as dl:
        page.click("#report-pdf")
    text = pdf_text(dl.value.path().read_bytes())
    for words in ("授予前批量核查报告", f"批次编号：{REFERENCE}", f"树大小：{before}", "特批授予", "李局长", "需人工复核"):
        assert words in text, words
    shot(page, "round-6-reports")
