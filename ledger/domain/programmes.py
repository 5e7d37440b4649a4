"""Programmes as registered codes (docs/effects.md). Pure.

A ``programme.registered`` record names a programme once: its code, name,
region, the benefit kinds it awards and the body that decides. Sanctions,
grants, honours and checks then refer to the code. Text that names a
programme is compared after NFC normalisation, trimming and case folding, so
"草原英才 ", the NFD form and "CYYC"/"cyyc" are each one programme; anything
not registered is refused, never matched by accident.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ledger.log.entry import Entry


def normalise_programme(text: str) -> str:
    """NFC, no surrounding whitespace: the form a code is registered in."""
    return unicodedata.normalize("NFC", text).strip()


def programme_key(text: str) -> str:
    """What two names of one programme have in common."""
    return normalise_programme(text).casefold()


@dataclass(frozen=True)
class ProgrammeRegistry:
    """Registered programmes by key: {programme_key(code): registration body}."""

    by_key: Mapping[str, Mapping[str, Any]]

    @classmethod
    def of(cls, entries: list[Entry]) -> ProgrammeRegistry:
        reg = cls({})
        for e in sorted(entries, key=lambda e: e.seq):
            reg = reg.with_entry(e)
        return reg

    def with_entry(self, e: Entry) -> ProgrammeRegistry:
        return ProgrammeRegistry({**self.by_key, programme_key(e.body["code"]): e.body})

    def code(self, text: str) -> str | None:
        """The registered code ``text`` names, or None."""
        found = self.by_key.get(programme_key(text))
        return str(found["code"]) if found is not None else None

    def unknown(self, text: str) -> str:
        return f"{text!r} is not a registered programme code (record programme.registered first)"

    def codes(self) -> list[str]:
        return sorted(str(b["code"]) for b in self.by_key.values())
