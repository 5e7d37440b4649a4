"""Reading the supervision's rows (``ledger.domain.supervision``) at one tree size:
set-based reads of the projections (grants, clawbacks, money_moves,
sanction_versions, exits, overrides) and of the reconciliation anchors, each
bounded by ``seq < size`` so that one answer reads one log prefix.

Projections are derived from the log (decision 0019, docs/decisions/0019-facts-from-the-verified-log.md); what they lack (the
anchors' counts, the correction's recorded date) is read from the entries themselves.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Row, select

from ledger.domain.facts import authority_registry
from ledger.domain.supervision import (
    Clawback,
    Grant,
    MoneyMove,
    Night,
    Override,
    SanctionEvent,
    voided_seqs,
)
from ledger.log.entry import from_canonical, parse_time
from ledger.store.schema import clawbacks, entries, exits, grants, money_moves, overrides, sanction_versions

ZONE = ZoneInfo("Asia/Shanghai")  # the business day (ledger.finance.business_day.ZONE)


@dataclass(frozen=True)
class Rows:
    """Everything ``supervision.figures`` takes, read at ``size``."""

    size: int
    grants: tuple[Grant, ...]
    clawbacks: tuple[Clawback, ...]
    moves: tuple[MoneyMove, ...]
    sanctions: tuple[SanctionEvent, ...]
    overrides: tuple[Override, ...]
    nights: tuple[Night, ...]


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _beijing_day(recorded_at: str) -> date:
    return parse_time(recorded_at).astimezone(ZONE).date()


def read(conn: Connection, size: int) -> Rows:
    """The rows of the log prefix ``[0, size)``."""
    exit_rows = conn.execute(select(exits).where(exits.c.exit_seq < size)).all()
    void = voided_seqs((r.target_seq, r.exit_seq) for r in exit_rows if r.kind == "voided")
    exempted = {r.target_seq for r in exit_rows if r.kind == "exempted" and r.exit_seq not in void}
    gs = tuple(Grant(r.seq, r.region, r.amount_fen, _day(r.decision_date), r.seq in void)
               for r in conn.execute(select(grants).where(grants.c.seq < size).order_by(grants.c.seq)))
    region_of = {g.seq: g.region for g in gs}
    cs = tuple(Clawback(r.seq, region_of.get(min(json.loads(r.grant_seqs)), ""), r.amount_fen, _day(r.decision_date),
                        _day(r.deadline), r.seq in void, r.seq in exempted)
               for r in conn.execute(select(clawbacks).where(clawbacks.c.seq < size).order_by(clawbacks.c.seq)))
    ms = tuple(MoneyMove(r.move_seq, r.clawback_seq, r.kind, r.amount_fen, _day(r.on_date), r.move_seq in void)
               for r in conn.execute(select(money_moves).where(money_moves.c.move_seq < size)
                                     .order_by(money_moves.c.move_seq)))
    return Rows(size, gs, cs, ms, _sanctions(conn, size, exit_rows, void), _overrides(conn, size), _nights(conn, size))


def _sanctions(conn: Connection, size: int, exit_rows: Sequence[Row[Any]], void: frozenset[int]) -> tuple[SanctionEvent, ...]:
    """Imposed (effective_from), ended (ended_on) and corrected (the correction's Beijing date),
    in the region of the authority that imposed the sanction."""
    registry = authority_registry(conn, size)
    imposed = conn.execute(
        select(sanction_versions.c.sanction_seq, sanction_versions.c.effective_from, sanction_versions.c.regions,
               entries.c.authority_id)
        .join(entries, entries.c.seq == sanction_versions.c.sanction_seq)
        .where(sanction_versions.c.version_seq == sanction_versions.c.sanction_seq,
               sanction_versions.c.version_seq < size)).all()
    region: dict[int, str] = {}
    out = []
    for r in imposed:
        known = registry.get(r.authority_id)
        region[r.sanction_seq] = known.region if known else json.loads(r.regions)[0]
        if r.sanction_seq not in void:
            out.append(SanctionEvent(r.sanction_seq, r.sanction_seq, "imposed", region[r.sanction_seq],
                                     _day(r.effective_from)))
    corrections = [r for r in exit_rows if r.kind == "voided" and r.target_seq in region and r.exit_seq not in void]
    when = {r.seq: r.recorded_at for r in conn.execute(
        select(entries.c.seq, entries.c.recorded_at).where(entries.c.seq.in_([c.exit_seq for c in corrections])))} \
        if corrections else {}
    for x in exit_rows:
        if x.kind == "ended" and x.target_seq in region and x.exit_seq not in void and x.target_seq not in void:
            out.append(SanctionEvent(x.exit_seq, x.target_seq, "ended", region[x.target_seq], _day(x.on_date)))
    out += [SanctionEvent(c.exit_seq, c.target_seq, "corrected", region[c.target_seq], _beijing_day(when[c.exit_seq]))
            for c in corrections]
    return tuple(sorted(out, key=lambda e: e.seq))


def _overrides(conn: Connection, size: int) -> tuple[Override, ...]:
    """Grants and honours awarded despite a bar and checks decided ``override``: the
    ``overrides`` projection (revision 0008), checked against the log like the others."""
    query = select(overrides).where(overrides.c.seq < size).order_by(overrides.c.seq)
    return tuple(Override(r.seq, r.kind, r.type, r.authority_id, r.approver, r.actor, r.officer, r.reason, r.region,
                          _day(r.on_date), r.subject, r.amount_fen) for r in conn.execute(query))


def _nights(conn: Connection, size: int) -> tuple[Night, ...]:
    """The reconciliation anchors (``reconciliation.completed``): one per night and funding source."""
    out = []
    for row in conn.execute(select(entries.c.canonical).where(entries.c.type == "reconciliation.completed",
                                                              entries.c.seq < size).order_by(entries.c.seq)):
        e = from_canonical(bytes(row.canonical))
        b = e.body
        out.append(Night(e.seq, _day(b["as_of"]), b["source"], b["tree_size"], b.get("input_rows", 0),
                         {str(k): int(v) for k, v in b["counts"].items()}))
    return tuple(out)
