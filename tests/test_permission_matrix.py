"""The permission matrix, generated from the live schema.

Every root query field, every mutation and every field of every object type of
``ledger.api.schema`` (read from the schema itself, not from a hand list), for
each role (a Hohhot recorder, a Baotou recorder, a programme officer, an
auditor, a court with a case, an admin), in scope and out of scope, is run
against a real app over a real store, and its outcome compared with
``EXPECTED``: allowed, ``Forbidden`` (the union member, or a nested field's
error of code ``forbidden``), or withheld (the answer with the entry's content
left out). ``EXPECTED`` was written from the README's role table and
docs/api.md (Tokens; Reading entries) before the matrix was first run. A field
the schema gains without a row here fails ``test_every_field_has_an_expectation``.

Scope, per role. Two sides: Hohhot (150100), where subject P (named in the
court's case) and organisation P_ORG have their records, and Baotou (150200),
where subject Q (outside the case) and Q_ORG have theirs. A role's own side is
"in": Baotou for the Baotou recorder, Hohhot for everyone else. Reads and
proofs target the side's subject and its entries; writes record about a person
of the side (never in the case), in the side's region or acting on the side's
entries; a court's batch ``subjects`` is in scope when every subject is in its
case. Downloads: "in" is an export of the court's own subjects, "out" one made
by another court token naming the same case with other subjects.

Outcomes that differ from the docs and belong to code owned elsewhere are
marked ``xfail(strict=True)`` in ``KNOWN`` with the reason: when that code is
fixed, the mark fails and must go.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from starlette.testclient import TestClient

from graphql import (
    GraphQLEnumType,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLUnionType,
    get_named_type,
)
from ledger.access import tokens
from ledger.api.app import create_app
from ledger.api.context import AppState, Limits
from ledger.api.schema import build_schema
from ledger.domain.vault import Vault
from ledger.log import canonical, operator, publish
from ledger.log.entry import Draft
from ledger.log.statement import sign_statement
from ledger.signing.keys import Signer
from tests.api_support import Api, make_api
from tests.conftest import (
    BAOTOU,
    BASIS,
    EMPLOYER,
    EMPLOYER_2,
    HOHHOT,
    ORIGIN,
    PERSON,
    PERSON_2,
    REGIONAL,
    DomainLedger,
    FixedClock,
    Store,
    bootstrap,
    make_keyring,
    open_store,
    register_programmes,
)

# --- 1. The expectations, from the README's role table and docs/api.md -------------------
ROLES = ("recorder_hohhot", "recorder_baotou", "programme_officer", "auditor", "court", "admin")
SCOPES = ("in", "out")
RECORDERS = ("recorder_hohhot", "recorder_baotou")
ALLOW, FORBID, WITHHELD = "allowed", "forbidden", "withheld"
Rule = Callable[[str, str], str]


def anyone(role: str, scope: str) -> str:
    """`me`, and the error members each caller gets about its own request."""
    return ALLOW


def status(role: str, scope: str) -> str:
    """Eligibility and subject status: officers "for anyone", recorders and auditors
    (they read every entry the status is folded from), a court "only the subjects
    named in its case", an admin "no records"."""
    if role == "admin":
        return FORBID
    if role == "court":
        return ALLOW if scope == "in" else FORBID
    return ALLOW


def entries(role: str, scope: str) -> str:
    """Raw entries (docs/api.md, Reading entries): auditors and recorders all, a court its
    case's subjects', officers and admins none."""
    if role in ("programme_officer", "admin"):
        return FORBID
    if role == "court":
        return ALLOW if scope == "in" else FORBID
    return ALLOW


def whole_log(role: str, scope: str) -> str:
    """The log page by page, unfiltered: the roles that read every entry."""
    return ALLOW if role in (*RECORDERS, "auditor") else FORBID


def proofs(role: str, scope: str) -> str:
    """Checkpoints and proofs are hashes: every reading role ("proofs" for courts, the
    audit page for programme staff); the admin reads no records."""
    return FORBID if role == "admin" else ALLOW


def entry_bytes(role: str, scope: str) -> str:
    """An inclusion proof's entry bytes: a proof reader gets them when it may read the
    entry, else the proof without them."""
    if role == "admin":
        return FORBID
    return ALLOW if entries(role, scope) == ALLOW else WITHHELD


def admin_only(role: str, scope: str) -> str:
    """Tokens and erasure: "issue, list and revoke tokens; erase vault records"."""
    return ALLOW if role == "admin" else FORBID


def recorders(role: str, scope: str) -> str:
    """"add subjects" (no region), and what a read-only server answers a recorder before
    any region is looked at (``Unavailable``)."""
    return ALLOW if role in RECORDERS else FORBID


def recorders_in_region(role: str, scope: str) -> str:
    """"record ... only where every region the record touches (its own, a sanction's
    scope, the entries it acts on) is in its region subtree"."""
    return ALLOW if role in RECORDERS and scope == "in" else FORBID


def officer_in_region(role: str, scope: str) -> str:
    """"record eligibility checks in its region"."""
    return ALLOW if role == "programme_officer" and scope == "in" else FORBID


def court_in_case(role: str, scope: str) -> str:
    """Evidence exports: a court, of subjects named in its case."""
    return ALLOW if role == "court" and scope == "in" else FORBID


