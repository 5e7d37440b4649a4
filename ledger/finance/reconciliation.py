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
from typing import TYPE_CHECKING, cast

from ledger.domain.records import RECONCILIATION_KINDS
from ledger.finance.transactions import (
    COLUMNS,
    MAX_FEN,
    Record,
    RowProblem,
    Txn,
    parse,
    record_of,
    row_digest,
    txn_id_of,
)

if TYPE_CHECKING:
    import polars as pl

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
              unpaid_days: int = 90, scanned: Scan | None = None, table: pl.LazyFrame | None = None) -> Result:
    """Reconcile the transactions booked on or before ``as_of`` against ``book``
    (``scanned``: pass 1 over the same rows, if the caller has run it already;
    ``table``: the same rows as columns, ``csv_table.plain_table``, if the caller
    has them: the plain payments are then booked set-based, decision 0025)."""
    findings: list[Finding] = []
    add = findings.append
    scanned = scanned or scan(rows, as_of)

    # Pass 2: check every row, book payments and recoveries.
    booking = _Booking(book, payee_ref, add, columnar=table is not None)
    targets, held = booking.check_rows(rows, as_of, scanned, table)
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

    def __init__(self, book: Book, payee_ref: PayeeRef, add: Add, columnar: bool = False):
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
        # Set-based (decision 0025): the plain payments as a table, the others' bookings
        # as (key, txn_id), both settled together by ``report_copies``.
        self.columnar = columnar
        self.fast: pl.DataFrame | None = None
        self.raw: list[tuple[PaymentKey, str]] = []
        self.settled: pl.DataFrame | None = None

    def check_rows(self, rows: Rows, as_of: date, scanned: Scan,
                   table: pl.LazyFrame | None = None) -> tuple[dict[str, list[Txn]], dict[str, list[Txn]]]:
        """Book every valid row booked by ``as_of``; return the rows that reversals
        name (held for ``book_reversed``) and the valid rows of repeated txn_ids
        (held for ``book_repeats``). With ``table``, its plain payments are booked
        set-based and only the other rows go through the loop below."""
        add, book_row = self.add, self.book_row
        reversed_by, repeated = scanned.reversed_by, scanned.repeated
        targets: dict[str, list[Txn]] = {}
        held: dict[str, list[Txn]] = {}
        each = _records(rows()) if table is None else self._book_plain(table, as_of, scanned)
        for row in each:
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
        if self.columnar:
            self.raw.append((key, t.txn_id))  # settled with the table's (``_settle``)
            return
        first = self.kept.get(key)
        if first is None:
            self.kept[key] = t.txn_id
        else:  # the larger id is the copy; which one it repeats is settled after the pass
            self.copies.append((key, max(first, t.txn_id), g, t.amount_fen))
            self.kept[key] = min(first, t.txn_id)

    def _payee(self, t: Txn) -> int:
        return self._payee_of(t.payee_scheme, t.payee_id)

    def _payee_of(self, scheme: str, payee_id: str) -> int:
        """The payee's key: one per person paid, however the number was typed
        (``payee_ref`` is asked once per distinct (scheme, id) as written)."""
        payee = self.payees.setdefault((scheme, payee_id), len(self.payees))
        if payee == len(self.payee_refs):
            ref = self.payee_ref(scheme, payee_id)
            self.payee_refs.append(ref)
            # Duplicates compare who was paid, not how the number was typed.
            who = ref or f"{scheme}:{payee_id.strip().upper()}"
            self.payee_key.append(self.identity.setdefault(who, len(self.identity)))
        return self.payee_key[payee]

    def report_copies(self) -> None:
        if self.columnar:
            self._settle()
            return
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

    # --- Set-based booking of the plain payments (decision 0025) ---------------------------

    def _book_plain(self, table: pl.LazyFrame, as_of: date, scanned: Scan) -> Iterator[Record]:
        """Book the table's plain payments set-based; yield every other row, as
        ``CsvSource.rows`` would, for the row-by-row loop.

        A row is plain when ``parse`` would take it as it is and the loop would
        book it straight away as a payment on a known grant: printable ASCII
        identifiers without outer spaces (so trimming changes nothing and case
        folding is lower-casing), the kind ``payment`` as written, no ``reverses``,
        an amount of 1 to 14 digits within ``MAX_FEN``, a date ``date.fromisoformat``
        reads, a programme without a character ``parse`` refuses, a txn_id that no
        reversal names and no other row repeats, and a grant_ref the book has.
        Everything else (recoveries, reversals and their targets, repeats, unknown
        grants, invalid rows) is left to the loop, which is the definition."""
        import polars as pl

        c = pl.col
        plain = r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$"
        is_plain = [c(n).str.contains(plain) for n in ("txn_id", "grant_ref", "payee_scheme", "payee_id")]
        candidate = pl.all_horizontal(
            *is_plain, c("kind") == "payment", c("reverses") == "", c("amount_fen").str.contains(r"^[0-9]{1,14}$"),
            c("booked_on").str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"), ~c("programme").str.contains(_UNSAFE_RE),
            ~c("txn_id").is_in(list(scanned.reversed_by)), ~c("txn_id").is_in(list(scanned.repeated)))
        grants = pl.LazyFrame({"ref": list(self.book.grants), "seq": [g.seq for g in self.book.grants.values()]},
                              schema={"ref": pl.String, "seq": pl.Int64})
        # Narrowed at once to what booking needs, streamed: no step holds the whole table (memory, decision 0025).
        picked = (table.filter(candidate)
                  .select("row", "txn_id", "payee_id", "booked_on", c("grant_ref").str.to_lowercase().alias("ref"),
                          c("payee_scheme").str.to_lowercase().alias("scheme"),
                          c("amount_fen").cast(pl.Int64).alias("amount"))
                  .join(grants, on="ref", how="left").drop("ref")
                  .collect())
        days = {d: _ordinal(d) for d in picked["booked_on"].unique().to_list()}
        picked = picked.with_columns(c("booked_on").replace_strict(days, default=None, return_dtype=pl.Int64)
                                     .alias("day")).drop("booked_on")
        ok = c("seq").is_not_null() & c("day").is_not_null() & (c("amount") > 0) & (c("amount") <= MAX_FEN)
        # Candidates that are not plain after all (no such grant, no such day, too much): the loop's.
        left = picked.filter(~ok)["row"].to_list()
        # Valid rows booked after as_of count for nothing, as in the loop.
        picked = picked.filter(ok & (c("day") <= as_of.toordinal()))
        payees = picked.select("scheme", "payee_id").unique()
        keys = [self._payee_of(scheme, payee_id) for scheme, payee_id in payees.iter_rows()]
        self.fast = (picked.lazy().join(payees.with_columns(pl.Series("payee", keys, dtype=pl.Int64)).lazy(),
                                        on=["scheme", "payee_id"], how="left")
                     .select("seq", "payee", "amount", "day", "txn_id").collect())
        del picked, payees
        rest = (table.filter(~candidate | c("row").is_in(left)).sort("row").select(*COLUMNS)
                .collect(engine="streaming"))
        return rest.iter_rows()

    def _settle(self) -> None:
        """Each distinct payment once, under its smallest txn_id; every other
        txn_id booking it is a ``duplicate_payment`` (as ``report_copies``)."""
        import polars as pl

        key = ["seq", "payee", "amount", "day"]
        schema = {"seq": pl.Int64, "payee": pl.Int64, "amount": pl.Int64, "day": pl.Int64, "txn_id": pl.String}
        raw = pl.DataFrame([(*k, txn_id) for k, txn_id in self.raw], schema=schema, orient="row")
        every = pl.concat([self.fast, raw], rechunk=False) if self.fast is not None else raw
        self.fast = None
        # Only the keys booked more than once need their smallest txn_id (a few in a night): found by
        # a hash of the key (8 bytes a row), exactly by the key itself among those.
        shared = every.filter(pl.struct(key).hash().is_duplicated())
        shared = shared.with_columns(pl.col("txn_id").min().over(key).alias("first"))
        copies = shared.filter(pl.col("txn_id") != pl.col("first"))
        for seq, amount, txn_id, first in copies.select("seq", "amount", "txn_id", "first").iter_rows():
            g = self.by_seq[seq]
            self.add(Finding("duplicate_payment", f"payment {txn_id} repeats payment {first} (same grant, payee, "
                                                  "amount and date)", txn_id=txn_id, grant_ref=g.grant_ref,
                             subject=g.subject, seqs=(g.seq,), amounts={"amount_fen": amount}))
        # txn_ids are distinct among the bookings (a repeated one is booked once, the rest reported).
        self.settled = every.filter(~pl.col("txn_id").is_in(copies["txn_id"].to_list()))

    def counted_settled(self, book: Book, stop: dict[int, tuple[date, str, int]]) -> tuple[
            dict[int, int], Iterator[tuple[str, GrantFact, date, str | None, int]]]:
        """The net paid per grant, and those of ``counted``'s payments that may
        need a finding: to a payee other than the grant's subject (or unknown),
        on a stopped grant, or to a sanctioned subject. The others pass every
        check of ``_check_payments``."""
        import polars as pl

        assert self.settled is not None
        ref_of = {k: self.payee_refs[i] for i, k in enumerate(self.payee_key)}
        refs = pl.DataFrame({"payee": list(ref_of), "ref": list(ref_of.values())},
                            schema={"payee": pl.Int64, "ref": pl.String})
        subjects = pl.DataFrame({"seq": list(self.by_seq), "subject": [g.subject for g in self.by_seq.values()]},
                                schema={"seq": pl.Int64, "subject": pl.String})
        c = pl.col
        # Summed in two halves so that no sum can overflow 64 bits, whatever the input.
        sums = self.settled.group_by("seq").agg((c("amount") // 2**32).sum().alias("hi"),
                                                 (c("amount") % 2**32).sum().alias("lo"))
        paid = {seq: (hi << 32) + lo for seq, hi, lo in sums.iter_rows()}
        joined = self.settled.lazy().join(refs.lazy(), on="payee", how="left").join(subjects.lazy(), on="seq",
                                                                                   how="left")
        maybe = joined.filter(c("ref").is_null() | (c("ref") != c("subject")) | c("seq").is_in(list(stop))
                              | c("ref").is_in(list(book.sanctioned))).collect(engine="streaming")
        by_seq = self.by_seq
        found = ((txn_id, by_seq[seq], date.fromordinal(day), ref, amount)
                 for txn_id, seq, day, ref, amount in maybe.select("txn_id", "seq", "day", "ref", "amount").iter_rows())
        return paid, found


# What ``transactions._UNSAFE`` refuses in an identifier, in the regular-expression syntax of
# Polars (Rust ``regex``); a lone surrogate cannot be in a table read from UTF-8.
_UNSAFE_RE = r"[\x00-\x1f\x7f-\x{9f}\x{2028}\x{2029}\x{202a}-\x{202e}\x{2066}-\x{2069}]"


def _ordinal(text: str) -> int | None:
    """The day ``parse`` reads in ``text``, as an ordinal; None if it reads none."""
    try:
        return date.fromisoformat(text).toordinal()
    except ValueError:
        return None


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
    stop = _stops(book)
    if booking.columnar:
        net, maybe = booking.counted_settled(book, stop)
        for txn_id, g, on, ref, amount in maybe:
            _check_payment(txn_id, g, on, ref, amount, book, stop, barred, add)
        return net
    paid: dict[int, int] = {}
    for txn_id, g, on, ref, amount in booking.counted():
        paid[g.seq] = paid.get(g.seq, 0) + amount
        _check_payment(txn_id, g, on, ref, amount, book, stop, barred, add)
    return paid


def _check_payment(txn_id: str, g: GrantFact, on: date, ref: str | None, amount: int, book: Book,
                   stop: dict[int, tuple[date, str, int]], barred: BarredBy, add: Add) -> None:
    """One payment that counts (``_Booking.counted_settled`` relies on which cases give a finding)."""
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
