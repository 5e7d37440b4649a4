// The subject timeline (docs/console.md, Subject timeline): every entry about a subject in seq order,
// grouped by honour, grant, clawback and sanction, with the projections'
// amounts outstanding and sanction periods drawn on a time axis (SVG).
import { gql, isError, session } from "./api.js";
import { $, clear, h, table, yuan } from "./dom.js";
import { asApiText, checkIdentifier } from "./ids.js";
import { has, join, say, sayError, t } from "./i18n.js";
import { frame } from "./layout.js";
import { authorityName } from "./authorities.js";
import { entrySentence, loaded, regionText, typeText } from "./entries.js";

const QUERY = `query ConsoleTimeline($id: String!, $first: Int!, $after: String, $entries: Boolean!) {
  subject(id: $id) {
    __typename
    ... on Subject { ref tree_size on
      sanctions { seq severity effective_from effective_until benefits regions deciding_body legal_basis { article document_no }
                  ended_on end_reason voided_seq exempted_seq in_force }
      honors { seq title level programme decision_date region status }
      grants { seq grant_ref programme kind amount_fen decision_date region status clawed_back_fen recovered_fen outstanding_fen }
      clawbacks { seq grant_seqs amount_fen recovered_fen waived_fen outstanding_fen deadline overdue voided_seq exempted_seq }
      history(first: $first, after: $after) @include(if: $entries) { tree_size page_info { has_next_page end_cursor }
        edges { node { seq type recorded_at authority { id region } refs body leaf_hash } } } }
    ... on Error { code message }
  }
}`;
const PAGE = 100; // the API's page cap
const READS_ENTRIES = new Set(["recorder", "auditor", "court"]); // Action.read_entries (ledger/access/policy.py)
const REF = /^[0-9a-f]{64}$/; // a subject reference: SHA-256(salt || scheme:id), never the number itself
const GROUPS = { honor: ["honor.granted", "honor.revoked"], grant: ["subsidy.granted"],
  clawback: ["clawback.ordered", "clawback.recovered", "clawback.waived"],
  sanction: ["sanction.imposed", "sanction.amended", "sanction.ended"] };

frame("title.timeline");

/** Every page of the subject's history; the first page's answer carries the projections. */
async function load(id) {
  let after = null, first = null;
  const entries = [];
  // A programme officer reads standings, not entries (docs/api.md, Reading entries):
  // ask for the standing only, and say why the entries are missing.
  const readsEntries = READS_ENTRIES.has(session.me()?.role);
  do {
    const s = (await gql(QUERY, { id, first: PAGE, after, entries: readsEntries })).subject;
    if (isError(s)) return s;
    first ??= s;
    if (!readsEntries) return { ...first, entries: null };
    entries.push(...s.history.edges.map((e) => e.node));
    after = s.history.page_info.has_next_page ? s.history.page_info.end_cursor : null;
  } while (after);
  return { ...first, entries };
}

/** The group of an entry: by type; exemptions and corrections go with what they act on. */
function groupOf(e, bySeq) {
  for (const [g, types] of Object.entries(GROUPS)) if (types.includes(e.type)) return g;
  if (e.type === "exemption.granted" || e.type === "entry.corrected") {
    const target = bySeq.get(e.refs[0]);
    if (target) return groupOf(target, bySeq);
  }
  return "other";
}

function entriesTable(entries) {
  return table([["col.seq", (e) => e.seq], ["col.type", (e) => h("span", { title: e.type }, typeText(e.type))], ["col.recorded_at", (e) => e.recorded_at.slice(0, 19).replace("T", " ")],
    ["col.authority", (e) => authorityName(e.authority.id)], ["col.details", (e) => h("span", { class: "sentence" }, entrySentence(e))],
    ["timeline.proof", (e) => h("a", { href: `/console/audit?seq=${e.seq}`, "data-i18n": "timeline.proof" }, t("timeline.proof"))]], entries, t);
}

const status = (s) => (has(`status.${s}`) ? t(`status.${s}`) : s);
const sanctionStatus = (s) => t(s.voided_seq !== null ? "status.voided" : s.exempted_seq !== null ? "status.exempted"
  : s.in_force ? "status.in_force" : s.ended_on ? "status.ended" : "status.not_in_force");

