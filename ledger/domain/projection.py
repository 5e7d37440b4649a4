"""The domain projection: writes the derived rows for each domain entry, and
judges new domain entries against the state, inside the append lock.

State rules (each a ``Problem`` naming the field):
- the subject is in the vault and not erased; every ref'd entry concerns the
  same subject, has the right type, and is still live (not voided, revoked,
  ended);
- money: a clawback orders no more than is still claimable on its grants
  (Art. 65); recoveries and waivers never exceed what is outstanding;
- ``grant_ref`` is unique (trimmed, case-folded);
- **the award guard**: ``honor.granted`` and ``subsidy.granted`` for a subject
  barred on the decision date, for that benefit, region and programme, are
  refused (``Barred``) unless the body carries an override (approver and
  reason), which is then part of the signed record.

Set-based per batch (decision 0022): ``load`` reads, in a few statements per
batch (``IN (...)`` over the batch's subjects, chunked), every fact the rules
read: the subjects' states folded from the log, their employers', their vault
rows and the grant refs already taken. ``check`` then judges each draft in
memory, and ``apply`` keeps those facts current as each entry is sealed, so
later drafts in one batch see earlier ones exactly as when each row was written
at once. The rows are buffered and written by ``flush`` with one ``executemany``
per table, in the append transaction, after the entries: a crash or a refused
draft before commit rolls both back. The rows are insert-only (``rows_of``;
revision 0006, decision 0019) and are checked against the log by
``ledger.domain.projection_check``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Connection, Table, insert, select

from ledger.domain import vault_store
from ledger.domain.authorities import AuthorityRegistry
from ledger.domain.effects import DOMAIN_TYPES, EFFECTS
from ledger.domain.eligibility import Facts, LegalBasis, Query, decide
from ledger.domain.facts import (
    VaultState,
    authority_registry,
    grant_refs_taken,
    normalise_grant_ref,
    programme_registry,
    state_of,
    states,
    vault_states,
)
from ledger.domain.jurisdiction import outside, touched
from ledger.domain.programmes import ProgrammeRegistry, normalise_programme
from ledger.domain.regions import retired as _retired
from ledger.domain.state import SubjectState, retention
from ledger.errors import Barred, Forbidden, Problem
from ledger.log import entry_types
from ledger.log.entry import Draft, Entry
from ledger.store import log_store
from ledger.store.schema import (
    DOMAIN_PROJECTIONS,
    clawbacks,
    exits,
    grants,
    honors,
    links,
    money_moves,
    overrides,
    sanction_versions,
)

# What each type may act on: the effects table (docs/effects.md), kept here in the
# shape the generated reference reads.
REF_TYPES = {t: set(e.targets) for t, e in EFFECTS.items() if e.targets}
FINAL_EXITS = {"voided", "revoked", "exempted"}  # what can make a target no longer actionable (docs/effects.md)
# Built once: SQLAlchemy would otherwise build and hash a new statement per row (decision 0022).
INSERTS = {t.name: insert(t) for t in DOMAIN_PROJECTIONS}
# python-stdnum's GB/T 2260 lookup is pure and costs about 0.1 ms a code; a batch names few codes.
retired = lru_cache(maxsize=4096)(_retired)
RETENTION = timedelta(days=5 * 365)  # 征信业管理条例 Art. 16: negative information kept five years

Body = Mapping[str, Any]
"""An entry body: JSON, already validated against its entry type's fields (``records``)."""
Scope = Mapping[str, Sequence[str]]
"""A sanction's scope: ``benefits``, ``regions`` and optionally ``programmes`` (``records.scope``)."""
Rule = Callable[[Draft, int, dict[int, Entry]], list[Problem]]
"""A per-type state rule, ``_check_<type>``: the draft, its seq and its ref'd entries -> problems."""


