"""An award round (docs/award-rounds.md): many candidates screened at one tree
size, their checks recorded as one batch under the round's reference, and the
recorded round read back for its report.

- ``screen``: every candidate's pre-award answer at one tree size, with the
  facts of the whole list loaded in a few statements (decision 0022's
  ``facts.states``: one ``IN (...)`` per 500 subjects, then one more for their
  employers). The rules are the single check's own (``eligibility.decide``), so
  a candidate's answer is exactly what ``eligibility`` answers for it alone.
- ``record_round``: signed ``eligibility.checked`` statements (signed in the
  officer's browser, decision 0016) appended all-or-nothing through
  ``append_statements``, the one write path: role, authority and token checked
  here before anything is read; signatures, key validity, jurisdiction (Art. 66:
  the officer records in its own region subtree) and every type rule judged
  there, under the append lock. As ``answer_problems`` does for a single
  statement, each recorded answer must be the ledger's at the round's tree size
  and ``proceed`` needs an eligible answer; here judged set-based.
- ``recorded_round``: the round's entries, read under ``may_read_entry``, for
  the report.

Non-scope: parsing the list (``ledger.domain.candidates``), the report's bytes
(``ledger.evidence.round_report``), HTTP (``ledger.console.round_routes``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, Engine, select

from ledger.access.policy import Action, Principal, require, require_entry
from ledger.access.statements import MAX_DEPTH, MAX_STATEMENT_BYTES, authorise
from ledger.domain import facts as facts_
from ledger.domain import vault_store
from ledger.domain.candidates import MAX_CANDIDATES, Candidate, RowProblem
from ledger.domain.eligibility import Decision, Facts, Query, decide
from ledger.domain.identifiers import Identifier, parse
from ledger.domain.vault import Vault
from ledger.errors import Forbidden, NotFound, Problem, ValidationError
from ledger.log import strict_json, tree
from ledger.log.append import Clock, append_statements
from ledger.log.entry import Entry, from_canonical
from ledger.log.statement import SignedStatement, signed_statement_from_json
from ledger.store import log_store
from ledger.store.schema import checkpoints, entries, subjects

MAX_REFERENCE = 100  # characters of a round reference: the award_ref field's own bound


@dataclass(frozen=True)
class Answer:
    """One candidate's answer: ``subject`` None is a valid identifier no subject holds."""

    candidate: Candidate
    subject: str | None
    decision: Decision


@dataclass(frozen=True)
class Anchor:
    """Where the answers stand in the log: the tree size they were computed at, its
    RFC 9162 root, and the signed checkpoint that commits to it (the first at or
    after that size; None until the operator signs one)."""

    tree_size: int
    root_hex: str
    checkpoint_size: int | None
    checkpoint: str | None  # the C2SP signed note


@dataclass(frozen=True)
class Screening:
    anchor: Anchor
    answers: tuple[Answer, ...]
    problems: tuple[RowProblem, ...]  # rows the ledger refuses to answer (an unregistered programme)


def screen(engine: Engine, vault: Vault | None, principal: Principal, candidates: Sequence[Candidate],
           tree_size: int | None = None) -> Screening:
    """Every candidate's answer at ``tree_size`` (the log's size now if None)."""
    require(principal, Action.check_eligibility)
    if not 1 <= len(candidates) <= MAX_CANDIDATES:
        raise ValidationError([Problem("candidates", f"must have 1-{MAX_CANDIDATES} items")])
    with engine.connect() as conn:
        size = _size(conn, tree_size)
        registry = facts_.programme_registry(conn, log_store.size(conn))
        problems: list[RowProblem] = []
        codes: dict[str, str] = {}
        for c in candidates:
            code = registry.code(c.programme)
            if code is None:
                problems.append(RowProblem(c.row, "programme", registry.unknown(c.programme)))
            else:
                codes[c.programme] = code
        refs = lookup_many(conn, vault, [parse(c.identifier, "identifier") for c in candidates])
        queries = [(c, refs[c.identifier], Query(refs[c.identifier], c.benefit, codes[c.programme], c.region, c.on))
                   for c in candidates if c.programme in codes]
        decisions = decide_many(conn, [q for _, _, q in queries], size)
        answers = tuple(Answer(c, ref, d) for (c, ref, _), d in zip(queries, decisions))
        return Screening(anchor(conn, size), answers, tuple(problems))


