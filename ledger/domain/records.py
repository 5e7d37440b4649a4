"""The domain's entry types (the regulation's records) and their body schemas.

Every domain entry names the subject it concerns (``subject``), including the
entries that act on earlier ones (revocations, recoveries, lifts,
corrections), so a subject's whole history is one index range.

Benefit categories (Art. 66 bars "government awards and talent projects"):
``honor`` (表彰奖励, Art. 51, 62), ``subsidy`` (资助、补贴、奖补, Art. 21-59),
``talent_project`` (人才项目).

``ARTICLES`` says which articles of the regulation each type implements, and
``NOT_IN_REGULATION`` what stands in for them where none does: documentation
data (docs/entry-types.md, ``ledger.domain.type_reference``), never read by
validation.
"""

from __future__ import annotations

from dataclasses import dataclass

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
override = obj((Field("approver", _name, doc="who approved awarding despite the bar"),
                Field("reason", _reason, doc="why")))
scope = obj((
    Field("benefits", list_of(one_of(*BENEFITS), 1, 3), doc="the benefit categories barred"),
    Field("regions", list_of(region_code, 1, 50), doc="where: each code covers the codes under it (150000: the whole region)"),
    Field("programmes", list_of(text(max_len=100), 0, 50), required=False,
          doc="which programmes; absent or empty: every programme"),
))

PROGRAMME_REGISTERED = register(EntryType("programme.registered", (
    Field("code", pattern(r"\S(.{0,62}\S)?", "1-64 characters without surrounding spaces"),
          doc="the code records use: NFC, no surrounding spaces, unique ignoring case"),
    Field("name", _name, doc="the programme's full name, e.g. 草原英才工程"),
    Field("region", region_code, doc="the region whose programme it is (GB/T 2260, a current code)"),
    Field("benefits", list_of(one_of(*BENEFITS), 1, 3), doc="the benefit kinds it awards"),
    Field("deciding_body", _name, doc="the body that runs it and decides its awards"),
), doc="A talent programme whose code sanctions, grants, honours and checks refer to (docs/effects.md)."))

HONOR_GRANTED = register(EntryType("honor.granted", (
    Field("title", _name, doc="the honour's title"),
    Field("level", one_of(*HONOR_LEVELS), doc="level of the awarding body"),
    Field("programme", text(max_len=100), doc="the commendation or talent programme"),
    Field("awarding_body", _name, doc="who awards it"),
    Field("decision_date", iso_date, doc="date of the award decision: the date the award guard checks"),
    Field("region", region_code, doc="where it is awarded: the region the award guard checks"),
    Field("document_no", text(max_len=200), required=False, doc="the decision document number"),
    Field("override", override, required=False, doc="award despite a bar: approver and reason (recorded)"),
), subject="required", doc="Art. 51, 62: an honour or commendation."))

HONOR_REVOKED = register(EntryType("honor.revoked", (
    Field("grounds", _reason, doc="why it is withdrawn"),
    Field("legal_basis", legal_basis, doc="article and decision document number"),
    Field("decision_date", iso_date, doc="date of the revocation decision"),
    Field("deciding_body", _name, doc="who decided"),
), subject="required", min_refs=1, max_refs=1, doc="Art. 65: the ref'd honour is withdrawn."))

SUBSIDY_GRANTED = register(EntryType("subsidy.granted", (
    Field("programme", text(max_len=100), doc="the funding programme"),
    Field("kind", one_of(*SUBSIDY_KINDS), doc="what the money is for"),
    Field("amount_fen", _fen, doc="amount in fen (1/100 yuan)"),
    Field("grant_ref", grant_ref, doc="unique reference shared with the funding system"),
    Field("budget_account", text(max_len=100), doc="the budget account it is paid from"),
    Field("decision_date", iso_date, doc="date of the grant decision: the date the award guard checks"),
    Field("region", region_code, doc="where it is granted: the region the award guard checks"),
    Field("override", override, required=False, doc="grant despite a bar: approver and reason (recorded)"),
), subject="required", doc="Art. 21, 22, 26, 27, 31, 49, 58, 59: money granted."))