class DomainProjection:
    """State rules and projection rows for the domain types.

    The rules read each subject's state folded from its entries
    (``ledger.domain.state``): loaded once per batch from the log, then kept
    current as each new entry of the batch is sealed (``apply``)."""

    def __init__(self) -> None:
        self.conn: Connection | None = None
        self.states: dict[str, SubjectState] = {}
        self.pending: dict[str, list[Entry]] = {}  # this batch's entries of subjects not loaded yet
        self.registry: ProgrammeRegistry = ProgrammeRegistry({})
        self.authorities = AuthorityRegistry()
        self.size = 0
        self.today = date.min
        self._present: dict[str, set[tuple[object, ...]]] | None = None  # set by clear() for a rebuild
        self.vault: dict[str, VaultState | None] = {}  # the batch's subjects' vault rows, kept current
        self.taken: dict[str, int | None] = {}  # normalised grant_ref -> seq (None: free), kept current
        self.rows: dict[str, list[dict[str, object]]] = {}  # rows to write at flush(), per table
        self.versions: dict[int, Mapping[str, Any]] = {}  # sanction seq -> its latest version row since load()

    # --- Projection protocol --------------------------------------------------
    def load(self, conn: Connection, drafts: Sequence[Draft] = (), ref_entries: dict[int, Entry] | None = None,
             recorded_at: str = "") -> None:
        self.conn, self.states, self.pending, self.size = conn, {}, {}, log_store.size(conn)
        self.registry = programme_registry(conn, self.size)
        self.authorities = authority_registry(conn, self.size)
        self.today = date.fromisoformat(recorded_at[:10]) if recorded_at else date.min
        self.rows, self.versions = {}, {}
        domain = [d for d in drafts if d.type in DOMAIN_TYPES and d.subject is not None]
        orgs = {d.body["organisation"] for d in domain
                if d.type == "subject.linked" and isinstance(d.body.get("organisation"), str)}
        subjects_ = {cast(str, d.subject) for d in domain} | orgs
        # The facts the batch's rules read, a few statements each (decision 0022); anything
        # not named here (an employer linked in a later draft) is still read on demand.
        self.vault = vault_states(conn, subjects_)
        refs = [normalise_grant_ref(d.body["grant_ref"]) for d in domain
                if d.type == "subsidy.granted" and isinstance(d.body.get("grant_ref"), str)]
        self.taken = {**dict.fromkeys(refs), **grant_refs_taken(conn, refs)}  # None: looked up, free
        self.states = states(conn, subjects_, self.size)
        employers = {link.organisation for st in self.states.values() for link in st.links()}
        self.states.update(states(conn, employers - self.states.keys(), self.size))

    @property
    def _conn(self) -> Connection:
        # The append path calls load() before check() and apply() (projection protocol).
        return cast(Connection, self.conn)

    def state(self, subject: str) -> SubjectState:
        """The subject's state at the head, this batch's earlier entries included."""
        if subject not in self.states:
            st = state_of(self._conn, subject, self.size)
            for e in self.pending.pop(subject, []):
                st.add(e)
            self.states[subject] = st
        return self.states[subject]

    def check(self, d: Draft, seq: int, ref_entries: dict[int, Entry]) -> list[Problem]:
        # Who signs (docs/authorities.md): a registered authority, with its registered region.
        if d.type == "authority.registered":
            return self.authorities.registration_problems(d.body)
        if d.type == "key.registered":
            return self.authorities.key_problems(d.body)
        if d.type == "token.issued":
            return self.authorities.token_problems(d.body)
        if entry_types.get(d.type).signed_by == "authority":
            signer = self.authorities.signer_problems(d.authority)
            if signer:
                return signer
        if d.type == "programme.registered":
            self._jurisdiction(d)
            return self._check_programme_registered(d)
        if d.type not in DOMAIN_TYPES:
            return []
        problems = self._subject_problems(d) + self._ref_problems(d, ref_entries)
        problems += self._registry_problems(d.body)
        if problems or any(r not in ref_entries for r in d.refs):
            return problems  # a missing ref is reported by the log rules; the type rules need it
        self._jurisdiction(d)
        rule: Rule | None = getattr(self, "_check_" + d.type.replace(".", "_"), None)
        return rule(d, seq, ref_entries) if rule else []

    def apply(self, e: Entry) -> None:
        self.authorities.apply(e)
        if e.type == "programme.registered":
            self.registry = self.registry.with_entry(e)
        elif e.subject is not None and e.subject in self.states:
            self.states[e.subject].add(e)
        elif e.subject is not None:
            self.pending.setdefault(e.subject, []).append(e)
        for table, values in rows_of(e, self._latest_version):
            self._insert(table, values)
        if e.type == "subsidy.granted":
            self.taken[normalise_grant_ref(e.body["grant_ref"])] = e.seq
        if e.type == "subject.erased":
            self._write_subject_erased(e)

    def flush(self, conn: Connection) -> None:
        """The rows buffered by ``apply``: one ``executemany`` per table (decision 0022),
        in the caller's transaction, after the entries (append step 8); a crash before
        commit leaves neither."""
        for name, rows in self.rows.items():
            if rows:
                conn.execute(INSERTS[name], rows)
        self.rows = {}

    def clear(self, conn: Connection) -> None:
        """Before ``ledger reindex`` replays the log: the tables are insert-only
        (decision 0019), so nothing is deleted. Every stored row is checked against
        the log first (``ProjectionDrift`` names the first that differs, and nothing
        is written); the replay then inserts only the rows that are missing. All in
        reindex's one transaction: a crash leaves the tables as they were."""
        from ledger.domain import projection_check

        size = log_store.size(conn)
        projection_check.check(conn, size, missing_ok=True)
        self._present = {t.name: projection_check.stored_keys(conn, t) for t in DOMAIN_PROJECTIONS}

    # --- shared rules -------------------------------------------------------------
    def _jurisdiction(self, d: Draft) -> None:
        """The recording authority's region must cover every region the record
        touches, at the locked head (docs/authorities.md). Whoever writes (API,
        CLI, DAG), the authority named in the entry is the one held to it."""
        st = self.state(d.subject) if d.subject is not None else None
        far = outside(d.authority.region, touched(d.type, d.body, d.refs, st, self.state))
        if far:
            raise Forbidden(f"region {', '.join(far)} is outside the jurisdiction {d.authority.region} "
                            f"of authority {d.authority.id}")

    def _subject_problems(self, d: Draft) -> list[Problem]:
        state = self._vault(_subject(d))
        if state is None:
            return [Problem("subject", "is not a subject in the vault (add it with `ledger subject add`)")]
        if state[1] is not None and d.type != "subject.erased":
            return [Problem("subject", f"was erased at seq {state[1]}")]
        if state[1] is not None:
            return [Problem("subject", f"was already erased at seq {state[1]}")]
        return []

    def _ref_problems(self, d: Draft, ref_entries: dict[int, Entry]) -> list[Problem]:
        allowed = EFFECTS[d.type].targets
        problems: list[Problem] = []
        for r in d.refs:
            target = ref_entries.get(r)
            if target is None:
                continue  # reported by the log rules
            if target.subject != d.subject:
                problems.append(Problem("refs", f"seq {r} concerns another subject"))
            elif target.type not in allowed:
                want = " or ".join(sorted(allowed)) if allowed else "nothing"
                problems.append(Problem("refs", f"seq {r} is a {target.type}; {d.type} refs {want}"))
            else:
                gone = self._not_actionable(d.type, target)
                if gone:
                    problems.append(Problem("refs", f"seq {r} {gone}"))
        return problems

    def _not_actionable(self, rtype: str, target: Entry) -> str | None:
        """Why ``target`` can no longer be acted on by a ``rtype`` (docs/effects.md), if so."""
        st = self.state(_subject(target))
        if not st.live(target.seq):
            return f"was already voided at seq {st.voids[target.seq]}"
        if rtype == "honor.revoked":
            award = next(a for a in st.awards("honor.granted") if a.seq == target.seq)
            if award.revoked_seq is not None:
                return f"was already revoked at seq {award.revoked_seq}"
        exempted = self._exempted_seq(st, target)
        if exempted is not None and rtype in ("exemption.granted", "sanction.amended", "clawback.recovered",
                                              "clawback.waived"):
            return f"was already exempted at seq {exempted}"
        return None

    @staticmethod
    def _exempted_seq(st: SubjectState, target: Entry) -> int | None:
        if target.type == "sanction.imposed":
            return next(s.exempted_seq for s in st.sanctions() if s.seq == target.seq)
        if target.type == "clawback.ordered":
            return next(c.exempted_seq for c in st.clawbacks() if c.seq == target.seq)
        return None

    def _registry_problems(self, body: Body) -> list[Problem]:
        """Programmes must be registered codes; regions must be current codes."""
        problems = []
        scope = body.get("scope") or {}
        for i, code in enumerate(scope.get("programmes") or []):
            if self.registry.code(code) is None:
                problems.append(Problem(f"body.scope.programmes.{i}", self.registry.unknown(code)))
        if isinstance(body.get("programme"), str) and self.registry.code(body["programme"]) is None:
            problems.append(Problem("body.programme", self.registry.unknown(body["programme"])))
        for i, code in enumerate(scope.get("regions") or []):
            if retired(code):
                problems.append(Problem(f"body.scope.regions.{i}", cast(str, retired(code))))
        if isinstance(body.get("region"), str) and retired(body["region"]):
            problems.append(Problem("body.region", cast(str, retired(body["region"]))))
        return problems

    def _guard(self, d: Draft, seq: int, benefit: str) -> list[Problem]:
        """The award guard: checked against the state under the append lock."""
        body, subject = d.body, _subject(d)
        on = date.fromisoformat(body["decision_date"])
        q = Query(subject, benefit, self.registry.code(body["programme"]), body["region"], on)
        st = self.state(subject)
        employers = [self.state(org) for org in st.employers_on(on)]
        facts = Facts(seq, tuple(st.sanctions()), tuple(st.clawbacks()),
                      tuple(s for e in employers for s in e.sanctions()))
        decision = decide(q, facts)
        if decision.answer == "barred" and "override" not in body:
            raise Barred(subject, decision.blocking_seqs, "; ".join(r.message for r in decision.blocking))
        return []

    # --- per-type rules -------------------------------------------------------
    def _check_programme_registered(self, d: Draft) -> list[Problem]:
        problems = []
        code = d.body["code"]
        if normalise_programme(code) != code:
            problems.append(Problem("body.code", "must be NFC-normalised without surrounding spaces"))
        elif self.registry.code(code) is not None:
            problems.append(Problem("body.code", f"{code} is already registered"))
        if retired(d.body["region"]):
            problems.append(Problem("body.region", cast(str, retired(d.body["region"]))))
        return problems

    def _check_honor_granted(self, d: Draft, seq: int, refs: dict[int, Entry]) -> list[Problem]:
        return self._guard(d, seq, "honor")

    def _check_subsidy_granted(self, d: Draft, seq: int, refs: dict[int, Entry]) -> list[Problem]:
        ref = normalise_grant_ref(d.body["grant_ref"])
        if ref not in self.taken:  # a draft load() was not given (never on the append path)
            self.taken[ref] = grant_refs_taken(self._conn, [ref]).get(ref)
        taken = self.taken[ref]
        if taken is not None:
            return [Problem("body.grant_ref", f"is already used by the grant at seq {taken}")]
        return self._guard(d, seq, "subsidy")

    def _check_clawback_ordered(self, d: Draft, seq: int, refs: dict[int, Entry]) -> list[Problem]:
        problems = _not_before(d.body, "deadline", "decision_date")
        st = self.state(_subject(d))
        total = sum(refs[r].body["amount_fen"] for r in d.refs)
        ordered = sum(c.amount_fen - c.waived_fen for c in st.clawbacks()
                      if set(c.grant_seqs) & set(d.refs) and c.voided_seq is None and c.exempted_seq is None)
        claimable = total - ordered
        if d.body["amount_fen"] > claimable:
            problems.append(Problem("body.amount_fen", f"is {d.body['amount_fen']} fen, more than the {claimable} fen "
                                    f"still claimable on grants {list(d.refs)} ({total} granted, {ordered} already ordered)"))
        return problems

    def _outstanding_problems(self, d: Draft, seq: int, what: str) -> list[Problem]:
        c = next((c for c in self.state(_subject(d)).clawbacks() if c.seq == d.refs[0]), None)
        if c is None:
            return [Problem("refs", f"seq {d.refs[0]} is not a clawback of this subject")]
        if d.body["amount_fen"] > c.outstanding_fen:
            return [Problem("body.amount_fen", f"{what} {d.body['amount_fen']} fen exceeds the {c.outstanding_fen} fen "
                            f"outstanding on clawback {c.seq}")]
        return []

    def _check_clawback_recovered(self, d: Draft, seq: int, refs: dict[int, Entry]) -> list[Problem]:
        return self._outstanding_problems(d, seq, "recovery of")

    def _check_clawback_waived(self, d: Draft, seq: int, refs: dict[int, Entry]) -> list[Problem]:
        return self._outstanding_problems(d, seq, "waiver of")

    def _check_sanction_imposed(self, d: Draft, seq: int, refs: dict[int, Entry]) -> list[Problem]:
        return _not_before(d.body, "effective_until", "effective_from")

    def _check_sanction_amended(self, d: Draft, seq: int, refs: dict[int, Entry]) -> list[Problem]:
        changes = {"effective_from", "effective_until", "indefinite", "scope"} & set(d.body)
        if not changes:
            return [Problem("body", "an amendment must change effective_from, effective_until, indefinite or scope")]
        if "indefinite" in d.body and "effective_until" in d.body:
            return [Problem("body.indefinite", "cannot be given together with effective_until")]
        current = next((s for s in self.state(_subject(d)).sanctions() if s.seq == d.refs[0]), None)
        if current is None:
            return [Problem("refs", f"seq {d.refs[0]} is not a sanction of this subject")]
        start = d.body.get("effective_from", current.effective_from.isoformat())
        until = None if "indefinite" in d.body else d.body.get(
            "effective_until", current.effective_until.isoformat() if current.effective_until else None)
        return _not_before({"from": start, "until": until}, "until", "from", "body.effective_until")

    def _check_subject_linked(self, d: Draft, seq: int, refs: dict[int, Entry]) -> list[Problem]:
        org = self._vault(d.body["organisation"])
        # In the vault and not erased: _subject_problems ran first and found no problem.
        person = cast(VaultState, self._vault(_subject(d)))
        problems = _not_before(d.body, "valid_until", "valid_from")
        if org is None or org[0] != "organisation":
            problems.append(Problem("body.organisation", "is not an organisation subject in the vault"))
        if person[0] != "person":
            problems.append(Problem("subject", "must be a person"))
        return problems

    def _check_eligibility_checked(self, d: Draft, seq: int, refs: dict[int, Entry]) -> list[Problem]:
        b, problems = d.body, []
        if b["tree_size"] > seq:
            problems.append(Problem("body.tree_size", f"is {b['tree_size']}, beyond the log's size {seq}"))
        if any(s >= b["tree_size"] for s in b["blocking"]):
            problems.append(Problem("body.blocking", "names seqs beyond tree_size"))
        if b["decision"] == "override" and not (b.get("approver") and b.get("reason")):
            problems.append(Problem("body.approver", "an override needs an approver and a reason"))
        if b["decision"] == "override" and b["answer"] == "eligible":
            problems.append(Problem("body.decision", "nothing to override: the answer was eligible"))
        return problems

    def _check_subject_erased(self, d: Draft, seq: int, refs: dict[int, Entry]) -> list[Problem]:
        """PIPL Art. 47 erasure waits for the record to have run its course (docs/effects.md)."""
        why = retention(self.state(_subject(d)), self.today)
        return [Problem("subject", why)] if why else []

    # --- writes --------------------------------------------------------------------
    def _vault(self, ref: str) -> VaultState | None:
        """The subject's vault row as of now in this batch (loaded by load(), kept current by apply())."""
        if ref not in self.vault:
            self.vault[ref] = vault_store.subject_state(self._conn, ref)
        return self.vault[ref]

    def _insert(self, table: Table, values: dict[str, object]) -> None:
        if table is sanction_versions:
            self.versions[cast(int, values["sanction_seq"])] = values  # rows_of reads it for a later amendment
        if self._present is not None and key_of(table, values) in self._present[table.name]:
            return  # rebuilding (clear): the row is there already, and was checked equal to the log's
        self.rows.setdefault(table.name, []).append(values)

    def _latest_version(self, sanction_seq: int) -> Mapping[str, Any]:
        """The sanction's latest version row: this batch's (still buffered), else the table's."""
        if sanction_seq in self.versions:
            return self.versions[sanction_seq]
        row = self._conn.execute(select(sanction_versions).where(sanction_versions.c.sanction_seq == sanction_seq)
                                 .order_by(sanction_versions.c.version_seq.desc()).limit(1)).one()
        return dict(row._mapping)

    def _write_subject_erased(self, e: Entry) -> None:
        # PIPL Art. 47: in the same transaction as the entry; a crash before commit
        # leaves both the entry and the personal data. The commit removes the row's
        # data; copies of it (WAL, free pages, heap, backups) open nothing only after
        # the epoch rotation that follows (ledger.domain.vault_rotation, docs/erasure.md).
        vault_store.erase(self._conn, _subject(e), e.seq)
        kind = self._vault(_subject(e))
        self.vault[_subject(e)] = (kind[0] if kind else "person", e.seq)