def _size(conn: Connection, tree_size: int | None) -> int:
    current = log_store.size(conn)
    if tree_size is None:
        return current
    if not 0 <= tree_size <= current:
        raise ValidationError([Problem("tree_size", f"is {tree_size}, beyond the log's size {current}")])
    return tree_size


def lookup_many(conn: Connection, vault: Vault | None, idents: Sequence[Identifier]) -> dict[str, str | None]:
    """{``scheme:number``: subject reference or None} for every identifier, one
    statement per ``facts.CHUNK`` (``vault_store.lookup`` would take one or two each)."""
    if vault is None:
        raise ValidationError([Problem("identifier", "this server holds no vault: identifiers cannot be looked up")])
    k = vault.current
    by_index = {k.blind_index(i): str(i) for i in idents}
    out: dict[str, str | None] = dict.fromkeys(by_index.values())
    keys = list(by_index)
    for lo in range(0, len(keys), facts_.CHUNK):
        part = keys[lo:lo + facts_.CHUNK]
        for r in conn.execute(select(subjects.c.blind_index, subjects.c.ref)
                              .where(subjects.c.blind_index.in_(part), subjects.c.key_epoch == k.epoch)):
            out[by_index[r.blind_index]] = str(r.ref)
    if any(v is None for v in out.values()) and vault_store.epoch(conn) != k.epoch:
        # The vault was re-keyed since this process loaded its keys: ask one by one, as lookup does.
        for i in idents:
            if out[str(i)] is None:
                out[str(i)] = vault_store.lookup(conn, vault, i)
    return out


def decide_many(conn: Connection, queries: Sequence[Query], size: int) -> list[Decision]:
    """``eligibility.decide`` for each query at ``size``, the facts of all of them
    loaded together: the subjects' states, then their employers' (Art. 66)."""
    states = facts_.states(conn, {q.subject for q in queries if q.subject is not None}, size)
    employers_of = {(q.subject, q.on): states[q.subject].employers_on(q.on) for q in queries if q.subject is not None}
    employers = facts_.states(conn, {e for es in employers_of.values() for e in es}, size)
    out = []
    for q in queries:
        if q.subject is None:
            out.append(decide(q, Facts(size)))
            continue
        st = states[q.subject]
        out.append(decide(q, Facts(size, tuple(st.sanctions()), tuple(st.clawbacks()),
                                   tuple(s for e in employers_of[(q.subject, q.on)] for s in employers[e].sanctions()))))
    return out


def anchor(conn: Connection, size: int) -> Anchor:
    root = tree.tree_root(conn, size).hex() if size else ""
    row = conn.execute(select(checkpoints.c.size, checkpoints.c.note).where(checkpoints.c.size >= size)
                       .order_by(checkpoints.c.size).limit(1)).first()
    return Anchor(size, root, row.size if row else None, row.note if row else None)


# --- recording ---------------------------------------------------------------------------

def parse_round(texts: Sequence[str]) -> list[SignedStatement]:
    """The round's signed statements, each parsed strictly as ``statements.parse_signed``
    parses one (its batch bound, 100, is the GraphQL call's; a round's is ``MAX_CANDIDATES``)."""
    if not 1 <= len(texts) <= MAX_CANDIDATES:
        raise ValidationError([Problem("statements", f"must have 1-{MAX_CANDIDATES} items")])
    out = []
    for i, text in enumerate(texts):
        if not isinstance(text, str) or len(text.encode("utf-8", "surrogatepass")) > MAX_STATEMENT_BYTES:
            raise ValidationError([Problem(f"statements.{i}", f"must be JSON text of at most {MAX_STATEMENT_BYTES} bytes")],
                                  index=i)
        try:
            out.append(signed_statement_from_json(strict_json.parse(text, max_depth=MAX_DEPTH, integers_only=True)))
        except ValidationError as e:
            raise ValidationError([Problem(_under(f"statements.{i}", p.field), p.rule) for p in e.problems], index=i) from e
    return out


