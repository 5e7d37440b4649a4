"""The human-readable parts of an evidence bundle: the report in Simplified Chinese
(HTML; its wording is ``labels``), VERIFY.md, and a verification script that needs
only hashlib and the cryptography package."""

from __future__ import annotations

import html
import re
from pathlib import Path

from ledger.evidence import labels
from ledger.log.entry import Entry

# Amounts stay whole: one unit for the line breaker (pdf) and the browser (nowrap).
AMOUNT = re.compile(r"\d[\d,]*\.\d{2} 元")


def entry_line(e: Entry, names: dict[str, str]) -> str:
    """An entry's heading: its seq, Beijing date, what and who recorded it."""
    return (f"第 {e.seq} 条　{labels.beijing_date(e.recorded_at)}　{labels.TYPES.get(e.type, e.type)}　"
            f"记录机关：{labels.authority_name(e.authority.id, names)}")


def describe(e: Entry, names: dict[str, str] | None = None) -> str:
    """One entry in plain Chinese: what, who decided, basis, dates, amounts."""
    return "；".join(labels.describe(e.type, e.body, names or {}))


def summary_lines(summary: dict) -> list[str]:
    """The export's own facts, in Chinese, times in Beijing time."""
    return [f"案号：{summary['case']}", f"申请人：{summary['requested_by']}",
            f"导出时间：{labels.beijing_time(summary['exported_at'])}",
            f"账本：{summary['origin']}，检查点树大小 {summary['tree_size']}；本次导出登记于第 {summary['custody_seq']} 条记录。"]


def render_html(summary: dict, entries: dict[int, Entry], disclosures: dict[str, dict], checkpoint: str,
                names: dict[str, str] | None = None) -> str:
    """The report as HTML (lang zh-CN); ``names`` are the registered authorities' names by id."""
    names = names or {}

    def e(text: str) -> str:
        return AMOUNT.sub(lambda m: f'<span class="amount">{m[0]}</span>', html.escape(text))

    people = "".join(f"<tr><td>{e(d['name'])}</td><td>{e(d['scheme'])}:{e(d['id'])}</td><td><code>{e(ref)}</code></td></tr>"
                     for ref, d in sorted(disclosures.items()))
    rows = "".join(
        f"<tr><td>{seq}</td><td>{e(labels.beijing_time(x.recorded_at))}</td><td>{e(labels.TYPES.get(x.type, x.type))}</td>"
        f"<td>{e(labels.authority_name(x.authority.id, names))}<br><small>{e(x.authority.id)}</small></td>"
        f"<td>{e(describe(x, names))}</td><td><code>{x.leaf_hash.hex()}</code></td></tr>"
        for seq, x in sorted(entries.items()))
    head = "<br>".join(e(line) for line in summary_lines(summary))
    return f"""<!doctype html>
<html lang="zh-CN"><meta charset="utf-8"><title>证据材料 {e(summary['case'])}</title>
<style>body{{font-family:"Noto Sans CJK SC","Source Han Sans SC",sans-serif;margin:2em}}
td,th{{border-bottom:1px solid #ccc;padding:3px 6px;vertical-align:top;font-size:13px}}code{{font-size:11px;word-break:break-all}}
.amount{{white-space:nowrap}}small{{color:#666}}</style>
<h1>诚信记录证据材料</h1>
<p>{head}</p>
<h2>当事人</h2><table><tr><th>姓名/名称</th><th>证件</th><th>主体标识</th></tr>{people}</table>
<h2>记录</h2>
<table><tr><th>序号</th><th>记录时间（北京时间）</th><th>事项</th><th>记录机关</th><th>内容</th><th>叶哈希（SHA-256）</th></tr>{rows}</table>
<h2>签名检查点</h2><pre>{html.escape(checkpoint)}</pre>
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