def rows_of(e: Entry, latest_version: Callable[[int], Mapping[str, Any]]) -> list[tuple[Table, dict[str, object]]]:
    """The rows entry ``e`` adds to the domain projections (pure: ``latest_version``
    reads a sanction's latest version row, from the table or from a replay).

    Every row is new: a state change (an amendment, an end, a correction) is a new
    row keyed by the seq of the entry that made it, never an edit of an old one, so
    the tables can refuse UPDATE and DELETE (revision 0006, decision 0019)."""
    b, t = e.body, e.type

    def exit_(target: int, kind: str, on_date: str | None = None,
              reason: str | None = None) -> tuple[Table, dict[str, object]]:
        return exits, {"target_seq": target, "exit_seq": e.seq, "subject": e.subject, "kind": kind,
                       "on_date": on_date, "reason": reason}

    if t == "honor.granted":
        return [(honors, {"seq": e.seq, "subject": e.subject, "title": b["title"], "level": b["level"],
                          "programme": b["programme"], "decision_date": b["decision_date"],
                          "region": b["region"]})] + _override(e)
    if t == "honor.revoked":
        return [exit_(e.refs[0], "revoked", b["decision_date"])]
    if t == "subsidy.granted":
        return [(grants, {"seq": e.seq, "subject": e.subject, "grant_ref": normalise_grant_ref(b["grant_ref"]),
                          "programme": b["programme"], "kind": b["kind"], "amount_fen": b["amount_fen"],
                          "decision_date": b["decision_date"], "region": b["region"]})] + _override(e)
    if t == "eligibility.checked":
        return _override(e)
    if t == "clawback.ordered":
        return [(clawbacks, {"seq": e.seq, "subject": e.subject, "amount_fen": b["amount_fen"],
                             "deadline": b["deadline"], "grant_seqs": json.dumps(list(e.refs)),
                             "decision_date": b["decision_date"]})]
    if t in ("clawback.recovered", "clawback.waived"):
        recovered = t == "clawback.recovered"
        return [(money_moves, {"move_seq": e.seq, "clawback_seq": e.refs[0],
                               "kind": "recovered" if recovered else "waived", "amount_fen": b["amount_fen"],
                               "on_date": b["recovered_on"] if recovered else b["decision_date"]})]
    if t == "sanction.imposed":
        return [_version(e, e.seq, b["effective_from"], b.get("effective_until"), b["scope"], b["severity"],
                         b["legal_basis"], b["deciding_body"])]
    if t == "sanction.amended":
        row = latest_version(e.refs[0])
        until = None if "indefinite" in b else b.get("effective_until", row["effective_until"])
        scope = b.get("scope") or {"benefits": json.loads(row["benefits"]), "regions": json.loads(row["regions"]),
                                   "programmes": json.loads(row["programmes"])}
        return [_version(e, e.refs[0], b.get("effective_from", row["effective_from"]), until, scope,
                         row["severity"], json.loads(row["legal_basis"]), row["deciding_body"])]
    if t == "sanction.ended":
        return [exit_(e.refs[0], "ended", b["ended_on"], b["reason"])]
    if t == "exemption.granted":
        return [exit_(r, "exempted", b["decision_date"]) for r in e.refs]
    if t == "entry.corrected":
        return [exit_(e.refs[0], "voided")]
    if t == "subject.linked":
        return [(links, {"seq": e.seq, "subject": e.subject, "organisation": b["organisation"],
                         "relation": b["relation"], "valid_from": b["valid_from"],
                         "valid_until": b.get("valid_until")})]
    return []


