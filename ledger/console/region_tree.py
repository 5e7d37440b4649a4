"""The GB/T 2260 hierarchy for the console's region picker: 内蒙古自治区, its
12 leagues and cities, and their current counties (banners, districts, cities).

Leagues and cities come from ``ledger.domain.regions`` (the project's own list);
counties from python-stdnum's GB/T 2260 table (``stdnum/cn/loc.dat``, the one
``identifiers`` already validates birthplaces with). That table keeps history
as ``[from-until]name`` segments: the picker offers only codes whose last
segment is still open (no until year), i.e. codes an award can be made in
today. Former league codes (152100 …) stay in ``regions.FORMER_LEAGUES`` for
reading identity numbers; they are not places to award in.
"""

from __future__ import annotations

import re
from functools import lru_cache

from stdnum import numdb

from ledger.domain.regions import LEAGUES_AND_CITIES, NAMES, REGION

_SEGMENT = re.compile(r"^\[(\d{4})?-(\d{4})?\](.+)$")


def current_name(history: str) -> str | None:
    """``[1983-1999]郊区,[2000-]赛罕区`` -> ``赛罕区``; None when the last name has ended."""
    last = history.split(",")[-1]
    m = _SEGMENT.match(last)
    if m is None:
        return last  # no brackets: in use throughout the table's span
    return None if m.group(2) else m.group(3)


def _counties_of_region() -> dict[str, str]:
    """Every current six-digit code under 15 with its name, from stdnum's table."""
    province = next(p for p in numdb.get("cn/loc").prefixes if p[1] == "15")
    out = {}
    for _length, low, high, props, _children in province[4]:
        if low != high or "county" not in props:
            continue
        name = current_name(props["county"])
        code = "15" + low
        # xx01 市辖区 / xx20 市区 are statistical groupings, not places to award in.
        if name and not code.endswith("00") and name not in ("市辖区", "市区"):
            out[code] = name
    return out


@lru_cache(maxsize=1)
def region_tree() -> dict:
    """``{"code", "name", "children": [{"code", "name", "children": [...]}]}``,
    the region at the root, leagues and cities in code order."""
    counties = _counties_of_region()
    leagues = []
    for code, name in sorted(LEAGUES_AND_CITIES.items()):
        kids = [{"code": c, "name": n, "children": []} for c, n in sorted(counties.items()) if c[:4] == code[:4]]
        leagues.append({"code": code, "name": name, "children": kids})
    return {"code": REGION, "name": NAMES[REGION], "children": leagues}
