"""The entry-type reference (docs/entry-types.md), rendered from the registry.

Scope: Markdown for every registered entry type (``ledger.log.entry_types``):
whether it names a subject, how many refs it takes and what they must point
at, which key signs it, each body field with its rule and doc, and the
articles of the regulation it implements (``records.ARTICLES``). Non-scope:
the envelope and the byte formats (docs/formats.md).

Pure: ``render()`` returns the text; only ``main()`` prints it::

    python -m ledger.domain.type_reference > docs/entry-types.md

tests/test_entry_types_doc.py fails while the committed file differs.

A field's rule is read from its check. Checks are closures made by the
combinators of ``ledger.log.body_schema`` (``text(max_len=200)``,
``pattern(...)``, ...), so the combinator is the closure's name and its
arguments are the closure's variables. A check made any other way raises
``ValueError`` here: a new combinator cannot go undocumented by accident.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from types import FunctionType
from typing import Any, cast

from ledger.domain.projection import FINAL_EXITS, REF_TYPES
from ledger.domain.records import ARTICLES, NOT_IN_REGULATION
from ledger.log import body_schema, entry_types
from ledger.log.body_schema import Check, Field, iso_date
from ledger.log.entry_types import MAX_BODY_BYTES, MAX_REFS, EntryType

COMMAND = "python -m ledger.domain.type_reference > docs/entry-types.md"
LOG_BOOKKEEPING = "log bookkeeping (no article)"

# The log's own types: no article of the regulation asks for them.
_LOG_TYPES = frozenset(t.name for t in (entry_types.LOG_INITIALIZED, entry_types.AUTHORITY_REGISTERED,
                                        entry_types.KEY_REGISTERED,
                                        entry_types.KEY_REVOKED, entry_types.NOTE_RECORDED))
# What the refs of the log's types point at (the domain's are ``projection.REF_TYPES``).
_LOG_REFS = {
    entry_types.KEY_REVOKED.name: "the `key.registered` entry of the key named by `name`",
    entry_types.NOTE_RECORDED.name: "any earlier entries",
    entry_types.TOKEN_REVOKED.name: "the `token.issued` entry of the token, when the log has one",
}
_SUBJECT = {"required": "required", "forbidden": "none", "optional": "optional"}
_SIGNER = {"authority": "an authority key", "log": "the log key"}

Params = Mapping[str, Any]
"""A check's closure variables: the arguments its combinator was called with."""


# --- Markdown pieces --------------------------------------------------------------

def _code(text: str) -> str:
    """A code span; in a table cell ``|`` still needs its backslash (GFM)."""
    return "`" + text.replace("|", "\\|") + "`"


def _plain(text: str) -> str:
    """Prose from the registry, safe in a table cell: no HTML tags or entities, no column breaks."""
    for c in "\\<&|":
        text = text.replace(c, "\\" + c)
    return text


