"""GB/T 2260 administrative divisions used by the programme (docs/contracts.md §2.6).

Jurisdiction is a prefix test on the code hierarchy: 150000 covers every
15xxxx; 150100 covers every 1501xx; a county code covers only itself.
"""

from __future__ import annotations

import re

from stdnum import numdb

_LOC = numdb.get("cn/loc")

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


# Successors of the former leagues (league abolished, city set up).
SUCCESSORS = {"152400": "150400", "152300": "150500", "152100": "150700", "152700": "150600",
              "152600": "150900", "152800": "150800"}
_PERIOD = re.compile(r"\[(\d*)-(\d*)\](.*)")


def _names(code: str) -> list[tuple[str, str, str]]:
    """(from year, until year, name) for a county-level entry of python-stdnum's
    GB/T 2260 history ("" for an open end); [] for a code it does not know."""
    info = _LOC.info(code)
    county = info[-1][1].get("county") if len(info) > 1 else None
    if not county:
        return []
    out = []
    for part in county.split(","):
        m = _PERIOD.fullmatch(part)
        out.append((m.group(1), m.group(2), m.group(3)) if m else ("", "", part))
    return out


def current_name(code: str) -> str | None:
    return next((name for _, until, name in _names(code) if not until), None)


def retired(code: str) -> str | None:
    """If ``code`` is a retired GB/T 2260 code, a message naming the code that
    succeeded it (or saying there is none to map to); else None. A retired code
    stays valid inside identity numbers; it is not a place to award in or to
    scope a sanction to (docs/effects.md). Codes the history does not know are
    not judged here."""
    names = _names(code)
    if not names or current_name(code) is not None:
        return None
    _, until, name = names[-1]
    successor = _successor(code, name)
    where = f"use {successor} ({current_name(successor)})" if successor else "use the current code of that place"
    return f"{code} ({name}) is a retired GB/T 2260 code (until {until}): {where}"


def _successor(code: str, name: str) -> str | None:
    if code in SUCCESSORS:
        return SUCCESSORS[code]
    league = code[:4] + "00"
    if league not in SUCCESSORS:
        return None
    prefix = SUCCESSORS[league][:4]
    for n in range(1, 100):  # the county that kept its name under the new city
        candidate = f"{prefix}{n:02d}"
        now = current_name(candidate)
        if now and now[:2] == name[:2]:
            return candidate
    return None