CLAWBACK_ORDERED = register(EntryType("clawback.ordered", (
    Field("amount_fen", _fen, doc="amount to recover, in fen: at most what is still claimable on the ref'd grants"),
    Field("deadline", iso_date, doc="date the money is due back (not before decision_date)"),
    Field("grounds", _reason, doc="why the money is recovered"),
    Field("legal_basis", legal_basis, doc="article and decision document number"),
    Field("decision_date", iso_date, doc="date of the recovery decision"),
    Field("deciding_body", _name, doc="who decided"),
), subject="required", min_refs=1, max_refs=32, doc="Art. 65: recover money from the ref'd grants."))

CLAWBACK_RECOVERED = register(EntryType("clawback.recovered", (
    Field("amount_fen", _fen, doc="amount recovered, in fen: at most what is outstanding"),
    Field("recovered_on", iso_date, doc="date the money came back"),
    Field("payment_ref", text(max_len=100), required=False, doc="the funding system's payment reference"),
), subject="required", min_refs=1, max_refs=1, doc="A (partial) recovery against the ref'd clawback."))

CLAWBACK_WAIVED = register(EntryType("clawback.waived", (
    Field("amount_fen", _fen, doc="amount waived, in fen: at most what is outstanding"),
    Field("reason", _reason, doc="why it is waived"),
    Field("decision_date", iso_date, doc="date of the waiver decision"),
    Field("deciding_body", _name, doc="who decided"),
), subject="required", min_refs=1, max_refs=1, doc="The rest (or part) of the ref'd clawback is waived."))

SANCTION_IMPOSED = register(EntryType("sanction.imposed", (
    Field("severity", one_of("serious", "general"), doc="serious or general dishonesty"),
    Field("grounds", _reason, doc="the dishonest conduct"),
    Field("legal_basis", legal_basis, doc="article and decision document number"),
    Field("deciding_body", _name, doc="who decided"),
    Field("decision_date", iso_date, doc="date of the decision"),
    Field("effective_from", iso_date, doc="first day the bar applies"),
    Field("effective_until", iso_date, required=False,
          doc="last day the bar applies (not before effective_from); absent or null: indefinite"),
    Field("scope", scope, doc="which benefits, regions and programmes are barred"),
    Field("publicity_until", iso_date, required=False, doc="last day of the publicity period"),
), subject="required", doc="Art. 66: barred from the scope's benefits, regions and programmes for a period."))

SANCTION_AMENDED = register(EntryType("sanction.amended", (
    Field("effective_from", iso_date, required=False, doc="new first day"),
    Field("effective_until", iso_date, required=False, doc="new last day"),
    Field("indefinite", one_of("yes"), required=False, doc="'yes' makes the sanction open-ended"),
    Field("scope", scope, required=False, doc="new scope, replacing the old one"),
    Field("reason", _reason, doc="why it is amended"),
    Field("decision_date", iso_date, doc="date of the amending decision"),
    Field("deciding_body", _name, doc="who decided"),
), subject="required", min_refs=1, max_refs=1, doc="A new period or scope for the ref'd sanction."))

SANCTION_ENDED = register(EntryType("sanction.ended", (
    Field("reason", one_of(*END_REASONS),
          doc="expiry, credit repair (信用修复), correction (纠错), appeal upheld, court deletion or superseded"),
    Field("ended_on", iso_date, doc="first day the sanction no longer applies"),
    Field("deciding_body", _name, doc="who decided"),
    Field("note", _reason, required=False, doc="free text"),
), subject="required", min_refs=1, max_refs=1, doc="The ref'd sanction stops applying from ended_on."))

EXEMPTION_GRANTED = register(EntryType("exemption.granted", (
    Field("project", _name, doc="the funded project that missed its goals"),
    Field("finding", _reason, doc="the diligence finding (依法依规、勤勉尽责、未谋取不正当利益)"),
    Field("decision_date", iso_date, doc="date of the exemption decision"),
    Field("deciding_body", _name, doc="who decided"),
), subject="required", min_refs=1, max_refs=32,
    doc="Art. 52: the ref'd sanctions or clawbacks are neutralised; they never bar or flag the subject."))

ENTRY_CORRECTED = register(EntryType("entry.corrected", (
    Field("reason", _reason, doc="what was wrong"),
    Field("deciding_body", _name, doc="who decided"),
), subject="required", min_refs=1, max_refs=1,
    doc="The ref'd entry was wrong from the start: it is void (not the same as ending a sanction)."))

