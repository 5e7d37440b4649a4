"""Reading a subject's facts from the domain projections, as known at a tree
size: every projection row carries the seq that made it true, so "as the
ledger knew it at size N" is the filter ``seq < N`` (bitemporal, lesson 4)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Connection, Row, Table, select

from ledger.domain.eligibility import Clawback, Facts, Sanction
from ledger.store.schema import clawbacks, exits, links, money_moves, sanction_versions

AwardRow = dict[str, str | int]
"""An ``honors`` or ``grants`` row (column name -> its text or integer value) plus ``status``."""


def _date(text: str) -> date:
    """A NOT NULL date column (an ISO date validated when its entry was appended)."""
    return date.fromisoformat(text)


def _d(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _exits(conn: Connection, targets: list[int], size: int) -> dict[int, list[Row[Any]]]:
    out: dict[int, list[Row[Any]]] = {}
    if targets:
        rows = conn.execute(select(exits).where(exits.c.target_seq.in_(targets), exits.c.exit_seq < size)
                            .order_by(exits.c.exit_seq))
        for r in rows:
            out.setdefault(r.target_seq, []).append(r)
    return out


def _first(rows: Iterable[Row[Any]], kind: str) -> Row[Any] | None:
    return next((r for r in rows if r.kind == kind), None)


def sanctions_of(conn: Connection, subjects_: list[str], size: int) -> list[Sanction]:
    if not subjects_:
        return []
    rows = conn.execute(select(sanction_versions).where(sanction_versions.c.subject.in_(subjects_),
                                                         sanction_versions.c.version_seq < size)
                        .order_by(sanction_versions.c.version_seq)).all()
    targets = list({r.sanction_seq for r in rows})
    exit_rows = [x for xs in _exits(conn, targets, size).values() for x in xs]
    return assemble_sanctions(rows, exit_rows, size)


def assemble_sanctions(version_rows: Iterable[Row[Any]], exit_rows: Iterable[Row[Any]], size: int) -> list[Sanction]:
    """Sanctions as known at ``size`` from their version and exit rows (pure: rows
    with a seq at or beyond ``size`` are ignored, so one load serves many sizes)."""
    latest: dict[int, Row[Any]] = {}
    for r in sorted(version_rows, key=lambda r: r.version_seq):
        if r.version_seq < size:
            latest[r.sanction_seq] = r  # later versions overwrite earlier ones
    ex: dict[int, list[Row[Any]]] = {}
    for x in sorted(exit_rows, key=lambda x: x.exit_seq):
        if x.exit_seq < size and x.target_seq in latest:
            ex.setdefault(x.target_seq, []).append(x)
    out = []
    for seq, r in sorted(latest.items()):
        e = ex.get(seq, [])
        ended = [x for x in e if x.kind == "ended"]
        end = min(ended, key=lambda x: x.on_date) if ended else None
        voided, exempted = _first(e, "voided"), _first(e, "exempted")
        out.append(Sanction(
            seq=seq, subject=r.subject, severity=r.severity, effective_from=_date(r.effective_from),
            effective_until=_d(r.effective_until), benefits=tuple(json.loads(r.benefits)),
            regions=tuple(json.loads(r.regions)), programmes=tuple(json.loads(r.programmes)),
            legal_basis=json.loads(r.legal_basis), deciding_body=r.deciding_body, version_seq=r.version_seq,
            ended_on=_d(end.on_date) if end else None, ended_seq=end.exit_seq if end else None,
            end_reason=end.reason if end else None, voided_seq=voided.exit_seq if voided else None,
            exempted_seq=exempted.exit_seq if exempted else None))
    return out


def clawbacks_of(conn: Connection, subjects_: list[str], size: int) -> list[Clawback]:
    if not subjects_:
        return []
    rows = conn.execute(select(clawbacks).where(clawbacks.c.subject.in_(subjects_), clawbacks.c.seq < size)
                        .order_by(clawbacks.c.seq)).all()
    seqs = [r.seq for r in rows]
    moves: dict[int, dict[str, int]] = {}
    if seqs:
        for m in conn.execute(select(money_moves).where(money_moves.c.clawback_seq.in_(seqs), money_moves.c.move_seq < size)):
            bucket = moves.setdefault(m.clawback_seq, {"recovered": 0, "waived": 0})
            bucket[m.kind] += m.amount_fen
    ex = _exits(conn, seqs, size)
    out = []
    for r in rows:
        moved, e = moves.get(r.seq, {"recovered": 0, "waived": 0}), ex.get(r.seq, [])
        voided, exempted = _first(e, "voided"), _first(e, "exempted")
        out.append(Clawback(r.seq, r.amount_fen, moved["recovered"], moved["waived"], _date(r.deadline),
                            voided.exit_seq if voided else None, exempted.exit_seq if exempted else None,
                            subject=r.subject, grant_seqs=tuple(json.loads(r.grant_seqs))))
    return out


def awards_of(conn: Connection, table: Table, subjects_: list[str], size: int) -> list[AwardRow]:
    """Honours or grants of ``subjects_`` known at ``size``, each with its status then:
    active, or how it stopped counting (revoked, voided, exempted)."""
    if not subjects_:
        return []
    rows = conn.execute(select(table).where(table.c.subject.in_(subjects_), table.c.seq < size)
                        .order_by(table.c.seq)).all()
    ex = _exits(conn, [r.seq for r in rows], size)
    return [dict(r._mapping, status=ex[r.seq][0].kind if r.seq in ex else "active") for r in rows]


def employers_on(conn: Connection, subject: str, size: int, on: date) -> list[str]:
    rows = conn.execute(select(links).where(links.c.subject == subject, links.c.seq < size)).all()
    ex = _exits(conn, [r.seq for r in rows], size)
    return sorted({r.organisation for r in rows
                   if not ex.get(r.seq) and _date(r.valid_from) <= on and (r.valid_until is None or on <= _date(r.valid_until))})


def load_facts(conn: Connection, subject: str, size: int, on: date) -> Facts:
    return Facts(
        tree_size=size,
        sanctions=tuple(sanctions_of(conn, [subject], size)),
        clawbacks=tuple(clawbacks_of(conn, [subject], size)),
        employer_sanctions=tuple(sanctions_of(conn, employers_on(conn, subject, size, on), size)),
    )
