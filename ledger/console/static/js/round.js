// The award round page (docs/award-rounds.md): upload a candidate list, see every
// candidate's answer at one tree size with its reasons, decide for each, and record
// all the checks as one batch, each an eligibility.checked statement signed in this
// browser with the officer's enrolled key (decision 0016; statement.js); then
// download the round's screening report (XLSX, PDF). Identifiers travel only in
// request bodies (never in URLs), to /console/api/round/… (round_routes.py).
import { session, toLogin } from "./api.js";
import { $, clear, h, table } from "./dom.js";
import { enrolment, showSigner } from "./enrolment.js";
import { extend, say, sayError, t } from "./i18n.js";
import { frame } from "./layout.js";
import { reasonText } from "./reasons.js";
import { ROUND_STRINGS } from "./round_strings.js";
import { describe, load, sign } from "./signing_key.js";
import { checkWithServer, signedAt, signedBytes, statement, StatementError } from "./statement.js";

extend(ROUND_STRINGS);
const me = frame("title.round");
let screening = null; // {tree_size, root, checkpoint_size, answers: [...]} of the list on screen
let recorded = null; // {reference, seqs, identifiers, unrecorded} once the round is recorded

async function post(path, body, contentType = "application/json") {
  const r = await fetch(path, { method: "POST", cache: "no-store", credentials: "omit",
    headers: { "Content-Type": contentType, Authorization: `Bearer ${session.token()}` }, body });
  if (r.status === 401) { toLogin(); throw new Error("unauthenticated"); }
  return r;
}

function problemText(p) {
  return p.problems ? p.problems.map((x) => `${x.row ? `${t("round.col.row")} ${x.row} ` : ""}${x.field}: ${x.rule}`).join("; ") : p.message;
}

// --- upload and screen ------------------------------------------------------------------
$("#upload-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = $("#round-file").files[0];
  const out = $("#upload-message");
  if (!file) return;
  screening = null; recorded = null;
  $("#answers").hidden = true; $("#problems").hidden = true; $("#reports").hidden = true;
  out.className = "message";
  say(out, "round.uploading");
  try {
    const r = await post("/console/api/round/screen", await file.arrayBuffer(), "application/octet-stream");
    const body = await r.json();
    if (!body.ok && body.code === "rows") { say(out, "id.empty"); showProblems(body.problems); return; }
    if (!body.ok) { out.className = "message error"; sayError(out, { code: body.code, message: problemText(body) }); return; }
    say(out, "id.empty");
    screening = { ...body, answers: body.answers.map((a) => ({ ...a, request_id: crypto.randomUUID() })) };
    showAnswers();
  } catch (err) {
    out.className = "message error";
    sayError(out, err);
  }
});

function showProblems(problems) {
  const box = clear($("#problem-table"));
  box.append(table([["round.col.row", (p) => p.row || ""], ["round.col.field", (p) => p.field], ["round.col.rule", (p) => p.rule]],
    problems, t));
  $("#problems").hidden = false;
}

// --- the answers ---------------------------------------------------------------------------
const answerTag = (answer) => h("span", { class: `answer-tag ${answer}`, "data-i18n": `answer.${answer}` }, t(`answer.${answer}`));

function reasonsCell(a) {
  if (!a.on_record) return h("td", { class: "reasons" }, h("span", { "data-i18n": "round.no_record" }, t("round.no_record")));
  const items = [...a.blocking.map((r) => h("li", {}, reasonText(r))), ...a.warnings.map((r) => h("li", { class: "warning" }, reasonText(r)))];
  return h("td", { class: "reasons" }, items.length ? h("ul", {}, items) : h("span", { "data-i18n": "common.none" }, t("common.none")));
}