ELIGIBILITY_CHECKED = register(EntryType("eligibility.checked", (
    Field("officer", _name, doc="who checked"),
    Field("programme", text(max_len=100), doc="the award's programme"),
    Field("award_ref", text(max_len=100), doc="the award or application checked"),
    Field("benefit", one_of(*BENEFITS), doc="the benefit category checked"),
    Field("region", region_code, doc="where the award is made"),
    Field("on", iso_date, doc="the award's date"),
    Field("answer", one_of(*ANSWERS), doc="what the ledger said"),
    Field("tree_size", integer(0), doc="the ledger size the check read (not beyond the log's size)"),
    Field("blocking", list_of(integer(0), 0, 100), doc="seqs of the entries that barred or flagged (below tree_size)"),
    Field("decision", one_of(*DECISIONS), doc="what the officer decided"),
    Field("approver", _name, required=False, doc="who approved an override (needed for decision override)"),
    Field("reason", _reason, required=False, doc="why (needed for decision override)"),
), subject="required", doc="A pre-award check as an event: what the ledger said and what was decided (FAR 9.405)."))

SUBJECT_LINKED = register(EntryType("subject.linked", (
    Field("organisation", pattern(r"[0-9a-f]{64}", "a subject reference"), doc="the organisation's subject reference"),
    Field("relation", one_of("employee", "team_member", "leader"), doc="the person's relation to it"),
    Field("valid_from", iso_date, doc="first day of the relation"),
    Field("valid_until", iso_date, required=False,
          doc="last day of the relation (not before valid_from); absent or null: open-ended"),
), subject="required", doc="A person works for an organisation (both are subjects)."))

SUBJECT_ERASED = register(EntryType("subject.erased", (
    Field("reason", _reason, doc="why the personal data is erased"),
    Field("legal_basis", text(max_len=200), doc="e.g. 个人信息保护法第四十七条"),
), subject="required", signed_by="log",
    doc="PIPL Art. 47: the subject's vault record (names, numbers, salt, keys) is destroyed."))

RECONCILIATION_KINDS = ("unknown_grant", "payee_mismatch", "overpaid", "duplicate_payment", "paid_while_barred",
                        "paid_after_revocation", "unrecorded_recovery", "over_recovered", "clawback_overdue",
                        "unpaid_grant", "invalid_row", "orphan_reversal", "reversal_mismatch", "payee_erased")
# Kinds added after anchors were first written: optional in ``counts``, so that
# earlier anchors stay valid (docs/reconciliation.md).
_LATER_KINDS = ("reversal_mismatch", "payee_erased")
RECONCILIATION_COMPLETED = register(EntryType("reconciliation.completed", (
    Field("as_of", iso_date, doc="the business date reconciled (transactions booked on or before it)"),
    Field("tree_size", integer(0), doc="the ledger size the grants and clawbacks were read at"),
    Field("source", text(max_len=200), doc="which funding system: its identity (docs/reconciliation.md), e.g. csv"),
    Field("input_rows", integer(0), doc="rows read from the source"),
    Field("input_fingerprint", pattern(r"\d+:[0-9a-f]{64}", "<rows>:<64 hex>"),
          doc="rows and the sum mod 2^256 of SHA-256 of each row: independent of row order"),
    Field("unpaid_days", integer(1, 3650), doc="a grant older than this with nothing paid is reported unpaid"),
    Field("counts", obj(tuple(Field(k, integer(0), doc=f"{k} findings", required=k not in _LATER_KINDS)
                              for k in RECONCILIATION_KINDS)),
          doc="findings of each kind (docs/reconciliation.md)"),
    Field("report_sha256", pattern(r"[0-9a-f]{64}", "64 lowercase hex digits"),
          doc="SHA-256 of the report's RFC 8785 JSON (report.json)"),
), signed_by="log", doc="The nightly reconciliation happened, on this input, and found this (docs/reconciliation.md)."))