def _either(items: Iterable[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    *rest, last = items
    return f"{', '.join(rest)} or {last}" if rest else last


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    return [_row(header), _row("---" for _ in header), *(_row(r) for r in rows)]


def _count(n: int) -> str:
    return f"{n:,}"


# --- Checks ------------------------------------------------------------------------

def _text(p: Params) -> str:
    return f"text of {_count(p['min_len'])}-{_count(p['max_len'])} characters, no control characters"


def _pattern(p: Params) -> str:
    return f"{_plain(p['description'])}: matches {_code(p['compiled'].pattern)}"


def _integer(p: Params) -> str:
    low, high = p["minimum"], p["maximum"]
    if low is not None and high is not None:
        return f"integer from {_count(low)} to {_count(high)}"
    if low is not None:
        return f"integer, at least {_count(low)}"
    if high is not None:
        return f"integer, at most {_count(high)}"
    return "integer"


def _one_of(p: Params) -> str:
    return "one of " + ", ".join(_code(c) for c in p["choices"])


def _list_of(p: Params) -> str:
    return f"list of {_count(p['min_len'])}-{_count(p['max_len'])} items, each {rule(p['item'])}"


def _obj(p: Params) -> str:
    return "object with the fields below"


_COMBINATORS: dict[str, Callable[[Params], str]] = {
    "text": _text, "pattern": _pattern, "integer": _integer, "one_of": _one_of, "list_of": _list_of, "obj": _obj,
}


def _combinator(check: Check) -> tuple[str, Params]:
    """(combinator name, its arguments) of a check made by ``body_schema``."""
    if isinstance(check, FunctionType) and check.__module__ == body_schema.__name__:
        name, _, inner = check.__qualname__.partition(".<locals>.")
        if inner == "check" and name in _COMBINATORS:
            return name, inspect.getclosurevars(check).nonlocals
    raise ValueError(f"cannot describe the check {check!r}: not made by a ledger.log.body_schema combinator "
                     "this reference knows (add it to type_reference._COMBINATORS)")


def rule(check: Check) -> str:
    """What ``check`` accepts, in Markdown (the rule its problems name)."""
    if check is iso_date:
        return "date `YYYY-MM-DD` (a real calendar date)"
    name, params = _combinator(check)
    return _COMBINATORS[name](params)


def _subfields(check: Check) -> tuple[str, tuple[Field, ...]] | None:
    """The fields of an object check (path separator ``.``) or a list of objects (``[].``)."""
    if check is iso_date:
        return None
    name, params = _combinator(check)
    if name == "obj":
        return ".", cast(tuple[Field, ...], params["fields"])
    if name == "list_of":
        inner = _subfields(cast(Check, params["item"]))
        return ("[]" + inner[0], inner[1]) if inner else None
    return None


def _field_rows(fields: tuple[Field, ...], prefix: str = "") -> list[list[str]]:
    rows = []
    for f in fields:
        path = prefix + f.name
        rows.append([_code(path), "yes" if f.required else "no", rule(f.check), _plain(f.doc) if f.doc else "—"])
        sub = _subfields(f.check)
        if sub:
            rows += _field_rows(sub[1], path + sub[0])
    return rows


# --- Per type ----------------------------------------------------------------------

def articles(name: str) -> str:
    """The regulation's articles ``name`` implements, short (``Art. 65 ¶2``)."""
    if name in _LOG_TYPES:
        return LOG_BOOKKEEPING
    if name in NOT_IN_REGULATION:
        return "none"
    if name not in ARTICLES:
        raise LookupError(f"{name}: say which articles it implements in ledger.domain.records.ARTICLES "
                          "(or why none in NOT_IN_REGULATION)")
    return ", ".join(dict.fromkeys(str(a) for a in ARTICLES[name]))


def _articles_long(name: str) -> list[str]:
    if name in ARTICLES:
        return [f"{a} ({_plain(a.words)})" for a in ARTICLES[name]]
    if name in NOT_IN_REGULATION:
        return [_plain(NOT_IN_REGULATION[name])]
    return [articles(name)]


def _ref_count(t: EntryType) -> str:
    high = min(t.max_refs, MAX_REFS)
    return "none" if high == 0 else str(high) if t.min_refs == high else f"{t.min_refs}-{high}"


def refs(t: EntryType) -> str:
    """How many refs ``t`` takes and what each must point at."""
    count = _ref_count(t)
    if count == "none":
        return count
    if t.name in REF_TYPES:
        return f"{count}: {_either(_code(n) for n in sorted(REF_TYPES[t.name]))}, of the same subject and live"
    if t.name in _LOG_REFS:
        return f"{count}: {_LOG_REFS[t.name]}"
    raise LookupError(f"{t.name} takes refs but no rule says what they point at (projection.REF_TYPES)")


def _anchor(name: str) -> str:
    """GitHub's heading anchor for ``## `name` ``: punctuation dropped."""
    return "#" + "".join(c for c in name if c.isalnum() or c in "-_")


def _section(t: EntryType) -> list[str]:
    regulation = _articles_long(t.name)
    lines = [f"## {_code(t.name)}", "", _plain(t.doc), ""]
    if len(regulation) == 1:
        lines.append(f"- **Regulation**: {regulation[0]}")
    else:
        lines += ["- **Regulation**:", *(f"  - {a}" for a in regulation)]
    lines += [
        f"- **Subject**: {_SUBJECT[t.subject]}",
        f"- **Refs**: {refs(t)}",
        f"- **Signed by**: {_SIGNER[t.signed_by]} (`{t.signed_by}`)",
        "",
    ]
    if t.fields:
        lines += _table(["Field", "Required", "Rule", "Doc"], _field_rows(t.fields))
    else:
        lines.append("No body fields: the body is `{}`.")
    return lines + [""]


def render() -> str:
    """docs/entry-types.md: every registered type, sorted by name."""
    types = [entry_types.get(n) for n in entry_types.names()]
    lines = [
        f"<!-- Generated by `{COMMAND}`: do not edit. tests/test_entry_types_doc.py checks it is current. -->",
        "",
        "# Entry types",
        "",
        "Every type of entry the ledger accepts, from its registry (`ledger/log/entry_types.py` for the log's own "
        "types, `ledger/domain/records.py` for the regulation's records), with the articles of the regulation "
        "(内蒙古自治区人才发展促进条例) each implements.",
        "",
        "- **Subject**: whether the entry names a subject reference (contracts.md §2.4); none: it must be null.",
        f"- **Refs**: earlier seqs the entry acts on, strictly increasing, at most {MAX_REFS}. A domain type's refs "
        f"must concern its own subject and be live: not already {_either(sorted(FINAL_EXITS))}.",
        "- **Signed by**: `authority`: a key registered by `key.registered` for the recording authority and not "
        "revoked; the authority is registered by `authority.registered` and the entry names its registered "
        "region (docs/authorities.md); `log`: the log's own key.",
        f"- **Body**: a JSON object of at most {_count(MAX_BODY_BYTES)} bytes as RFC 8785 JSON, holding only the "
        "fields listed; an optional field may be absent or null. Rules that need the log's state (amounts "
        "outstanding, the award guard) are in `ledger/domain/projection.py`.",
        "",
        *_table(["Type", "Regulation", "Subject", "Refs", "Signed by"],
                ([f"[{_code(t.name)}]({_anchor(t.name)})", articles(t.name), _SUBJECT[t.subject], _ref_count(t),
                  t.signed_by] for t in types)),
        "",
    ]
    for t in types:
        lines += _section(t)
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> None:
    print(render(), end="")


if __name__ == "__main__":
    main()