def _override(e: Entry) -> list[tuple[Table, dict[str, object]]]:
    """An award made despite a bar (the body's ``override``), or a check decided
    ``override`` (Art. 68): the approver is who is accountable for the exception."""
    b = e.body
    row: dict[str, object] = {"seq": e.seq, "type": e.type, "authority_id": e.authority.id, "actor": e.actor,
                              "region": b["region"], "subject": e.subject}
    if e.type == "eligibility.checked":
        if b["decision"] != "override":
            return []
        row |= {"kind": "check", "approver": b.get("approver", ""), "officer": b["officer"],
                "reason": b.get("reason", ""), "on_date": b["on"], "amount_fen": None}
    elif "override" in b:
        row |= {"kind": "award", "approver": b["override"]["approver"], "officer": None,
                "reason": b["override"]["reason"], "on_date": b["decision_date"], "amount_fen": b.get("amount_fen")}
    else:
        return []
    return [(overrides, row)]


# The entry types that add projection rows, per table (rows_of).
WRITERS: dict[str, tuple[str, ...]] = {
    "honors": ("honor.granted",),
    "grants": ("subsidy.granted",),
    "clawbacks": ("clawback.ordered",),
    "money_moves": ("clawback.recovered", "clawback.waived"),
    "sanction_versions": ("sanction.imposed", "sanction.amended"),
    "exits": ("honor.revoked", "sanction.ended", "exemption.granted", "entry.corrected"),
    "links": ("subject.linked",),
    "overrides": ("honor.granted", "subsidy.granted", "eligibility.checked"),
}