def download(role: str, scope: str) -> str:
    """GET /exports/<id>.zip (docs/api.md, Reading entries): an auditor, or a court whose case
    names every subject of the export."""
    if role == "auditor":
        return ALLOW
    return ALLOW if role == "court" and scope == "in" else FORBID


def _fields(names: str) -> tuple[str, ...]:
    return tuple(names.split())


@dataclass(frozen=True)
class Expect:
    """How to reach an object of one type (``path``), who may (``rule``), every field of
    the type by name, and the fields under a rule of their own."""

    path: str  # a key of PATHS
    rule: Rule
    fields: tuple[str, ...] = ()
    overrides: dict[str, Rule] = field(default_factory=dict)


# Root fields and mutations: coordinate (with @variant where one field is run two ways) -> rule.
ROOT_EXPECTED: dict[str, Expect] = {
    "Query.me": Expect("me", anyone),
    "Query.eligibility": Expect("eligibility", status),
    "Query.subject": Expect("subject", status),
    "Query.subjects": Expect("subjects", status),
    "Query.subjects@batch": Expect("subjects_batch", status),
    "Query.entry": Expect("entry", entries),
    "Query.entries": Expect("entries", entries),
    "Query.entries@whole_log": Expect("whole_log", whole_log),
    "Query.checkpoint": Expect("checkpoint", proofs),
    "Query.latest_checkpoint": Expect("latest_checkpoint", proofs),
    "Query.inclusion_proof": Expect("inclusion_proof", proofs),
    "Query.consistency_proof": Expect("consistency_proof", proofs),
    "Query.tokens": Expect("tokens", admin_only),
    "Mutation.grant_honor": Expect("grant_honor", recorders_in_region),
    "Mutation.revoke_honor": Expect("revoke_honor", recorders_in_region),
    "Mutation.grant_subsidy": Expect("grant_subsidy", recorders_in_region),
    "Mutation.order_clawback": Expect("order_clawback", recorders_in_region),
    "Mutation.record_recovery": Expect("record_recovery", recorders_in_region),
    "Mutation.waive_clawback": Expect("waive_clawback", recorders_in_region),
    "Mutation.impose_sanction": Expect("impose_sanction", recorders_in_region),
    "Mutation.amend_sanction": Expect("amend_sanction", recorders_in_region),
    "Mutation.end_sanction": Expect("end_sanction", recorders_in_region),
    "Mutation.grant_exemption": Expect("grant_exemption", recorders_in_region),
    "Mutation.correct_entry": Expect("correct_entry", recorders_in_region),
    "Mutation.link_subject": Expect("link_subject", recorders_in_region),
    "Mutation.record_eligibility_check": Expect("record_eligibility_check", officer_in_region),
    "Mutation.add_subject": Expect("add_subject", recorders),
    "Mutation.issue_token": Expect("issue_token", admin_only),
    "Mutation.revoke_token": Expect("revoke_token", admin_only),
    "Mutation.erase_subject": Expect("erase_subject", admin_only),
    "Mutation.request_export": Expect("request_export", court_in_case),
    # Signed statements (docs/api.md, Signed statements): authorised like the records they carry.
    "Query.statement_to_sign": Expect("statement_to_sign", recorders_in_region),
    "Mutation.record_statements": Expect("record_statements", recorders_in_region),
    # The key registry is public; enrolling and revoking keys is the admin's.
    "Query.keys": Expect("keys", anyone),
    "Mutation.register_key": Expect("register_key", admin_only),
    "Mutation.revoke_key": Expect("revoke_key", admin_only),
}

ENTRY_FIELDS = _fields("v version seq prev type recorded_at authority actor subject refs request_id body signer "
                       "signed_at sig canonical canonical_base64 leaf_hash")
