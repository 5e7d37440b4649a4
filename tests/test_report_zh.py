"""The bundle's report reads as native Simplified Chinese (docs/evidence.md, "The
report"; decision 0018): the SC face of Noto Sans CJK, codes as Chinese labels,
authorities by their registered names, Beijing time, amounts kept whole, and text
that pypdf and pdfminer.six both extract. Every page is rendered with pdftoppm to
var/screenshots/evidence-report-<n>.png (git-ignored) for a look by eye."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fontTools.pens.boundsPen import BoundsPen
from fontTools.ttLib import TTCollection, TTFont
from fpdf import FPDF
from pdfminer.high_level import extract_text as pdfminer_text
from pypdf import PdfReader

from ledger.config import Settings
from ledger.domain import records
from ledger.errors import ConfigError
from ledger.evidence import export as evidence
from ledger.evidence import labels, pdf
from ledger.log import entry_types
from tests.conftest import AUTHORITY_NAMES, HOHHOT, PERSON, REGIONAL

SCREENSHOTS = Path(__file__).resolve().parents[1] / "var" / "screenshots"

# Characters whose Simplified and Traditional forms are different codepoints, each
# pair (SC, TC) with the SC one in this report's own wording: the text must hold
# the first and never the second.
SC_TC = [("惩", "懲"), ("范", "範"), ("围", "圍"), ("严", "嚴"), ("资", "資"), ("补", "補"), ("贴", "貼"),
         ("项", "項"), ("时", "時"), ("间", "間"), ("记", "記"), ("录", "錄"), ("证", "證"), ("据", "據"),
         ("机", "機"), ("关", "關"), ("检", "檢"), ("点", "點"), ("验", "驗"), ("导", "導"), ("号", "號"),
         ("销", "銷"), ("额", "額"), ("账", "賬"), ("级", "級"), ("导", "導"), ("发", "發"), ("条", "條")]
BIG = 1_234_567_89  # fen: 1,234,567.89 元


@pytest.fixture
def bundle(domain, tmp_path):
    d = domain
    p = d.subject(PERSON, "张三")
    h = d.honor(p)
    d.record("honor.revoked", p, {"grounds": "弄虚作假", "legal_basis": {"article": "条例第六十五条", "document_no": "内政发〔2026〕3号"},
                                  "decision_date": "2026-04-01", "deciding_body": "自治区人民政府"}, refs=[h.seq])
    d.record("subsidy.granted", p, {"programme": "草原英才", "kind": "project", "amount_fen": BIG,
                                    "grant_ref": "NMG-GR-000001", "budget_account": "2130101",
                                    "decision_date": "2026-03-01", "region": "150100"}, authority=HOHHOT)
    s = d.sanction(p, start="2026-07-01", until="2027-06-30", benefits=("subsidy", "talent_project"),
                   regions=("150100",))
    d.record("sanction.ended", p, {"reason": "credit_repair", "ended_on": "2026-10-01", "deciding_body": "人社局"},
             refs=[s.seq])
    b = evidence.export(d.engine, d.keyring, d.vault, Settings(vkey_dir=tmp_path / "vkeys"),
                        case="(2026)内01行初7号", requested_by="呼和浩特市中级人民法院", subjects=[p], seqs=[],
                        clock=d.clock)
    with zipfile.ZipFile(io.BytesIO(b.data)) as z:
        return b, z.read("report.pdf"), z.read("report.html").decode()


def _texts(data: bytes) -> dict[str, str]:
    return {"pypdf": "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages),
            "pdfminer.six": pdfminer_text(io.BytesIO(data))}


def _beijing(recorded_at: str) -> str:
    """Beijing time computed here, not by the ledger: UTC + 8 hours."""
    t = datetime.strptime(recorded_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC) + timedelta(hours=8)
    return f"{t.year}年{t.month}月{t.day}日{t:%H:%M:%S}（北京时间）"


def test_both_extractors_read_the_labels_names_and_beijing_times(bundle):
    b, data, html = bundle
    for tool, text in _texts(data).items():
        flat = re.sub(r"\s+", "", text)
        for phrase in ("诚信记录证据材料", "呼和浩特市中级人民法院", "张三", "列入失信惩戒", "解除失信惩戒",
                       "惩戒事项：资助补贴、人才项目", "严重程度：严重失信", "类别：项目资助", "级别：自治区级",
                       "理由：信用修复", "地区：呼和浩特市", "项目：全部项目", "用途：签署记录", "条例第六十五条", AUTHORITY_NAMES[REGIONAL.id],
                       AUTHORITY_NAMES[HOHHOT.id], "账本运行机构", _beijing(b.custody.recorded_at),
                       "决定日期：2026年4月1日"):
            assert phrase in flat, (tool, phrase)
        for code in ("talent_project", "subsidy、", "serious", "credit_repair", "research_funding", "regional"):
            assert code not in flat, (tool, code)  # no code left untranslated
        assert not re.search(r"\d{2}:\d{2}:\d{2}(\.\d+)?Z", text), tool  # no UTC times
    assert _beijing(b.custody.recorded_at).replace("日", "日 ", 1) in html and "资助补贴、人才项目" in html
    assert '<span class="amount">1,234,567.89 元</span>' in html and ".amount{white-space:nowrap}" in html


def test_only_simplified_forms_are_in_the_text(bundle):
    _, data, html = bundle
    for tool, text in {**_texts(data), "html": html}.items():
        for sc, tc in SC_TC:
            assert sc in text, (tool, sc)  # the pair is one this report really uses
            assert tc not in text, (tool, tc)


def test_the_embedded_face_draws_the_mainland_glyphs(bundle):
    """The same codepoint has different glyphs in the SC and TC faces (e.g. full-width
    punctuation sits in the corner, not the centre): each character of the report
    whose SC and TC glyphs differ is drawn with the SC outline."""
    _, data, _ = bundle
    reader = PdfReader(io.BytesIO(data))
    font = next(iter(reader.pages[0]["/Resources"]["/Font"].values())).get_object()
    assert "NotoSansCJKSC" in str(font["/BaseFont"]) and font["/Encoding"] == "/Identity-H"
    program = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]["/FontFile2"].get_data()
    embedded = TTFont(io.BytesIO(program))
    faces = {TTFont.__getitem__(f, "name").getDebugName(6): f for f in TTCollection(pdf.SYSTEM_FONT, lazy=True).fonts}
    sc, tc = faces["NotoSansCJKsc-Regular"], faces["NotoSansCJKtc-Regular"]
    text = re.sub(r"\s+", "", _texts(data)["pypdf"])

    def bounds(font: TTFont, char: str):
        gs = font.getGlyphSet()
        pen = BoundsPen(gs)
        gs[font.getBestCmap()[ord(char)]].draw(pen)
        return pen.bounds

    def far(a, b) -> bool:  # outlines that differ, not a unit of rounding
        return max(abs(x - y) for x, y in zip(a, b, strict=True)) > 4

    differing = [c for c in sorted(set(text)) if ord(c) > 0x2E80 and far(bounds(sc, c), bounds(tc, c))]
    assert len(differing) >= 5, differing  # "，：；（）、。" at least
    for c in differing:
        got, want, other = bounds(embedded, c), bounds(sc, c), bounds(tc, c)
        assert all(abs(g - w) <= 2 for g, w in zip(got, want, strict=True)), (c, got, want)
        assert far(got, other), (c, got, other)


def test_an_amount_is_never_split_from_its_yuan(tmp_path):
    """Every offset that puts the amount at a line's end: it moves to the next line whole."""
    font = tmp_path / "sc.ttf"
    font.write_bytes(pdf.truetype_subset(pdf.font_face(), "资金额：0123456789,. 元；助编号NMG-R预算科目"))
    doc = FPDF(format="A4")
    doc.add_font("sc", fname=str(font))
    doc.add_page()
    doc.set_font("sc", size=8.5)
    amount = labels.yuan(BIG)
    for k in range(0, 120):
        lines = pdf.break_lines("资" * k + f"金额：{amount}；资助编号：NMG-GR-000001；预算科目：2130101", doc.epw,
                                doc.get_string_width)
        assert any(amount in line for line in lines), (k, lines)
        assert all(doc.get_string_width(line.rstrip("；：，")) <= doc.epw for line in lines), k  # punctuation hangs


