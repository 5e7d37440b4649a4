"""Canonical bytes: RFC 8785 (JSON Canonicalization Scheme).

Scope: turning JSON values into the exact bytes that are signed and hashed, and
checking that stored bytes are canonical. Non-scope: what the values mean
(``entry``) or whether they are allowed (``entry_types``).

Floats are refused everywhere: money is integer fen and no field needs a
fraction, so refusing them removes RFC 8785 §3.2.2.3 number formatting from the
contract altogether.
"""

from __future__ import annotations

import json
import re
from typing import Any

import rfc8785

from ledger.errors import Problem, ValidationError

# RFC 8785 §3.2.2.3: only integers in the IEEE 754 exact range survive every parser.
MAX_SAFE_INTEGER = 2**53 - 1

# A JSON value as ``json.loads`` returns it (dict, list, str, int, bool, None).
# ``Any``: the shape is decided by the reader (``entry``, ``entry_types``), not here.
JSON = Any


def encode(value: JSON) -> bytes:
    """The RFC 8785 canonical bytes of ``value`` (UTF-8, no whitespace, sorted keys).

    Fast path: once ``_check`` has refused floats, unsafe integers and lone
    surrogates, the C-accelerated ``json.dumps`` below writes exactly RFC 8785
    bytes, with one exception: keys are sorted by code point, RFC 8785 §3.2.3 by
    UTF-16 code unit, which differ only when a key holds a character beyond the
    BMP. Those values go to the ``rfc8785`` reference implementation.
    Equality of the two paths is property-tested (tests/test_entry.py).
    """
    verdict = _scan(value)
    if verdict is None:  # refused, or an unusual type: the full check names the path or decides
        verdict = _check(value, "$")
    if verdict:
        return rfc8785.dumps(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def decode(data: bytes) -> JSON:
    """Parse canonical bytes; raise ``ValidationError`` unless they are exactly canonical.

    Fast path (the verifier calls this once per entry): the parser itself
    refuses floats, non-finite constants and integers beyond ±2^53-1, so the
    value needs no separate scan; re-encoding it with ``json.dumps`` and
    comparing proves the bytes canonical, because on such values ``json.dumps``
    writes RFC 8785 exactly (see ``encode``), lone surrogates fail its UTF-8
    encode, and duplicate keys or any other spelling change the bytes. Bytes
    holding a character beyond the BMP (a 4-byte UTF-8 sequence) take the full
    path, where key order may differ (RFC 8785 §3.2.3).
    """
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        raise ValidationError([Problem("$", f"not UTF-8 at byte {e.start}")]) from e
    try:
        value = _DECODER.decode(text)
    except (ValueError, TypeError, RecursionError) as e:
        raise ValidationError([Problem("$", f"not JSON: {e}")]) from e
    if _ASTRAL.search(data) is None:
        try:
            again = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                               allow_nan=False).encode("utf-8")
        except UnicodeEncodeError as e:
            raise ValidationError([Problem("$", "text is not valid Unicode (lone surrogate)")]) from e
    else:
        again = encode(value)
    if again != data:
        raise ValidationError([Problem("$", "bytes are not RFC 8785 canonical")])
    return value


# A UTF-8 lead byte of a 4-byte sequence: a character beyond the BMP.
_ASTRAL = re.compile(rb"[\xf0-\xf4]")


def _reject_float(token: str) -> Any:
    raise ValueError(f"non-integer number {token}")


def _safe_int(token: str) -> int:
    if len(token) > 17:  # cheap bound first: 2^53-1 has 16 digits (17 with a sign)
        raise ValueError(f"integer {token[:20]} outside ±2^53-1")
    value = int(token)
    if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        return value
    raise ValueError(f"integer {token} outside ±2^53-1")


# One decoder for every call: json.loads with hooks would build a new one each time.
_DECODER = json.JSONDecoder(parse_float=_reject_float, parse_constant=_reject_float, parse_int=_safe_int)


def _scan(value: Any) -> bool | None:
    """The hot path of ``_check``, without building paths: None if anything would
    be refused, else whether a key lies beyond the BMP. Iterative, no recursion."""
    astral = False
    stack = [value]
    while stack:
        v = stack.pop()
        t = type(v)
        if t is str:
            if not v.isascii() and not _valid_text(v):
                return None
        elif t is int:
            if -MAX_SAFE_INTEGER <= v <= MAX_SAFE_INTEGER:
                continue
            return None
        elif t is dict:
            for k, item in v.items():
                if type(k) is not str:
                    return None
                if not k.isascii():
                    if not _valid_text(k):
                        return None
                    astral = astral or max(map(ord, k)) > 0xFFFF
                stack.append(item)
        elif t is list or t is tuple:
            stack.extend(v)
        elif t is bool or v is None:
            continue
        else:
            return None  # floats, subclasses and anything else: the slow path decides
    return astral


def _valid_text(text: str) -> bool:
    try:
        text.encode("utf-8", errors="strict")
        return True
    except UnicodeEncodeError:
        return False


def _check(value: Any, path: str) -> bool:
    """Refuse what RFC 8785 cannot carry exactly: floats, big ints, lone surrogates.
    Return True if an object key holds a character beyond the BMP (see ``encode``)."""
    if isinstance(value, str):
        _check_text(value, path)
        return False
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValidationError([Problem(path, f"integer {value} outside ±2^53-1")])
        return False
    if isinstance(value, float):
        raise ValidationError([Problem(path, "numbers must be integers")])
    if isinstance(value, (list, tuple)):
        astral = False
        for i, item in enumerate(value):
            astral |= _check(item, f"{path}[{i}]")
        return astral
    if isinstance(value, dict):
        astral = False
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError([Problem(path, "object keys must be strings")])
            _check_text(key, path)
            astral |= not key.isascii() and max(map(ord, key)) > 0xFFFF
            astral |= _check(item, f"{path}.{key}")
        return astral
    raise ValidationError([Problem(path, f"{type(value).__name__} is not a JSON value")])


def _check_text(text: str, path: str) -> None:
    if text.isascii():
        return
    try:
        text.encode("utf-8", errors="strict")
    except UnicodeEncodeError as e:
        raise ValidationError([Problem(path, "text is not valid Unicode (lone surrogate)")]) from e
