"""A simple reference for the eligibility answer: replay the subject's entries
from the log's canonical bytes, with none of the projections. Used only by
tests, written from the rules in ledger/domain/eligibility.py's docstring."""

from __future__ import annotations

import json
from datetime import date, timedelta

import sqlalchemy as sa


def _entries(engine, size: int) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT canonical FROM entries WHERE seq < :n ORDER BY seq"), {"n": size})
        return [_flat(json.loads(bytes(r[0]))) for r in rows]


def _flat(e: dict) -> dict:
    """A v2 entry's statement members beside its envelope (docs/contracts.md §2.7); v1 as is."""
    return {**e.pop("statement"), **e} if "statement" in e else e


def _covers(jurisdiction: str, code: str) -> bool:
    p = jurisdiction[:2] if jurisdiction.endswith("0000") else jurisdiction[:4] if jurisdiction.endswith("00") else jurisdiction
    return code.startswith(p)


def _sanctions(log: list[dict], subject: str) -> dict[int, dict]:
    s: dict[int, dict] = {}
    for e in log:
        if e["subject"] != subject:
            continue
        b, t = e["body"], e["type"]
        if t == "sanction.imposed":
            s[e["seq"]] = {"from": b["effective_from"], "until": b.get("effective_until"), "scope": b["scope"],
                           "ended": None, "void": False}
        elif t == "sanction.amended":
            x = s[e["refs"][0]]
            x["from"] = b.get("effective_from", x["from"])
            x["until"] = None if "indefinite" in b else b.get("effective_until", x["until"])
            x["scope"] = b.get("scope", x["scope"])
        elif t == "sanction.ended":
            x = s[e["refs"][0]]
            x["ended"] = b["ended_on"] if x["ended"] is None else min(x["ended"], b["ended_on"])
        elif t in ("entry.corrected", "exemption.granted"):
            for r in e["refs"]:
                if r in s:
                    s[r]["void"] = True
    return s


def _barring(s: dict[int, dict], benefit, programme, region, on: str) -> list[int]:
    out = []
    for seq, x in sorted(s.items()):
        sc = x["scope"]
        if x["void"] or on < x["from"] or (x["until"] and on > x["until"]) or (x["ended"] and on >= x["ended"]):
            continue
        if benefit in sc["benefits"] and any(_covers(r, region) for r in sc["regions"]) \
                and (not sc.get("programmes") or programme in sc["programmes"]):
            out.append(seq)
    return out


def _clawbacks_overdue(log, subject, on: str) -> list[int]:
    c: dict[int, dict] = {}
    for e in log:
        if e["subject"] != subject:
            continue
        b, t = e["body"], e["type"]
        if t == "clawback.ordered":
            c[e["seq"]] = {"left": b["amount_fen"], "deadline": b["deadline"], "void": False}
        elif t in ("clawback.recovered", "clawback.waived"):
            c[e["refs"][0]]["left"] -= b["amount_fen"]
        elif t in ("entry.corrected", "exemption.granted"):
            for r in e["refs"]:
                if r in c:
                    c[r]["void"] = True
    return [seq for seq, x in sorted(c.items()) if not x["void"] and x["left"] > 0 and on > x["deadline"]]


def answer(engine, size: int, subject: str, benefit: str, programme: str, region: str, on: date) -> tuple[str, list[int]]:
    log = _entries(engine, size)
    day = on.isoformat()
    barred = _barring(_sanctions(log, subject), benefit, programme, region, day)
    if barred:
        return "barred", barred
    employers = set()
    for e in log:
        if e["type"] == "subject.linked" and e["subject"] == subject:
            b = e["body"]
            if b["valid_from"] <= day and (not b.get("valid_until") or day <= b["valid_until"]):
                employers.add(b["organisation"])
    review = [seq for org in sorted(employers) for seq in _barring(_sanctions(log, org), benefit, programme, region, day)]
    review += _clawbacks_overdue(log, subject, day)
    return ("needs_review", review) if review else ("eligible", [])


ORIGIN = date(2026, 1, 1)


def day(n: int) -> str:
    return (ORIGIN + timedelta(days=n)).isoformat()
