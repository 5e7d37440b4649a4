// The supervision page (docs/console.md, Supervision; Art. 63, 68): the figures the
// server computed at one tree size (GET /console/api/supervision, supervision_routes.py),
// each as a chart (Chart.js from the npm registry, served from this origin by
// `make vendor`; decision 0026), the table of the same numbers under it, and a CSV
// download of that table. The overrides drill down to their entries, each linked to
// its proof. No aggregation happens here: the page only draws and formats.
import { publicJson, session, toLogin } from "./api.js";
import { authorityName, loaded as authoritiesLoaded } from "./authorities.js";
import { $, clear, h, table, yuan } from "./dom.js";
import { extend, say, sayError, t } from "./i18n.js";
import { frame } from "./layout.js";
import { regionName } from "./regions.js";
import { SUPERVISION_STRINGS } from "./supervision_strings.js";

extend(SUPERVISION_STRINGS);
const me = frame("title.supervision");
const Chart = window.Chart; // the UMD build's global; undefined when the vendor file is missing
const charts = {};
let tree = null; // the GB/T 2260 tree, for league names
let figures = null; // the server's answer on screen
let drill = null; // {authority, officer, entries} of the open drill-down

const PALETTE = ["#1f5fa8", "#b42318", "#1a7f37", "#9a6700", "#6941c6", "#0e7490", "#c2410c", "#475467",
  "#be185d", "#4d7c0f", "#1e40af", "#a16207", "#7c3aed", "#0f766e"];
if (Chart) {
  Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
  Chart.defaults.animation = false; // drawn at once: what the screenshot shows is what the numbers say
} else {
  $("#no-chart").hidden = false;
}

async function get(path) {
  const r = await fetch(path, { cache: "no-store", credentials: "omit", headers: { Authorization: `Bearer ${session.token()}` } });
  if (r.status === 401) { toLogin(); throw new Error("unauthenticated"); }
  return r;
}

function leagueLabel(code) {
  if (code === "150000") return t("sup.league.region");
  return regionName(tree, code).replace(` (${code})`, "");
}

const fenYuan = (fen) => Number(fen) / 100; // for plotting only; every shown amount is yuan(fen), exact

function draw(id, config) {
  if (!Chart) return;
  charts[id]?.destroy();
  const canvas = $(`#${id}`);
  charts[id] = new Chart(canvas, config);
  canvas.dataset.drawn = String(config.data.labels.length);
}

function moneyTicks() {
  return { callback: (value) => `¥${Number(value).toLocaleString("zh-CN")}` };
}

function barConfig(labels, datasets, { money = false, stacked = false, horizontal = false } = {}) {
  const valueAxis = { beginAtZero: true, stacked, ticks: money ? moneyTicks() : { precision: 0 } };
  return {
    type: "bar",
    data: { labels, datasets: datasets.map((d, i) => ({ backgroundColor: PALETTE[i % PALETTE.length], maxBarThickness: 48, ...d })) },
    options: {
      responsive: true, maintainAspectRatio: false, indexAxis: horizontal ? "y" : "x",
      scales: horizontal ? { x: valueAxis, y: { stacked } } : { x: { stacked }, y: valueAxis },
      plugins: { tooltip: { callbacks: money ? { label: (c) => `${c.dataset.label}: ${yuan(c.dataset.fen[c.dataIndex])}` } : {} } },
    },
  };
}

function moneySets(rows) {
  const set = (key, field) => ({ label: t(key), data: rows.map((r) => fenYuan(r[field])), fen: rows.map((r) => r[field]) });
  return [set("sup.chart.granted", "granted_fen"), set("sup.chart.ordered", "ordered_fen"),
    set("sup.chart.recovered", "recovered_fen"), set("sup.chart.overdue", "overdue_fen")];
}

const MONEY_COLUMNS = [["sup.col.grants", (r) => r.grants], ["sup.col.granted", (r) => yuan(r.granted_fen)],
  ["sup.col.clawbacks", (r) => r.clawbacks], ["sup.col.ordered", (r) => yuan(r.ordered_fen)],
  ["sup.col.recovered", (r) => yuan(r.recovered_fen)], ["sup.col.waived", (r) => yuan(r.waived_fen)],
  ["sup.col.overdue", (r) => r.overdue], ["sup.col.overdue_fen", (r) => yuan(r.overdue_fen)]];

function sum(rows, fields) {
  const out = {};
  for (const f of fields) out[f] = rows.reduce((a, r) => a + BigInt(r[f]), 0n).toString();
  return out;
}

function numbered(el, rows) { // each body row named by its key, for tests and links
  el.querySelectorAll("tbody tr").forEach((tr, i) => { tr.dataset.key = rows[i]._key; });
  return el;
}

