"""The evidence report's words (docs/evidence.md, "The report"): every code an entry
carries shown by its Simplified Chinese label, authorities by their registered
names, times in Beijing time, dates and amounts as a Chinese court writes them.

Pure: no I/O. A code without a label here is shown as it stands (a new code reads
as itself until it is given one; tests/test_report_zh.py checks every code the
entry types allow has one). Scope: wording only; what is rendered where is
``report`` (HTML) and ``pdf``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ledger.domain.regions import NAMES, current_name

# Beijing time: Asia/Shanghai, UTC+8, no daylight saving since 1991. A court reads
# the local time with its zone named, never UTC with "Z".
ZONE = ZoneInfo("Asia/Shanghai")
ZONE_LABEL = "北京时间"

TYPES = {
    "log.initialized": "账本初始化", "authority.registered": "登记记录机关", "key.registered": "登记签名密钥",
    "key.revoked": "撤销签名密钥", "token.issued": "签发访问令牌", "token.revoked": "撤销访问令牌",
    "note.recorded": "备注", "programme.registered": "登记人才项目", "honor.granted": "授予表彰奖励",
    "honor.revoked": "撤销表彰奖励", "subsidy.granted": "发放资助补贴", "clawback.ordered": "责令追回资金",
    "clawback.recovered": "追回资金到账", "clawback.waived": "免予追回", "sanction.imposed": "列入失信惩戒",
    "sanction.amended": "变更失信惩戒", "sanction.ended": "解除失信惩戒", "exemption.granted": "容错免责认定",
    "entry.corrected": "更正错误记录", "eligibility.checked": "资格审查记录", "subject.linked": "任职关系登记",
    "subject.erased": "删除个人信息", "reconciliation.completed": "资金对账完成", "evidence.exported": "证据导出登记",
}

FIELDS = {
    "title": "名称", "level": "级别", "programme": "项目", "programmes": "项目", "awarding_body": "授予机关",
    "decision_date": "决定日期", "region": "行政区划", "regions": "地区", "document_no": "文号", "grounds": "事由",
    "legal_basis": "法律依据", "deciding_body": "决定机关", "amount_fen": "金额", "grant_ref": "资助编号",
    "budget_account": "预算科目", "deadline": "期限", "recovered_on": "到账日期", "payment_ref": "支付凭证号",
    "severity": "严重程度", "effective_from": "起始日期", "effective_until": "截止日期", "indefinite": "期限",
    "scope": "惩戒范围", "benefits": "惩戒事项", "benefit": "审查事项", "publicity_until": "公示截止日期",
    "reason": "理由", "ended_on": "解除日期", "note": "备注", "project": "项目", "finding": "认定意见",
    "answer": "审查结论", "decision": "处理决定", "approver": "批准人", "case": "案号", "requested_by": "申请人",
    "seqs": "导出记录", "override": "特批", "authority_id": "记录机关", "holder": "持有人", "purpose": "用途",
    "origin": "账本名称", "name": "名称", "relation": "关系", "organisation": "单位", "valid_from": "起始日期",
    "valid_until": "截止日期", "kind": "类别", "officer": "审核人", "award_ref": "评审编号", "on": "评审日期",
    "code": "项目代码", "parent": "上级机关", "text": "内容", "article": "条款", "as_of": "对账日期",
    "source": "资金系统", "input_rows": "读取行数", "unpaid_days": "未支付天数",
}

BENEFITS = {"honor": "表彰奖励", "subsidy": "资助补贴", "talent_project": "人才项目"}
HONOR_LEVELS = {"national": "国家级", "regional": "自治区级", "league_city": "盟市级", "county": "旗县级"}
SUBSIDY_KINDS = {"research_funding": "科研经费", "living_allowance": "生活补贴", "housing": "住房补贴",
                 "startup": "创业启动资金", "award": "奖金", "project": "项目资助", "other": "其他"}
SEVERITIES = {"serious": "严重失信", "general": "一般失信"}
END_REASONS = {"expiry": "期限届满", "credit_repair": "信用修复", "correction": "纠错", "appeal_upheld": "复议或诉讼撤销",
               "court_deletion": "法院判决删除", "superseded": "被新决定取代"}
ANSWERS = {"eligible": "符合条件", "barred": "受惩戒限制，不得授予", "needs_review": "需人工复核"}
DECISIONS = {"proceed": "予以授予", "refuse": "不予授予", "override": "特批授予"}
RELATIONS = {"employee": "职工", "team_member": "团队成员", "leader": "负责人"}

# Which label set each coded field uses; "reason" is a code only where the type says
# so (sanction.ended), free text everywhere else.
_CODES: dict[str, dict[str, str]] = {
    "level": HONOR_LEVELS, "kind": SUBSIDY_KINDS, "severity": SEVERITIES, "benefit": BENEFITS,
    "benefits": BENEFITS, "answer": ANSWERS, "decision": DECISIONS, "relation": RELATIONS,
    "indefinite": {"yes": "无固定期限"},
}
_CODED_BY_TYPE = {("sanction.ended", "reason"): END_REASONS, ("key.registered", "purpose"): {"records": "签署记录"}}
# The log operator's own records (docs/contracts.md §2.7) are stated under this id.
OPERATOR_NAME = "账本运行机构"
_HIDDEN = frozenset({"vkey", "log_key", "blocking", "tree_size", "subjects", "content_sha256", "counts",
                     "input_fingerprint", "report_sha256"})
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def code_label(entry_type: str, field: str, value: str) -> str:
    """A coded value's label (``subsidy`` -> 资助补贴); an unknown code as it stands."""
    table = _CODED_BY_TYPE.get((entry_type, field)) or _CODES.get(field, {})
    return table.get(value, value)


