"""Reconciling the funding systems' transactions with the ledger. Pure: the
ledger's facts and two lookups come in, findings come out.

Two streaming passes over the source (it is re-readable): the first
fingerprints every row and collects reversals, the second checks every row and
books payments and recoveries.
Memory is per grant and per distinct payment, never per source row kept as
an object. The result does not depend on the order of the rows: of two equal
payments under different ``txn_id``\\s, the larger id is the duplicate.

Finding kinds (docs/reconciliation.md):

=====================  =========================================================
``unknown_grant``      a payment or recovery whose grant_ref (trimmed, case-folded) matches no grant
``payee_mismatch``     paid to someone other than the grant's subject (or to no known subject)
``payee_erased``       paid on a grant whose subject was erased (PIPL Art. 47): the payee cannot be matched any more
``overpaid``           net payments for a grant exceed the amount granted
``duplicate_payment``  same grant, payee, amount and date under another txn_id, or a repeated txn_id
``paid_while_barred``  booked on a date the payee was barred from subsidies there, as known then (Art. 66)
``paid_after_revocation``  booked after the grant was voided or a clawback was ordered on it (Art. 65)
``unrecorded_recovery``  a recovery on a grant with no clawback ordered
``over_recovered``     recoveries beyond what was ordered (less what was waived)
``clawback_overdue``   deadline passed, less recovered than ordered
``unpaid_grant``       older than N days, nothing paid (informational)
``invalid_row``        a row that breaks docs/contracts.md §2.5 (column and rule named)
``orphan_reversal``    a reversal of a txn_id that is not in the input
``reversal_mismatch``  a reversal that does not match what it reverses (it cancels nothing)
=====================  =========================================================

Reversals (docs/reconciliation.md, "Reversals"): a reversal cancels the whole
or a part of one earlier payment or recovery: the same grant_ref (trimmed,
case-folded) and the same payee, booked on or after it, for at most what of it
is not yet reversed. Anything else is a ``reversal_mismatch`` and cancels
nothing: a 1-fen "reversal" under another grant must not hide a payment.

Rows are identified by their content (``row_digest``) and txn_id, never by
their position: the report is a function of the multiset of rows (decision 0006).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import cast

from ledger.domain.records import RECONCILIATION_KINDS
from ledger.finance.transactions import Record, RowProblem, Txn, parse, record_of, row_digest, txn_id_of

KINDS = RECONCILIATION_KINDS
# Kinds a report's ``counts`` lists only when found: a report of a night without
# them keeps the bytes it had before they existed, so anchored nights stay
# reproducible (decision 0019).
LISTED_WHEN_FOUND = ("payee_erased",)
# RFC 8785 §3.2.2.3 (I-JSON): the report's integers are exact only up to 2^53 - 1.
MAX_REPORT_INT = 2**53 - 1


def normalise_ref(ref: str) -> str:
    return ref.strip().casefold()


@dataclass(frozen=True, slots=True)
class GrantFact:
    seq: int
    subject: str
    grant_ref: str  # normalised
    amount_fen: int
    decision_date: date
    region: str
    programme: str
    voided_on: date | None = None  # the correction's recording date
    voided_seq: int | None = None


@dataclass(frozen=True, slots=True)
class ClawbackFact:
    seq: int
    grant_seqs: tuple[int, ...]
    amount_fen: int
    waived_fen: int
    deadline: date
    decision_date: date


@dataclass
class Book:
    """The ledger's side, as known at ``tree_size``: live clawbacks only."""

    tree_size: int
    grants: dict[str, GrantFact]  # by normalised grant_ref
    clawbacks: list[ClawbackFact]
    sanctioned: frozenset[str] = frozenset()  # subjects with any sanction (others are never barred)
    # Subjects erased (PIPL Art. 47) -> the seq of their subject.erased entry: their
    # identifiers are gone from the vault, so their payees can no longer be matched.
    erased: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    kind: str
    message: str
    txn_id: str | None = None
    grant_ref: str | None = None
    subject: str | None = None
    seqs: tuple[int, ...] = ()
    amounts: dict[str, int] = field(default_factory=dict)

    def sort_key(self):
        # A total order on the content: findings that tie on kind, grant and txn_id
        # (two invalid rows without a txn_id, say) must not keep the rows' order.
        return (self.kind, self.grant_ref or "", self.txn_id or "", self.seqs, self.message,
                tuple(sorted(self.amounts.items())))

    def to_json(self) -> dict:
        """As report.json holds it. An amount beyond ±(2^53 - 1) (a sum over
        hundreds of rows at the per-row maximum: only a broken or hostile input
        gets there) is written at that bound; the message has the exact figure."""
        amounts = {k: max(-MAX_REPORT_INT, min(v, MAX_REPORT_INT)) for k, v in self.amounts.items()}
        return {"kind": self.kind, "txn_id": self.txn_id, "grant_ref": self.grant_ref, "subject": self.subject,
                "seqs": list(self.seqs), "amounts": amounts, "message": self.message}


