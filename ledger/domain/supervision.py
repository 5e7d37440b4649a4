"""The supervision figures (Art. 63, 68; docs/console.md, Supervision): money and
sanctions by league and month, the award guard's overrides by authority and
officer, and the reconciliation findings per night. Pure: it takes plain rows
(read by ``ledger.domain.supervision_rows``) and a date, and reads no clock and
no storage.

What is counted, and on which date (decision 0026):

- **grants**: ``subsidy.granted`` not voided (``entry.corrected``), in the month
  of their decision date, in the league of their region;
- **clawbacks ordered**: ``clawback.ordered`` not voided, in the month of their
  decision date, in the league of the region of the first grant they act on;
- **recovered** (and **waived**): ``clawback.recovered`` / ``clawback.waived`` not
  voided, of a clawback not voided, in the month of their own date
  (``recovered_on``, ``decision_date``), in the clawback's league;
- **overdue**: a clawback not voided and not exempted (Art. 52), whose deadline is
  before ``as_of`` and of which less than ordered was recovered or waived by
  ``as_of`` (recoveries and waivers count from their own dates); the amount is what
  is outstanding on ``as_of``, in the month of the deadline;
- **sanctions imposed** in the month they take effect (``effective_from``),
  **ended** in the month of ``ended_on`` (an end voided by a correction does not
  count), **corrected** (voided from the start) in the month the correction was
  recorded (Beijing date), each in the league of the imposing authority's region;
- **overrides**: ``honor.granted`` / ``subsidy.granted`` carrying ``override`` (the
  award guard let a barred subject through; the officer is the approver the
  signed body names) and ``eligibility.checked`` whose decision is ``override``
  (officer: the approver; the checking officer is in the row);
- **nights**: each ``reconciliation.completed`` anchor's ``counts`` by finding kind.

Only events dated on or before ``as_of`` count (a grant decided for next month
is not yet a grant). A league is the first four digits of a GB/T 2260 code and
``00``: ``150102`` is in ``150100`` 呼和浩特市; ``150000`` stays ``150000``
(自治区本级, the region's own level). Amounts are integer fen.

Not here: reading rows (``supervision_rows``), who may see them
(``ledger.access.supervision``), formatting (the console).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from ledger.domain.records import RECONCILIATION_KINDS
from ledger.domain.regions import NAMES, covers


@dataclass(frozen=True)
class Grant:
    """A ``subsidy.granted`` as the supervision counts it."""

    seq: int
    region: str  # where it was granted (GB/T 2260)
    amount_fen: int
    decision_date: date
    voided: bool  # an entry.corrected voided it: it never happened


@dataclass(frozen=True)
class Clawback:
    """A ``clawback.ordered``."""

    seq: int
    region: str  # the region of the first grant it acts on
    amount_fen: int
    decision_date: date
    deadline: date
    voided: bool
    exempted: bool  # Art. 52: neutralised, never overdue


@dataclass(frozen=True)
class MoneyMove:
    """A ``clawback.recovered`` (kind ``recovered``) or ``clawback.waived`` (``waived``)."""

    seq: int
    clawback_seq: int
    kind: str
    amount_fen: int
    on: date  # recovered_on, or the waiver's decision_date
    voided: bool


@dataclass(frozen=True)
class SanctionEvent:
    """A sanction imposed, ended or corrected, dated as the module docstring says."""

    seq: int  # the entry that did it (the imposing, ending or correcting entry)
    sanction_seq: int
    kind: str  # imposed | ended | corrected
    region: str  # the imposing authority's region
    on: date


@dataclass(frozen=True)
class Override:
    """An award made despite a bar (the award guard's override), or a check decided ``override``."""

    seq: int
    kind: str  # award | check
    type: str  # honor.granted | subsidy.granted | eligibility.checked
    authority_id: str
    officer: str  # the approver named in the signed body
    actor: str  # who submitted the entry
    checked_by: str | None  # eligibility.checked: the checking officer
    reason: str
    region: str
    on: date  # the award's decision date, or the checked award's date
    subject: str | None
    amount_fen: int | None  # subsidy.granted only


@dataclass(frozen=True)
class Night:
    """A ``reconciliation.completed`` anchor."""

    seq: int
    as_of: date
    source: str
    tree_size: int
    input_rows: int
    counts: Mapping[str, int]


@dataclass(frozen=True)
class MoneyRow:
    """Money in one league and month."""

    league: str
    month: str  # YYYY-MM
    grants: int = 0
    granted_fen: int = 0
    clawbacks: int = 0
    ordered_fen: int = 0
    recovered_fen: int = 0
    waived_fen: int = 0
    overdue: int = 0  # clawbacks overdue on as_of whose deadline fell in this month
    overdue_fen: int = 0  # what they still owe on as_of


@dataclass(frozen=True)
class SanctionRow:
    """Sanctions in one league and month."""

    league: str
    month: str
    imposed: int = 0
    ended: int = 0
    corrected: int = 0


@dataclass(frozen=True)
class OverrideGroup:
    """The overrides of one authority by one officer."""

    authority_id: str
    officer: str
    awards: int
    checks: int
    amount_fen: int  # the money granted by the overridden subsidy grants
    seqs: tuple[int, ...]


@dataclass(frozen=True)
class Figures:
    """Everything the supervision page shows, at one tree size, as of one date."""

    as_of: date
    tree_size: int
    money: tuple[MoneyRow, ...]
    sanctions: tuple[SanctionRow, ...]
    overrides: tuple[OverrideGroup, ...]
    nights: tuple[Night, ...]
    finding_kinds: tuple[str, ...]  # every kind any night counted, in the documented order
    override_rows: tuple[Override, ...] = field(default=(), repr=False)


def league(code: str) -> str:
    """The league or city a GB/T 2260 code lies in: ``150102`` -> ``150100``; ``150000`` stays."""
    return code[:4] + "00"


def month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def voided_seqs(corrections: Iterable[tuple[int, int]]) -> frozenset[int]:
    """The seqs voided by ``(target, correcting seq)`` pairs: a target is void when a
    correction of it is itself not void (a correction can be corrected in turn)."""
    by_target: dict[int, list[int]] = defaultdict(list)
    for target, corrector in corrections:
        by_target[target].append(corrector)
    memo: dict[int, bool] = {}

    def void(seq: int) -> bool:
        if seq not in memo:
            memo[seq] = False  # a cycle cannot occur (refs point back), but never recurse forever
            memo[seq] = any(not void(c) for c in by_target.get(seq, ()))
        return memo[seq]

    return frozenset(s for s in by_target if void(s))


def outstanding(c: Clawback, moves: Sequence[MoneyMove], on: date) -> int:
    """What clawback ``c`` still owes on ``on``: ordered less the live recoveries and waivers dated by then."""
    paid = sum(m.amount_fen for m in moves if m.clawback_seq == c.seq and not m.voided and m.on <= on)
    return max(c.amount_fen - paid, 0)


def money_by_league(grants: Iterable[Grant], clawbacks: Sequence[Clawback], moves: Sequence[MoneyMove],
                    as_of: date) -> tuple[MoneyRow, ...]:
    """Grants, clawbacks ordered, recovered, waived and overdue per (league, month), sorted."""
    cells: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for g in grants:
        if not g.voided and g.decision_date <= as_of:
            cell = cells[league(g.region), month(g.decision_date)]
            cell["grants"] += 1
            cell["granted_fen"] += g.amount_fen
    live = {c.seq: c for c in clawbacks if not c.voided}
    for c in live.values():
        if c.decision_date <= as_of:
            cell = cells[league(c.region), month(c.decision_date)]
            cell["clawbacks"] += 1
            cell["ordered_fen"] += c.amount_fen
        owed = outstanding(c, moves, as_of)
        if not c.exempted and c.deadline < as_of and c.decision_date <= as_of and owed > 0:
            cell = cells[league(c.region), month(c.deadline)]
            cell["overdue"] += 1
            cell["overdue_fen"] += owed
    for m in moves:
        of = live.get(m.clawback_seq)
        if of is not None and not m.voided and m.on <= as_of:
            cells[league(of.region), month(m.on)][f"{m.kind}_fen"] += m.amount_fen
    return tuple(MoneyRow(lg, mo, **dict(v)) for (lg, mo), v in sorted(cells.items()))


def sanctions_by_league(events: Iterable[SanctionEvent], as_of: date) -> tuple[SanctionRow, ...]:
    cells: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for e in events:
        if e.on <= as_of:
            cells[league(e.region), month(e.on)][e.kind] += 1
    return tuple(SanctionRow(lg, mo, **dict(v)) for (lg, mo), v in sorted(cells.items()))


_Row = TypeVar("_Row", MoneyRow, SanctionRow)


def by_league(rows: Iterable[MoneyRow]) -> tuple[MoneyRow, ...]:
    """``money_by_league``'s rows summed over the months: one row per league, month ``""``."""
    return tuple(_totals(rows, MoneyRow))


def sanctions_totals(rows: Iterable[SanctionRow]) -> tuple[SanctionRow, ...]:
    """``sanctions_by_league``'s rows summed over the months: one row per league, month ``""``."""
    return tuple(_totals(rows, SanctionRow))


def _totals(rows: Iterable[_Row], kind: type[_Row]) -> list[_Row]:
    sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        for k, v in vars(r).items():
            if isinstance(v, int):
                sums[r.league][k] += v
    return [kind(lg, "", **dict(v)) for lg, v in sorted(sums.items())]


def override_groups(overrides: Iterable[Override], as_of: date) -> tuple[OverrideGroup, ...]:
    """Overrides per (authority, officer), the most first, then by authority and officer."""
    groups: dict[tuple[str, str], list[Override]] = defaultdict(list)
    for o in overrides:
        if o.on <= as_of:
            groups[o.authority_id, o.officer].append(o)
    out = [OverrideGroup(a, off, sum(o.kind == "award" for o in os_), sum(o.kind == "check" for o in os_),
                         sum(o.amount_fen or 0 for o in os_), tuple(sorted(o.seq for o in os_)))
           for (a, off), os_ in groups.items()]
    return tuple(sorted(out, key=lambda g: (-(g.awards + g.checks), g.authority_id, g.officer)))


def figures(as_of: date, tree_size: int, grants: Sequence[Grant], clawbacks: Sequence[Clawback],
            moves: Sequence[MoneyMove], sanctions: Sequence[SanctionEvent], overrides: Sequence[Override],
            nights: Sequence[Night], jurisdiction: str | None = None) -> Figures:
    """The page's figures. ``jurisdiction`` (a GB/T 2260 code) keeps only what lies under it;
    None keeps everything. Nights are the whole ledger's and are kept only without one."""
    def mine(region: str) -> bool:
        return jurisdiction is None or covers(jurisdiction, region)

    claws = [c for c in clawbacks if mine(c.region)]
    overs = sorted((o for o in overrides if mine(o.region) and o.on <= as_of), key=lambda o: o.seq)
    shown = sorted((n for n in nights if n.as_of <= as_of), key=lambda n: (n.as_of, n.source)) \
        if jurisdiction is None else []
    return Figures(as_of, tree_size,
                   money_by_league([g for g in grants if mine(g.region)], claws, moves, as_of),
                   sanctions_by_league((e for e in sanctions if mine(e.region)), as_of),
                   override_groups(overs, as_of), tuple(shown),
                   _kinds(shown), tuple(overs))


def _kinds(nights: Iterable[Night]) -> tuple[str, ...]:
    """Every finding kind the nights count, in the order of docs/reconciliation.md, unknown kinds last."""
    order = {k: i for i, k in enumerate(RECONCILIATION_KINDS)}
    return tuple(sorted({k for n in nights for k in n.counts}, key=lambda k: (order.get(k, len(order)), k)))


def overrides_of(f: Figures, authority_id: str, officer: str | None) -> tuple[Override, ...]:
    """The drill-down: the overrides of one authority (and one officer, when given), in seq order."""
    return tuple(o for o in f.override_rows if o.authority_id == authority_id and officer in (None, o.officer))


# --- the tables as CSV (header row; amounts in fen and in yuan, each column named) -----------------
TABLES = ("money_by_league", "money", "sanctions_by_league", "sanctions", "overrides", "override_entries", "nights")


def yuan(fen: int) -> str:
    """Integer fen as yuan with two decimals, exactly (no float)."""
    sign, a = ("-", -fen) if fen < 0 else ("", fen)
    return f"{sign}{a // 100}.{a % 100:02d}"


def league_name(code: str) -> str:
    """The league's Chinese name (GB/T 2260), or the code when it has none."""
    return NAMES.get(code, code)


def table(f: Figures, name: str, authority_id: str | None = None, officer: str | None = None) -> list[list[str]]:
    """Table ``name`` (one of ``TABLES``) with its header row first. The ``*_by_league`` tables
    sum the months; ``override_entries`` is every override, or one authority's (and officer's)
    when given."""
    if name in ("money", "money_by_league"):
        monthly = name == "money"
        head = ["league", "league_name", *(["month"] if monthly else []), "grants", "granted_fen", "granted_yuan",
                "clawbacks_ordered", "ordered_fen", "ordered_yuan", "recovered_fen", "recovered_yuan", "waived_fen",
                "waived_yuan", "overdue_clawbacks", "overdue_fen", "overdue_yuan"]
        return [head] + [[m.league, league_name(m.league), *([m.month] if monthly else []), str(m.grants),
                          str(m.granted_fen), yuan(m.granted_fen), str(m.clawbacks), str(m.ordered_fen),
                          yuan(m.ordered_fen), str(m.recovered_fen), yuan(m.recovered_fen), str(m.waived_fen),
                          yuan(m.waived_fen), str(m.overdue), str(m.overdue_fen), yuan(m.overdue_fen)]
                         for m in (f.money if monthly else by_league(f.money))]
    if name in ("sanctions", "sanctions_by_league"):
        monthly = name == "sanctions"
        return [["league", "league_name", *(["month"] if monthly else []), "imposed", "ended", "corrected"]] + [
            [s.league, league_name(s.league), *([s.month] if monthly else []), str(s.imposed), str(s.ended),
             str(s.corrected)] for s in (f.sanctions if monthly else sanctions_totals(f.sanctions))]
    if name == "overrides":
        return [["authority_id", "officer", "award_overrides", "check_overrides", "granted_fen", "granted_yuan",
                 "seqs"]] + [[g.authority_id, g.officer, str(g.awards), str(g.checks), str(g.amount_fen),
                              yuan(g.amount_fen), " ".join(map(str, g.seqs))] for g in f.overrides]
    if name == "override_entries":
        rows = f.override_rows if authority_id is None else overrides_of(f, authority_id, officer)
        return [["seq", "kind", "type", "authority_id", "officer", "checked_by", "actor", "date", "region", "league",
                 "amount_fen", "amount_yuan", "subject", "reason"]] + [
            [str(o.seq), o.kind, o.type, o.authority_id, o.officer, o.checked_by or "", o.actor, o.on.isoformat(),
             o.region, league(o.region), "" if o.amount_fen is None else str(o.amount_fen),
             "" if o.amount_fen is None else yuan(o.amount_fen), o.subject or "", o.reason] for o in rows]
    if name == "nights":
        return [["as_of", "source", "seq", "tree_size", "input_rows", *f.finding_kinds]] + [
            [n.as_of.isoformat(), n.source, str(n.seq), str(n.tree_size), str(n.input_rows),
             *(str(n.counts.get(k, 0)) for k in f.finding_kinds)] for n in f.nights]
    raise ValueError(f"table: {name!r} is not one of {', '.join(TABLES)}")


def _cell(text: str) -> str:
    """A spreadsheet opens a cell starting with = + - @ (or a tab, CR) as a formula: quote it as text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _number(text) else text


def _number(text: str) -> bool:
    return text.lstrip("-").replace(".", "", 1).isdigit()


def to_csv(rows: Sequence[Sequence[str]]) -> bytes:
    """RFC 4180 CSV (CRLF), UTF-8 with a byte-order mark so that spreadsheets read the Chinese."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    for r in rows:
        w.writerow([_cell(c) for c in r])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