function stateTable(group, s) {
  if (group === "honor" && s.honors.length) {
    return table([["col.seq", (x) => x.seq], ["col.title", (x) => x.title], ["col.programme", (x) => x.programme],
      ["col.date", (x) => x.decision_date], ["col.status", (x) => status(x.status)]], s.honors, t);
  }
  if (group === "grant" && s.grants.length) {
    return table([["col.seq", (x) => x.seq], ["col.ref", (x) => x.grant_ref], ["col.amount", (x) => yuan(x.amount_fen)],
      ["col.recovered", (x) => yuan(x.recovered_fen)], ["col.outstanding", (x) => yuan(x.outstanding_fen)],
      ["col.date", (x) => x.decision_date], ["col.status", (x) => status(x.status)]], s.grants, t);
  }
  if (group === "clawback" && s.clawbacks.length) {
    return table([["col.seq", (x) => x.seq], ["col.amount", (x) => yuan(x.amount_fen)], ["col.recovered", (x) => yuan(x.recovered_fen)],
      ["col.outstanding", (x) => yuan(x.outstanding_fen)], ["col.deadline", (x) => x.deadline],
      ["col.overdue", (x) => (x.overdue ? "⚠" : "")]], s.clawbacks, t);
  }
  if (group === "sanction" && s.sanctions.length) {
    return table([["col.seq", (x) => x.seq], ["col.basis", (x) => `${x.legal_basis.article} ${x.legal_basis.document_no}`],
      ["col.period", (x) => `${x.effective_from} — ${x.ended_on ?? x.effective_until ?? t("common.open_ended")}`],
      ["col.scope", (x) => `${join(x.benefits.map((b) => t(`benefit.${b}`)))} · ${join(x.regions.map(regionText))}`],
      ["col.status", sanctionStatus]], s.sanctions, t);
  }
  return null;
}

// --- the time axis ----------------------------------------------------------------
const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}, text = null) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== null) el.textContent = text;
  return el;
}
const day = (iso) => Date.parse(`${iso}T00:00:00Z`);

function axis(s) {
  const today = day(s.on);
  const dates = [today, ...s.sanctions.flatMap((x) => [day(x.effective_from), x.effective_until && day(x.effective_until)]),
    ...s.grants.map((g) => day(g.decision_date)), ...s.clawbacks.map((c) => day(c.deadline))].filter(Boolean);
  const year = 365.25 * 86400e3;
  const start = Math.min(...dates) - year / 4, end = Math.max(...dates, today + year / 2) + year / 4;
  const W = 1000, left = 120, rowH = 26;
  const rows = [...s.sanctions.map((x) => ({ kind: "sanction", x })), { kind: "grants" }, { kind: "clawbacks" }];
  const H = 30 + rows.length * rowH + 10;
  const X = (ms) => left + ((ms - start) / (end - start)) * (W - left - 10);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "axis", role: "img", "aria-label": t("timeline.axis") });
  for (let y = new Date(start).getUTCFullYear() + 1; Date.UTC(y, 0, 1) < end; y++) {
    const x = X(Date.UTC(y, 0, 1));
    root.append(svg("line", { x1: x, x2: x, y1: 18, y2: H - 5, class: "tick" }), svg("text", { x: x + 2, y: 12 }, String(y)));
  }
  rows.forEach((row, i) => {
    const y = 30 + i * rowH;
    if (row.kind === "sanction") {
      const x = row.x, until = x.ended_on ?? x.effective_until;
      const x1 = X(day(x.effective_from)), x2 = until ? X(day(until)) : W - 10;
      const inactive = x.voided_seq !== null || x.exempted_seq !== null;
      root.append(svg("text", { x: 4, y: y + 14 }, `${t("group.sanction")} #${x.seq}`));
      const bar = svg("rect", { x: x1, y: y + 3, width: Math.max(2, x2 - x1), height: rowH - 8, rx: 3,
        class: `sanction${inactive ? " inactive" : ""}`, "data-seq": x.seq });
      bar.append(svg("title", {}, `#${x.seq} ${x.effective_from} — ${until ?? t("common.open_ended")} · ${sanctionStatus(x)}`));
      root.append(bar);
    } else if (row.kind === "grants") {
      root.append(svg("text", { x: 4, y: y + 14 }, t("group.grant")));
      for (const g of s.grants) {
        const dot = svg("circle", { cx: X(day(g.decision_date)), cy: y + rowH / 2, r: 6, class: "grant" });
        dot.append(svg("title", {}, `#${g.seq} ${g.decision_date} ${yuan(g.amount_fen)}`));
        root.append(dot);
      }
    } else {
      root.append(svg("text", { x: 4, y: y + 14 }, t("group.clawback")));
      for (const c of s.clawbacks) {
        const cx = X(day(c.deadline)), cy = y + rowH / 2;
        const mark = svg("polygon", { points: `${cx},${cy - 7} ${cx + 7},${cy} ${cx},${cy + 7} ${cx - 7},${cy}`, class: "clawback" });
        mark.append(svg("title", {}, `#${c.seq} ${c.deadline} ${yuan(c.outstanding_fen)}`));
        root.append(mark, svg("text", { x: cx + 10, y: cy + 4 }, yuan(c.outstanding_fen)));
      }
    }
  });
  root.append(svg("line", { x1: X(today), x2: X(today), y1: 18, y2: H - 5, class: "today" }));
  return root;
}

