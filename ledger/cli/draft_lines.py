"""The input of ``ledger record`` and ``ledger sign``: JSON lines
(https://jsonlines.org), one draft or signed statement per line, read as one
all-or-nothing batch.

Scope: bytes in, drafts and signed statements out, or a ``ValidationError`` naming the first bad line
and every problem on it (a path such as ``body.amount_fen`` and the rule), so
that a batch with one bad line writes nothing. The rules, in the order applied:

- UTF-8 only (RFC 8259 §8.1); a byte order mark at the very start is ignored
  (§8.1 allows it), anywhere else it is refused; a UTF-16 file is named as such;
- lines end at ``\\n`` (``\\r\\n`` too) and nowhere else: U+2028, U+2029, U+0085
  and the other characters ``str.splitlines`` would break at are text inside
  a string, never line ends; lines of JSON whitespace only are skipped;
- a line is at most ``MAX_LINE_BYTES`` and nests at most ``MAX_DEPTH`` levels;
- strict JSON (``ledger.log.strict_json``): no repeated names, no NaN, no lone
  surrogates, integers only and within ±(2^53-1), as the entry format is;
- a JSON object with only the draft's members, ``type``, ``authority`` (``id``,
  ``region``), ``actor`` and ``request_id`` present, ``refs`` an array and
  ``body`` an object, ``type`` a registered entry type. The rest (each
  field's rule) is the entry format's validation (``ledger.log.entry_types``),
  at append;
- or a signed statement, ``{"statement": {...}, "sig": "..."}`` as ``ledger
  sign`` writes it (docs/contracts.md §2.7): exactly those two members and
  exactly the statement's (``ledger.log.statement``); its signature is checked
  at append.

Non-scope: text normalisation. Strings are kept as sent, NFC or not; the entry
format does not normalise (RFC 8785 does not) and a rule that needs NFC (a
programme's code) refuses other text itself.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Any

from ledger.errors import Problem, ValidationError
from ledger.log import entry_types, strict_json
from ledger.log.entry import Authority, Draft
from ledger.log.statement import SIGNED_MEMBERS, SignedStatement, signed_statement_from_json

# A body is at most 16 KiB canonical (entry_types.MAX_BODY_BYTES); written with
# \uXXXX escapes it can take twice that. 64 KiB leaves room and bounds the parse.
MAX_LINE_BYTES = 64 * 1024
# A draft nests four levels (body.scope.regions[0]); 64 is ample and far below
# where a recursive parser gives out.
MAX_DEPTH = 64
DRAFT_MEMBERS = ("type", "authority", "actor", "subject", "refs", "request_id", "body")
AUTHORITY_MEMBERS = ("id", "region")
_JSON_WHITESPACE = b" \t\r"  # RFC 8259 §2, without the \n that ends the line


Item = Draft | SignedStatement


@dataclass(frozen=True)
class Batch:
    """The items of one input (drafts, or statements signed elsewhere), in order,
    each with its line number (from 1)."""

    items: tuple[Item, ...]
    lines: tuple[int, ...]

    @property
    def drafts(self) -> tuple[Draft, ...]:
        """The drafts only (``ledger sign`` signs drafts; a statement is signed already)."""
        return tuple(i for i in self.items if isinstance(i, Draft))


def read_batch(data: bytes) -> Batch:
    """Every item in ``data``, or ``ValidationError`` for the first bad line."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ValidationError([Problem("input", "is UTF-16, not UTF-8: save it as UTF-8 (RFC 8259 §8.1)")], line=1)
    data = data.removeprefix(codecs.BOM_UTF8)  # RFC 8259 §8.1: a parser MAY ignore it
    items, lines = [], []
    for n, raw in enumerate(data.split(b"\n"), 1):
        raw = raw.removesuffix(b"\r")
        if not raw.strip(_JSON_WHITESPACE):
            continue
        items.append(_item(_value(raw, n), n))
        lines.append(n)
    return Batch(tuple(items), tuple(lines))


def parse_drafts(data: bytes) -> list[Draft]:
    return list(read_batch(data).drafts)


def _value(raw: bytes, n: int) -> Any:
    if len(raw) > MAX_LINE_BYTES:
        raise ValidationError([Problem("$", f"the line is {len(raw)} bytes, more than {MAX_LINE_BYTES}")], line=n)
    try:
        text = raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        raise ValidationError([Problem("input", f"is not UTF-8 (byte {e.start + 1} of the line): "
                                                "save it as UTF-8 (RFC 8259 §8.1)")], line=n) from e
    try:
        return strict_json.parse(text, max_depth=MAX_DEPTH, integers_only=True)
    except ValidationError as e:
        raise ValidationError([Problem(_field(p.field), p.rule) for p in e.problems], line=n) from e


def _field(path: str) -> str:
    """``$.body.amount_fen`` as the entry format names it: ``body.amount_fen``."""
    return path[2:] if path.startswith("$.") else path


def _item(obj: Any, n: int) -> Item:
    """A line with a ``statement`` member is a signed statement, any other a draft."""
    if isinstance(obj, dict) and "statement" in obj:
        problems = _member_problems(obj, "", SIGNED_MEMBERS, SIGNED_MEMBERS)
        if problems:
            raise ValidationError(problems, line=n)
        try:
            s = signed_statement_from_json(obj)
        except ValidationError as e:
            raise ValidationError(e.problems, line=n) from e
        if s.statement.type not in entry_types.names():
            raise ValidationError([Problem("statement.type", f"unknown entry type {s.statement.type!r}")], line=n)
        return s
    return _draft(obj, n)


def _draft(obj: Any, n: int) -> Draft:
    if not isinstance(obj, dict):
        raise ValidationError([Problem("$", "must be a JSON object (one draft per line)")], line=n)
    problems = _member_problems(obj, "", DRAFT_MEMBERS, ("type", "authority", "actor", "request_id"))
    authority = obj.get("authority")
    if isinstance(authority, dict):
        problems += _member_problems(authority, "authority", AUTHORITY_MEMBERS, AUTHORITY_MEMBERS)
    elif "authority" in obj:
        problems.append(Problem("authority", "must be a JSON object with id and region"))
    if "type" in obj and not isinstance(obj["type"], str):
        problems.append(Problem("type", "must be text, an entry type such as note.recorded"))
    if not isinstance(obj.get("refs", []), list):
        problems.append(Problem("refs", "must be an array of seqs"))
    if not isinstance(obj.get("body", {}), dict):
        problems.append(Problem("body", "must be a JSON object"))
    if not problems and obj["type"] not in entry_types.names():  # named here, with its line
        problems.append(Problem("type", f"unknown entry type {obj['type']!r}"))
    if problems:
        raise ValidationError(problems, line=n)
    auth: dict[str, Any] = obj["authority"]  # an object with id and region: checked above
    return Draft(obj["type"], Authority(auth["id"], auth["region"]), obj["actor"], obj.get("subject"),
                 tuple(obj.get("refs", [])), obj["request_id"], obj.get("body", {}))


def _member_problems(obj: dict[str, Any], where: str, allowed: tuple[str, ...],
                     required: tuple[str, ...]) -> list[Problem]:
    def path(name: str) -> str:
        return _field(strict_json.member_path("$" + (f".{where}" if where else ""), name))

    unknown = [Problem(path(k), f"is not a member of a draft's {where or 'envelope'} (allowed: {', '.join(allowed)})")
               for k in obj if k not in allowed]
    missing = [Problem(path(k), "is required") for k in required if k not in obj]
    return unknown[:strict_json.MAX_PROBLEMS] + missing