@dataclass
class Result:
    as_of: date
    rows: int
    fingerprint: str
    findings: list[Finding]

    @property
    def counts(self) -> dict[str, int]:
        out = {k: 0 for k in KINDS if k not in LISTED_WHEN_FOUND}
        for f in self.findings:
            out.setdefault(f.kind, 0)
            out[f.kind] += 1
        return out


PayeeRef = Callable[[str, str], "str | None"]  # (scheme, id) -> subject reference, or None
BarredBy = Callable[[str, str, str, date], "tuple[int, ...]"]  # (subject, region, programme, on) -> blocking seqs
Add = Callable[[Finding], None]  # where findings go
PaymentKey = tuple[int, int, int, int]  # (grant seq, payee key, amount, day ordinal)


def _records(rows: Iterable[Record | Mapping[str, object]]) -> Iterator[Record]:
    for row in rows:
        # A source yields plain tuples (or an ``Unreadable``, a tuple too); anything else is a
        # mapping row. (The exact-type test is the cheap one, run once a row.)
        yield row if type(row) is tuple or isinstance(row, tuple) else record_of(row)


@dataclass(frozen=True)
class Scan:
    """Pass 1's result: the input's size and fingerprint, and its reversals."""

    rows: int
    fingerprint: str
    reversed_by: dict[str, tuple[Txn, ...]]  # reversed txn_id -> its reversals booked by as_of, in a fixed order
    repeated: frozenset[str] = frozenset()  # txn_ids on more than one row (as trimmed)
    repeated_reversals: tuple[Txn, ...] = ()  # reversal rows repeating another's txn_id: they cancel nothing


Rows = Callable[[], Iterable[Record | Mapping[str, object]]]


def scan(rows: Rows, as_of: date) -> Scan:
    """Pass 1: fingerprint the input (order-independent: a sum of row hashes) and
    collect the reversals booked by ``as_of``; only reversal rows are parsed.
    Needs no ledger state, so a caller may run it beside loading the book."""
    count, digest = 0, 0
    reversals: dict[str, list[Txn]] = {}
    ids: set[str] = set()
    repeated: set[str] = set()
    for row in _records(rows()):
        count += 1
        d = row_digest(row)
        digest += d
        txn_id = txn_id_of(row)
        if txn_id in ids:
            repeated.add(txn_id)
        ids.add(txn_id)
        kind = row[1]
        if kind is not None and str(kind).strip().lower() == "reversal":
            t = parse(row, d)
            if isinstance(t, Txn) and t.booked_on <= as_of:
                reversals.setdefault(t.reverses, []).append(t)
    # A reversal's txn_id on several rows cancels once: the copy first in field order
    # (as for any repeated id); the others are reported and cancel nothing.
    kept: dict[str, Txn] = {}
    copies: list[Txn] = []
    for t in sorted((t for ts in reversals.values() for t in ts), key=_field_order):
        if t.txn_id in kept:
            copies.append(t)
        else:
            kept[t.txn_id] = t
    once: dict[str, list[Txn]] = {}
    for t in kept.values():
        once.setdefault(t.reverses, []).append(t)
    # Each target's reversals in an order of their content, not of the rows: they
    # are applied in this order (``_Booking.book_reversed``).
    reversed_by = {k: tuple(sorted(v, key=_reversal_order)) for k, v in once.items()}
    # the sum mod 2^256, reduced once
    return Scan(count, f"{count}:{digest % (1 << 256):064x}", reversed_by, frozenset(repeated),
                tuple(sorted(copies, key=_reversal_order)))


