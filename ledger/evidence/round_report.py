"""An award round's screening report, in Chinese, as XLSX and as PDF
(docs/award-rounds.md). Pure: a recorded round in, bytes out.

What it states: the round's reference; the tree size every answer was given at,
the RFC 9162 root of that tree and the signed checkpoint that commits to it
(anyone holding the log key can check the answers were the ledger's at that
size); then one row per candidate: identifier (masked to its first six and last
four characters: the report leaves the office, PIPL Art. 6 minimisation), the
question, the ledger's answer with its reasons, the decision (an override with
its approver and reason) and the seq and leaf hash of the recorded check.

Spreadsheet cells go through ``csv_cells.escape`` (OWASP CSV injection, CWE-1236):
openpyxl writes any text starting with ``=`` as a formula, so a programme name
``=cmd|' /C calc'!A0`` would otherwise run in the reader's spreadsheet. The PDF
reuses ``ledger.evidence.pdf``'s pinned CJK face, subsetting and line breaking.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fpdf import FPDF

from ledger.domain.eligibility import Reason
from ledger.evidence import labels
from ledger.evidence.pdf import break_lines, font_face, truetype_subset
from ledger.finance.csv_cells import escape


@dataclass(frozen=True)
class ReportRow:
    """One candidate as the report states it (already plain text)."""

    identifier: str
    programme: str
    benefit: str
    region: str
    on: str
    answer: str
    reasons: str
    decision: str
    approver: str
    reason: str
    seq: int | None  # None: no subject on record, so no check to record
    leaf_hash: str


@dataclass(frozen=True)
class RoundReport:
    reference: str
    tree_size: int
    root_hex: str
    checkpoint_size: int | None
    checkpoint: str | None
    officer: str
    generated_at: datetime  # passed in: the same round renders the same bytes
    rows: tuple[ReportRow, ...]


HEADER = ("序号", "身份号码（部分隐藏）", "项目", "授予类别", "授予地区", "授予日期", "核查结论", "理由", "处理决定",
          "批准人", "例外理由", "核查记录序号", "记录叶哈希")
REASON_KINDS = {"sanction": "失信惩戒", "employer_sanction": "所在单位受惩戒", "clawback_overdue": "追缴逾期未还",
                "clawback_outstanding": "追缴款未还清", "exemption_applied": "已适用容错免责",
                "ending_soon": "惩戒即将届满", "starting_soon": "惩戒即将生效"}


def mask(identifier: str) -> str:
    """``cn-rid:150102********0019``: scheme, first six and last four characters."""
    scheme, _, number = identifier.partition(":")
    if len(number) <= 10:
        return f"{scheme}:{number[:2]}{'*' * max(0, len(number) - 4)}{number[-2:]}"
    return f"{scheme}:{number[:6]}{'*' * (len(number) - 10)}{number[-4:]}"


def reason_text(r: Reason) -> str:
    """A reason in Chinese: its kind, the entry it rests on, legal basis, period, amount."""
    parts = [f"{REASON_KINDS.get(r.kind, r.kind)}（记录第 {r.seq} 号）"]
    if r.legal_basis:
        parts.append(f"{r.legal_basis['article']} {r.legal_basis.get('document_no', '')}".strip())
    if r.period:
        until = labels.chinese_date(r.period[1]) if r.period[1] else "长期"
        parts.append(f"期间 {labels.chinese_date(r.period[0])}至{until}")
    if r.amount_fen:
        parts.append(f"金额 {labels.yuan(r.amount_fen)}")
    return "，".join(parts)


NO_RECORD = "无需记录（账本中无该主体的记录）"


def row_of(identifier: str, body: dict, blocking: Sequence[Reason], warnings: Sequence[Reason], seq: int | None,
           leaf_hash: str) -> ReportRow:
    reasons = [reason_text(r) for r in blocking] + [f"提示：{reason_text(r)}" for r in warnings]
    return ReportRow(mask(identifier), body["programme"], labels.BENEFITS.get(body["benefit"], body["benefit"]),
                     f"{body['region']} {labels.region_name(body['region'])}".strip(), body["on"],
                     labels.ANSWERS.get(body["answer"], body["answer"]), "；".join(reasons) or "无",
                     labels.DECISIONS.get(body["decision"], NO_RECORD), body.get("approver", ""),
                     body.get("reason", ""), seq, leaf_hash)


def summary_lines(r: RoundReport) -> list[str]:
    counts = {a: sum(1 for x in r.rows if x.answer == label) for a, label in labels.ANSWERS.items()}
    cp = (f"检查点（树大小 {r.checkpoint_size}）已签名，见报告末尾" if r.checkpoint is not None
          else "尚无覆盖该树大小的签名检查点（下一次签名检查点将覆盖）")
    return [f"批次编号：{r.reference}", f"经办人：{r.officer}",
            f"生成时间：{r.generated_at.astimezone(labels.ZONE).strftime('%Y-%m-%d %H:%M')}（{labels.ZONE_LABEL}）",
            f"候选人数：{len(r.rows)}；符合条件 {counts['eligible']}，不得授予 {counts['barred']}，"
            f"需人工复核 {counts['needs_review']}",
            f"核查所依据的账本树大小：{r.tree_size}", f"该树的默克尔根（RFC 9162）：{r.root_hex}", cp]


def _cells(i: int, row: ReportRow) -> list[object]:
    return [i, *(escape(str(v)) for v in (row.identifier, row.programme, row.benefit, row.region, row.on, row.answer,
                                          row.reasons, row.decision, row.approver, row.reason)),
            "—" if row.seq is None else row.seq, escape(row.leaf_hash)]


def render_xlsx(r: RoundReport) -> bytes:
    """Sheet 核查结果: the summary, then one row per candidate; sheet 检查点: the signed note."""
    from openpyxl import Workbook  # type: ignore[import-untyped]

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "核查结果"
    ws.append(["授予前批量核查报告"])
    for line in summary_lines(r):
        ws.append([escape(line)])
    ws.append([])
    ws.append(list(HEADER))
    for i, row in enumerate(r.rows, start=1):
        ws.append(_cells(i, row))
    for col, width in zip("ABCDEFGHIJKLM", (6, 28, 14, 10, 18, 12, 20, 60, 12, 10, 30, 12, 66)):
        ws.column_dimensions[col].width = width
    cp = wb.create_sheet("检查点")
    for line in (r.checkpoint or "（无）").splitlines():
        cp.append([escape(line)])
    wb.properties.created = r.generated_at.replace(tzinfo=None)
    wb.properties.modified = r.generated_at.replace(tzinfo=None)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _blocks(r: RoundReport) -> list[tuple[str, float, float]]:
    out: list[tuple[str, float, float]] = [("授予前批量核查报告", 16, 3), ("\n".join(summary_lines(r)), 10, 3), ("逐人核查结果", 12, 1.5)]
    for i, row in enumerate(r.rows, start=1):
        head = f"{i}. {row.identifier}　{row.programme}　{row.benefit}　{row.region}　{row.on}"
        decision = row.decision + (f"（批准人：{row.approver}；理由：{row.reason}）" if row.approver else "")
        out.append((f"{head}\n结论：{row.answer}　决定：{decision}\n理由：{row.reasons}", 8.5, 0.5))
        out.append((f"核查记录第 {row.seq} 号　叶哈希 {row.leaf_hash}" if row.seq is not None else "未记录核查", 6.5, 2))
    out += [("签名检查点", 12, 1.5), (r.checkpoint or "（尚无）", 7, 3),
            ("如何核验", 12, 1.5),
            ("每条核查记录均已记入账本（记录序号与叶哈希如上）；用 ledger prove inclusion 取得其包含证明，"
             "用账本公钥核对检查点签名；用 ledger prove consistency 核对上述树大小与检查点的一致性（RFC 9162）。", 9.5, 0)]
    return out


def render_pdf(r: RoundReport) -> bytes:
    """The report as an A4 PDF with the pinned Simplified Chinese face, cut to the text used."""
    content = _blocks(r)
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_creation_date(r.generated_at)
    pdf.set_lang("zh-CN")
    with tempfile.TemporaryDirectory(prefix="ledger-font-") as tmp:
        font_file = Path(tmp) / "round-sc.ttf"  # fpdf2 reads fonts from a path only
        font_file.write_bytes(truetype_subset(font_face(), "".join(text for text, _, _ in content) + " "))
        pdf.add_font("sc", fname=str(font_file))
        pdf.add_page()
        for text, size, gap in content:
            pdf.set_font("sc", size=size)
            for line in break_lines(text, pdf.epw, pdf.get_string_width):
                pdf.cell(pdf.epw, size * 0.5, line, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(gap)
        return bytes(pdf.output())


def report_of(reference: str, anchor: tuple[int, str, int | None, str | None],
              checks: Sequence[tuple[str, dict, Sequence[Reason], Sequence[Reason], int | None, str]],
              generated_at: datetime) -> RoundReport:
    """The report of recorded checks: (identifier, entry body, blocking, warnings, seq,
    leaf hash hex) each, answered at ``anchor`` (tree size, root, checkpoint size, note)."""
    rows = tuple(row_of(*c) for c in checks)
    officers = sorted({c[1]["officer"] for c in checks if "officer" in c[1]})
    return RoundReport(reference, anchor[0], anchor[1], anchor[2], anchor[3], "、".join(officers), generated_at, rows)
