"""The evidence report as PDF (docs/evidence.md), with an embedded font that renders
Chinese: Noto Sans CJK (SIL Open Font License), subset-embedded by fpdf2.

The font comes from the ``cvttf-notosanscjk-regular`` wheel (or
``LEDGER_CJK_FONT``). A font file is code the PDF reader executes, so the
packaged one is pinned by SHA-256: a different file is refused, not embedded.
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from fpdf import FPDF

from ledger.errors import ConfigError
from ledger.evidence.report import TYPE_ZH, describe
from ledger.log.entry import Entry

NOTO_CJK_SHA256 = "f57e46120a3dd025ac993801981849622405d1359b32093b1f046490f7885711"


@lru_cache(maxsize=1)
def font_path() -> Path:
    override = os.environ.get("LEDGER_CJK_FONT")
    if override:
        return Path(override)  # the operator's own choice, not pinned
    try:
        import cvttf_NotoSansCJK_Regular as pkg  # type: ignore[import-untyped]  # a font package: no py.typed, no stubs
    except ImportError as e:
        raise ConfigError("no CJK font: install cvttf-notosanscjk-regular or set LEDGER_CJK_FONT") from e
    path = Path(pkg.__file__).parent / "NotoSansCJKtc-Regular.otf"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != NOTO_CJK_SHA256:
        raise ConfigError(f"{path}: SHA-256 {digest}, want the pinned {NOTO_CJK_SHA256}")
    return path


def render_pdf(summary: dict, entries: dict[int, Entry], disclosures: dict[str, dict], checkpoint: str) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    # The export's own time, so the same export renders the same bytes.
    pdf.set_creation_date(datetime.fromisoformat(summary["exported_at"].replace("Z", "+00:00")))
    pdf.add_font("cjk", fname=str(font_path()))
    pdf.add_page()
    w = pdf.epw

    def para(text: str, size: float = 9.5, gap: float = 1.5) -> None:
        pdf.set_font("cjk", size=size)
        pdf.multi_cell(w, size * 0.5, text, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    para("诚信记录证据材料", 16, 3)
    para(f"案号：{summary['case']}\n申请人：{summary['requested_by']}\n导出时间：{summary['exported_at']}\n"
         f"账本：{summary['origin']}，树大小 {summary['tree_size']}；本次导出登记于第 {summary['custody_seq']} 条记录。", 10, 3)
    para("当事人", 12)
    for ref, d in sorted(disclosures.items()):
        para(f"{d['name']}　{d['scheme']}:{d['id']}\n主体标识 {ref}", 9)
    para("记录", 12)
    for seq, e in sorted(entries.items()):
        para(f"第 {seq} 条　{e.recorded_at[:10]}　{TYPE_ZH.get(e.type, e.type)}　记录机关 {e.authority.id}（{e.authority.region}）",
             9.5, 0.5)
        text = describe(e)
        if text:
            para(text, 8.5, 0.5)
        para(f"叶哈希 {e.leaf_hash.hex()}", 7, 2)
    para("签名检查点", 12)
    para(checkpoint, 7, 3)
    para("如何核验", 12)
    para("见随附 VERIFY.md：用 sha256sum 核对 manifest.json 中每个文件的哈希；用账本公钥核对检查点签名；"
         "用 tlog-proof 核对每条记录包含在检查点所承诺的默克尔树中（RFC 9162）；用主体披露信息重新计算主体标识。"
         "也可运行 ledger verify-bundle 或 python3 verify_bundle.py。", 9.5)
    return bytes(pdf.output())
