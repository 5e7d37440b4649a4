"""Custom scalars. ``Fen``: money in fen (1/100 yuan) as a JSON integer.

GraphQL's ``Int`` is 32-bit (max 21,474,836.47 yuan); grants can be larger,
and amounts must never be floats (docs/contracts.md §2.6). ``Fen`` is an integer from 0
to 10^13, well inside the range JSON numbers carry exactly (2^53).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

from ledger.domain.records import MAX_FEN


def _parse_fen(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("Fen must be an integer number of fen")
    if not 0 <= value <= MAX_FEN:
        raise ValueError(f"Fen must be between 0 and {MAX_FEN}")
    return value


Fen = NewType("Fen", int)

FEN_SCALAR = strawberry.scalar(
    name="Fen",
    serialize=int,
    parse_value=_parse_fen,
    description="An amount of money in fen (1/100 yuan), a JSON integer from 0 to 10^13.",
)
SCALAR_MAP: Mapping[object, ScalarDefinition] = {Fen: FEN_SCALAR}  # StrawberryConfig.scalar_map
