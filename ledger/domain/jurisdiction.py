"""Which regions a record touches (docs/authorities.md, Jurisdiction). Pure.

An authority may record only what lies in its own GB/T 2260 subtree. What a
record touches is more than its own body: acting on a sanction touches every
region the sanction has ever been scoped to (each ``sanction.amended``
version, voided or not, because an amendment back to a narrower scope is how
another region's bar would be taken over), and acting on any entry touches
what that entry touched, down its refs. A ``subject.linked`` touches the
regions of every sanction of the organisation, because the link makes those
bars reach the person (Art. 66).

The append path computes this at the locked head (``ledger.domain.projection``),
so a ref can never name an entry the check did not see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ledger.domain.regions import covers
from ledger.domain.state import SubjectState
from ledger.log.entry import Entry

StateOf = Callable[[str], SubjectState]


def body_regions(body: Mapping[str, Any]) -> set[str]:
    """The regions a body names: its ``region`` and its scope's ``regions``."""
    out: set[str] = set()
    if isinstance(body.get("region"), str):
        out.add(body["region"])
    scope = body.get("scope")
    if isinstance(scope, Mapping) and isinstance(scope.get("regions"), list):
        out.update(r for r in scope["regions"] if isinstance(r, str))
    return out


def organisation_regions(org: SubjectState) -> set[str]:
    """Every region any version of any sanction of ``org`` was scoped to."""
    return {r for e in org.entries if e.type in ("sanction.imposed", "sanction.amended") for r in body_regions(e.body)}


def entry_regions(e: Entry, state: SubjectState, state_of: StateOf, _seen: set[int] | None = None) -> set[str]:
    """What acting on ``e`` touches: its own regions (or its authority's, when its
    body names none), every version of it, its links' reach, and its refs'."""
    seen = _seen if _seen is not None else set()
    if e.seq in seen:
        return set()
    seen.add(e.seq)
    out = body_regions(e.body) or {e.authority.region}
    if e.type == "sanction.imposed":
        for a in state.entries:
            if a.type == "sanction.amended" and a.refs and a.refs[0] == e.seq:
                out |= body_regions(a.body) | {a.authority.region}
    if e.type == "subject.linked":
        out |= organisation_regions(state_of(e.body["organisation"]))
    for r in e.refs:
        target = state.by_seq(r)
        if target is not None:
            out |= entry_regions(target, state, state_of, seen)
    return out


def touched(type_: str, body: Mapping[str, Any], refs: Iterable[int], state: SubjectState | None,
            state_of: StateOf) -> set[str]:
    """Every region a new record of ``type_`` touches (its subject's ``state`` holds its refs)."""
    out = body_regions(body)
    if type_ == "subject.linked":
        out |= organisation_regions(state_of(body["organisation"]))
    if state is None:
        return out
    seen: set[int] = set()
    for r in refs:
        target = state.by_seq(r)
        if target is not None:
            out |= entry_regions(target, state, state_of, seen)
    return out


def outside(jurisdiction: str, regions: Iterable[str]) -> list[str]:
    """The regions not covered by ``jurisdiction``, sorted."""
    return sorted(r for r in set(regions) if not covers(jurisdiction, r))