def reconcile(rows: Rows, book: Book, as_of: date, *, payee_ref: PayeeRef, barred: BarredBy,
              unpaid_days: int = 90, scanned: Scan | None = None) -> Result:
    """Reconcile the transactions booked on or before ``as_of`` against ``book``
    (``scanned``: pass 1 over the same rows, if the caller has run it already)."""
    findings: list[Finding] = []
    add = findings.append
    scanned = scanned or scan(rows, as_of)

    # Pass 2: check every row, book payments and recoveries.
    booking = _Booking(book, payee_ref, add)
    targets, held = booking.check_rows(rows, as_of, scanned)
    # Reversed rows and their reversals, then rows sharing a txn_id, are booked after
    # the pass, in an order the input's order cannot change.
    booking.book_reversed(targets, scanned.reversed_by)
    booking.book_repeats(held)
    # Which payment a copy repeats is settled only once every row is booked.
    booking.report_copies()
    _report_orphan_reversals(scanned.reversed_by, set(targets), as_of, add)
    for r in scanned.repeated_reversals:
        add(Finding("invalid_row", f"txn_id {r.txn_id} appears more than once (a reversal of {r.reverses}); this "
                                   "copy cancels nothing", txn_id=r.txn_id, amounts={"amount_fen": r.amount_fen}))

    # What was booked, against the book: each payment that counts, each grant, each clawback.
    paid = _check_payments(booking, book, barred, add)
    _check_grants(book, paid, as_of, unpaid_days, add)
    _recoveries(book, booking.recovered, booking.by_seq, as_of, add)
    findings.sort(key=Finding.sort_key)
    return Result(as_of, scanned.rows, scanned.fingerprint, findings)