def test_the_amount_in_the_pdf_is_on_one_line(bundle):
    _, data, _ = bundle
    for tool, text in _texts(data).items():
        lines = [re.sub(r"\s+", " ", line) for line in text.splitlines()]
        assert any("1,234,567.89 元" in line for line in lines), tool


def test_line_breaks_hang_closing_punctuation_and_cut_overlong_runs():
    def measure(s: str) -> float:
        return float(len(s))
    assert pdf.break_lines("甲乙丙丁，戊", 4, measure) == ["甲乙丙丁，", "戊"]
    assert pdf.break_lines("ab " + "x" * 10, 4, measure) == ["ab", "xxxx", "xxxx", "xx"]
    assert pdf.break_lines("一\n二", 10, measure) == ["一", "二"]


def test_every_code_and_entry_type_has_a_chinese_label():
    for field, codes in (("benefit", records.BENEFITS), ("level", records.HONOR_LEVELS),
                         ("kind", records.SUBSIDY_KINDS), ("answer", records.ANSWERS),
                         ("decision", records.DECISIONS), ("severity", ("serious", "general")),
                         ("relation", ("employee", "team_member", "leader"))):
        for code in codes:
            assert not labels.code_label("x", field, code).isascii(), (field, code)
    for code in records.END_REASONS:
        assert not labels.code_label("sanction.ended", "reason", code).isascii(), code
    assert labels.code_label("clawback.waived", "reason", "expiry") == "expiry"  # free text there, not a code
    for name in entry_types.names():
        assert name in labels.TYPES, name


