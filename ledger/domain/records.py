"""The domain's entry types (the regulation's records) and their body schemas.

Every domain entry names the subject it concerns (``subject``), including the
entries that act on earlier ones (revocations, recoveries, lifts,
corrections), so a subject's whole history is one index range.

Benefit categories (Art. 66 bars "government awards and talent projects"):
``honor`` (表彰奖励, Art. 51, 62), ``subsidy`` (资助、补贴、奖补, Art. 21-59),
``talent_project`` (人才项目).
"""

from __future__ import annotations

from ledger.log.body_schema import Field, integer, iso_date, list_of, obj, one_of, pattern, region_code, text
from ledger.log.entry_types import EntryType, register

BENEFITS = ("honor", "subsidy", "talent_project")
HONOR_LEVELS = ("national", "regional", "league_city", "county")
SUBSIDY_KINDS = ("research_funding", "living_allowance", "housing", "startup", "award", "project", "other")
END_REASONS = ("expiry", "credit_repair", "correction", "appeal_upheld", "court_deletion", "superseded")
ANSWERS = ("eligible", "barred", "needs_review")
DECISIONS = ("proceed", "refuse", "override")
MAX_FEN = 10**13  # 1,000 亿元: far above any single decision, far below 2^53

_name = text(max_len=200)
_reason = text(max_len=2000)
_fen = integer(1, MAX_FEN)
grant_ref = pattern(r"\S(.{0,62}\S)?", "1-64 characters without surrounding spaces")
legal_basis = obj((
    Field("article", text(max_len=100), doc="e.g. 条例第六十六条"),
    Field("document_no", text(max_len=200), doc="the decision document number, e.g. 内人社发〔2026〕12号"),
))
override = obj((Field("approver", _name), Field("reason", _reason)))
scope = obj((
    Field("benefits", list_of(one_of(*BENEFITS), 1, 3)),
    Field("regions", list_of(region_code, 1, 50)),
    Field("programmes", list_of(text(max_len=100), 0, 50), required=False),
))

HONOR_GRANTED = register(EntryType("honor.granted", (
    Field("title", _name), Field("level", one_of(*HONOR_LEVELS)), Field("programme", text(max_len=100)),
    Field("awarding_body", _name), Field("decision_date", iso_date), Field("region", region_code),
    Field("document_no", text(max_len=200), required=False),
    Field("override", override, required=False, doc="award despite a bar: approver and reason (recorded)"),
), subject="required", doc="Art. 51, 62: an honour or commendation."))

HONOR_REVOKED = register(EntryType("honor.revoked", (
    Field("grounds", _reason), Field("legal_basis", legal_basis), Field("decision_date", iso_date),
    Field("deciding_body", _name),
), subject="required", min_refs=1, max_refs=1, doc="Art. 65: the ref'd honour is withdrawn."))

SUBSIDY_GRANTED = register(EntryType("subsidy.granted", (
    Field("programme", text(max_len=100)), Field("kind", one_of(*SUBSIDY_KINDS)), Field("amount_fen", _fen),
    Field("grant_ref", grant_ref, doc="unique reference shared with the funding system"),
    Field("budget_account", text(max_len=100)), Field("decision_date", iso_date), Field("region", region_code),
    Field("override", override, required=False),
), subject="required", doc="Art. 21, 22, 26, 27, 31, 49, 58, 59: money granted."))

CLAWBACK_ORDERED = register(EntryType("clawback.ordered", (
    Field("amount_fen", _fen), Field("deadline", iso_date), Field("grounds", _reason),
    Field("legal_basis", legal_basis), Field("decision_date", iso_date), Field("deciding_body", _name),
), subject="required", min_refs=1, max_refs=32, doc="Art. 65: recover money from the ref'd grants."))

CLAWBACK_RECOVERED = register(EntryType("clawback.recovered", (
    Field("amount_fen", _fen), Field("recovered_on", iso_date), Field("payment_ref", text(max_len=100), required=False),
), subject="required", min_refs=1, max_refs=1, doc="A (partial) recovery against the ref'd clawback."))

CLAWBACK_WAIVED = register(EntryType("clawback.waived", (
    Field("amount_fen", _fen), Field("reason", _reason), Field("decision_date", iso_date), Field("deciding_body", _name),
), subject="required", min_refs=1, max_refs=1, doc="The rest (or part) of the ref'd clawback is waived."))

SANCTION_IMPOSED = register(EntryType("sanction.imposed", (
    Field("severity", one_of("serious", "general")), Field("grounds", _reason), Field("legal_basis", legal_basis),
    Field("deciding_body", _name), Field("decision_date", iso_date), Field("effective_from", iso_date),
    Field("effective_until", iso_date, required=False, doc="absent or null: indefinite"),
    Field("scope", scope), Field("publicity_until", iso_date, required=False),
), subject="required", doc="Art. 66: barred from the scope's benefits, regions and programmes for a period."))

