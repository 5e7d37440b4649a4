"""A subject's state, folded from its own entries by the effects table
(docs/effects.md). Pure: entries in, sanctions, clawbacks, honours, grants and
links out.

Every entry that acts on another concerns the same subject, so a subject's
entries with ``seq < N`` are everything needed to know its state "as the ledger
knew it at size N". The fold is the one place the effects are applied: the
eligibility answers, the status and the append path's state rules all read it.

Voids first: an entry is void when a correction that is itself not void targets
it. Corrections only point backwards, so deciding them from the newest down
settles each one before the entries it targets. Then every other entry is
applied in seq order, skipping the void ones, so whatever a void entry did is
recomputed as if it had never been recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, cast

from ledger.domain.eligibility import Clawback, LegalBasis, Move, Sanction
from ledger.log.entry import Entry

# The types whose entries change each view; anything else leaves the view as it was.
SANCTION_TYPES = frozenset({"sanction.imposed", "sanction.amended", "sanction.ended", "exemption.granted"})
CLAWBACK_TYPES = frozenset({"clawback.ordered", "clawback.recovered", "clawback.waived", "exemption.granted"})
AWARD_TYPES = frozenset({"honor.granted", "honor.revoked", "subsidy.granted"})


@dataclass(frozen=True)
class Link:
    seq: int
    organisation: str
    relation: str
    valid_from: date
    valid_until: date | None

    def active_on(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_until is None or on <= self.valid_until)


@dataclass(frozen=True)
class Award:
    """An honour or a grant, with how it stands: active, revoked or voided."""

    seq: int
    type: str  # honor.granted | subsidy.granted
    body: Mapping[str, Any]
    status: str  # active | revoked | voided
    revoked_seq: int | None = None


def voided(corrections: Iterable[Entry]) -> dict[int, int]:
    """{target seq: the live correction that voids it}, newest correction first."""
    out: dict[int, int] = {}
    for c in sorted(corrections, key=lambda e: -e.seq):
        if c.seq not in out:
            out.setdefault(c.refs[0], c.seq)
    return out


@dataclass
class SubjectState:
    """The entries of one subject (seq order) and the views folded from them.

    ``add`` takes entries in seq order (the append path adds each new one as it
    is sealed); the views are recomputed on demand from the entries of the types
    that affect them, so a correction anywhere is reflected in every view.

    The entries are also kept by type and by seq, and ``add`` drops only the
    views its type affects (a correction: all of them, since voids change every
    view), so a subject with thousands of grants does not refold its sanctions
    for each new one (decision 0022). Each view still reads exactly the entries
    of its types, in seq order."""

    subject: str
    entries: list[Entry] = field(default_factory=list)
    _cache: dict[str, Any] = field(default_factory=dict)
    _by_type: dict[str, list[Entry]] = field(default_factory=dict)
    _by_seq: dict[int, Entry] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for e in self.entries:
            self._index(e)

    def _index(self, e: Entry) -> None:
        self._by_type.setdefault(e.type, []).append(e)
        self._by_seq[e.seq] = e

    def add(self, e: Entry) -> None:
        self.entries.append(e)
        self._index(e)
        if e.type == "entry.corrected":
            self._cache.clear()
            return
        for key in [k for k in self._cache if _affects(e.type, k)]:
            del self._cache[key]

    def _of(self, types: frozenset[str]) -> list[Entry]:
        found = [self._by_type[t] for t in types if t in self._by_type]
        if len(found) == 1:
            return list(found[0])
        return sorted((e for part in found for e in part), key=lambda e: e.seq)  # each part is in seq order

    @property
    def voids(self) -> dict[int, int]:
        if "voids" not in self._cache:
            self._cache["voids"] = voided(self._of(frozenset({"entry.corrected"})))
        return cast(dict[int, int], self._cache["voids"])

    def live(self, seq: int) -> bool:
        return seq not in self.voids

    def by_seq(self, seq: int) -> Entry | None:
        return self._by_seq.get(seq)

    # --- views ---------------------------------------------------------------------
    def sanctions(self) -> list[Sanction]:
        if "sanctions" not in self._cache:
            self._cache["sanctions"] = _fold_sanctions(self.subject, self._of(SANCTION_TYPES), self.voids)
        return cast(list[Sanction], self._cache["sanctions"])

    def clawbacks(self) -> list[Clawback]:
        if "clawbacks" not in self._cache:
            self._cache["clawbacks"] = _fold_clawbacks(self.subject, self._of(CLAWBACK_TYPES), self.voids)
        return cast(list[Clawback], self._cache["clawbacks"])

    def awards(self, type_: str) -> list[Award]:
        key = "awards:" + type_
        if key not in self._cache:
            self._cache[key] = _fold_awards(type_, self._of(AWARD_TYPES), self.voids)
        return cast(list[Award], self._cache[key])

    def links(self) -> list[Link]:
        # Cached like the other views: the award guard asks for a subject's employers on every award.
        if "links" not in self._cache:
            self._cache["links"] = self._links()
        return cast(list[Link], self._cache["links"])

    def _links(self) -> list[Link]:
        return [Link(e.seq, e.body["organisation"], e.body["relation"], date.fromisoformat(e.body["valid_from"]),
                     _opt_date(e.body.get("valid_until")))
                for e in self._of(LINK_TYPES) if self.live(e.seq)]

    def employers_on(self, on: date) -> list[str]:
        return sorted({link.organisation for link in self.links() if link.active_on(on)})


LINK_TYPES = frozenset({"subject.linked"})
VIEW_TYPES = {"voids": frozenset({"entry.corrected"}), "sanctions": SANCTION_TYPES, "clawbacks": CLAWBACK_TYPES,
              "links": LINK_TYPES}


def _affects(type_: str, view: str) -> bool:
    """Whether an entry of ``type_`` can change the cached ``view`` (the types each view folds)."""
    return type_ in (AWARD_TYPES if view.startswith("awards:") else VIEW_TYPES[view])


def fold(subject: str, entries: Iterable[Entry]) -> SubjectState:
    state = SubjectState(subject)
    for e in sorted(entries, key=lambda e: e.seq):
        state.add(e)
    return state


def _opt_date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


@dataclass
class _Version:
    effective_from: date
    effective_until: date | None
    scope: Mapping[str, Any]
    seq: int


def _fold_sanctions(subject: str, entries: list[Entry], voids: dict[int, int]) -> list[Sanction]:
    imposed = [e for e in entries if e.type == "sanction.imposed"]
    out = []
    for s in imposed:
        b = s.body
        v = _Version(date.fromisoformat(b["effective_from"]), _opt_date(b.get("effective_until")), b["scope"], s.seq)
        ends: list[tuple[date, int, str]] = []
        exempted: int | None = None
        for a in entries:
            if a.seq <= s.seq or s.seq not in a.refs or a.seq in voids:
                continue  # a void amendment, end or exemption never happened
            if a.type == "sanction.amended":
                v = _amend(v, a)
            elif a.type == "sanction.ended":
                ends.append((date.fromisoformat(a.body["ended_on"]), a.seq, a.body["reason"]))
            elif a.type == "exemption.granted" and exempted is None:
                exempted = a.seq
        # Several ends: the earliest effective one counts (docs/effects.md).
        end = min(ends) if ends else None
        out.append(Sanction(
            seq=s.seq, subject=subject, severity=b["severity"], effective_from=v.effective_from,
            effective_until=v.effective_until, benefits=tuple(sorted(v.scope["benefits"])),
            regions=tuple(sorted(v.scope["regions"])), programmes=tuple(sorted(v.scope.get("programmes") or [])),
            legal_basis=cast(LegalBasis, dict(b["legal_basis"])), deciding_body=b["deciding_body"],
            version_seq=v.seq, ended_on=end[0] if end else None, ended_seq=end[1] if end else None,
            end_reason=end[2] if end else None, voided_seq=voids.get(s.seq), exempted_seq=exempted))
    return out


def _amend(v: _Version, a: Entry) -> _Version:
    b = a.body
    start = date.fromisoformat(b["effective_from"]) if "effective_from" in b else v.effective_from
    if "indefinite" in b:
        until = None
    elif "effective_until" in b:
        until = _opt_date(b["effective_until"])
    else:
        until = v.effective_until
    return _Version(start, until, b.get("scope") or v.scope, a.seq)


def _fold_clawbacks(subject: str, entries: list[Entry], voids: dict[int, int]) -> list[Clawback]:
    out = []
    for c in (e for e in entries if e.type == "clawback.ordered"):
        moves: list[Move] = []
        exempted: int | None = None
        for a in entries:
            if a.seq <= c.seq or c.seq not in a.refs or a.seq in voids:
                continue
            if a.type == "clawback.recovered":
                moves.append(Move(a.seq, "recovered", a.body["amount_fen"], date.fromisoformat(a.body["recovered_on"])))
            elif a.type == "clawback.waived":
                moves.append(Move(a.seq, "waived", a.body["amount_fen"], date.fromisoformat(a.body["decision_date"])))
            elif a.type == "exemption.granted" and exempted is None:
                exempted = a.seq
        b = c.body
        out.append(Clawback(
            c.seq, b["amount_fen"], sum(m.amount_fen for m in moves if m.kind == "recovered"),
            sum(m.amount_fen for m in moves if m.kind == "waived"), date.fromisoformat(b["deadline"]),
            voids.get(c.seq), exempted, subject=subject, grant_seqs=tuple(c.refs),
            decision_date=date.fromisoformat(b["decision_date"]), moves=tuple(moves)))
    return out


def _fold_awards(type_: str, entries: list[Entry], voids: dict[int, int]) -> list[Award]:
    revocations = {e.refs[0]: e.seq for e in entries if e.type == "honor.revoked" and e.seq not in voids}
    out = []
    for e in (e for e in entries if e.type == type_):
        if e.seq in voids:
            out.append(Award(e.seq, e.type, e.body, "voided"))
        elif e.seq in revocations:
            out.append(Award(e.seq, e.type, e.body, "revoked", revocations[e.seq]))
        else:
            out.append(Award(e.seq, e.type, e.body, "active"))
    return out


RETENTION_YEARS = 5  # 征信业管理条例 Art. 16: negative credit information is kept five years


def _years_after(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def retention(state: SubjectState, today: date) -> str | None:
    """Why the subject may not be erased on ``today`` (docs/effects.md), or None.

    A sanction that is neither void nor exempted holds the record while it has
    not ended, and for five years after; a live clawback while money is
    outstanding, and for five years after it was settled."""
    holds: list[tuple[date, str]] = []
    for s in state.sanctions():
        if s.voided_seq is not None or s.exempted_seq is not None:
            continue
        stops = s.ended_on or (s.effective_until + timedelta(days=1) if s.effective_until else None)
        if stops is None or stops > today:
            return f"sanction {s.seq} is still in force: erasure waits until it has ended and its retention has run"
        holds.append((_years_after(stops, RETENTION_YEARS), f"sanction {s.seq}"))
    for c in state.clawbacks():
        if c.voided_seq is not None or c.exempted_seq is not None:
            continue
        if c.outstanding_fen:
            return f"clawback {c.seq} has {c.outstanding_fen} fen outstanding: erasure waits until it is settled"
        settled = max((m.on for m in c.moves), default=c.decision_date or today)
        holds.append((_years_after(settled, RETENTION_YEARS), f"clawback {c.seq}"))
    until, what = max(holds, default=(date.min, ""))
    if today < until:
        return f"the retention period of {what} runs until {until.isoformat()} ({RETENTION_YEARS} years)"
    return None
