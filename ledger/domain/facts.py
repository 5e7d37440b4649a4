"""Reading a subject's facts as known at a tree size: the subject's own entries
with ``seq < N`` folded by the effects table (``ledger.domain.state``), so "as
the ledger knew it at size N" is exact, corrections of any entry included.

``assemble_sanctions`` still reads the projection rows for the nightly
reconciliation's bulk load."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any, cast

from sqlalchemy import Connection, Row, Table, select

from ledger.domain.authorities import AuthorityRegistry
from ledger.domain.eligibility import Clawback, Facts, Sanction
from ledger.domain.programmes import ProgrammeRegistry
from ledger.domain.state import SubjectState
from ledger.log.entry import from_canonical
from ledger.store.schema import entries, grants, subjects

AwardRow = dict[str, str | int]
"""An ``honors`` or ``grants`` row (column name -> its text or integer value) plus ``status``."""


def _date(text: str) -> date:
    """A NOT NULL date column (an ISO date validated when its entry was appended)."""
    return date.fromisoformat(text)


def _d(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _first(rows: Iterable[Row[Any]], kind: str) -> Row[Any] | None:
    return next((r for r in rows if r.kind == kind), None)


CHUNK = 500
"""Subjects per ``IN (...)`` list: far below SQLite's 32,766 bound parameters (its
default since 3.32), and a batch of 1,000 drafts is served in two or three
statements (decision 0022)."""


def chunks(items: Iterable[str], size: int = CHUNK) -> Iterator[list[str]]:
    """``items`` deduplicated and sorted, in lists of at most ``size``."""
    wanted = sorted(set(items))
    for lo in range(0, len(wanted), size):
        yield wanted[lo:lo + size]


def states(conn: Connection, subjects_: Iterable[str], size: int) -> dict[str, SubjectState]:
    """Each subject's state folded from its entries with ``seq < size`` (one
    statement per ``CHUNK`` subjects). A subject's entries all come from the one
    chunk that names it, in seq order, so the fold sees them as one query would."""
    out: dict[str, SubjectState] = {}
    for part in chunks(subjects_):
        out.update((s, SubjectState(s)) for s in part)
        rows = conn.execute(select(entries.c.canonical).where(entries.c.subject.in_(part), entries.c.seq < size)
                            .order_by(entries.c.seq))
        for r in rows:
            e = from_canonical(bytes(r.canonical))
            out[cast(str, e.subject)].add(e)
    return out


VaultState = tuple[str, int | None]
"""A vault subject's (kind, erased_seq), as ``vault_store.subject_state`` gives it."""


def vault_states(conn: Connection, refs: Iterable[str]) -> dict[str, VaultState | None]:
    """``vault_store.subject_state`` for many subjects at once (one statement per
    ``CHUNK``): None for a reference the vault does not hold."""
    out: dict[str, VaultState | None] = {}
    for part in chunks(refs):
        out.update(dict.fromkeys(part))
        for r in conn.execute(select(subjects.c.ref, subjects.c.kind, subjects.c.erased_seq)
                              .where(subjects.c.ref.in_(part))):
            out[r.ref] = (r.kind, r.erased_seq)
    return out


def grant_refs_taken(conn: Connection, refs: Iterable[str]) -> dict[str, int]:
    """{normalised grant_ref: the seq of the grant that holds it} for those of
    ``refs`` already in the ``grants`` projection (one statement per ``CHUNK``)."""
    out: dict[str, int] = {}
    for part in chunks(refs):
        out.update((r.grant_ref, r.seq) for r in conn.execute(select(grants.c.grant_ref, grants.c.seq)
                                                              .where(grants.c.grant_ref.in_(part))))
    return out


def state_of(conn: Connection, subject: str, size: int) -> SubjectState:
    return states(conn, [subject], size)[subject]


def sanctions_of(conn: Connection, subjects_: list[str], size: int) -> list[Sanction]:
    return [s for st in states(conn, subjects_, size).values() for s in st.sanctions()]


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
    return [c for st in states(conn, subjects_, size).values() for c in st.clawbacks()]


def award_rows(state: SubjectState, type_: str) -> list[AwardRow]:
    """Honours or grants as rows (the projection's columns) with their status:
    active, revoked or voided."""
    out: list[AwardRow] = []
    for a in state.awards(type_):
        b = a.body
        row: AwardRow = {"seq": a.seq, "subject": state.subject, "programme": b["programme"],
                         "decision_date": b["decision_date"], "region": b["region"], "status": a.status}
        if type_ == "honor.granted":
            row.update(title=b["title"], level=b["level"])
        else:
            # As recorded: the normalised form (``normalise_grant_ref``) is what matching uses
            # (the grants projection, reconciliation), not what an officer typed and reads.
            row.update(grant_ref=b["grant_ref"], kind=b["kind"], amount_fen=b["amount_fen"])
        out.append(row)
    return out


def facts_of(conn: Connection, state: SubjectState, size: int, on: date) -> Facts:
    employers = states(conn, state.employers_on(on), size)
    return Facts(tree_size=size, sanctions=tuple(state.sanctions()), clawbacks=tuple(state.clawbacks()),
                 employer_sanctions=tuple(s for st in employers.values() for s in st.sanctions()))


def load_facts(conn: Connection, subject: str, size: int, on: date) -> Facts:
    return facts_of(conn, state_of(conn, subject, size), size, on)


def normalise_grant_ref(ref: str) -> str:
    """Reconciliation matches after trimming and case-folding (docs/reconciliation.md)."""
    return ref.strip().casefold()


AWARD_TYPES = {"honors": "honor.granted", "grants": "subsidy.granted"}


def awards_of(conn: Connection, table: Table, subjects_: list[str], size: int) -> list[AwardRow]:
    """Honours (``honors``) or grants (``grants``) of ``subjects_`` known at ``size``."""
    return [row for st in states(conn, subjects_, size).values() for row in award_rows(st, AWARD_TYPES[table.name])]


def authority_registry(conn: Connection, size: int) -> AuthorityRegistry:
    """The authorities registered by ``authority.registered`` entries with ``seq < size``."""
    rows = conn.execute(select(entries.c.canonical).where(entries.c.type == "authority.registered",
                                                          entries.c.seq < size).order_by(entries.c.seq))
    return AuthorityRegistry.of(from_canonical(bytes(r.canonical)) for r in rows)


def programme_registry(conn: Connection, size: int) -> ProgrammeRegistry:
    """The programmes registered by ``programme.registered`` entries with ``seq < size``."""
    rows = conn.execute(select(entries.c.canonical).where(entries.c.type == "programme.registered",
                                                          entries.c.seq < size).order_by(entries.c.seq))
    return ProgrammeRegistry.of([from_canonical(bytes(r.canonical)) for r in rows])