class _Booking:
    """Pass 2's state: every txn_id seen, each distinct payment once (with the
    smallest txn_id that booked it), the copies, and the recoveries per grant."""

    def __init__(self, book: Book, payee_ref: PayeeRef, add: Add):
        self.book, self.payee_ref, self.add = book, payee_ref, add
        self.seen: set[str] = set()
        self.payees: dict[tuple[str, str], int] = {}  # (scheme, id) as written -> payee index
        self.payee_refs: list[str | None] = []
        self.identity: dict[str, int] = {}  # who the payee is (subject reference, or the text) -> key
        self.payee_key: list[int] = []
        self.kept: dict[PaymentKey, str] = {}  # each distinct payment -> its smallest txn_id
        self.copies: list[tuple[PaymentKey, str, GrantFact, int]] = []  # payments repeating a kept one
        self.recovered: dict[int, int] = {}
        self.by_seq = {g.seq: g for g in book.grants.values()}
        self.clawed = {s for c in book.clawbacks for s in c.grant_seqs}

    def check_rows(self, rows: Rows, as_of: date, scanned: Scan) -> tuple[dict[str, list[Txn]], dict[str, list[Txn]]]:
        """Book every valid row booked by ``as_of``; return the rows that reversals
        name (held for ``book_reversed``) and the valid rows of repeated txn_ids
        (held for ``book_repeats``)."""
        add, book_row = self.add, self.book_row
        reversed_by, repeated = scanned.reversed_by, scanned.repeated
        targets: dict[str, list[Txn]] = {}
        held: dict[str, list[Txn]] = {}
        for row in _records(rows()):
            t = parse(row, 0)
            if isinstance(t, RowProblem):
                add(_invalid(t, row_digest(row)))
                continue
            if t.booked_on > as_of:
                continue
            if t.txn_id in reversed_by:
                targets.setdefault(t.txn_id, []).append(t)  # settled once every reversal is known
                continue
            if t.kind == "reversal":
                continue
            if t.txn_id in repeated:
                held.setdefault(t.txn_id, []).append(t)
                continue
            book_row(t)
        return targets, held

    def book_reversed(self, targets: dict[str, list[Txn]], reversed_by: dict[str, tuple[Txn, ...]]) -> None:
        """Each reversed row, less what its matching reversals cancel (docs/reconciliation.md,
        "Reversals"). Of several rows under the reversed txn_id, the reversed one is the
        first in field order (as for any repeated id); the others are repeats."""
        for txn_id in sorted(targets):
            first, *others = sorted(targets[txn_id], key=_field_order)
            left = first.amount_fen
            for r in reversed_by[txn_id]:
                differs = self._differences(r, first, left)
                if differs:
                    self._mismatch(r, first, differs)
                else:
                    left -= r.amount_fen
            if first.kind == "reversal":
                self.seen.add(first.txn_id)  # a reversal of a reversal cancels nothing (reported above)
            elif left > 0:
                self.book_row(first if left == first.amount_fen else replace(first, amount_fen=left))
            else:
                self.seen.add(first.txn_id)  # wholly reversed: counts for nothing
            for t in others:
                if t.kind != "reversal":
                    self.book_row(t)

    def _differences(self, r: Txn, t: Txn, left: int) -> list[str]:
        """What keeps reversal ``r`` from cancelling ``left`` fen of ``t``: nothing, or each rule it breaks."""
        if t.kind == "reversal":
            return [f"{t.txn_id} is itself a reversal"]
        out = []
        if normalise_ref(r.grant_ref) != normalise_ref(t.grant_ref):
            out.append(f"grant_ref {r.grant_ref!r} is not {t.grant_ref!r}")
        if self._payee(r) != self._payee(t):
            out.append(f"payee {r.payee_scheme}:{_masked(r.payee_id)} is not the {t.kind}'s payee "
                       f"{t.payee_scheme}:{_masked(t.payee_id)}")
        if r.booked_on < t.booked_on:
            out.append(f"booked on {r.booked_on}, before the {t.kind} it reverses ({t.booked_on})")
        if r.amount_fen > left:
            out.append(f"{r.amount_fen} fen is more than the {left} fen of it not yet reversed")
        return out

    def _mismatch(self, r: Txn, t: Txn, differs: list[str]) -> None:
        g = self.book.grants.get(normalise_ref(t.grant_ref))
        self.add(Finding("reversal_mismatch", f"reversal {r.txn_id} of {t.kind} {t.txn_id} does not match it: "
                                              f"{'; '.join(differs)}. It cancels nothing: {t.txn_id} still counts",
                         txn_id=r.txn_id, grant_ref=g.grant_ref if g else normalise_ref(t.grant_ref) or None,
                         subject=g.subject if g else None, seqs=(g.seq,) if g else (),
                         amounts={"amount_fen": r.amount_fen, "reversed_fen": t.amount_fen}))

    def book_repeats(self, held: dict[str, list[Txn]]) -> None:
        # A txn_id on several rows: the copy that counts must not depend on the order
        # the funding system returned the rows in (decision 0006), so it is the first
        # in field order; the others are reported as repeats.
        for txn_id in sorted(held):
            for t in sorted(held[txn_id], key=_field_order):
                self.book_row(t)

    def book_row(self, t: Txn) -> None:
        """One valid row: a txn_id booked already, a grant_ref no grant has, a recovery, or a payment."""
        if t.txn_id in self.seen:
            self.add(Finding("duplicate_payment" if t.kind == "payment" else "invalid_row",
                             f"txn_id {t.txn_id} appears more than once", txn_id=t.txn_id,
                             grant_ref=normalise_ref(t.grant_ref) or None, amounts={"amount_fen": t.amount_fen}))
            return
        self.seen.add(t.txn_id)
        g = self.book.grants.get(normalise_ref(t.grant_ref))
        if g is None:
            self.add(Finding("unknown_grant", f"{t.kind} {t.txn_id} is booked against grant_ref {t.grant_ref!r}, "
                                              "which no grant in the ledger has" + _not_nfc(t.grant_ref),
                             txn_id=t.txn_id, grant_ref=normalise_ref(t.grant_ref) or None,
                             amounts={"amount_fen": t.amount_fen}))
        elif t.kind == "recovery":
            self._book_recovery(t, g)
        else:
            self._book_payment(t, g)

    def _book_recovery(self, t: Txn, g: GrantFact) -> None:
        if g.seq not in self.clawed:
            self.add(Finding("unrecorded_recovery", f"recovery {t.txn_id} on grant {g.grant_ref}, which has no "
                                                    "clawback ordered in the ledger", txn_id=t.txn_id,
                             grant_ref=g.grant_ref, subject=g.subject, seqs=(g.seq,),
                             amounts={"amount_fen": t.amount_fen}))
        self.recovered[g.seq] = self.recovered.get(g.seq, 0) + t.amount_fen

    def _book_payment(self, t: Txn, g: GrantFact) -> None:
        key = (g.seq, self._payee(t), t.amount_fen, t.booked_on.toordinal())
        first = self.kept.get(key)
        if first is None:
            self.kept[key] = t.txn_id
        else:  # the larger id is the copy; which one it repeats is settled after the pass
            self.copies.append((key, max(first, t.txn_id), g, t.amount_fen))
            self.kept[key] = min(first, t.txn_id)

    def _payee(self, t: Txn) -> int:
        """The payee's key: one per person paid, however the number was typed
        (``payee_ref`` is asked once per distinct (scheme, id) as written)."""
        payee = self.payees.setdefault((t.payee_scheme, t.payee_id), len(self.payees))
        if payee == len(self.payee_refs):
            ref = self.payee_ref(t.payee_scheme, t.payee_id)
            self.payee_refs.append(ref)
            # Duplicates compare who was paid, not how the number was typed.
            who = ref or f"{t.payee_scheme}:{t.payee_id.strip().upper()}"
            self.payee_key.append(self.identity.setdefault(who, len(self.identity)))
        return self.payee_key[payee]

    def report_copies(self) -> None:
        for key, txn_id, g, amount in self.copies:
            self.add(Finding("duplicate_payment", f"payment {txn_id} repeats payment {self.kept[key]} (same grant, "
                                                  f"payee, amount and date)", txn_id=txn_id, grant_ref=g.grant_ref,
                             subject=g.subject, seqs=(g.seq,), amounts={"amount_fen": amount}))

    def counted(self) -> Iterator[tuple[str, GrantFact, date, str | None, int]]:
        """The payments that count, once per (grant, payee, amount, date): their
        txn_id, grant, date, payee (subject reference, if known) and amount."""
        ref_of = {k: self.payee_refs[i] for i, k in enumerate(self.payee_key)}
        for (seq, payee, amount, day), txn_id in self.kept.items():
            yield txn_id, self.by_seq[seq], date.fromordinal(day), ref_of[payee], amount