def test_times_are_beijing_time_across_midnight():
    assert labels.beijing_time("2026-01-05T17:30:00.000000Z") == "2026年1月6日 01:30:00（北京时间）"
    assert labels.beijing_date("2026-12-31T16:00:00.000000Z") == "2027年1月1日"
    assert labels.yuan(100_000_00) == "100,000.00 元" and labels.yuan(5) == "0.05 元"


def test_a_font_file_other_than_the_pinned_one_is_refused(monkeypatch):
    pdf.font_face.cache_clear()
    monkeypatch.delenv("LEDGER_CJK_FONT", raising=False)
    monkeypatch.setattr(pdf, "SYSTEM_FONT", Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"))
    try:
        with pytest.raises(ConfigError, match="SHA-256"):
            pdf.font_face()
    finally:
        pdf.font_face.cache_clear()
        monkeypatch.undo()
    assert pdf.font_face().name == "NotoSansCJKsc-Regular"


def test_the_pages_rendered_for_the_eye(bundle, tmp_path):
    """Every page to var/screenshots/evidence-report-<n>.png (and the PDF beside them)."""
    if not shutil.which("pdftoppm"):  # pragma: no cover
        pytest.skip("pdftoppm (poppler-utils) not installed")
    _, data, _ = bundle
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("evidence-report*"):
        old.unlink()
    (SCREENSHOTS / "evidence-report.pdf").write_bytes(data)
    subprocess.run(["pdftoppm", "-png", "-r", "110", str(SCREENSHOTS / "evidence-report.pdf"),
                    str(SCREENSHOTS / "evidence-report")], check=True)
    pages = sorted(SCREENSHOTS.glob("evidence-report-*.png"))
    assert len(pages) == len(PdfReader(io.BytesIO(data)).pages) >= 2
    assert all(p.stat().st_size > 10_000 for p in pages)
