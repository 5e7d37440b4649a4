"""The public projection of dishonesty sanctions (docs/publicity.md): what the
no-login publicity page shows, as of a day in Asia/Shanghai. Time is a
parameter (``on``); nothing here reads a clock.

A sanction is publicised on day D when (Art. 66; docs/publicity.md):

- its ``sanction.imposed`` has a ``publicity_until`` not before D (the last day
  is shown, the day after is not) and its decision date is not after D;
- it is not void (``entry.corrected``: wrong from the start) and not exempted
  (Art. 52: neutralised, it never bars or flags the subject);
- it was not ended on or before D for a reason that withdraws the publicity:
  credit repair (信用修复 ends publicity), correction, an appeal upheld, a
  court's deletion, or superseded (the new sanction is publicised instead).
  Only an end for ``expiry`` leaves the publicity period running;
- its subject is still in the vault: an erased subject's sanctions are hidden
  (PIPL Art. 47: erasure wins; without the identity they say nothing useful).

Each item carries only ``PUBLIC_FIELDS``: masked name and identifier
(``ledger.domain.masking``), deciding body, grounds, legal basis, period and
scope, all as the latest live amendment left them. No subject reference and no
seq: those link the public item to the private log (docs/publicity.md).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, select

from ledger.domain import vault_store
from ledger.domain.eligibility import Sanction
from ledger.domain.facts import states
from ledger.domain.identifiers import Identifier
from ledger.domain.masking import mask_identifier, mask_name
from ledger.domain.vault import Vault
from ledger.errors import NotFound
from ledger.store.schema import entries

PUBLIC_FIELDS = frozenset({"name", "identifier", "deciding_body", "grounds", "legal_basis", "effective_from",
                           "effective_until", "publicity_until", "scope"})
WITHDRAWING_ENDS = frozenset({"credit_repair", "correction", "appeal_upheld", "court_deletion", "superseded"})
MAX_PAGE = 50


def publicised(s: Sanction, imposed: Mapping[str, Any], on: date) -> bool:
    """Whether sanction ``s`` (folded) with its ``sanction.imposed`` body is on the public list on ``on``."""
    until = imposed.get("publicity_until")
    if not until or date.fromisoformat(until) < on or date.fromisoformat(imposed["decision_date"]) > on:
        return False
    if s.voided_seq is not None or s.exempted_seq is not None:
        return False
    return not (s.ended_on is not None and s.end_reason in WITHDRAWING_ENDS and s.ended_on <= on)


def public_item(s: Sanction, imposed: Mapping[str, Any], name: str, kind: str, ident: Identifier) -> dict[str, Any]:
    return {
        "name": mask_name(name, kind), "identifier": mask_identifier(ident),
        "deciding_body": s.deciding_body, "grounds": imposed["grounds"],
        "legal_basis": {"article": s.legal_basis["article"], "document_no": s.legal_basis["document_no"]},
        "effective_from": s.effective_from.isoformat(),
        "effective_until": s.effective_until.isoformat() if s.effective_until else None,
        "publicity_until": imposed["publicity_until"],
        "scope": {"benefits": list(s.benefits), "regions": list(s.regions), "programmes": list(s.programmes)},
    }


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int


def _sanctioned_subjects(conn: Connection, size: int) -> list[str]:
    rows = conn.execute(select(entries.c.subject).distinct()
                        .where(entries.c.type == "sanction.imposed", entries.c.seq < size))
    return [r.subject for r in rows if r.subject]


def public_sanctions(conn: Connection, vault: Vault, size: int, on: date,
                     subjects_: list[str] | None = None) -> list[dict[str, Any]]:
    """Every publicised sanction known at ``size`` on day ``on`` (of ``subjects_``
    if given), newest decision first."""
    found: list[tuple[str, int, dict[str, Any]]] = []
    wanted = _sanctioned_subjects(conn, size) if subjects_ is None else subjects_
    for ref, st in states(conn, wanted, size).items():
        shown = [(s, st.by_seq(s.seq)) for s in st.sanctions()]
        shown = [(s, e) for s, e in shown if e is not None and publicised(s, e.body, on)]
        if not shown:
            continue
        try:
            who = vault_store.reveal(conn, vault, ref)  # NotFound once erased: erasure wins
        except NotFound:
            continue
        ident = Identifier(who.scheme, who.id)
        for s, e in shown:
            assert e is not None
            found.append((e.body["decision_date"], s.seq, public_item(s, e.body, who.name, ident.kind, ident)))
    found.sort(key=lambda t: (t[0], t[1]), reverse=True)
    return [item for _, _, item in found]


class ListCache:
    """The whole public list at the latest (tree size, day), kept for the next request.

    Every page of the list needs all of it (it is sorted by decision date), and
    building it folds every sanctioned subject's state and decrypts each publicised
    one's vault record: an anonymous reader's every page was that work again. The
    list is a function of the log prefix and the day, because whatever changes who
    is shown changes the log first, in the same transaction (a sanction, its end or
    correction, an erasure: ``subject.erased`` erases the vault row, so "erasure
    wins" holds at the new size). One entry only, for the head size the route
    reads: a request at a new size or day replaces it, and nothing older is ever
    served. Thread-safe: the API answers on worker threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[int, int, date] | None = None
        self._items: list[dict[str, Any]] = []
        self.built = 0  # lists built (tests: a repeated request builds none)

    def items(self, conn: Connection, vault: Vault, size: int, on: date) -> list[dict[str, Any]]:
        key = (id(vault), size, on)
        with self._lock:
            if self._key == key:
                return self._items
        items = public_sanctions(conn, vault, size, on)
        with self._lock:
            self._key, self._items = key, items
            self.built += 1
        return items


def public_page(conn: Connection, vault: Vault, size: int, on: date, page: int, per_page: int,
                cache: ListCache | None = None) -> Page:
    """One page (1-based) of ``public_sanctions``; ``per_page`` at most ``MAX_PAGE``."""
    per_page = max(1, min(per_page, MAX_PAGE))
    page = max(1, page)
    items = cache.items(conn, vault, size, on) if cache else public_sanctions(conn, vault, size, on)
    return Page(items[(page - 1) * per_page:page * per_page], len(items), page, per_page)


def search(conn: Connection, vault: Vault, size: int, on: date, ident: Identifier) -> list[dict[str, Any]]:
    """The publicised sanctions of the subject holding exactly ``ident`` (a full,
    validated identifier: there is no prefix or name search). An unknown
    identifier and one with nothing publicised answer alike: an empty list."""
    ref = vault_store.lookup(conn, vault, ident)
    return [] if ref is None else public_sanctions(conn, vault, size, on, [ref])