SANCTION_AMENDED = register(EntryType("sanction.amended", (
    Field("effective_from", iso_date, required=False), Field("effective_until", iso_date, required=False),
    Field("indefinite", one_of("yes"), required=False, doc="'yes' makes the sanction open-ended"),
    Field("scope", scope, required=False), Field("reason", _reason), Field("decision_date", iso_date),
    Field("deciding_body", _name),
), subject="required", min_refs=1, max_refs=1, doc="A new period or scope for the ref'd sanction."))

SANCTION_ENDED = register(EntryType("sanction.ended", (
    Field("reason", one_of(*END_REASONS)), Field("ended_on", iso_date), Field("deciding_body", _name),
    Field("note", _reason, required=False),
), subject="required", min_refs=1, max_refs=1, doc="The ref'd sanction stops applying from ended_on."))

EXEMPTION_GRANTED = register(EntryType("exemption.granted", (
    Field("project", _name), Field("finding", _reason, doc="the diligence finding (依法依规、勤勉尽责、未谋取不正当利益)"),
    Field("decision_date", iso_date), Field("deciding_body", _name),
), subject="required", min_refs=1, max_refs=32,
    doc="Art. 52: the ref'd sanctions or clawbacks are neutralised; they never bar or flag the subject."))

ENTRY_CORRECTED = register(EntryType("entry.corrected", (
    Field("reason", _reason), Field("deciding_body", _name),
), subject="required", min_refs=1, max_refs=1,
    doc="The ref'd entry was wrong from the start: it is void (not the same as ending a sanction)."))

ELIGIBILITY_CHECKED = register(EntryType("eligibility.checked", (
    Field("officer", _name), Field("programme", text(max_len=100)), Field("award_ref", text(max_len=100)),
    Field("benefit", one_of(*BENEFITS)), Field("region", region_code), Field("on", iso_date),
    Field("answer", one_of(*ANSWERS)), Field("tree_size", integer(0)),
    Field("blocking", list_of(integer(0), 0, 100)), Field("decision", one_of(*DECISIONS)),
    Field("approver", _name, required=False), Field("reason", _reason, required=False),
), subject="required", doc="A pre-award check as an event: what the ledger said and what was decided (FAR 9.405)."))

SUBJECT_LINKED = register(EntryType("subject.linked", (
    Field("organisation", pattern(r"[0-9a-f]{64}", "a subject reference")), Field("relation", one_of("employee", "team_member", "leader")),
    Field("valid_from", iso_date), Field("valid_until", iso_date, required=False),
), subject="required", doc="A person works for an organisation (both are subjects)."))

SUBJECT_ERASED = register(EntryType("subject.erased", (
    Field("reason", _reason), Field("legal_basis", text(max_len=200)),
), subject="required", signed_by="log",
    doc="PIPL Art. 47: the subject's vault record (names, numbers, salt, keys) is destroyed."))

RECONCILIATION_KINDS = ("unknown_grant", "payee_mismatch", "overpaid", "duplicate_payment", "paid_while_barred",
                        "paid_after_revocation", "unrecorded_recovery", "over_recovered", "clawback_overdue",
                        "unpaid_grant", "invalid_row", "orphan_reversal")
RECONCILIATION_COMPLETED = register(EntryType("reconciliation.completed", (
    Field("as_of", iso_date, doc="the business date reconciled (transactions booked on or before it)"),
    Field("tree_size", integer(0), doc="the ledger size the grants and clawbacks were read at"),
    Field("source", text(max_len=200), doc="which funding-system source, e.g. csv:funding.csv"),
    Field("input_rows", integer(0)),
    Field("input_fingerprint", pattern(r"\d+:[0-9a-f]{64}", "<rows>:<64 hex>"),
          doc="rows and the sum mod 2^256 of SHA-256 of each row: independent of row order"),
    Field("unpaid_days", integer(1, 3650)),
    Field("counts", obj(tuple(Field(k, integer(0)) for k in RECONCILIATION_KINDS))),
    Field("report_sha256", pattern(r"[0-9a-f]{64}", "64 lowercase hex digits"),
          doc="SHA-256 of the report's RFC 8785 JSON (report.json)"),
), signed_by="log", doc="The nightly reconciliation happened, on this input, and found this (issue 6)."))

EVIDENCE_EXPORTED = register(EntryType("evidence.exported", (
    Field("case", text(max_len=200), doc="the case or request number, e.g. (2026)内01行初1号"),
    Field("requested_by", text(max_len=200)),
    Field("seqs", list_of(integer(0), 1, 100_000), doc="the entries released"),
    Field("subjects", list_of(pattern(r"[0-9a-f]{64}", "a subject reference"), 0, 100),
          doc="subjects whose identity (disclosure) is released"),
    Field("content_sha256", pattern(r"[0-9a-f]{64}", "64 lowercase hex digits"),
          doc="SHA-256 of the RFC 8785 JSON {path: sha256} of the bundle's content files"),
), signed_by="log", doc="Chain of custody (issue 7): what was exported, for which case, to whom, before release."))