function decisionCell(a) {
  if (!a.on_record) return h("td", { class: "decision" }, "—");
  const choice = a.answer === "eligible" ? "proceed" : "refuse";
  const select = h("select", { id: `decision-${a.row}`, "aria-label": t("round.col.decision") },
    ["proceed", "refuse", "override"].map((d) => h("option", { value: d, selected: d === choice, "data-i18n": `decision.${d}` }, t(`decision.${d}`))));
  const approver = h("input", { id: `approver-${a.row}`, maxlength: 200, hidden: true, "data-i18n-placeholder": "round.approver", placeholder: t("round.approver") });
  const reason = h("input", { id: `reason-${a.row}`, maxlength: 2000, hidden: true, "data-i18n-placeholder": "round.reason", placeholder: t("round.reason") });
  const error = h("div", { class: "row-error", id: `error-${a.row}` });
  select.addEventListener("change", () => { approver.hidden = reason.hidden = select.value !== "override"; });
  return h("td", { class: "decision" }, select, approver, reason, error);
}

function showAnswers() {
  const s = screening;
  const count = (x) => s.answers.filter((a) => a.answer === x).length;
  say($("#round-meta"), "round.meta", { size: s.tree_size, root: s.root.slice(0, 16) + "…",
    checkpoint: s.checkpoint_size === null ? { key: "round.meta.no_checkpoint" } : t("round.meta.checkpoint", { size: s.checkpoint_size }) });
  say($("#round-counts"), "round.counts", { total: s.answers.length, eligible: count("eligible"), barred: count("barred"), review: count("needs_review") });
  const body = clear($("#round-table tbody"));
  for (const a of s.answers) {
    body.append(h("tr", { id: `row-${a.row}`, dataset: { answer: a.answer, row: a.row, onRecord: a.on_record ? "1" : "0" } },
      h("td", {}, a.row), h("td", { class: "code" }, a.identifier),
      h("td", {}, `${a.programme} · `, h("span", { "data-i18n": `benefit.${a.benefit}` }, t(`benefit.${a.benefit}`)), ` · ${a.region} · ${a.on}`),
      h("td", {}, answerTag(a.answer)), reasonsCell(a), decisionCell(a)));
  }
  applyFilter();
  const canRecord = me.role === "programme_officer";
  $("#record-form").hidden = !canRecord;
  $("#record-role").hidden = canRecord;
  if (canRecord) showSigner($("#record-key"), me.token_id);
  say($("#record-message"), "id.empty");
  $("#answers").hidden = false;
}

function applyFilter() {
  const want = document.querySelector('input[name="filter"]:checked').value;
  for (const tr of document.querySelectorAll("#round-table tbody tr")) tr.hidden = want !== "all" && tr.dataset.answer !== want;
}
$("#filter").addEventListener("change", applyFilter);

// --- recording ----------------------------------------------------------------------------

/** Each recordable candidate's decision, or the rows that break the single check's rules. */
function decisions() {
  const chosen = [], bad = [];
  for (const a of screening.answers.filter((x) => x.on_record)) {
    const decision = $(`#decision-${a.row}`).value;
    const approver = $(`#approver-${a.row}`).value.trim(), reason = $(`#reason-${a.row}`).value.trim();
    const error = $(`#error-${a.row}`);
    say(error, "id.empty");
    $(`#row-${a.row}`).classList.remove("invalid");
    // Art. 66: an answer other than eligible proceeds only by an override naming approver and reason.
    let rule = null;
    if (decision === "override" && !(approver && reason)) rule = "round.row.need_override";
    else if (decision === "proceed" && a.answer !== "eligible") rule = "round.row.proceed_barred";
    if (rule) { say(error, rule); $(`#row-${a.row}`).classList.add("invalid"); bad.push(a); continue; }
    chosen.push({ a, decision, approver, reason });
  }
  return { chosen, bad };
}

function checkBody(c, reference, officer) {
  const { a } = c;
  const body = { officer, programme: a.programme, award_ref: reference, benefit: a.benefit, region: a.region, on: a.on,
    answer: a.answer, tree_size: screening.tree_size, blocking: a.blocking.map((r) => r.seq), decision: c.decision };
  if (c.decision === "override") Object.assign(body, { approver: c.approver, reason: c.reason });
  return body;
}

