"""Strict JSON for text that comes from outside the ledger: the lines of a
``ledger record`` batch, the body of a POST to /graphql.

Scope: one JSON text in, one value out, or a ``ValidationError`` whose every
``Problem`` names a path (``$.body.amount_fen``) and the rule broken. Refused
beyond what ``json.loads`` refuses:

- a name repeated in one object, at any depth. RFC 8259 §4: names SHOULD be
  unique, and with duplicates "the behavior of software ... is unpredictable";
  I-JSON (RFC 7493 §2.3) MUST NOT. Python keeps the last, other parsers the
  first, so one signed line could be read as two different records;
- ``NaN``, ``Infinity``, ``-Infinity``: not JSON (RFC 8259 §6), which Python
  accepts;
- a string or name holding a lone surrogate escape such as ``"\\ud800"``: not
  Unicode text (RFC 8259 §8.2; I-JSON, RFC 7493 §2.1);
- nesting deeper than ``max_depth``, measured on the text before parsing, so
  no input reaches the recursive parser's limit (a ``RecursionError``);
- with ``integers_only``: a fraction or exponent, or an integer beyond
  ±(2^53-1) (RFC 7493 §2.2; RFC 8785 §3.2.2.3). The entry format's own rule
  (``ledger.log.canonical``): money is integer fen and no field needs a fraction.

Non-scope: what the value means (the caller checks its shape), and text
normalisation: strings are kept exactly as sent, NFC or not, because RFC 8785
does not normalise either and the ledger signs what it was given.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ledger.errors import Problem, ValidationError

# RFC 7493 §2.2 / RFC 8785 §3.2.2.3: the integers every IEEE 754 parser reads exactly.
MAX_SAFE_INTEGER = 2**53 - 1
# A text with more problems than this is not worth listing further: the first ones say what is wrong.
MAX_PROBLEMS = 20


def parse(text: str, *, max_depth: int, integers_only: bool = False) -> Any:
    """The JSON value in ``text``, or ``ValidationError`` listing what is wrong with it."""
    depth = nesting_depth(text)
    if depth > max_depth:
        raise ValidationError([Problem("$", f"nests {depth} levels deep, more than {max_depth}")])
    try:
        value = _decoder(integers_only).decode(text)
    except RecursionError:  # unreachable after the depth check; kept so no input can ever raise it
        raise ValidationError([Problem("$", f"nests more than {max_depth} levels deep")]) from None
    except ValueError as e:  # JSONDecodeError, or int() refusing a number of more than 4300 digits
        raise ValidationError([Problem("$", f"is not JSON: {_short(e)}")]) from None
    problems = _problems(value)
    if problems:
        raise ValidationError(problems)
    return value


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects, counted on the text (strings skipped).

    Iterative and linear: a regular expression (in C) steps over each string and
    stops at each bracket. On text that is not JSON (an unterminated string) the
    count may be too high; the parser then refuses the text anyway."""
    depth = deepest = 0
    for token in _STRUCTURE.findall(text):
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


# A whole string (escapes included), or one bracket.
_STRUCTURE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def member_path(parent: str, name: str) -> str:
    """``parent.name``, or ``parent["name"]`` (JSON-escaped, ASCII) for a name that
    is not a plain identifier, so that a path never carries a control character,
    a lone surrogate or a dot of its own; very long names are cut."""
    if name.isidentifier() and len(name) <= 64:
        return f"{parent}.{name}"
    shown = name if len(name) <= 64 else name[:64] + "…"
    return f"{parent}[{json.dumps(shown)}]"


# --- what the parser's hooks leave behind for the walk to report, with its path --------


@dataclass(frozen=True)
class _Refused:
    """A number or constant the text may not hold; ``rule`` says why."""

    rule: str


class _Repeated(dict[str, Any]):
    """An object in which ``names`` appeared more than once."""

    names: list[str]


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) == len(pairs):
        return value
    seen: set[str] = set()
    repeated = _Repeated(value)
    repeated.names = []
    for name, _ in pairs:
        if name in seen:
            repeated.names.append(name)
        seen.add(name)
    return repeated


def _constant(token: str) -> _Refused:
    return _Refused(f"{token} is not JSON (RFC 8259 §6)")


def _integer(token: str) -> int | _Refused:
    # A length bound first: int() of a huge token is quadratic, and refused past 4300 digits.
    if len(token.lstrip("-")) <= 16 and abs(value := int(token)) <= MAX_SAFE_INTEGER:
        return value
    shown = token if len(token) <= 24 else f"{token[:20]}… ({len(token)} digits)"
    return _Refused(f"integer {shown} is outside ±(2^53-1) (RFC 7493 §2.2)")


def _fraction(token: str) -> _Refused:
    shown = token if len(token) <= 24 else token[:20] + "…"
    return _Refused(f"number {shown} must be an integer (no fraction or exponent)")


def _lax_integer(token: str) -> int | _Refused:
    if len(token) > 4000:  # int() refuses more than 4300 digits; say so with a path
        return _Refused(f"integer of {len(token)} digits is too long")
    return int(token)


_STRICT = json.JSONDecoder(object_pairs_hook=_object, parse_constant=_constant, parse_int=_integer,
                           parse_float=_fraction)
_LAX = json.JSONDecoder(object_pairs_hook=_object, parse_constant=_constant, parse_int=_lax_integer)


def _decoder(integers_only: bool) -> json.JSONDecoder:
    return _STRICT if integers_only else _LAX


def _problems(value: Any) -> list[Problem]:
    """Every refused value with its path, without recursion."""
    problems: list[Problem] = []
    stack: list[tuple[Any, str]] = [(value, "$")]
    while stack and len(problems) < MAX_PROBLEMS:
        v, path = stack.pop()
        if isinstance(v, str):
            if not v.isascii() and not _is_text(v):
                problems.append(Problem(path, "holds a lone surrogate: not Unicode text (RFC 8259 §8.2)"))
        elif isinstance(v, _Refused):
            problems.append(Problem(path, v.rule))
        elif isinstance(v, dict):
            if isinstance(v, _Repeated):
                problems += [Problem(member_path(path, k), "name repeated in one object (RFC 8259 §4, RFC 7493 §2.3)")
                             for k in dict.fromkeys(v.names)]
            for k, item in reversed(v.items()):
                if not k.isascii() and not _is_text(k):
                    problems.append(Problem(member_path(path, k), "the name holds a lone surrogate (RFC 8259 §8.2)"))
                stack.append((item, member_path(path, k)))
        elif isinstance(v, list):
            stack.extend((item, f"{path}[{i}]") for i, item in reversed(list(enumerate(v))))
    return problems[:MAX_PROBLEMS]


def _is_text(s: str) -> bool:
    try:
        s.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _short(e: ValueError) -> str:
    """json's message (position included) on one line, never quoting the input."""
    if isinstance(e, json.JSONDecodeError):
        return f"{e.msg} at column {e.colno}" + (f" of line {e.lineno}" if e.lineno > 1 else "")
    return str(e).splitlines()[0][:200]
