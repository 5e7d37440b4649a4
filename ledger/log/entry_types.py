"""The registry of entry types: for each, its body schema, whether it names a
subject, how many earlier entries it refs, and which key must sign it.

Scope: stateless validation of a ``Draft`` (shape and field rules). Non-scope:
rules that need the log's state (a ref pointing at a grant, an amount no more
than what is outstanding); those run inside the append lock (``append``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ledger.errors import Problem, UnknownEntryType, ValidationError
from ledger.log import canonical
from ledger.log.body_schema import Field, hex64, list_of, one_of, pattern, region_code, text, validate_body
from ledger.log.entry import Draft

MAX_BODY_BYTES = 16 * 1024  # one decision record; larger documents are referenced by hash
MAX_REFS = 64

Presence = Literal["required", "forbidden", "optional"]
SignedBy = Literal["authority", "log"]


@dataclass(frozen=True)
class EntryType:
    name: str
    fields: tuple[Field, ...]
    subject: Presence = "forbidden"
    min_refs: int = 0
    max_refs: int = 0
    signed_by: SignedBy = "authority"
    doc: str = ""


_REGISTRY: dict[str, EntryType] = {}


def register(entry_type: EntryType) -> EntryType:
    if entry_type.name in _REGISTRY:
        raise ValueError(f"entry type {entry_type.name} registered twice")
    _REGISTRY[entry_type.name] = entry_type
    return entry_type


def get(name: str) -> EntryType:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownEntryType(name) from None


def names() -> list[str]:
    return sorted(_REGISTRY)


_identifier = text(max_len=128)


def validate(draft: Draft, *, index: int | None = None) -> EntryType:
    """Raise ``ValidationError`` listing every problem with ``draft``; return its type."""
    entry_type = get(draft.type)
    problems = _envelope_problems(draft, entry_type)
    problems += validate_body(entry_type.fields, draft.body)
    try:
        size = len(canonical.encode(draft.body))
    except ValidationError as e:
        problems += [Problem(f"body{p.field[1:]}", p.rule) for p in e.problems]
    else:
        if size > MAX_BODY_BYTES:
            problems.append(Problem("body", f"is {size} bytes, more than {MAX_BODY_BYTES}"))
    if problems:
        raise ValidationError(problems, index=index)
    return entry_type


def _envelope_problems(draft: Draft, t: EntryType) -> list[Problem]:
    problems = []
    for name, value in (("authority.id", draft.authority.id), ("actor", draft.actor),
                        ("request_id", draft.request_id)):
        rule = _identifier(value)
        if rule:
            problems.append(Problem(name, rule))
    rule = region_code(draft.authority.region)
    if rule:
        problems.append(Problem("authority.region", rule))
    if t.subject == "required" and draft.subject is None:
        problems.append(Problem("subject", f"is required for {t.name}"))
    elif t.subject == "forbidden" and draft.subject is not None:
        problems.append(Problem("subject", f"must be null for {t.name}"))
    elif draft.subject is not None and hex64(draft.subject):
        problems.append(Problem("subject", "must be a subject reference (64 lowercase hex digits)"))
    refs = draft.refs
    if any(isinstance(r, bool) or not isinstance(r, int) or r < 0 for r in refs):
        problems.append(Problem("refs", "must be non-negative integer seqs"))
    elif list(refs) != sorted(set(refs)):
        problems.append(Problem("refs", "must be strictly increasing"))
    if not t.min_refs <= len(refs) <= min(t.max_refs, MAX_REFS):
        problems.append(Problem("refs", f"{t.name} takes {t.min_refs}-{t.max_refs} refs, got {len(refs)}"))
    return problems


# --- The core types: the log's own bookkeeping and a generic note -------------

LOG_INITIALIZED = register(EntryType(
    "log.initialized",
    (Field("origin", text(max_len=256), doc="checkpoint origin line"),
     Field("log_key", text(max_len=256), doc="the log's C2SP verifier key")),
    signed_by="log",
    doc="Genesis entry (seq 0): names the log and its signing key.",
))

AUTHORITY_REGISTERED = register(EntryType(
    "authority.registered",
    (Field("authority_id", _identifier, doc="the id entries name in authority.id"),
     Field("name", text(max_len=200), doc="the authority's name, e.g. 包头市人力资源和社会保障局"),
     Field("region", region_code, doc="its GB/T 2260 region: entries it signs name this region, and it may "
                                      "record only inside it (docs/authorities.md)"),
     Field("parent", _identifier, required=False, doc="the registered authority above it, whose region covers its own")),
    signed_by="log",
    doc="An authority whose keys may sign records, bound to its region (docs/authorities.md).",
))

KEY_REGISTERED = register(EntryType(
    "key.registered",
    (Field("vkey", text(max_len=256), doc="C2SP verifier key of the authority key"),
     Field("authority_id", _identifier, doc="the authority that signs with it"),
     Field("purpose", text(max_len=200), required=False),
     Field("holder", text(max_len=200), required=False, doc="who holds the private half")),
    signed_by="log",
    doc="An authority key becomes valid for entries after this one.",
))

KEY_REVOKED = register(EntryType(
    "key.revoked",
    (Field("name", _identifier, doc="key name"),
     Field("reason", text(max_len=500))),
    min_refs=1, max_refs=1, signed_by="log",
    doc="The key refs'd (its key.registered) signs nothing after this entry.",
))

TOKEN_ISSUED = register(EntryType(
    "token.issued",
    (Field("token_id", pattern(r"[0-9a-f]{12}", "12 lowercase hex digits"), doc="the token's public id (never its secret)"),
     Field("role", one_of("recorder", "programme_officer", "auditor", "court", "admin"), doc="what it may do (README, roles)"),
     Field("authority_id", _identifier, required=False, doc="writer roles: the registered authority it records for"),
     Field("region", region_code, required=False, doc="writer roles: that authority's registered region"),
     Field("case_ref", text(max_len=200), required=False, doc="court tokens: the case"),
     Field("subjects", list_of(hex64, 1, 100), required=False, doc="court tokens: the case's subject references"),
     Field("expires_at", text(max_len=40), required=False, doc="RFC 3339; absent: until revoked")),
    signed_by="log",
    doc="An API bearer token was issued; the entry's actor is who issued it (Art. 68 accountability). "
        "The holder's label stays in the token table: it may name a person.",
))

TOKEN_REVOKED = register(EntryType(
    "token.revoked",
    (Field("token_id", pattern(r"[0-9a-f]{12}", "12 lowercase hex digits")),),
    max_refs=1, signed_by="log",
    doc="An API bearer token was revoked; refs its token.issued when the log has one. The actor is who revoked it.",
))

NOTE_RECORDED = register(EntryType(
    "note.recorded",
    (Field("text", text(max_len=4000)),
     Field("category", text(max_len=64), required=False),
     Field("subject_ref_hint", hex64, required=False)),
    subject="optional", max_refs=MAX_REFS,
    doc="A generic attributed note: used by tests and the foundation demo.",
))


# The domain's types register themselves on import; importing them here means
# anything that validates or verifies entries knows every type.
from ledger.domain import records  # noqa: E402,F401