EVIDENCE_EXPORTED = register(EntryType("evidence.exported", (
    Field("case", text(max_len=200), doc="the case or request number, e.g. (2026)内01行初1号"),
    Field("requested_by", text(max_len=200), doc="who asked for the evidence"),
    Field("seqs", list_of(integer(0), 1, 100_000), doc="the entries released"),
    Field("subjects", list_of(pattern(r"[0-9a-f]{64}", "a subject reference"), 0, 100),
          doc="subjects whose identity (disclosure) is released"),
    Field("content_sha256", pattern(r"[0-9a-f]{64}", "64 lowercase hex digits"),
          doc="SHA-256 of the RFC 8785 JSON {path: sha256} of the bundle's content files"),
), signed_by="log", doc="Chain of custody (docs/evidence.md): what was exported, for which case, to whom, before release."))


# --- Which articles of the regulation each type implements ---------------------


@dataclass(frozen=True)
class Article:
    """An article of 内蒙古自治区人才发展促进条例 (paragraph if one is meant), and
    the words of it a type implements, quoted as in the adopted Chinese text."""

    number: int
    words: str
    paragraph: int | None = None

    def __str__(self) -> str:
        return f"Art. {self.number}" + (f" ¶{self.paragraph}" if self.paragraph else "")


# Quoted from the adopted text (2023-11-30): docs/entry-types.md shows each type's.
_HONOURS_51 = Article(51, "按照相关规定给予表彰奖励")
_HONOURS_62 = Article(62, "按照国家和自治区有关规定给予表彰和奖励")
_REVOKE_65 = Article(65, "取消其获得的相关荣誉、奖励", paragraph=2)
_RECOVER_65 = Article(65, "追回其所获得的资金", paragraph=2)
_BAR_66 = Article(66, "在一定期限和范围内禁止其获得政府奖励和人才项目")
_EMPLOYERS_66 = Article(66, "建立人才和用人单位失信惩戒机制")
_EXEMPT_52 = Article(52, "已经做到依法依规、勤勉尽责、未谋取不正当利益的，予以免责")
_OFFICIALS_68 = Article(68, "玩忽职守、滥用职权、徇私舞弊的，对直接负责的主管人员和其他直接责任人员依法给予处分")

ARTICLES: dict[str, tuple[Article, ...]] = {
    "honor.granted": (_HONOURS_51, _HONOURS_62),
    "honor.revoked": (_REVOKE_65,),
    "subsidy.granted": (
        Article(21, "在项目承担、科研经费、财政补贴等方面给予支持"),
        Article(22, "在各类研究资助计划中设立青年专项"),
        Article(26, "给予科研经费支持和生活补助"),
        Article(27, "一事一议，通过项目资助、创业扶持等方式给予支持"),
        Article(31, "发挥“鸿雁行动”品牌载体作用"),
        Article(49, "通过奖项、奖励、科研经费补贴等方式给予奖补支持"),
        Article(58, "设立人才发展专项资金"),
        Article(59, "鼓励向人才提供安家补助、购（租）房补助"),
    ),
    "clawback.ordered": (_RECOVER_65,),
    "clawback.recovered": (_RECOVER_65,),
    "clawback.waived": (_RECOVER_65,),
    "sanction.imposed": (_BAR_66,),
    "sanction.amended": (_BAR_66,),
    "sanction.ended": (_BAR_66,),
    "exemption.granted": (_EXEMPT_52,),
    "entry.corrected": (_OFFICIALS_68,),  # the wrong entry stays, attributed; the correction is attributed too
    "eligibility.checked": (_BAR_66, _OFFICIALS_68),
    # Who gave whom which access, and who took it back (ledger.access.tokens).
    "token.issued": (_OFFICIALS_68,),
    "token.revoked": (_OFFICIALS_68,),  # applies the bar; records who checked and what was decided
    "subject.linked": (_EMPLOYERS_66,),  # an employer's bar flags the people linked to it
    "programme.registered": (Article(58, "设立人才发展专项资金"), _BAR_66),  # the programmes funded and barred from
}
# Domain types no article of the regulation asks for: what they rest on instead.
NOT_IN_REGULATION: dict[str, str] = {
    "subject.erased": "none in the regulation: PIPL Art. 47 (个人信息保护法第四十七条), deletion of personal information",
    "reconciliation.completed": "none in the regulation: the nightly reconciliation with the funding systems (docs/reconciliation.md)",
    "evidence.exported": "none in the regulation: chain of custody of evidence exports (docs/evidence.md)",
}