function showMoney() {
  const rows = figures.money_by_league.map((r) => ({ ...r, _key: r.league }));
  draw("money-chart", barConfig(rows.map((r) => leagueLabel(r.league)), moneySets(rows), { money: true }));
  clear($("#money-table")).append(numbered(table([["sup.col.league", (r) => leagueLabel(r.league)], ...MONEY_COLUMNS],
    rows, t), rows));
  const select = $("#money-league");
  const chosen = select.value;
  clear(select).append(h("option", { value: "" }, t("sup.league.all")),
    ...rows.map((r) => h("option", { value: r.league, selected: r.league === chosen }, leagueLabel(r.league))));
  showMoneyMonths();
}

function showMoneyMonths() {
  const league = $("#money-league").value;
  const months = [...new Set(figures.money.map((r) => r.month))].sort();
  const fields = ["grants", "granted_fen", "clawbacks", "ordered_fen", "recovered_fen", "waived_fen", "overdue", "overdue_fen"];
  const rows = months.map((m) => ({ month: m, _key: m,
    ...sum(figures.money.filter((r) => r.month === m && (!league || r.league === league)), fields) }))
    .filter((r) => fields.some((f) => r[f] !== "0"));
  draw("money-month-chart", barConfig(rows.map((r) => r.month), moneySets(rows), { money: true }));
  clear($("#money-month-table")).append(numbered(table([["sup.col.month", (r) => r.month], ...MONEY_COLUMNS], rows, t), rows));
}
$("#money-league").addEventListener("change", showMoneyMonths);

function showSanctions() {
  const rows = figures.sanctions_by_league.map((r) => ({ ...r, _key: r.league }));
  const set = (key, field) => ({ label: t(key), data: rows.map((r) => r[field]) });
  draw("sanctions-chart", barConfig(rows.map((r) => leagueLabel(r.league)),
    [set("sup.col.imposed", "imposed"), set("sup.col.ended", "ended"), set("sup.col.corrected", "corrected")]));
  const counts = [["sup.col.imposed", (r) => r.imposed], ["sup.col.ended", (r) => r.ended], ["sup.col.corrected", (r) => r.corrected]];
  clear($("#sanctions-table")).append(numbered(table([["sup.col.league", (r) => leagueLabel(r.league)], ...counts], rows, t), rows));
  const monthly = figures.sanctions.map((r) => ({ ...r, _key: `${r.league}-${r.month}` }));
  clear($("#sanctions-month-table")).append(numbered(table([["sup.col.league", (r) => leagueLabel(r.league)],
    ["sup.col.month", (r) => r.month], ...counts], monthly, t), monthly));
}

const proofLink = (seq) => h("a", { href: `/console/audit?seq=${seq}`, class: "seq" }, String(seq));

function showOverrides() {
  const rows = figures.overrides.map((g, i) => ({ ...g, _key: String(i) }));
  const label = (g) => `${authorityName(g.authority_id)} · ${g.officer}`;
  draw("overrides-chart", barConfig(rows.map(label), [
    { label: t("sup.col.awards"), data: rows.map((g) => g.awards) },
    { label: t("sup.col.checks"), data: rows.map((g) => g.checks) }], { stacked: true, horizontal: true }));
  const box = clear($("#overrides-table"));
  if (!rows.length) { box.append(h("p", { class: "hint" }, t("sup.empty"))); return; }
  box.append(numbered(table([
    ["sup.col.authority", (g) => authorityName(g.authority_id)], ["sup.col.officer", (g) => g.officer],
    ["sup.col.awards", (g) => g.awards], ["sup.col.checks", (g) => g.checks], ["sup.col.amount", (g) => yuan(g.amount_fen)],
    ["sup.col.entries", (g) => (figures.drill_down
      ? h("button", { type: "button", class: "link-button drill", onclick: () => openDrill(g.authority_id, g.officer) },
        `${t("sup.drill")} (${g.seqs.length})`)
      : h("span", { class: "seqs" }, g.seqs.join(" ")))],
  ], rows, t), rows));
  if (!figures.drill_down) box.append(h("p", { class: "hint" }, t("sup.drill.forbidden")));
}

async function openDrill(authority, officer) {
  const out = $("#sup-message");
  const q = new URLSearchParams({ authority, officer, as_of: figures.as_of, tree_size: figures.tree_size });
  try {
    const r = await get(`/console/api/supervision/overrides?${q}`);
    const body = await r.json();
    if (!r.ok) { out.className = "message error"; sayError(out, body); return; }
    drill = { authority, officer, entries: body.entries };
    showDrill();
    $("#override-entries").scrollIntoView();
  } catch (err) {
    out.className = "message error";
    sayError(out, err);
  }
}

