"""GB/T 2260 administrative divisions used by the programme (docs/contracts.md §2.6).

Jurisdiction is a prefix test on the code hierarchy: 150000 covers every
15xxxx; 150100 covers every 1501xx; a county code covers only itself.
"""

from __future__ import annotations

REGION = "150000"
LEAGUES_AND_CITIES = {
    "150100": "呼和浩特市", "150200": "包头市", "150300": "乌海市", "150400": "赤峰市",
    "150500": "通辽市", "150600": "鄂尔多斯市", "150700": "呼伦贝尔市", "150800": "巴彦淖尔市",
    "150900": "乌兰察布市", "152200": "兴安盟", "152500": "锡林郭勒盟", "152900": "阿拉善盟",
}
# Former league codes, still seen in lifelong identity numbers.
FORMER_LEAGUES = {
    "152100": "呼伦贝尔盟", "152300": "哲里木盟", "152400": "昭乌达盟",
    "152600": "乌兰察布盟", "152700": "伊克昭盟", "152800": "巴彦淖尔盟",
}
NAMES = {REGION: "内蒙古自治区", **LEAGUES_AND_CITIES, **FORMER_LEAGUES}


def prefix(code: str) -> str:
    """The significant prefix: 150000 -> "15", 150100 -> "1501", 150102 -> "150102"."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def covers(jurisdiction: str, code: str) -> bool:
    """Does a decision taken for ``jurisdiction`` apply at ``code``?"""
    return code.startswith(prefix(jurisdiction))
