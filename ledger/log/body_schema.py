"""A small declarative schema for entry bodies: each field has a check that
returns the rule it broke (or None). Validation returns *every* problem as a
value (``Problem``), so a client fixes its request in one round trip.

Why not JSON Schema: our rules are domain rules (GB/T 2260 codes, ISO dates,
fen amounts, identifiers) and the error must name the field and the rule in
plain words; a dozen combinators say that more directly than a schema dialect.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from ledger.errors import Problem

Check = Callable[[Any], "str | None"]


@dataclass(frozen=True)
class Field:
    name: str
    check: Check
    required: bool = True
    doc: str = ""


def validate_body(fields: tuple[Field, ...], body: Any, prefix: str = "body") -> list[Problem]:
    if not isinstance(body, Mapping):
        return [Problem(prefix, "must be a JSON object")]
    known = {f.name for f in fields}
    problems = [Problem(f"{prefix}.{k}", "is not a field of this entry type") for k in sorted(set(body) - known)]
    for f in fields:
        if f.name not in body or body[f.name] is None:
            if f.required:
                problems.append(Problem(f"{prefix}.{f.name}", "is required"))
            continue
        rule = f.check(body[f.name])
        if rule:
            problems.append(Problem(f"{prefix}.{f.name}", rule))
    return problems


def control_characters(v: str) -> bool:
    """C0 controls other than tab and newline, and DEL. NUL in particular: PostgreSQL
    text cannot hold it, so SQLite and PostgreSQL would disagree on a valid record."""
    return _CONTROL.search(v) is not None


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")  # one C scan instead of a Python loop per character


def text(max_len: int = 500, min_len: int = 1) -> Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, str):
            return "must be text"
        if not min_len <= len(v) <= max_len:
            return f"must be {min_len}-{max_len} characters"
        if control_characters(v):
            return "must not contain control characters"
        return None

    return check


def pattern(regex: str, description: str) -> Check:
    compiled = re.compile(regex)

    def check(v: Any) -> str | None:
        if not isinstance(v, str) or not compiled.fullmatch(v):
            return f"must be {description}"
        if control_characters(v):  # a pattern's "." matches NUL, which PostgreSQL text cannot hold
            return "must not contain control characters"
        return None

    return check


def integer(minimum: int | None = None, maximum: int | None = None) -> Check:
    def check(v: Any) -> str | None:
        if isinstance(v, bool) or not isinstance(v, int):
            return "must be an integer"
        if minimum is not None and v < minimum:
            return f"must be at least {minimum}"
        if maximum is not None and v > maximum:
            return f"must be at most {maximum}"
        return None

    return check


def one_of(*choices: str) -> Check:
    def check(v: Any) -> str | None:
        if v not in choices:
            return "must be one of " + ", ".join(choices)
        return None

    return check


def iso_date(v: Any) -> str | None:
    """ISO 8601 calendar date, YYYY-MM-DD (docs/contracts.md §2.6)."""
    if not isinstance(v, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
        return "must be a date YYYY-MM-DD"
    try:
        date.fromisoformat(v)
    except ValueError:
        return "must be a real calendar date"
    return None


def list_of(item: Check, min_len: int = 0, max_len: int = 100) -> Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, list):
            return "must be a list"
        if not min_len <= len(v) <= max_len:
            return f"must have {min_len}-{max_len} items"
        for i, x in enumerate(v):
            rule = item(x)
            if rule:
                return f"item {i} {rule}"
        return None

    return check


def obj(fields: tuple[Field, ...]) -> Check:
    def check(v: Any) -> str | None:
        problems = validate_body(fields, v, prefix="")
        return "; ".join(f"{p.field.lstrip('.')} {p.rule}" for p in problems) or None

    return check


# GB/T 2260: six digits; the jurisdiction test is a prefix test (see ``regions``).
region_code = pattern(r"[1-9]\d{5}", "a six-digit GB/T 2260 region code")
hex64 = pattern(r"[0-9a-f]{64}", "64 lowercase hex digits")
