"""Queries about a subject: eligibility (bitemporal), status and history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, Engine, func, select

from ledger.domain.eligibility import Clawback, Decision, Facts, Query, Sanction, decide
from ledger.domain.facts import AwardRow, award_rows, load_facts, programme_registry, state_of
from ledger.domain.regions import retired
from ledger.errors import Problem, ValidationError
from ledger.log.entry import Entry, format_time, from_canonical
from ledger.store import log_store
from ledger.store.schema import entries


def size_known_at(conn: Connection, known_at: int | datetime | None) -> int:
    """The tree size the ledger had at ``known_at``: a size, a moment, or now (None)."""
    current = log_store.size(conn)
    if known_at is None:
        return current
    if isinstance(known_at, int):
        if known_at < 0 or known_at > current:  # bad input, not a failed proof
            raise ValidationError([Problem("known_at", f"tree size {known_at} is beyond the log's size {current}")])
        return known_at
    stamp = format_time(known_at)
    return conn.execute(select(func.count()).select_from(entries).where(entries.c.recorded_at <= stamp)).scalar_one()


def eligibility(engine: Engine, subject: str | None, benefit: str, programme: str | None, region: str, on: date,
                known_at: int | datetime | None = None) -> Decision:
    """The pre-award check. ``programme`` is a registered programme code, or None to
    ask about every programme (a bar scoped to any of them applies). ``subject``
    None is a valid identifier not in the vault: the question is still checked,
    and the answer is eligible with no record behind it."""
    problems = question_problems(benefit, region)
    with engine.connect() as conn:
        size = size_known_at(conn, known_at)
        code = None
        if programme is not None:
            registry = programme_registry(conn, log_store.size(conn))
            code = registry.code(programme)
            if code is None:
                problems.append(Problem("programme", registry.unknown(programme) if programme.strip() else
                                        "must be a registered programme code, or left out to ask about every programme"))
        if problems:
            raise ValidationError(problems)
        facts = Facts(size) if subject is None else load_facts(conn, subject, size, on)
        return decide(Query(subject, benefit, code, region, on), facts)


def question_problems(benefit: str, region: str) -> list[Problem]:
    """What is wrong with a pre-award question's benefit and region, if anything."""
    from ledger.domain.records import BENEFITS
    from ledger.log.body_schema import region_code

    problems: list[Problem] = []
    if benefit not in BENEFITS:
        problems.append(Problem("benefit", "must be one of " + ", ".join(BENEFITS)))
    region_rule = region_code(region) or retired(region)
    if region_rule:
        problems.append(Problem("region", region_rule))
    return problems


@dataclass(frozen=True)
class Status:
    subject: str | None  # None: not in the vault, no record
    tree_size: int
    on: date
    sanctions: list[Sanction]  # with in_force(on)
    clawbacks: list[Clawback]
    honors: list[AwardRow]
    grants: list[AwardRow]


def status(engine: Engine, subject: str | None, on: date, known_at: int | datetime | None = None) -> Status:
    with engine.connect() as conn:
        size = size_known_at(conn, known_at)
        if subject is None:
            return Status(None, size, on, [], [], [], [])
        st = state_of(conn, subject, size)
        return Status(subject, size, on, st.sanctions(), st.clawbacks(), award_rows(st, "honor.granted"),
                      award_rows(st, "subsidy.granted"))


def history(engine: Engine, subject: str, *, types: list[str] | None = None, after: int = -1,
            limit: int = 100, known_at: int | None = None) -> list[Entry]:
    """The subject's entries in seq order (a page: seq > after, up to limit)."""
    with engine.connect() as conn:
        size = size_known_at(conn, known_at)
        return entries_page(conn, size, subject=subject, types=types, after=after, limit=limit)


def entries_page(conn: Connection, size: int, *, subject: str | None = None, types: list[str] | None = None,
                 authority: str | None = None, recorded_from: date | None = None, recorded_until: date | None = None,
                 after: int = -1, limit: int = 100) -> list[Entry]:
    """Entries with seq in (after, size), filtered, in seq order, at most ``limit``.
    ``recorded_from``/``recorded_until`` are inclusive UTC dates of ``recorded_at``."""
    q = select(entries.c.canonical).where(entries.c.seq > after, entries.c.seq < size)
    if subject is not None:
        q = q.where(entries.c.subject == subject)
    if types:
        q = q.where(entries.c.type.in_(types))
    if authority is not None:
        q = q.where(entries.c.authority_id == authority)
    if recorded_from is not None:
        q = q.where(entries.c.recorded_at >= f"{recorded_from.isoformat()}T")
    if recorded_until is not None:
        q = q.where(entries.c.recorded_at < f"{(recorded_until + timedelta(days=1)).isoformat()}T")
    rows = conn.execute(q.order_by(entries.c.seq).limit(limit))
    return [from_canonical(bytes(r.canonical)) for r in rows]