async function enrolledKey(out) {
  const key = await load(me.token_id);
  if (!key) { out.className = "message error"; say(out, "record.no_key"); return null; }
  const { state } = await enrolment(await describe(key));
  if (state === "enrolled") return key;
  out.className = "message error";
  say(out, "record.key_not_enrolled", { name: key.name, state: { key: `key.status.${state}` } });
  return null;
}

$("#record-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const out = $("#record-message");
  if (!screening) return;
  const reference = $("#reference").value.trim(), officer = $("#officer").value.trim();
  if (!reference || !officer) { out.className = "message error"; say(out, "round.need_reference"); return; }
  const { chosen, bad } = decisions();
  if (bad.length) { out.className = "message error"; say(out, "round.invalid", { n: bad.length }); return; }
  if (!chosen.length) { out.className = "message error"; say(out, "round.nothing"); return; }
  try {
    const key = await enrolledKey(out);
    if (!key) return;
    out.className = "message";
    say(out, "round.signing", { n: chosen.length });
    const statements = chosen.map((c) => statement({ type: "eligibility.checked", authority: { id: me.authority_id, region: me.region },
      actor: `token:${me.token_id}`, subject: c.a.subject, refs: [], request_id: c.a.request_id,
      body: checkBody(c, reference, officer), signed_at: signedAt(), key: key.name }));
    // The server's encoder must agree with this browser's (decision 0016): asked once, for the
    // first statement; every statement is encoded by the same code from what is on screen.
    await checkWithServer(statements[0]);
    const signed = [];
    for (const st of statements) signed.push(JSON.stringify({ statement: st, sig: await sign(key, signedBytes(st)) }));
    say(out, "round.sending", { n: signed.length });
    const r = await post("/console/api/round/record", JSON.stringify({ reference, statements: signed }));
    const body = await r.json();
    if (!body.ok) { out.className = "message error"; sayError(out, { code: body.code, message: problemText(body) }); return; }
    const seqs = body.recorded.map((x) => x.seq);
    recorded = { reference, seqs, identifiers: chosen.map((c) => c.a.identifier),
      unrecorded: screening.answers.filter((a) => !a.on_record).map(({ identifier, programme, benefit, region, on }) => ({ identifier, programme, benefit, region, on })) };
    out.className = "message ok";
    out.dataset.seqs = seqs.join(",");
    say(out, "round.recorded", { n: seqs.length, first: seqs[0], last: seqs[seqs.length - 1], reference });
    $("#reports").hidden = false;
  } catch (err) {
    out.className = "message error";
    if (err instanceof StatementError && err.code === "mismatch") { say(out, "record.mismatch"); return; }
    sayError(out, err instanceof StatementError ? { code: err.code, message: problemText(err) } : err);
  }
});

// --- the report ---------------------------------------------------------------------------
async function download(kind) {
  const out = $("#report-message");
  if (!recorded) return;
  out.className = "message";
  say(out, "round.report.wait");
  try {
    const r = await post(`/console/api/round/report.${kind}`, JSON.stringify(recorded));
    if (!r.ok) { const body = await r.json(); out.className = "message error"; sayError(out, { code: body.code, message: problemText(body) }); return; }
    const url = URL.createObjectURL(await r.blob());
    const name = `${recorded.reference}.${kind}`;
    const a = h("a", { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    out.className = "message ok";
    say(out, "round.report.ok", { name });
  } catch (err) {
    out.className = "message error";
    sayError(out, err);
  }
}
$("#report-xlsx").addEventListener("click", () => download("xlsx"));
$("#report-pdf").addEventListener("click", () => download("pdf"));

if (me) document.body.dataset.ready = "1"; // for tests and slow machines: every handler is in place