def yuan(fen: int) -> str:
    """Fen as 元 with thousands separators: ``1,234.50 元`` (the report keeps it on one line)."""
    return f"{fen // 100:,}.{fen % 100:02d} 元"


def chinese_date(iso: str) -> str:
    """``2026-03-01`` -> ``2026年3月1日``; anything else as it stands."""
    m = _DATE.fullmatch(iso)
    return f"{int(m[1])}年{int(m[2])}月{int(m[3])}日" if m else iso


def beijing_time(rfc3339: str) -> str:
    """An RFC 3339 UTC instant (``recorded_at``) in Beijing time, the zone named:
    ``2026-01-05T08:00:00.000000Z`` -> ``2026年1月5日 16:00:00（北京时间）``."""
    local = datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).astimezone(ZONE)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M:%S}（{ZONE_LABEL}）"


def beijing_date(rfc3339: str) -> str:
    """The Beijing calendar day of an RFC 3339 UTC instant: ``2026年1月5日``."""
    local = datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).astimezone(ZONE)
    return f"{local.year}年{local.month}月{local.day}日"


def region_name(code: str) -> str:
    """A GB/T 2260 code by its name (呼和浩特市, 呼和浩特市新城区); unknown: the code."""
    if code in NAMES:
        return NAMES[code]
    county = current_name(code)
    return f"{NAMES.get(code[:4] + '00', '')}{county}" if county else code


def authority_name(authority_id: str, names: dict[str, str]) -> str:
    """An authority by its registered name (``authority.registered``); the log's
    operator by its role; an unregistered id as it stands."""
    if authority_id in names:
        return names[authority_id]
    return OPERATOR_NAME if authority_id == "ledger-operator" else authority_id


def describe(entry_type: str, body: dict[str, Any], names: dict[str, str]) -> list[str]:
    """An entry's body as "label：value" parts in Chinese (codes, regions, dates,
    amounts and authorities translated); hashes, keys and counts left to the bytes."""
    parts = []
    for k, v in body.items():
        if k in _HIDDEN:
            continue
        parts.append(f"{FIELDS.get(k, k)}：{_value(entry_type, k, v, names)}")
    return parts


def _value(entry_type: str, field: str, v: Any, names: dict[str, str]) -> str:
    if field == "amount_fen" and isinstance(v, int):
        return yuan(v)
    if field == "programmes" and v == []:
        return "全部项目"  # records.scope: absent or empty means every programme
    if field in ("region", "regions"):
        return "、".join(region_name(c) for c in (v if isinstance(v, list) else [v]))
    if field in ("authority_id", "parent") and isinstance(v, str):
        return authority_name(v, names)
    if isinstance(v, str):
        return chinese_date(code_label(entry_type, field, v))
    if isinstance(v, list):
        return "、".join(_value(entry_type, field, x, names) for x in v)
    if isinstance(v, dict):
        if field == "legal_basis":
            doc = v.get("document_no") or ""
            return f"{v.get('article', '')}（{doc}）" if doc else str(v.get("article", ""))
        return "；".join(f"{FIELDS.get(a, a)}：{_value(entry_type, a, b, names)}" for a, b in v.items())
    return str(v)


def vocabulary() -> dict[str, Any]:
    """The Chinese words above as one JSON-able table, for the web console
    (GET /console/api/labels): one vocabulary for the report and the console."""
    return {"types": TYPES, "fields": FIELDS, "hidden": sorted(_HIDDEN), "operator": OPERATOR_NAME,
            "codes": _CODES, "coded_by_type": {f"{t} {f}": table for (t, f), table in _CODED_BY_TYPE.items()}}
