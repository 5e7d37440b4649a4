// The public publicity page (docs/publicity.md): no login. The list of sanctions
// in their publicity period, masked by the server, and a search by the FULL
// identifier sent in a POST body (never in the URL).
import "./public_strings.js";
import { $, clear, h } from "./dom.js";
import { t } from "./i18n.js";
import { frame } from "./layout.js";

frame("title.public", { requireLogin: false });

const PER_PAGE = 20;
let page = 1;
let last = null; // the last answer shown, re-rendered on a language switch

function period(item) {
  return `${item.effective_from} – ${item.effective_until ?? t("public.indefinite")}`;
}

function scope(s) {
  const parts = [s.benefits.map((b) => t(`benefit.${b}`)).join("、"), s.regions.join("、")];
  if (s.programmes.length) parts.push(s.programmes.join("、"));
  return parts.join(" · ");
}

function render() {
  const rows = clear($("#public-rows"));
  if (!last) return;
  for (const item of last.items) {
    rows.append(h("tr", {},
      h("td", {}, item.name), h("td", { class: "code" }, item.identifier), h("td", {}, item.deciding_body),
      h("td", { class: "grounds" }, item.grounds),
      h("td", {}, `${item.legal_basis.article} ${item.legal_basis.document_no}`),
      h("td", {}, period(item)), h("td", {}, scope(item.scope)), h("td", {}, item.publicity_until)));
  }
  if (!last.items.length) rows.append(h("tr", {}, h("td", { colspan: "8" }, t("public.none"))));
  $("#public-meta").textContent = last.search ? t("public.found", { n: last.items.length })
    : t("public.meta", { on: last.on, total: last.total, page: last.page });
  $("#public-prev").disabled = Boolean(last.search) || last.page <= 1;
  $("#public-next").disabled = Boolean(last.search) || last.page * last.per_page >= last.total;
}

async function answer(response) {
  const body = await response.json().catch(() => ({}));
  const message = $("#public-message");
  message.className = "message";
  message.textContent = "";
  if (response.status === 429) {
    message.className = "message error";
    message.textContent = t("public.limited", { s: response.headers.get("Retry-After") ?? "1" });
    return null;
  }
  if (!response.ok) {
    message.className = "message error";
    const why = body.problems ? body.problems.map((p) => `${p.field}: ${p.rule}`).join("; ") : (body.error ?? response.status);
    message.textContent = t("public.error", { message: why });
    return null;
  }
  return body;
}

async function load() {
  const body = await answer(await fetch(`/console/api/publicity?page=${page}&per_page=${PER_PAGE}`));
  if (body) { last = body; render(); }
}

$("#public-search").addEventListener("submit", async (event) => {
  event.preventDefault();
  const identifier = $("#public-identifier").value.trim();
  const body = await answer(await fetch("/console/api/publicity/search", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ identifier }) }));
  if (body) { last = { ...body, search: true }; render(); }
});
$("#public-show-all").addEventListener("click", () => { page = 1; $("#public-identifier").value = ""; load(); });
$("#public-prev").addEventListener("click", () => { page = Math.max(1, page - 1); load(); });
$("#public-next").addEventListener("click", () => { page += 1; load(); });
document.addEventListener("langchange", render);
load();