def key_of(table: Table, values: Mapping[str, object]) -> tuple[object, ...]:
    """A row's primary key (every domain projection's key is the seqs that made the row)."""
    return tuple(values[c.name] for c in table.primary_key.columns)


def _version(e: Entry, sanction_seq: int, start: str, until: str | None, scope: Scope, severity: str,
             basis: LegalBasis, body: str) -> tuple[Table, dict[str, object]]:
    return sanction_versions, {
        "version_seq": e.seq, "sanction_seq": sanction_seq, "subject": e.subject, "severity": severity,
        "effective_from": start, "effective_until": until, "benefits": json.dumps(sorted(scope["benefits"])),
        "regions": json.dumps(sorted(scope["regions"])), "programmes": json.dumps(sorted(scope.get("programmes") or [])),
        "legal_basis": json.dumps(basis, ensure_ascii=False, sort_keys=True), "deciding_body": body}


def _not_before(body: Body, later: str, earlier: str, field: str | None = None) -> list[Problem]:
    if body.get(later) and body.get(earlier) and body[later] < body[earlier]:
        return [Problem(field or f"body.{later}", f"{body[later]} is before {earlier} {body[earlier]}")]
    return []


def _subject(d: Draft | Entry) -> str:
    """Every domain type requires a subject (``entry_types.validate`` runs before any projection)."""
    return cast(str, d.subject)
