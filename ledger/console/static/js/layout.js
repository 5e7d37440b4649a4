// The frame of every page: the bar with navigation, who is logged in, the
// language switch and log out. Pages call ``frame(titleKey)`` first.
import { session, toLogin } from "./api.js";
import { $, h } from "./dom.js";
import { applyI18n, lang, setLang, t } from "./i18n.js";

const LINKS = [["/console/check", "nav.check"], ["/console/timeline", "nav.timeline"], ["/console/audit", "nav.audit"]];
// Role pages: recording roles keep a signing key in the browser; admins enrol keys (decision 0016).
// Award rounds are screened by programme officers; supervision (Art. 63, 68) is for
// auditors and admins.
const ROLE_LINKS = { programme_officer: [["/console/round", "nav.round"], ["/console/key", "nav.key"]],
  recorder: [["/console/key", "nav.key"]], auditor: [["/console/supervision", "nav.supervision"]],
  admin: [["/console/supervision", "nav.supervision"], ["/console/keys", "nav.keys"]] };

export function frame(titleKey, { requireLogin = true } = {}) {
  if (requireLogin && !session.token()) { toLogin(); return null; }
  const me = session.me();
  const bar = $("#bar");
  const title = document.querySelector("title");
  title.dataset.i18n = titleKey;
  // Absent parts are null: filtered, or append() would write the text "null".
  bar.append(...[
    h("span", { class: "brand", "data-i18n": "brand" }, t("brand")),
    h("nav", {}, me ? [...LINKS, ...(ROLE_LINKS[me.role] ?? [])].map(([href, key]) => h("a", { href, "data-i18n": key,
      "aria-current": location.pathname === href ? "page" : null }, t(key))) : []),
    h("span", { class: "spacer" }),
    me ? h("span", { id: "who", class: "who" }, "") : null,
    h("button", { id: "lang-switch", type: "button", class: "link", "data-i18n": "nav.lang",
      onclick: () => setLang(lang() === "zh" ? "en" : "zh") }, t("nav.lang")),
    me ? h("button", { id: "logout", type: "button", class: "link", "data-i18n": "nav.logout",
      onclick: () => { session.clear(); location.assign("/console/"); } }, t("nav.logout")) : null,
  ].filter((part) => part !== null));
  const who = () => { if (me) $("#who").textContent = t("nav.who", { role: t(`role.${me.role}`), id: me.token_id }); };
  document.addEventListener("langchange", who);
  applyI18n(document);
  return me;
}