# Object types: "Type" or "Type@variant" -> how it is reached, who may, every field.
NESTED_EXPECTED: dict[str, Expect] = {
    "Me": Expect("me", anyone, _fields("token_id role authority_id region case_ref subjects")),
    "Subject": Expect("subject", status, _fields("ref on tree_size sanctions honors grants clawbacks history"),
                      {"history": entries}),
    "SubjectList": Expect("subjects", status, _fields("tree_size subjects")),
    "Sanction": Expect("sanction", status, _fields("seq severity effective_from effective_until benefits regions "
                                                   "programmes legal_basis deciding_body version_seq ended_on ended_seq "
                                                   "end_reason voided_seq exempted_seq in_force")),
    "LegalBasis": Expect("legal_basis", status, _fields("article document_no")),
    "Honor": Expect("honor", status, _fields("seq title level programme decision_date region status")),
    "Grant": Expect("grant", status, _fields("seq grant_ref programme kind amount_fen decision_date region status "
                                             "clawback_seqs clawed_back_fen recovered_fen outstanding_fen")),
    "Clawback": Expect("clawback", status, _fields("seq grant_seqs amount_fen recovered_fen waived_fen outstanding_fen "
                                                   "deadline overdue voided_seq exempted_seq")),
    "Eligibility": Expect("eligibility", status, _fields("answer subject on_record benefit programme region on "
                                                         "tree_size blocking warnings")),
    "Reason": Expect("reason", status, _fields("kind seq message legal_basis period_from period_until amount_fen "
                                               "applies_to deciding_body programmes employer exempted_seq deadline")),
    "Entry": Expect("entry", entries, ENTRY_FIELDS),
    "Authority": Expect("authority", entries, _fields("id region")),
    "EntryConnection": Expect("entries", entries, _fields("edges page_info tree_size")),
    "EntryEdge": Expect("edge", entries, _fields("cursor node")),
    "PageInfo": Expect("page_info", entries, _fields("has_next_page end_cursor")),
    "Checkpoint": Expect("latest_checkpoint", proofs, _fields("size root_hash created_at note")),
    "ConsistencyProof": Expect("consistency_proof", proofs,
                               _fields("old_size new_size old_root_hash new_root_hash hashes")),
    "InclusionProof": Expect("inclusion_proof", proofs,
                             _fields("seq tree_size leaf_hash root_hash hashes tlog_proof entry_withheld"),
                             {"tlog_proof": entry_bytes, "entry_withheld": entry_bytes}),
    "TokenList": Expect("tokens", admin_only, _fields("tokens")),
    "TokenInfo": Expect("token_info", admin_only, _fields("token_id role authority_id region case_ref subjects label "
                                                          "created_at expires_at revoked_at")),
    "TokenIssued": Expect("issue_token", admin_only, _fields("token info")),
    "SubjectAdded": Expect("add_subject", recorders, _fields("ref created")),
    "ExportReady": Expect("request_export", court_in_case,
                          _fields("export_id download_path custody_seq tree_size entries")),
    # A mutation answers with the entry it wrote, read under the same rule: its own records.
    "Recorded@impose_sanction": Expect("impose_sanction", recorders_in_region, _fields("entry tree_size")),
    "Recorded@record_eligibility_check": Expect("record_eligibility_check", officer_in_region,
                                                _fields("entry tree_size")),
    "Recorded@erase_subject": Expect("erase_subject", admin_only, _fields("entry tree_size")),
    "StatementToSign": Expect("statement_to_sign", recorders_in_region, _fields("statement signed_bytes")),
    "StatementsRecorded": Expect("record_statements", recorders_in_region, _fields("recorded tree_size")),
    "RecordedStatement": Expect("recorded_statement", recorders_in_region,
                                _fields("index seq leaf_hash retried entry")),
    "KeyList": Expect("keys", anyone, _fields("keys")),
    "KeyInfo": Expect("key_info", anyone, _fields("name authority_id vkey fingerprint registered_seq revoked_seq "
                                                  "valid")),
    "KeyRecorded": Expect("register_key", admin_only, _fields("seq key")),
    # Error members, each reached by a request that fails that way for the role.
    "Forbidden": Expect("forbidden", anyone, _fields("code message")),
    "NotFound": Expect("not_found", anyone, _fields("code message")),
    "ValidationFailed": Expect("validation_failed", anyone, _fields("code message problems")),
    "FieldProblem": Expect("field_problem", anyone, _fields("field rule")),
    "Barred": Expect("barred", recorders_in_region, _fields("code message blocking")),
    "Conflict": Expect("conflict", recorders_in_region, _fields("code message request_id seq")),
    "Unavailable": Expect("unavailable", recorders, _fields("code message")),
}
DOWNLOAD = "GET /exports/{id}.zip"

# Where the code disagrees with the docs and the fix belongs to code owned elsewhere.
KNOWN: dict[tuple[str, str, str], str] = {}

# --- 2. The schema, as strawberry builds it ------------------------------------------------
SCHEMA = build_schema(Limits(introspection=True))._schema
ERRORS = ("ValidationFailed", "Barred", "NotFound", "Conflict", "Forbidden", "Unavailable")


def object_types() -> dict[str, GraphQLObjectType]:
    roots = {SCHEMA.query_type.name, SCHEMA.mutation_type.name}
    return {n: t for n, t in SCHEMA.type_map.items()
            if isinstance(t, GraphQLObjectType) and not n.startswith("__") and n not in roots}


def schema_coordinates() -> set[str]:
    out = {f"Query.{f}" for f in SCHEMA.query_type.fields} | {f"Mutation.{f}" for f in SCHEMA.mutation_type.fields}
    for name, t in object_types().items():
        out |= {f"{name}.{f}" for f in t.fields}
    return out


def table_coordinates() -> set[str]:
    out = {key.split("@")[0] for key in ROOT_EXPECTED}
    for key, e in NESTED_EXPECTED.items():
        out |= {f"{key.split('@')[0]}.{f}" for f in e.fields}
    return out


def _first_scalar(t: GraphQLObjectType) -> str:
    for name, f in t.fields.items():
        if isinstance(get_named_type(f.type), (GraphQLScalarType, GraphQLEnumType)):
            return name
    name, f = next(iter(t.fields.items()))
    return f"{name} {_selection(f.type)}"


def _selection(t: GraphQLOutputType) -> str:
    """What to select under a field of type ``t``: enough to touch the object's own fields
    (an ``Entry`` is asked for ``v``, which passes the read rule), nothing for a scalar."""
    named = get_named_type(t)
    if isinstance(named, GraphQLObjectType):
        return f"{{ __typename {_first_scalar(named)} }}"
    if isinstance(named, GraphQLUnionType):
        return "{ __typename " + " ".join(f"... on {m.name} {{ {_first_scalar(m)} }}" for m in named.types) + " }"
    return ""


# --- 3. Reaching each thing: paths from a root field ------------------------------------
class E(str):
    """A GraphQL enum value, written bare."""