def _under(where: str, field: str) -> str:
    field = field[2:] if field.startswith("$.") else "" if field == "$" else field
    return f"{where}.{field}" if field else where


def record_round(engine: Engine, principal: Principal, reference: str, signed: Sequence[SignedStatement],
                 clock: Clock) -> list[Entry]:
    """Append the round's signed checks as one all-or-nothing batch; their entries.

    Refused, nothing written: a role that may not record checks, a statement
    this token may not hand in (``Forbidden`` naming ``statements.<i>``), one
    that is not an ``eligibility.checked`` of this round (its ``award_ref``) or
    not at the round's one tree size, an answer or blocking list that is not
    the ledger's at that size, ``proceed`` on an answer other than eligible;
    then whatever ``append_statements`` refuses under the lock."""
    require(principal, Action.record_check)
    reference = reference.strip()
    if not reference or len(reference) > MAX_REFERENCE:
        raise ValidationError([Problem("reference", f"must be 1-{MAX_REFERENCE} characters")])
    items = list(signed)
    if not 1 <= len(items) <= MAX_CANDIDATES:
        raise ValidationError([Problem("statements", f"must have 1-{MAX_CANDIDATES} items")])
    for i, s in enumerate(items):
        if s.statement.type != "eligibility.checked":
            raise ValidationError([Problem(f"statements.{i}.type", "a round records eligibility.checked only")], index=i)
        authorise(principal, s.statement.type, s.statement.authority, f"statements.{i}.")
    _check_answers(engine, reference, items)
    try:
        return append_statements(engine, items, clock)
    except ValidationError as e:  # name the item as the caller numbered it
        where = f"statements.{e.index}" if e.index is not None else "statements.0" if len(items) == 1 else "statements"
        raise ValidationError([Problem(_under(where, p.field), p.rule) for p in e.problems], index=e.index) from e


def _check_answers(engine: Engine, reference: str, items: list[SignedStatement]) -> None:
    from ledger.log import entry_types

    problems: list[Problem] = []
    bodies = []
    for i, s in enumerate(items):
        try:  # the body's shape first: the fields below exist and are typed
            entry_types.validate(s.statement.draft, index=i)
        except ValidationError as e:
            raise ValidationError([Problem(_under(f"statements.{i}", p.field), p.rule) for p in e.problems], index=i) from e
        b = s.statement.draft.body
        bodies.append(b)
        if b["award_ref"].strip() != reference:
            problems.append(Problem(f"statements.{i}.body.award_ref", f"is {b['award_ref']!r}, not the round's {reference!r}"))
        if b["tree_size"] != bodies[0]["tree_size"]:
            problems.append(Problem(f"statements.{i}.body.tree_size", "a round is answered at one tree size: "
                                                                       f"{bodies[0]['tree_size']}"))
    if problems:
        raise ValidationError(problems)
    with engine.connect() as conn:
        size = _size(conn, bodies[0]["tree_size"])
        registry = facts_.programme_registry(conn, log_store.size(conn))
        queries = []
        for i, (s, b) in enumerate(zip(items, bodies)):
            code = registry.code(b["programme"])
            if code is None:
                problems.append(Problem(f"statements.{i}.body.programme", registry.unknown(b["programme"])))
            queries.append(Query(s.statement.draft.subject, b["benefit"], code, b["region"], date.fromisoformat(b["on"])))
        if problems:
            raise ValidationError(problems)
        decisions = decide_many(conn, queries, size)
    for i, (b, d) in enumerate(zip(bodies, decisions)):
        where = f"statements.{i}.body"
        if d.answer != b["answer"]:
            problems.append(Problem(f"{where}.answer", f"is {b['answer']}, but the ledger answered {d.answer} at "
                                                       f"tree_size {size}"))
        if sorted(d.blocking_seqs) != sorted(b["blocking"]):
            problems.append(Problem(f"{where}.blocking", f"is {sorted(b['blocking'])}, but the ledger's answer names "
                                                         f"{sorted(d.blocking_seqs)}"))
        # Art. 66: a barred or doubtful candidate proceeds only by an override with approver and reason.
        if d.answer != "eligible" and b["decision"] == "proceed":
            problems.append(Problem(f"{where}.decision", f"the answer is {d.answer}: proceeding needs decision "
                                                         "'override' with an approver and a reason"))
    if problems:
        raise ValidationError(problems)