let shown = null; // the subject on screen, re-rendered on a language switch
function render(s) {
  shown = s;
  const withheld = s.entries === null;
  if (withheld) say($("#timeline-meta"), "timeline.withheld", { size: s.tree_size });
  else say($("#timeline-meta"), "timeline.entries", { n: s.entries.length, size: s.tree_size });
  clear($("#axis")).append(axis(s));
  const entries_ = s.entries ?? [];
  const bySeq = new Map(entries_.map((e) => [e.seq, e]));
  const grouped = { honor: [], grant: [], clawback: [], sanction: [], other: [] };
  for (const e of entries_) grouped[groupOf(e, bySeq)].push(e);
  const groups = clear($("#groups"));
  for (const [g, entries] of Object.entries(grouped)) {
    const state = g === "other" ? null : stateTable(g, s);
    if (!entries.length && !state) continue;
    groups.append(h("section", { class: "card", id: `group-${g}` }, h("h2", { "data-i18n": `group.${g}` }, t(`group.${g}`)),
      state, entries.length ? entriesTable(entries) : null));
  }
  clear($("#all-entries")).append(withheld ? h("p", { class: "hint", "data-i18n": "timeline.withheld_short" },
    t("timeline.withheld_short")) : entriesTable(entries_));
  $("#timeline").hidden = false;
}

async function show(id) {
  const out = $("#timeline-message");
  out.className = "message";
  say(out, "common.loading");
  $("#timeline").hidden = true;
  try {
    const s = await load(id);
    if (isError(s)) {
      out.className = "message error";
      say(out, { forbidden: "common.forbidden", not_found: "common.not_found" }[s.code] ?? "common.validation", { message: s.message });
      return;
    }
    say(out, "id.empty");
    render(s);
  } catch (e) {
    out.className = "message error";
    sayError(out, e);
  }
}

$("#subject").addEventListener("input", () => {
  const text = $("#subject").value.trim(), hint = $("#subject-hint");
  if (!text || REF.test(text)) { say(hint, "id.empty"); return; }
  const r = checkIdentifier(text);
  hint.className = r.ok ? "hint ok" : "hint error";
  say(hint, r.ok ? "id.ok" : r.error, r.ok ? { identifier: asApiText(r) } : r.params);
});
$("#timeline-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("#subject").value.trim();
  if (REF.test(text)) { show(text); return; } // a subject reference
  const r = checkIdentifier(text);
  if (r.ok) show(asApiText(r));
});
document.addEventListener("langchange", () => { if (shown) render(shown); });

// ?subject= takes a subject reference (64 hex, what the pre-award page links
// with) and nothing else: an identity number never belongs in a URL (access
// logs, history). Anything else is dropped from the address bar unread.
await loaded; // labels, region and authority names: the first render is already in words
const given = new URLSearchParams(location.search).get("subject");
if (given !== null && !REF.test(given)) history.replaceState(null, "", location.pathname);
else if (given) { $("#subject").value = given; await show(given); }
document.body.dataset.ready = "1";