def lit(v: object) -> str:
    if isinstance(v, E):
        return str(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if v is None:
        return "null"
    if isinstance(v, list):
        return "[" + ", ".join(lit(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {lit(x)}" for k, x in v.items()) + "}"
    raise TypeError(v)


def call(root: str, /, **args: object) -> str:
    return f"{root}({', '.join(f'{k}: {lit(v)}' for k, v in args.items())})" if args else root


@dataclass(frozen=True)
class Route:
    """A root call, the member of its result union to expect (None: not a union), and the
    keys from there to the object (ints index lists)."""

    root: str
    member: str | None
    keys: tuple[str | int, ...] = ()
    mutation: bool = False
    read_only: bool = False  # sent to a server without signing keys

    def document(self, type_name: str | None, field_name: str | None) -> str:
        body = "__typename"
        if field_name is not None:
            assert type_name is not None
            t = object_types()[type_name]
            body += f" {field_name} {_selection(t.fields[field_name].type)}"
        for k in reversed([k for k in self.keys if isinstance(k, str)]):
            body = f"{k} {{ __typename {body} }}"
        root_type = SCHEMA.mutation_type if self.mutation else SCHEMA.query_type
        result = get_named_type(root_type.fields[self.root.split("(")[0]].type)
        if isinstance(result, GraphQLUnionType):
            others = " ".join(f"... on {m.name} {{ code message }}" for m in result.types
                              if m.name in ERRORS and m.name != self.member)
            assert self.member in [m.name for m in result.types], (self.root, self.member)
            body = f"__typename {others} ... on {self.member} {{ {body} }}"
        return f"{'mutation' if self.mutation else 'query'} {{ x: {self.root} {{ {body} }} }}"


def classify(answer: dict, route: Route, field_name: str | None) -> str:
    """allowed, forbidden or withheld; anything else is described (and is a mismatch)."""
    errors = answer.get("errors") or []
    if any((e.get("extensions") or {}).get("code") == "forbidden" for e in errors):
        return FORBID
    if errors:
        return "errors: " + "; ".join(e["message"] for e in errors)
    node = answer["data"]["x"]
    if route.member is not None and node["__typename"] != route.member:
        return FORBID if node["__typename"] == "Forbidden" else f"{node['__typename']}: {node.get('message')}"
    for k in route.keys:
        if isinstance(k, int) and len(node) <= k:
            return f"no item {k} at {route.keys}: the world lacks data for this path"
        node = node[k]
        if node is None:
            return f"null at {k}"
    if field_name == "tlog_proof" and node[field_name] is not None and "\nextra " not in node[field_name]:
        return WITHHELD
    if field_name == "entry_withheld" and node[field_name] is True:
        return WITHHELD
    return ALLOW


# --- 4. The world: two sides, their subjects and records, the tokens --------------------
TOKEN = {"recorder_hohhot": "recorder", "recorder_baotou": "recorder_baotou", "programme_officer": "officer",
         "auditor": "auditor", "court": "court", "admin": "admin"}
CASE = "(2026)内01行初7号"
OFFICE = {HOHHOT.region: HOHHOT, BAOTOU.region: BAOTOU}
_fresh = itertools.count(1)


@dataclass
class Side:
    """One region and what is recorded there."""

    region: str
    identifier: str
    ref: str  # the subject read (P on the Hohhot side: in the court's case)
    org: str  # an organisation with a sanction scoped here
    writee: str  # a person the write cases record about (in no case)
    writee_identifier: str
    barred: str  # a person barred from subsidies here
    grant: int = 0  # seqs of the read subject's records here
    sanction: int = 0


@dataclass
class World:
    ledger: DomainLedger
    api: Api
    read_only: TestClient
    sides: dict[str, Side]
    checkpoint_size: int = 0
    exports: dict[str, str] = field(default_factory=dict)  # scope -> download path

    def side(self, role: str, scope: str) -> Side:
        home = "baotou" if role == "recorder_baotou" else "hohhot"
        return self.sides[home if scope == "in" else ("hohhot" if home == "baotou" else "baotou")]

    def person(self) -> tuple[str, str]:
        identifier = f"passport:DEU/M{next(_fresh):08d}"
        return self.ledger.subject(identifier, "矩阵测试"), identifier

    def sanction(self, subject: str, region: str, benefits: tuple[str, ...] = ("talent_project",)) -> int:
        return self.ledger.sanction(subject, benefits=benefits, regions=(region,)).seq

    def grant(self, subject: str, region: str) -> int:
        return self.ledger.grant(subject, amount=1_000_00, region=region).seq

    def clawback(self, subject: str, region: str) -> int:
        """Recorded by the region's own office: a clawback's body names no region, so it
        touches its authority's region (docs/api.md, Tokens)."""
        g = self.grant(subject, region)
        return self.ledger.record("clawback.ordered", subject, {
            "amount_fen": 500_00, "deadline": "2026-08-01", "grounds": "未履约", "legal_basis": BASIS,
            "decision_date": "2026-04-01", "deciding_body": "人社局"}, refs=[g], authority=OFFICE[region]).seq

    def post(self, role: str, route: Route, document: str):
        client = self.read_only if route.read_only else self.api.client
        return client.post("/graphql", json={"query": document},
                           headers={"Authorization": f"Bearer {self.api.tokens[TOKEN[role]]}"})


def _rid() -> str:
    return f"matrix-{uuid.uuid4().hex[:16]}"


HONOR_TITLE = "草原英才"


def honor_body(region: str, title: str = HONOR_TITLE) -> dict:
    return {"title": title, "level": E("regional"), "programme": "草原英才", "awarding_body": "自治区人民政府",
            "decision_date": "2026-03-01", "region": region}


def subsidy_body(region: str) -> dict:
    return {"programme": "草原英才", "kind": E("research_funding"), "amount_fen": 100_00, "grant_ref": f"G-{_rid()}",
            "budget_account": "2130101", "decision_date": "2026-03-01", "region": region}


def _record(name: str, subject: str, body: dict, member: str = "Recorded", **refs: object) -> Route:
    return Route(call(name, request_id=_rid(), subject=subject, **refs, body=body), member, mutation=True)


RouteFn = Callable[[World, str, str], Route]


def _subject(w: World, role: str, scope: str, *keys: str | int) -> Route:
    return Route(call("subject", id=w.side(role, scope).ref), "Subject", keys)


def _entries(w: World, role: str, scope: str, *keys: str | int) -> Route:
    return Route(call("entries", first=5, subject=w.side(role, scope).ref), "EntryConnection", keys)


def _eligibility(w: World, role: str, scope: str, *keys: str | int) -> Route:
    s = w.side(role, scope)
    return Route(call("eligibility", subject=s.ref, benefit=E("talent_project"), region=s.region), "Eligibility", keys)


def _subjects_batch(w: World, role: str, scope: str) -> Route:
    home = w.side(role, "in")
    ids = [home.ref, home.org] if scope == "in" else [home.ref, w.side(role, "out").ref]
    if role == "court":  # the court's case is the Hohhot side's subject and organisation
        ids = [w.sides["hohhot"].ref, w.sides["hohhot"].org] if scope == "in" else \
            [w.sides["hohhot"].ref, w.sides["baotou"].ref]
    return Route(call("subjects", ids=ids), "SubjectList")


def _conflict(w: World, role: str, scope: str) -> Route:
    s = w.side(role, scope)
    rid = _rid()
    first = Route(call("grant_honor", request_id=rid, subject=s.writee, body=honor_body(s.region)), "Recorded",
                 mutation=True)
    w.post(role, first, first.document(None, None))
    return Route(call("grant_honor", request_id=rid, subject=s.writee, body=honor_body(s.region, "另一称号")),
                "Conflict", mutation=True)


def _revoke_token(w: World, role: str, scope: str) -> Route:
    _, info = tokens.issue(w.ledger.engine, w.ledger.keyring, "auditor", w.ledger.clock, actor="operator:matrix",
                           label="矩阵-待撤销")
    return Route(call("revoke_token", token_id=info.token_id), "TokenInfo", mutation=True)


def _sanction_statement(w: World, role: str, scope: str) -> tuple[Draft, Signer]:
    """A sanction on the side's writee, by the side's own authority, signed with its key:
    "in" is the role's own authority and region, "out" the other side's."""
    s = w.side(role, scope)
    authority = OFFICE[s.region]
    body = {"severity": "general", "grounds": "虚报", "legal_basis": BASIS, "deciding_body": "人社局",
            "decision_date": "2026-02-01", "effective_from": "2026-02-01", "effective_until": "2026-12-31",
            "scope": {"benefits": ["talent_project"], "regions": [s.region]}}
    return Draft("sanction.imposed", authority, "officer-1", s.writee, (), _rid(), body), \
        w.ledger.keyring.authorities[authority.id]


def _statement_to_sign(w: World, role: str, scope: str) -> Route:
    d, signer = _sanction_statement(w, role, scope)
    return Route(call("statement_to_sign", type=d.type, request_id=d.request_id, body=d.body, key=signer.name,
                      subject=d.subject), "StatementToSign")


def _record_statements(w: World, role: str, scope: str, *keys: str | int) -> Route:
    d, signer = _sanction_statement(w, role, scope)
    text = canonical.encode(sign_statement(d, signer, w.ledger.clock.now).to_json()).decode()
    return Route(call("record_statements", statements=[text]), "StatementsRecorded", keys, mutation=True)


def _register_key(w: World, role: str, scope: str) -> Route:
    return Route(call("register_key", authority_id=HOHHOT.id, public_key=Signer.generate(f"m-{_rid()}").verifier.vkey()),
                 "KeyRecorded", mutation=True)


def _revoke_key(w: World, role: str, scope: str) -> Route:
    key = Signer.generate(f"m-{_rid()}").verifier
    operator.register_key(w.ledger.engine, w.ledger.keyring.log, key.vkey(), HOHHOT.id, w.ledger.clock)
    return Route(call("revoke_key", name=key.name, reason="遗失"), "KeyRecorded", mutation=True)


def _erase(w: World, role: str, scope: str) -> Route:
    ref, _ = w.person()
    return Route(call("erase_subject", subject=ref, reason="本人申请"), "Recorded", mutation=True)


PATHS: dict[str, RouteFn] = {
    "me": lambda w, r, s: Route("me", None),
    "eligibility": _eligibility,
    "reason": lambda w, r, s: _eligibility(w, r, s, "blocking", 0),
    "subject": _subject,
    "sanction": lambda w, r, s: _subject(w, r, s, "sanctions", 0),
    "legal_basis": lambda w, r, s: _subject(w, r, s, "sanctions", 0, "legal_basis"),
    "honor": lambda w, r, s: _subject(w, r, s, "honors", 0),
    "grant": lambda w, r, s: _subject(w, r, s, "grants", 0),
    "clawback": lambda w, r, s: _subject(w, r, s, "clawbacks", 0),
    "subjects": lambda w, r, s: Route(call("subjects", ids=[w.side(r, s).ref]), "SubjectList"),
    "subjects_batch": _subjects_batch,
    "entry": lambda w, r, s: Route(call("entry", seq=w.side(r, s).grant), "Entry"),
    "authority": lambda w, r, s: Route(call("entry", seq=w.side(r, s).grant), "Entry", ("authority",)),
    "entries": _entries,
    "edge": lambda w, r, s: _entries(w, r, s, "edges", 0),
    "page_info": lambda w, r, s: _entries(w, r, s, "page_info"),
    "whole_log": lambda w, r, s: Route(call("entries", first=5), "EntryConnection"),
    "checkpoint": lambda w, r, s: Route(call("checkpoint", size=w.checkpoint_size), "Checkpoint"),
    "latest_checkpoint": lambda w, r, s: Route("latest_checkpoint", "Checkpoint"),
    "inclusion_proof": lambda w, r, s: Route(call("inclusion_proof", seq=w.side(r, s).grant), "InclusionProof"),
    "consistency_proof": lambda w, r, s: Route(call("consistency_proof", old_size=1, new_size=w.checkpoint_size),
                                              "ConsistencyProof"),
    "tokens": lambda w, r, s: Route("tokens", "TokenList"),
    "token_info": lambda w, r, s: Route("tokens", "TokenList", ("tokens", 0)),
    # writes
    "grant_honor": lambda w, r, s: _record("grant_honor", w.side(r, s).writee, honor_body(w.side(r, s).region)),
    "revoke_honor": lambda w, r, s: _record("revoke_honor", w.side(r, s).writee, {
        "grounds": "弄虚作假", "legal_basis": BASIS, "decision_date": "2026-04-01", "deciding_body": "自治区人民政府"},
        ref=w.ledger.honor(w.side(r, s).writee, region=w.side(r, s).region).seq),
    "grant_subsidy": lambda w, r, s: _record("grant_subsidy", w.side(r, s).writee, subsidy_body(w.side(r, s).region)),
    "order_clawback": lambda w, r, s: _record("order_clawback", w.side(r, s).writee, {
        "amount_fen": 10_00, "deadline": "2026-08-01", "grounds": "未履约", "legal_basis": BASIS,
        "decision_date": "2026-05-01", "deciding_body": "人社局"},
        refs=[w.grant(w.side(r, s).writee, w.side(r, s).region)]),
    "record_recovery": lambda w, r, s: _record("record_recovery", w.side(r, s).writee, {
        "amount_fen": 1_00, "recovered_on": "2026-06-01"}, ref=w.clawback(w.side(r, s).writee, w.side(r, s).region)),
    "waive_clawback": lambda w, r, s: _record("waive_clawback", w.side(r, s).writee, {
        "amount_fen": 1_00, "reason": "困难", "decision_date": "2026-06-02", "deciding_body": "人社局"},
        ref=w.clawback(w.side(r, s).writee, w.side(r, s).region)),
    "impose_sanction": lambda w, r, s: _record("impose_sanction", w.side(r, s).writee, {
        "severity": E("general"), "grounds": "虚报", "legal_basis": BASIS, "deciding_body": "人社局",
        "decision_date": "2026-02-01", "effective_from": "2026-02-01", "effective_until": "2026-12-31",
        "scope": {"benefits": [E("talent_project")], "regions": [w.side(r, s).region]}}),
    "amend_sanction": lambda w, r, s: _record("amend_sanction", w.side(r, s).writee, {
        "reason": "复核", "decision_date": "2026-07-01", "deciding_body": "人社局", "effective_until": "2028-06-30"},
        ref=w.sanction(w.side(r, s).writee, w.side(r, s).region)),
    "end_sanction": lambda w, r, s: _record("end_sanction", w.side(r, s).writee, {
        "reason": E("expiry"), "ended_on": "2026-07-01", "deciding_body": "人社局"},
        ref=w.sanction(w.side(r, s).writee, w.side(r, s).region)),
    "grant_exemption": lambda w, r, s: _record("grant_exemption", w.side(r, s).writee, {
        "project": "项目", "finding": "依法依规、勤勉尽责、未谋取不正当利益", "decision_date": "2026-03-01",
        "deciding_body": "人社局"}, refs=[w.sanction(w.side(r, s).writee, w.side(r, s).region)]),
    "correct_entry": lambda w, r, s: _record("correct_entry", w.side(r, s).writee, {
        "reason": "录入错误", "deciding_body": "人社局"}, ref=w.grant(w.side(r, s).writee, w.side(r, s).region)),
    "link_subject": lambda w, r, s: _record("link_subject", w.person()[0], {
        "organisation": w.side(r, s).org, "relation": E("employee"), "valid_from": "2025-01-01"}),
    "record_eligibility_check": lambda w, r, s: Route(call(
        "record_eligibility_check", request_id=_rid(), subject=w.side(r, s).writee, benefit=E("honor"),
        programme="草原英才", region=w.side(r, s).region, on="2026-06-01", award_ref=f"AW-{_rid()}",
        officer="审核员", decision=E("refuse")), "Recorded", mutation=True),
    "add_subject": lambda w, r, s: Route(call("add_subject", identifier=w.side(r, s).writee_identifier,
                                             name="矩阵测试"), "SubjectAdded", mutation=True),
    "issue_token": lambda w, r, s: Route(call("issue_token", role=E("auditor"), label="矩阵"), "TokenIssued",
                                        mutation=True),
    "revoke_token": _revoke_token,
    "erase_subject": _erase,
    "request_export": lambda w, r, s: Route(call("request_export", subjects=[w.side(r, s).ref]), "ExportReady",
                                           mutation=True),
    "statement_to_sign": _statement_to_sign,
    "record_statements": _record_statements,
    "recorded_statement": lambda w, r, s: _record_statements(w, r, s, "recorded", 0),
    "keys": lambda w, r, s: Route(call("keys", authority_id=HOHHOT.id), None),
    "key_info": lambda w, r, s: Route(call("keys", authority_id=HOHHOT.id), None, ("keys", 0)),
    "register_key": _register_key,
    "revoke_key": _revoke_key,
    # error members
    "forbidden": lambda w, r, s: Route("latest_checkpoint" if r == "admin" else "tokens", "Forbidden"),
    "not_found": lambda w, r, s: (Route(call("revoke_token", token_id="000000000000"), "NotFound", mutation=True)
                                  if r == "admin" else Route(call("checkpoint", size=10**9), "NotFound")),
    "validation_failed": lambda w, r, s: Route(call("subjects", ids=[]), "ValidationFailed"),
    "field_problem": lambda w, r, s: Route(call("subjects", ids=[]), "ValidationFailed", ("problems", 0)),
    "barred": lambda w, r, s: _record("grant_subsidy", w.side(r, s).barred, subsidy_body(w.side(r, s).region),
                                      "Barred"),
    "conflict": _conflict,
    "unavailable": lambda w, r, s: Route(call("grant_honor", request_id=_rid(), subject=w.side(r, s).writee,
                                             body=honor_body(w.side(r, s).region)), "Unavailable", mutation=True,
                                        read_only=True),
}


def _side(region: str, ledger: DomainLedger, identifier: str, org_identifier: str) -> Side:
    ref = ledger.subject(identifier, "矩阵测试")
    org = ledger.subject(org_identifier, "矩阵测试公司")
    ledger.sanction(org, benefits=("talent_project",), regions=(region,))
    writee_identifier = f"passport:DEU/W{region}"
    writee = ledger.subject(writee_identifier, "矩阵测试")
    barred = ledger.subject(f"passport:DEU/B{region}", "矩阵测试")
    ledger.sanction(barred, benefits=("subsidy", "honor"), regions=(region,))
    s = Side(region, identifier, ref, org, writee, writee_identifier, barred)
    s.sanction = ledger.sanction(ref, benefits=("talent_project",), regions=(region,)).seq
    s.grant = ledger.grant(ref, amount=2_000_00, region=region).seq
    ledger.record("clawback.ordered", ref, {"amount_fen": 500_00, "deadline": "2026-08-01", "grounds": "未履约",
                                           "legal_basis": BASIS, "decision_date": "2026-04-01",
                                           "deciding_body": "人社局"}, refs=[s.grant])
    ledger.honor(ref, region=region)
    return s


def build_world(store: Store) -> World:
    """As the ``domain`` fixture of tests/conftest.py, then the two sides, the tokens, a
    checkpoint and two exports."""
    ring, clock = make_keyring(), FixedClock()
    bootstrap(store.engine, ring, clock, (HOHHOT, BAOTOU, REGIONAL))
    register_programmes(store.engine, ring, clock)
    ledger = DomainLedger(store, ring, clock)
    ledger.vault = Vault(bytes(range(32)))
    sides = {"hohhot": _side("150100", ledger, PERSON, EMPLOYER), "baotou": _side("150200", ledger, PERSON_2, EMPLOYER_2)}
    api = make_api(ledger)
    api.court(TOKEN["court"], [sides["hohhot"].ref, sides["hohhot"].org], case_ref=CASE)
    api.court("court_same_case", [sides["baotou"].ref], case_ref=CASE)  # one case text, other subjects
    read_only = TestClient(create_app(AppState(ledger.engine, None, ledger.vault, ledger.clock, Limits(),
                                               api.state.settings)))
    w = World(ledger, api, read_only, sides)
    publish.publish(ledger.engine, ring.log, ORIGIN, clock)
    with ledger.engine.connect() as conn:
        w.checkpoint_size = publish.stored(conn, None).size
    for scope, who, side in (("in", TOKEN["court"], "hohhot"), ("out", "court_same_case", "baotou")):
        ready = api.gql(who, "mutation($s: [String!]!) { request_export(subjects: $s) { __typename "
                             "... on ExportReady { download_path } ... on Error { message } } }",
                        s=[sides[side].ref])["request_export"]
        assert ready["__typename"] == "ExportReady", ready
        w.exports[scope] = ready["download_path"]
    return w


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory):
    with open_store(request.param, tmp_path_factory.mktemp("matrix")) as store:
        yield build_world(store)


# --- 5. The cases --------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    coordinate: str  # Type.field, with @variant when one field is reached two ways
    path: str  # a key of PATHS ("" for the download)
    type_name: str | None  # the object type whose field is read (None: a root field's own answer)
    field_name: str | None
    role: str
    scope: str
    expected: str

    @property
    def id(self) -> str:
        return f"{self.coordinate}[{self.role},{self.scope}]"


def _cases() -> list[Case]:
    out = []
    for (coordinate, e), role, scope in itertools.product(ROOT_EXPECTED.items(), ROLES, SCOPES):
        out.append(Case(coordinate, e.path, None, None, role, scope, e.rule(role, scope)))
    for (key, e), role, scope in itertools.product(NESTED_EXPECTED.items(), ROLES, SCOPES):
        type_name, _, variant = key.partition("@")
        for f in e.fields:
            if f in object_types().get(type_name, GraphQLObjectType(type_name, {})).fields:
                rule = e.overrides.get(f, e.rule)
                coordinate = f"{type_name}.{f}" + (f"@{variant}" if variant else "")
                out.append(Case(coordinate, e.path, type_name, f, role, scope, rule(role, scope)))
    for role, scope in itertools.product(ROLES, SCOPES):
        out.append(Case(DOWNLOAD, "", None, None, role, scope, download(role, scope)))
    return out


CASES = _cases()


def _param(c: Case):
    reason = KNOWN.get((c.coordinate, c.role, c.scope))
    return pytest.param(c, id=c.id, marks=[pytest.mark.xfail(strict=True, reason=reason)] if reason else [])


def test_every_field_has_an_expectation():
    """Every root field, mutation and object field of the live schema has a row, and
    every row names a field that exists."""
    missing = sorted(schema_coordinates() - table_coordinates())
    stale = sorted(table_coordinates() - schema_coordinates())
    assert not missing, f"fields without an expectation (add them to ROOT_EXPECTED / NESTED_EXPECTED): {missing}"
    assert not stale, f"expectations for fields the schema does not have: {stale}"
    assert set(PATHS) >= {e.path for e in (*ROOT_EXPECTED.values(), *NESTED_EXPECTED.values())}


def test_the_matrix_covers_every_role_and_scope():
    coordinates = {c.coordinate for c in CASES}
    assert len(CASES) == len(coordinates) * len(ROLES) * len(SCOPES)
    assert {c.expected for c in CASES} == {ALLOW, FORBID, WITHHELD}


def run(w: World, c: Case) -> tuple[str, str]:
    """The outcome, and what was asked and answered (for the failure message)."""
    if c.coordinate == DOWNLOAD:
        r = w.api.client.get(w.exports[c.scope], headers={"Authorization": f"Bearer {w.api.tokens[TOKEN[c.role]]}"})
        return {200: ALLOW, 403: FORBID}.get(r.status_code, f"HTTP {r.status_code}"), r.text[:300]
    route = PATHS[c.path](w, c.role, c.scope)
    document = route.document(c.type_name, c.field_name)
    r = w.post(c.role, route, document)
    if r.status_code != 200:
        return f"HTTP {r.status_code}", r.text[:300]
    return classify(r.json(), route, c.field_name), f"{document}\n-> {r.text[:600]}"


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_permission(world, case: Case):
    got, exchange = run(world, case)
    assert got == case.expected, f"{case.id}: {got}, want {case.expected}\n{exchange}"


# --- 6. No vault oracle: authorisation before resolution -------------------------------
NOBODY = "passport:FRA/NOBODY0001"  # well formed; no subject holds it
ORACLE: dict[str, Callable[[str], Route]] = {
    "eligibility": lambda i: Route(call("eligibility", subject=i, benefit=E("honor"), region="150100"), "Eligibility"),
    "subject": lambda i: Route(call("subject", id=i), "Subject"),
    "subjects": lambda i: Route(call("subjects", ids=[i]), "SubjectList"),
    "entries": lambda i: Route(call("entries", first=5, subject=i), "EntryConnection"),
    "request_export": lambda i: Route(call("request_export", subjects=[i]), "ExportReady", mutation=True),
}
ORACLE_KNOWN: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize("role,root", [
    pytest.param(role, root, id=f"{root}[{role}]",
                 marks=[pytest.mark.xfail(strict=True, reason=ORACLE_KNOWN[(role, root)])]
                 if (role, root) in ORACLE_KNOWN else [])
    for role in ("court", "admin") for root in ORACLE])
def test_no_answer_tells_who_is_in_the_vault(world, role, root):
    """A subject outside the court's case (or any, for the admin) and an identifier nobody
    holds get the same answer: Forbidden (docs/api.md, Reading entries)."""
    answers = []
    for identifier in (world.sides["baotou"].identifier, NOBODY):
        route = ORACLE[root](identifier)
        answers.append(world.post(role, route, route.document(None, None)).json()["data"]["x"]["__typename"])
    assert answers == ["Forbidden", "Forbidden"]


# --- the public read (docs/publicity.md) ------------------------------------------------

@pytest.mark.parametrize("action", list(__import__("ledger.access.policy", fromlist=["Action"]).Action))
def test_anonymous_callers_may_only_read_the_publicity_list(action):
    from ledger.access.policy import Action, Principal, Role, require_public
    from ledger.errors import Forbidden

    if action is Action.read_publicity:
        require_public(None, action)
        for role in Role:  # published to everyone: every token may read it too
            require_public(Principal("t", role), action)
    else:
        with pytest.raises(Forbidden):
            require_public(None, action)