def _invalid(p: RowProblem, digest: int) -> Finding:
    """A row that breaks a rule, named by its txn_id and its content digest (the
    first 16 hex digits of ``row_digest``), never by its position: the report
    must not depend on the rows' order (decision 0006)."""
    return Finding("invalid_row", f"row {digest:064x}"[:20] + f"…: {p.field} {p.rule}", txn_id=p.txn_id or None)


def _masked(payee_id: str) -> str:
    """A payee identifier as a finding names it: its last four characters only."""
    return "…" + payee_id[-4:] if len(payee_id) > 4 else payee_id


def _reversal_order(t: Txn) -> tuple:
    return (t.booked_on, t.txn_id, *_field_order(t))


def _not_nfc(ref: str) -> str:
    # Grant references match by code points after trimming and case folding, as the
    # ledger keeps them (ledger.domain.facts.normalise_grant_ref): no silent Unicode
    # normalisation on one side only. Say so when that is likely why nothing matched.
    if unicodedata.is_normalized("NFC", ref):
        return ""
    return " (it is not in Unicode NFC form: the funding system may have decomposed accents or used compatibility characters)"


def _report_orphan_reversals(reversed_by: dict[str, tuple[Txn, ...]], found: set[str], as_of: date,
                             add: Add) -> None:
    for target, reversals in sorted(reversed_by.items()):
        if target not in found:
            for r in reversals:
                add(Finding("orphan_reversal", f"reversal {r.txn_id} cancels {target}, which is not in the input "
                                               f"(or not booked by {as_of})", txn_id=r.txn_id))


def _check_payments(booking: _Booking, book: Book, barred: BarredBy, add: Add) -> dict[int, int]:
    """Each payment that counts: to the grant's subject, before the grant was
    stopped, to no one barred that day. Returns the net paid per grant seq."""
    paid: dict[int, int] = {}
    stop = _stops(book)
    for txn_id, g, on, ref, amount in booking.counted():
        paid[g.seq] = paid.get(g.seq, 0) + amount
        if ref is None and g.subject in book.erased:
            # Decision 0019: the subject's identifiers were erased, so whether the payee
            # was the subject cannot be known; the finding names only the erasure's
            # seq, which no later vault change alters (not a payee_mismatch every night).
            gone = book.erased[g.subject]
            add(Finding("payee_erased", f"payment {txn_id} on grant {g.grant_ref}: the grant's subject was erased "
                                        f"at seq {gone} (PIPL Art. 47), so the payee can no longer be matched",
                        txn_id=txn_id, grant_ref=g.grant_ref, subject=g.subject, seqs=(g.seq, gone),
                        amounts={"amount_fen": amount}))
        elif ref != g.subject:
            who = "a payee not in the vault" if ref is None else f"subject {ref[:12]}…"
            add(Finding("payee_mismatch", f"payment {txn_id} on grant {g.grant_ref} went to {who}, not to the "
                                          f"grant's subject {g.subject[:12]}…", txn_id=txn_id, grant_ref=g.grant_ref,
                        subject=g.subject, seqs=(g.seq,), amounts={"amount_fen": amount}))
        if g.seq in stop and on > stop[g.seq][0]:
            when, why, by = stop[g.seq]
            add(Finding("paid_after_revocation", f"payment {txn_id} on {on} came after the grant was {why} on "
                                                 f"{when} (seq {by})", txn_id=txn_id, grant_ref=g.grant_ref,
                        subject=g.subject, seqs=(g.seq, by), amounts={"amount_fen": amount}))
        if ref is not None and ref in book.sanctioned:
            blocking = barred(ref, g.region, g.programme, on)
            if blocking:
                add(Finding("paid_while_barred", f"payment {txn_id} on {on} went to a subject barred from "
                                                 f"subsidies in {g.region} by sanction {', '.join(map(str, blocking))} "
                                                 "(as the ledger knew it that day)", txn_id=txn_id,
                            grant_ref=g.grant_ref, subject=ref, seqs=(g.seq, *blocking), amounts={"amount_fen": amount}))
    return paid


