"""Masking names and identifiers for the public publicity page (docs/publicity.md).
Pure: text in, text out.

- A natural person's name keeps its first and last characters and masks every
  other one with ``*`` (张*三; 张* for two characters; ``*`` for one), the
  practice of 信用中国 publicity lists. Separators of compound and
  transliterated names (the middle dot ``·`` of 乌兰·巴特尔, its variants, and
  spaces) are kept, so 乌兰·巴特尔 reads 乌*·**尔: still at most two characters
  of the name are revealed (PIPL Art. 28 and Art. 51: minimum necessary).
- An organisation's name is shown in full: an organisation is not a natural
  person, its registered name is public business registration information, and
  the publicity's purpose is that counterparties can recognise it (PIPL Art. 4
  covers information about natural persons only).
- An identifier keeps its first four and last four characters (cn-rid and
  cn-uscc: 1501**********0019); a passport keeps its issuing country and the
  last two characters of its number (CHN/*******78). Never the whole number:
  the public list must not be a lookup table of identity numbers.
"""

from __future__ import annotations

from ledger.domain.identifiers import Identifier

MASK = "*"
SEPARATORS = frozenset("·•・‧ ")  # middle dots (U+00B7, U+2022, U+30FB, U+2027) and the space
KEEP_HEAD, KEEP_TAIL = 4, 4
PASSPORT_TAIL = 2


def mask_person_name(name: str) -> str:
    """First and last name characters kept, separators kept, the rest ``*``."""
    text = name.strip()
    positions = [i for i, c in enumerate(text) if c not in SEPARATORS]
    if not positions:
        return MASK
    if len(positions) == 1:
        return MASK
    keep = {positions[0]} if len(positions) == 2 else {positions[0], positions[-1]}
    return "".join(c if (i in keep or c in SEPARATORS) else MASK for i, c in enumerate(text))


def mask_name(name: str, kind: str) -> str:
    """``kind`` is the vault's subject kind: ``person`` or ``organisation``."""
    return name.strip() if kind == "organisation" else mask_person_name(name)


def mask_identifier(ident: Identifier) -> str:
    value = ident.value
    if ident.scheme == "passport":
        country, _, number = value.partition("/")
        return f"{country}/{MASK * (len(number) - PASSPORT_TAIL)}{number[-PASSPORT_TAIL:]}"
    hidden = max(len(value) - KEEP_HEAD - KEEP_TAIL, len(value) // 2)
    head = (len(value) - hidden + 1) // 2
    return value[:head] + MASK * hidden + value[head + hidden:]
