// A ledger entry as a sentence a person reads (docs/console.md, Subject timeline):
// one sentence per entry type, in the console's language, with codes, dates,
// amounts, regions and authorities in words. The Chinese vocabulary is the
// evidence report's (ledger/evidence/labels.py, served at /console/api/labels):
// one source, never a copy. A type without a sentence shows its label and its
// body fields labelled.
import { publicJson } from "./api.js";
import { authorityName, loaded as authoritiesLoaded } from "./authorities.js";
import { yuan } from "./dom.js";
import { dateText, has, join, lang, t } from "./i18n.js";

let VOCAB = { types: {}, fields: {}, hidden: [], codes: {}, coded_by_type: {} };
let REGIONS = new Map();
/** Labels and region names, loaded once; on failure codes are shown as they stand. */
export const loaded = Promise.all([
  publicJson("/console/api/labels").then((v) => { VOCAB = v; }).catch(() => {}),
  publicJson("/console/api/regions").then((tree) => {
    const walk = (n, parent) => { REGIONS.set(n.code, parent && n.code !== parent.code && !n.name.startsWith(parent.name) && parent.code !== "150000" ? `${parent.name}${n.name}` : n.name); (n.children ?? []).forEach((c) => walk(c, n)); };
    walk(tree, null);
  }).catch(() => {}),
  authoritiesLoaded,
]);

const zh = () => lang() === "zh";
/** Amounts: ¥5,000.00 in both languages (yuan() in dom.js). */
const money = (fen) => yuan(fen);
export const regionText = (code) => (REGIONS.has(code) ? REGIONS.get(code) : code);
const code = (type, field, value) => {
  if (!zh()) return has(`${field}.${value}`) ? t(`${field}.${value}`) : String(value).replaceAll("_", " ");
  return (VOCAB.coded_by_type[`${type} ${field}`] ?? VOCAB.codes[field] ?? {})[value] ?? value;
};
/** An entry type in words (the report's label in Chinese). */
export function typeText(type) {
  if (zh()) return VOCAB.types[type] ?? type;
  return has(`type.${type}`) ? t(`type.${type}`) : type.replace(".", " ").replaceAll("_", " ");
}
const fieldText = (f) => (zh() ? VOCAB.fields[f] ?? f : f.replaceAll("_", " "));
const basis = (lb) => (lb ? `${lb.article}${lb.document_no ? ` ${lb.document_no}` : ""}` : "");
const until = (d) => (d ? dateText(d) : t("common.open_ended"));
const scope = (type, s) => (s ? `${join(s.benefits.map((b) => code(type, "benefits", b)))} · ${join(s.regions.map(regionText))}`
  + (s.programmes?.length ? ` · ${join(s.programmes)}` : "") : "");

/** A body value in words: amounts, regions, dates, codes, lists, objects. */
function value(type, field, v) {
  if (field === "amount_fen" && Number.isInteger(v)) return money(v);
  if (field === "region" || field === "regions") return join((Array.isArray(v) ? v : [v]).map(regionText));
  if (field === "legal_basis" && v && typeof v === "object") return basis(v);
  if (field === "deciding_body" || field === "awarding_body" || field === "authority_id") return authorityName(v);
  if (Array.isArray(v)) return join(v.map((x) => value(type, field, x)));
  if (v && typeof v === "object") return Object.entries(v).map(([k, x]) => `${fieldText(k)}${zh() ? "：" : ": "}${value(type, k, x)}`).join(zh() ? "；" : "; ");
  if (typeof v === "string") return /^\d{4}-\d{2}-\d{2}$/.test(v) ? dateText(v) : code(type, field, v);
  return String(v);
}

/** The body's fields, labelled (hashes, keys and counts left to the bytes, as in the report). */
export function fieldsText(e) {
  const hidden = new Set(VOCAB.hidden);
  return Object.entries(e.body).filter(([k]) => !hidden.has(k))
    .map(([k, v]) => `${fieldText(k)}${zh() ? "：" : ": "}${value(e.type, k, v)}`).join(zh() ? "；" : "; ");
}

/** The entry as one sentence in the console's language. */
export function entrySentence(e) {
  const b = e.body, key = `entry.${e.type}`;
  if (!has(key)) return `${typeText(e.type)}${zh() ? "：" : ": "}${fieldsText(e)}`;
  const params = {
    date: dateText(b.decision_date ?? b.on ?? b.recovered_on ?? b.ended_on ?? ""), body: authorityName(b.deciding_body ?? b.awarding_body ?? e.authority?.id),
    ref: e.refs?.[0] ?? "", amount: b.amount_fen !== undefined ? money(b.amount_fen) : "", deadline: dateText(b.deadline),
    severity: b.severity ? code(e.type, "severity", b.severity) : "", from: dateText(b.effective_from), until: until(b.effective_until),
    grounds: b.grounds ?? "", basis: typeof b.legal_basis === "string" ? b.legal_basis : basis(b.legal_basis), scope: scope(e.type, b.scope),
    reason: b.reason !== undefined ? code(e.type, "reason", b.reason) : "", ended_on: dateText(b.ended_on), recovered_on: dateText(b.recovered_on),
    title: b.title ?? "", level: b.level ? code(e.type, "level", b.level) : "", programme: b.programme ?? "", region: b.region ? regionText(b.region) : "",
    kind: b.kind ? code(e.type, "kind", b.kind) : "", grant_ref: b.grant_ref ?? "", project: b.project ?? "", finding: b.finding ?? "",
    officer: b.officer ?? "", award_ref: b.award_ref ?? "", benefit: b.benefit ? code(e.type, "benefit", b.benefit) : "",
    answer: b.answer ? t(`answer.${b.answer}`) : "", decision: b.decision ? t(`decision.${b.decision}`) : "", on: dateText(b.on),
    text: b.text ?? "", note: b.note ?? "",
  };
  let text = t(key, params);
  if (e.type === "sanction.amended") text += fieldsText({ type: e.type, body: Object.fromEntries(Object.entries(b).filter(([k]) => !["reason", "decision_date", "deciding_body"].includes(k))) });
  if (b.override) text += t("entry.override", { approver: b.override.approver, reason: b.override.reason });
  if (b.approver) text += t("entry.override", { approver: b.approver, reason: b.reason ?? "" });
  return text;
}
