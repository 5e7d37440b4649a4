"""The effects table (docs/effects.md): for every domain type, which earlier
entries it may act on and whether a correction may void it. Pure data.

The fold (``ledger.domain.state``) applies the effects; the append path's state
rules (``ledger.domain.projection``) check that a new record acts only on what
this table allows, on targets still live in the required way.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Effect:
    """One row of the table: what a type acts on and whether it can be voided."""

    targets: frozenset[str]  # types its refs may name; empty: it acts on nothing earlier
    correctable: bool  # may an entry.corrected void it
    effect: str  # one line, for people (docs/effects.md has the full rule)


def _e(targets: tuple[str, ...], correctable: bool, effect: str) -> Effect:
    return Effect(frozenset(targets), correctable, effect)


EFFECTS: dict[str, Effect] = {
    "programme.registered": _e((), False, "registers a programme code"),
    # Art. 51, 62
    "honor.granted": _e((), True, "an honour from decision_date"),
    # Art. 65 ¶2
    "honor.revoked": _e(("honor.granted",), True, "the honour stops counting from decision_date"),
    # Art. 21, 22, 26, 27, 31, 49, 58, 59
    "subsidy.granted": _e((), True, "a grant of amount_fen"),
    # Art. 65 ¶2
    "clawback.ordered": _e(("subsidy.granted",), True, "money owed, due by deadline, from decision_date"),
    "clawback.recovered": _e(("clawback.ordered",), True, "amount_fen recovered on recovered_on"),
    "clawback.waived": _e(("clawback.ordered",), True, "amount_fen waived from decision_date"),
    # Art. 66
    "sanction.imposed": _e((), True, "a bar over its scope and period"),
    "sanction.amended": _e(("sanction.imposed",), True, "a new version of period or scope"),
    "sanction.ended": _e(("sanction.imposed",), True, "the sanction stops applying from ended_on"),
    # Art. 52
    "exemption.granted": _e(("sanction.imposed", "clawback.ordered"), True, "the targets are neutralised"),
    # Art. 68: a wrong record is voided by a later one, never rewritten.
    "entry.corrected": _e((), True, "the target is void from the start"),
    "subject.linked": _e((), True, "a person works for an organisation over a period"),
    "eligibility.checked": _e((), False, "a recorded pre-award check"),
    "subject.erased": _e((), False, "the vault record is destroyed (PIPL Art. 47)"),
}

CORRECTABLE = frozenset(t for t, e in EFFECTS.items() if e.correctable)
# entry.corrected may void any correctable entry, corrections included.
EFFECTS["entry.corrected"] = _e(tuple(sorted(CORRECTABLE)), True, "the target is void from the start")
DOMAIN_TYPES = frozenset(EFFECTS)
