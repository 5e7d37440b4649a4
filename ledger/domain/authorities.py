"""Registered authorities (docs/authorities.md): who may sign records, and for
which region. Pure: built from ``authority.registered`` entries.

An entry's ``authority`` must name a registered authority with its registered
region, so the region the jurisdiction rule is judged against is the one the
log operator registered, never one a writer claims.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ledger.domain.regions import covers, retired
from ledger.errors import Problem
from ledger.log.entry import Authority, Entry

# Token roles that write entries as an authority (ledger.access.policy.WRITERS).
WRITER_ROLES = frozenset({"recorder", "programme_officer"})


@dataclass(frozen=True)
class Registered:
    id: str
    name: str
    region: str
    parent: str | None
    seq: int


class AuthorityRegistry:
    def __init__(self, records: Mapping[str, Registered] | None = None) -> None:
        self.records: dict[str, Registered] = dict(records or {})

    @classmethod
    def of(cls, entries: Iterable[Entry]) -> AuthorityRegistry:
        reg = cls()
        for e in entries:
            reg.apply(e)
        return reg

    def apply(self, e: Entry) -> None:
        if e.type == "authority.registered":
            b = e.body
            self.records[b["authority_id"]] = Registered(b["authority_id"], b["name"], b["region"], b.get("parent"),
                                                         e.seq)

    def get(self, authority_id: str) -> Registered | None:
        return self.records.get(authority_id)

    # --- rules for new entries ---------------------------------------------------
    def registration_problems(self, body: Mapping[str, Any]) -> list[Problem]:
        """A new ``authority.registered``: a fresh id, a current region, a parent covering it."""
        problems = []
        if body["authority_id"] in self.records:
            problems.append(Problem("body.authority_id", f"{body['authority_id']} is already registered at seq "
                                                         f"{self.records[body['authority_id']].seq}"))
        if retired(body["region"]):
            problems.append(Problem("body.region", str(retired(body["region"]))))
        parent = body.get("parent")
        if parent is not None:
            above = self.records.get(parent)
            if above is None:
                problems.append(Problem("body.parent", f"{parent} is not a registered authority"))
            elif not covers(above.region, body["region"]):
                problems.append(Problem("body.parent", f"{parent}'s region {above.region} does not cover "
                                                       f"{body['region']}"))
        return problems

    def signer_problems(self, authority: Authority) -> list[Problem]:
        """An authority-signed entry names a registered authority with its registered region."""
        rec = self.records.get(authority.id)
        if rec is None:
            return [Problem("authority.id", f"{authority.id} is not a registered authority "
                                            "(register it with `ledger authorities register`)")]
        if rec.region != authority.region:
            return [Problem("authority.region", f"is {authority.region}; {authority.id} is registered for "
                                                f"{rec.region}")]
        return []

    def token_problems(self, body: Mapping[str, Any]) -> list[Problem]:
        """A token for a writer role records as a registered authority, for its registered
        region: the jurisdiction its entries are judged against is the registered one
        (docs/authorities.md, Tokens)."""
        if body["role"] not in WRITER_ROLES:
            return []
        rec = self.records.get(body.get("authority_id") or "")
        if rec is None:
            return [Problem("body.authority_id", f"{body.get('authority_id')} is not a registered authority: a "
                                                 f"{body['role']} token records for one")]
        if body.get("region") != rec.region:
            return [Problem("body.region", f"is {body.get('region')}; {rec.id} is registered for {rec.region}")]
        return []

    def key_problems(self, body: Mapping[str, Any]) -> list[Problem]:
        """Keys belong to registered authorities."""
        if body["authority_id"] not in self.records:
            return [Problem("body.authority_id", f"{body['authority_id']} is not a registered authority")]
        return []
