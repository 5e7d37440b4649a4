"""The human-readable parts of an evidence bundle: the report in Chinese
(HTML), VERIFY.md, and a verification script that needs only hashlib and the
cryptography package."""

from __future__ import annotations

import html
from pathlib import Path

from ledger.log.entry import Entry

TYPE_ZH = {
    "log.initialized": "账本初始化", "key.registered": "登记签名密钥", "key.revoked": "撤销签名密钥",
    "honor.granted": "授予表彰奖励", "honor.revoked": "撤销表彰奖励", "subsidy.granted": "发放资助补贴",
    "clawback.ordered": "责令追回资金", "clawback.recovered": "追回资金到账", "clawback.waived": "免予追回",
    "sanction.imposed": "列入失信惩戒", "sanction.amended": "变更失信惩戒", "sanction.ended": "解除失信惩戒",
    "exemption.granted": "容错免责认定", "entry.corrected": "更正错误记录", "eligibility.checked": "资格审查记录",
    "subject.linked": "任职关系登记", "subject.erased": "删除个人信息", "note.recorded": "备注",
    "reconciliation.completed": "资金对账完成", "evidence.exported": "证据导出登记",
}
FIELD_ZH = {
    "title": "名称", "level": "级别", "programme": "项目", "awarding_body": "授予机关", "decision_date": "决定日期",
    "region": "行政区划", "document_no": "文号", "grounds": "事由", "legal_basis": "法律依据", "deciding_body": "决定机关",
    "amount_fen": "金额", "grant_ref": "资助编号", "budget_account": "预算科目", "deadline": "期限",
    "recovered_on": "到账日期", "severity": "严重程度", "effective_from": "起始日期", "effective_until": "截止日期",
    "scope": "惩戒范围", "reason": "理由", "ended_on": "解除日期", "project": "项目", "finding": "认定意见",
    "answer": "审查结论", "decision": "处理决定", "case": "案号", "requested_by": "申请人", "seqs": "导出记录",
    "override": "特批", "authority_id": "机关标识", "holder": "持有人", "purpose": "用途", "origin": "账本名称",
    "name": "密钥名称", "relation": "关系", "organisation": "单位", "valid_from": "起始日期", "valid_until": "截止日期", "kind": "类别", "officer": "审核人", "award_ref": "评审编号", "on": "评审日期",
}


def _yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d} 元"


def describe(e: Entry) -> str:
    """One entry in plain Chinese: what, who decided, basis, dates, amounts."""
    parts = []
    for k, v in e.body.items():
        if k in ("vkey", "log_key", "blocking", "tree_size", "subjects", "content_sha256", "counts", "input_fingerprint"):
            continue
        label = FIELD_ZH.get(k, k)
        if k == "amount_fen":
            v = _yuan(v)
        elif k == "legal_basis" and isinstance(v, dict):
            v = f"{v.get('article', '')}（{v.get('document_no', '')}）"
        elif k == "scope" and isinstance(v, dict):
            v = f"{'、'.join(v.get('benefits', []))}；地区 {'、'.join(v.get('regions', []))}"
        elif isinstance(v, (dict, list)):
            v = "、".join(map(str, v)) if isinstance(v, list) else "；".join(f"{a}：{b}" for a, b in v.items())
        parts.append(f"{label}：{v}")
    return "；".join(parts)


def render_html(summary: dict, entries: dict[int, Entry], disclosures: dict[str, dict], checkpoint: str) -> str:
    e = html.escape
    people = "".join(f"<tr><td>{e(d['name'])}</td><td>{e(d['scheme'])}:{e(d['id'])}</td><td><code>{e(ref)}</code></td></tr>"
                     for ref, d in sorted(disclosures.items()))
    rows = "".join(
        f"<tr><td>{seq}</td><td>{e(x.recorded_at[:10])}</td><td>{e(TYPE_ZH.get(x.type, x.type))}</td>"
        f"<td>{e(x.authority.id)}（{e(x.authority.region)}）</td><td>{e(describe(x))}</td>"
        f"<td><code>{x.leaf_hash.hex()}</code></td></tr>" for seq, x in sorted(entries.items()))
    return f"""<!doctype html>
<html lang="zh-CN"><meta charset="utf-8"><title>证据材料 {e(summary['case'])}</title>
<style>body{{font-family:"Noto Sans CJK SC","Source Han Sans SC",sans-serif;margin:2em}}
td,th{{border-bottom:1px solid #ccc;padding:3px 6px;vertical-align:top;font-size:13px}}code{{font-size:11px;word-break:break-all}}</style>
<h1>诚信记录证据材料</h1>
<p>案号：{e(summary['case'])}<br>申请人：{e(summary['requested_by'])}<br>导出时间：{e(summary['exported_at'])}<br>
账本：{e(summary['origin'])}，树大小 {summary['tree_size']}；本次导出登记于第 {summary['custody_seq']} 条记录。</p>
<h2>当事人</h2><table><tr><th>姓名/名称</th><th>证件</th><th>主体标识</th></tr>{people}</table>
<h2>记录</h2>
<table><tr><th>序号</th><th>记录日期</th><th>事项</th><th>记录机关</th><th>内容</th><th>叶哈希（SHA-256）</th></tr>{rows}</table>
<h2>签名检查点</h2><pre>{e(checkpoint)}</pre>
<h2>如何核验</h2>
<p>见 VERIFY.md：用 sha256sum 核对 manifest.json 中每个文件的哈希；用账本公钥核对检查点签名；
用 tlog-proof 核对每条记录包含在检查点所承诺的默克尔树中（RFC 9162）；用主体披露信息重新计算主体标识。
也可运行 <code>ledger verify-bundle</code> 或 <code>python3 verify_bundle.py</code>。</p>
</html>
"""


def verify_md(summary: dict, seqs: list[int]) -> str:
    """VERIFY.md: the manual route, kept with the verifiers (ledger/evidence/manual.py)."""
    from ledger.evidence.manual import verify_md as manual_route

    return manual_route(summary, seqs)


# The bundle's verify_bundle.py: ledger/evidence/standalone.py as it is, a script that
# imports nothing from the ledger (tests/test_hostile_bundle.py holds it to the same
# verdicts as ``ledger verify-bundle``).
VERIFY_SCRIPT = (Path(__file__).resolve().parent / "standalone.py").read_text(encoding="utf-8")