# --- reading a recorded round back ------------------------------------------------------

@dataclass(frozen=True)
class RecordedCheck:
    entry: Entry
    identifier: str  # as the officer listed it, checked against the vault
    decision: Decision  # the ledger's answer at the entry's tree size, with its reasons


@dataclass(frozen=True)
class RecordedRound:
    reference: str
    anchor: Anchor
    checks: tuple[RecordedCheck, ...]
    unrecorded: tuple[Answer, ...] = ()  # valid identifiers no subject holds: eligible, no record, nothing to record


def recorded_round(engine: Engine, vault: Vault | None, principal: Principal, reference: str,
                   seqs: Sequence[int], identifiers: Sequence[str],
                   unrecorded: Sequence[Candidate] = ()) -> RecordedRound:
    """The round's recorded checks (``seqs``, with the identifier the officer listed
    for each) for its report. Each entry must be readable by ``principal``
    (``may_read_entry``: an officer reads the checks it recorded), an
    ``eligibility.checked`` of ``reference`` at one tree size, about the subject
    its identifier names. The reasons are recomputed at that size (the same
    answer forever: the log only grows). ``unrecorded``: the round's candidates
    no subject holds (an ``eligibility.checked`` needs a subject), each checked
    to be in no vault record and answered at the same size."""
    require(principal, Action.check_eligibility)
    if not 1 <= len(seqs) + len(unrecorded) <= MAX_CANDIDATES or len(seqs) != len(identifiers):
        raise ValidationError([Problem("seqs", f"must have 1-{MAX_CANDIDATES} items, one identifier each")])
    with engine.connect() as conn:
        rows = {r.seq: from_canonical(bytes(r.canonical))
                for lo in range(0, len(seqs), facts_.CHUNK)
                for r in conn.execute(select(entries.c.seq, entries.c.canonical)
                                      .where(entries.c.seq.in_(list(seqs[lo:lo + facts_.CHUNK]))))}
        found: list[Entry] = []
        for i, seq in enumerate(seqs):
            e = rows.get(seq)
            if e is None:
                raise NotFound(f"seqs.{i}: no entry {seq}")
            require_entry(principal, e)
            if e.type != "eligibility.checked" or e.body.get("award_ref", "").strip() != reference.strip():
                raise ValidationError([Problem(f"seqs.{i}", f"entry {seq} is not a check of round {reference!r}")])
            found.append(e)
        size = found[0].body["tree_size"] if found else log_store.size(conn)
        if any(e.body["tree_size"] != size for e in found):
            raise ValidationError([Problem("seqs", "the checks were answered at different tree sizes: not one round")])
        refs = lookup_many(conn, vault, [parse(t, f"identifiers.{i}") for i, t in enumerate(identifiers)])
        registry = facts_.programme_registry(conn, log_store.size(conn))
        queries = []
        for i, (e, text) in enumerate(zip(found, identifiers)):
            if refs[str(parse(text))] != e.subject:
                raise Forbidden(f"identifiers.{i}: does not name the subject of entry {e.seq}")
            b = e.body
            queries.append(Query(e.subject, b["benefit"], registry.code(b["programme"]), b["region"],
                                 date.fromisoformat(b["on"])))
        decisions = decide_many(conn, queries, size)
        none = lookup_many(conn, vault, [parse(c.identifier, "unrecorded") for c in unrecorded])
        if any(ref is not None for ref in none.values()):
            raise ValidationError([Problem("unrecorded", "names a subject on record: its check must be recorded")])
        blank = [Answer(c, None, decide(Query(None, c.benefit, None, c.region, c.on), Facts(size))) for c in unrecorded]
        return RecordedRound(reference.strip(), anchor(conn, size),
                             tuple(RecordedCheck(e, str(parse(t)), d) for e, t, d in zip(found, identifiers, decisions)),
                             tuple(blank))