function showDrill() {
  if (!drill) return;
  $("#override-entries").hidden = false;
  $("#override-entries-heading").textContent = t("sup.drill.heading", { authority: authorityName(drill.authority), officer: drill.officer });
  const rows = drill.entries.map((e) => ({ ...e, _key: String(e.seq) }));
  clear($("#override-entries-table")).append(numbered(table([
    ["sup.col.seq", (e) => proofLink(e.seq)], ["sup.col.kind", (e) => t(`sup.kind.${e.kind}`)],
    ["col.type", (e) => t(`sup.type.${e.type}`)], ["sup.col.date", (e) => e.on],
    ["sup.col.region", (e) => regionName(tree, e.region)], ["col.amount", (e) => (e.amount_fen === null ? "" : yuan(e.amount_fen))],
    ["sup.col.subject", (e) => (e.subject ? h("a", { href: `/console/timeline?subject=${e.subject}`, class: "code" }, `${e.subject.slice(0, 12)}…`) : "")],
    ["sup.col.checked_by", (e) => e.checked_by ?? ""], ["sup.col.actor", (e) => e.actor], ["sup.col.reason", (e) => e.reason],
  ], rows, t), rows));
}

function showNights() {
  const rows = figures.nights.map((n) => ({ ...n, _key: `${n.as_of}-${n.source}` }));
  const kinds = figures.finding_kinds;
  const shown = kinds.filter((k) => rows.some((n) => n.counts[k]));
  draw("nights-chart", barConfig(rows.map((n) => `${n.as_of} ${n.source}`),
    shown.map((k) => ({ label: t(`finding.${k}`), data: rows.map((n) => n.counts[k] ?? 0) })), { stacked: true }));
  const box = clear($("#nights-table"));
  if (!rows.length) { box.append(h("p", { class: "hint" }, t("sup.empty"))); return; }
  box.append(numbered(table([["sup.col.night", (n) => n.as_of], ["sup.col.source", (n) => n.source],
    ["sup.col.seq", (n) => proofLink(n.seq)], ["sup.col.rows", (n) => n.input_rows],
    ...kinds.map((k) => [`finding.${k}`, (n) => n.counts[k] ?? 0])], rows, t), rows));
}

function render() {
  if (!figures) return;
  say($("#sup-meta"), "sup.meta", { as_of: figures.as_of, size: figures.tree_size });
  for (const id of ["money", "sanctions", "overrides", "nights"]) $(`#${id}`).hidden = false;
  showMoney();
  showSanctions();
  showOverrides();
  showNights();
  showDrill();
}
document.addEventListener("langchange", render);

async function load() {
  const out = $("#sup-message");
  out.className = "message";
  say(out, "sup.loading");
  const asOf = $("#as-of").value;
  try {
    const r = await get(`/console/api/supervision${asOf ? `?as_of=${encodeURIComponent(asOf)}` : ""}`);
    const body = await r.json();
    if (!r.ok) {
      out.className = "message error";
      sayError(out, body);
      return;
    }
    figures = body;
    drill = null;
    $("#override-entries").hidden = true;
    $("#as-of").value = figures.as_of;
    say(out, "id.empty");
    render();
  } catch (err) {
    out.className = "message error";
    sayError(out, err);
  }
}

async function download(name, extra = {}) {
  const out = $("#csv-message");
  if (!figures) return;
  const q = new URLSearchParams({ table: name, as_of: figures.as_of, tree_size: figures.tree_size, ...extra });
  try {
    const r = await get(`/console/api/supervision.csv?${q}`);
    if (!r.ok) { const body = await r.json(); out.className = "message error"; sayError(out, body); return; }
    const file = `supervision-${name}-${figures.as_of}-${figures.tree_size}.csv`;
    const url = URL.createObjectURL(await r.blob());
    const a = h("a", { href: url, download: file, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    out.className = "message ok";
    say(out, "sup.csv.ok", { name: file });
  } catch (err) {
    out.className = "message error";
    sayError(out, err);
  }
}
for (const b of document.querySelectorAll("button.csv")) b.addEventListener("click", () => download(b.dataset.table));
$("#csv-override_entries").addEventListener("click", () => drill && download("override_entries", { authority: drill.authority, officer: drill.officer }));

$("#as-of-form").addEventListener("submit", (event) => { event.preventDefault(); load(); });

if (me) {
  tree = await publicJson("/console/api/regions").catch(() => null);
  await authoritiesLoaded;
  await load();
  document.body.dataset.ready = "1"; // for tests and slow machines: the figures are on screen, every handler in place
}
