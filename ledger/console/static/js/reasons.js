// A check's reason as a sentence a person reads, in the console's language.
// The API gives each reason a ``kind`` and its parameters (seq, period, amount,
// deciding body, exemption, deadline, programmes, employer); this module is the
// one place that turns them into words, for the single check, the award round
// and the supervision pages alike. The server's ``message`` is English and is
// used only for a kind this console has no words for yet.
import { authorityName, loaded } from "./authorities.js";
import { yuan } from "./dom.js";
import { dateText, has, join, t } from "./i18n.js";

/** The i18n key for reason ``r`` (exemption_applied is worded by what it neutralised). */
export function reasonKey(r) {
  return r.kind === "exemption_applied" ? `reason.exemption_applied.${r.applies_to ?? "sanction"}` : `reason.${r.kind}`;
}

/** The reason ``r`` (an Eligibility reason from the API) as display text. */
export function reasonText(r) {
  const key = reasonKey(r);
  if (!has(key)) return r.message; // a kind newer than this console: better English than nothing
  const params = {
    seq: r.seq, body: authorityName(r.deciding_body), from: dateText(r.period_from),
    until: r.period_until ? dateText(r.period_until) : t("common.open_ended"), amount: yuan(r.amount_fen),
    deadline: dateText(r.deadline),
    exempted: r.exempted_seq ?? "", employer: r.employer ? `${r.employer.slice(0, 12)}…` : "",
  };
  const programmes = r.programmes?.length ? t("reason.programmes", { programmes: join(r.programmes) }) : "";
  return t(key, params) + programmes;
}

/** A span holding ``reasonText(r)`` that re-words itself when the language is switched. */
export function reasonEl(r) {
  const el = document.createElement("span");
  el.className = "reason-text";
  el.dataset.kind = r.kind;
  el.textContent = reasonText(r);
  SHOWN.set(el, r);
  return el;
}

const SHOWN = new WeakMap();
await loaded; // importers (check, round, supervision pages) get the authority names without asking
document.addEventListener("langchange", () => {
  for (const el of document.querySelectorAll(".reason-text")) if (SHOWN.has(el)) el.textContent = reasonText(SHOWN.get(el));
});