def _check_grants(book: Book, paid: dict[int, int], as_of: date, unpaid_days: int, add: Add) -> None:
    """Each grant, in seq order: not paid beyond its amount, not left unpaid too long."""
    for g in sorted(book.grants.values(), key=lambda g: g.seq):
        net = paid.get(g.seq, 0)
        if net > g.amount_fen:
            add(Finding("overpaid", f"grant {g.grant_ref}: paid {net} fen, granted {g.amount_fen} fen",
                        grant_ref=g.grant_ref, subject=g.subject, seqs=(g.seq,),
                        amounts={"granted_fen": g.amount_fen, "paid_fen": net, "excess_fen": net - g.amount_fen}))
        if (net == 0 and g.voided_on is None and g.decision_date <= as_of - timedelta(days=unpaid_days)):
            add(Finding("unpaid_grant", f"grant {g.grant_ref} of {g.decision_date} has nothing paid after "
                                        f"{unpaid_days} days", grant_ref=g.grant_ref, subject=g.subject,
                        seqs=(g.seq,), amounts={"granted_fen": g.amount_fen}))


def _field_order(t: Txn) -> tuple:
    return (t.kind, t.grant_ref, t.payee_scheme, t.payee_id, t.amount_fen, t.booked_on, t.programme, t.reverses)


def _stops(book: Book) -> dict[int, tuple[date, str, int]]:
    """Per grant: the first date after which nothing more may be paid, why, and the entry."""
    out: dict[int, tuple[date, str, int]] = {}
    for g in book.grants.values():
        if g.voided_on is not None:
            # The book sets voided_seq with voided_on (load_book: one correction entry).
            out[g.seq] = (g.voided_on, "voided", cast(int, g.voided_seq))
    for c in sorted(book.clawbacks, key=lambda c: c.seq):
        for s in c.grant_seqs:
            if s not in out or c.decision_date < out[s][0]:
                out[s] = (c.decision_date, "clawed back", c.seq)
    return out


def _recoveries(book: Book, recovered: dict[int, int], by_seq: dict[int, GrantFact], as_of: date, add: Add) -> None:
    due_by_grant: dict[int, int] = {}
    for c in book.clawbacks:
        for s in c.grant_seqs:
            due_by_grant[s] = due_by_grant.get(s, 0) + c.amount_fen - c.waived_fen
    for seq, got in sorted(recovered.items()):
        due = due_by_grant.get(seq)
        if due is not None and got > due:
            g = by_seq[seq]
            add(Finding("over_recovered", f"grant {g.grant_ref}: recovered {got} fen, ordered {due} fen "
                                          "(less waivers)", grant_ref=g.grant_ref, subject=g.subject, seqs=(seq,),
                        amounts={"ordered_fen": due, "recovered_fen": got, "excess_fen": got - due}))
    # Allocate each grant's recoveries to its clawbacks in the order they were ordered.
    pool = dict(recovered)
    for c in sorted(book.clawbacks, key=lambda c: c.seq):
        due = c.amount_fen - c.waived_fen
        got = 0
        for s in c.grant_seqs:
            take = min(pool.get(s, 0), due - got)
            pool[s] = pool.get(s, 0) - take
            got += take
        if c.deadline < as_of and got < due:
            first = by_seq.get(c.grant_seqs[0])
            add(Finding("clawback_overdue", f"clawback {c.seq}: {got} of {due} fen recovered by {as_of}, deadline "
                                            f"{c.deadline}", grant_ref=first.grant_ref if first else None,
                        subject=first.subject if first else None, seqs=(c.seq, *c.grant_seqs),
                        amounts={"ordered_fen": c.amount_fen, "waived_fen": c.waived_fen, "recovered_fen": got,
                                 "outstanding_fen": due - got}))
