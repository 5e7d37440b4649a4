// The pre-award check page (docs/console.md, Pre-award check): identifier checked as typed (locally,
// then by the server), the ledger's answer with its reasons, and recording the
// check with the decision as an eligibility.checked statement the officer signs
// in this browser with their enrolled key (decision 0016; statement.js).
import { checkIdentifierOnServer, gql, isError } from "./api.js";
import { $, clear, h, table, yuan } from "./dom.js";
import { enrolment, showSigner } from "./enrolment.js";
import { describe, load } from "./signing_key.js";
import { signAndRecord, signedAt, statement, StatementError } from "./statement.js";
import { asApiText, checkIdentifier } from "./ids.js";
import { dateText, join, say, sayError, t } from "./i18n.js";
import { frame } from "./layout.js";
import { authorityName } from "./authorities.js";
import { reasonEl } from "./reasons.js";
import { regionName, regionPicker } from "./regions.js";

const CHECK = `query ConsolePreAwardCheck($subject: String!, $benefit: Benefit!, $programme: String!, $region: String!, $on: Date!) {
  eligibility(subject: $subject, benefit: $benefit, programme: $programme, region: $region, on: $on) {
    __typename
    ... on Eligibility { answer on_record tree_size blocking { ...R }
                         warnings { ...R } }
    ... on Error { code message }
  }
  subject(id: $subject, on: $on) {
    __typename
    ... on Subject { ref tree_size
      sanctions(in_force_only: true) { seq severity effective_from effective_until benefits regions deciding_body legal_basis { article document_no } }
      clawbacks { seq amount_fen recovered_fen waived_fen outstanding_fen deadline overdue voided_seq exempted_seq } }
    ... on Error { code message }
  }
}
fragment R on Reason { kind seq message period_from period_until amount_fen applies_to deciding_body programmes employer
                       exempted_seq deadline legal_basis { article document_no } }`;

const me = frame("title.check");
let tree = null; // the region tree, for names
const picker = regionPicker($("#region-league"), $("#region-county"), $("#region-code"));
// Today in the user's own time zone (toISOString would give the UTC date: before
// 08:00 in China that is still yesterday).
const now = new Date();
$("#on").value = [now.getFullYear(), String(now.getMonth() + 1).padStart(2, "0"), String(now.getDate()).padStart(2, "0")].join("-");
let asked = null; // the question the shown answer is for (what gets recorded)
let generation = 0; // bumped on every change to the question: older answers are dropped

/** The question changed: the answer on screen (and its record form) no longer applies. */
function questionChanged() {
  generation += 1;
  asked = null;
  $("#result").hidden = true;
  $("#record-form").hidden = true;
  $("#check-message").className = "message";
  say($("#check-message"), "id.empty"); // a pending "asking…" is for the old question
}
$("#check-form").addEventListener("input", questionChanged);
$("#check-form").addEventListener("change", questionChanged);

// --- the identifier, as typed --------------------------------------------------
let serverTimer = null, serverAsked = null;
function onIdentifierInput() {
  const text = $("#identifier").value;
  const local = $("#id-local"), server = $("#id-server");
  const question = `${$("#scheme").value} ${text}`;
  if (question === serverAsked) return checkIdentifier(text, $("#scheme").value); // unchanged: keep the server's answer
  serverAsked = question;
  clearTimeout(serverTimer);
  say(server, "id.empty");
  if (!text.trim()) { say(local, "id.empty"); local.className = "hint"; return null; }
  const r = checkIdentifier(text, $("#scheme").value);
  local.className = r.ok ? "hint ok" : "hint error";
  if (!r.ok) { say(local, r.error, r.params); return null; }
  say(local, "id.ok", { identifier: asApiText(r) });
  // The server is authoritative (it also knows birthplace codes by year): ask it once typing pauses.
  serverTimer = setTimeout(async () => {
    say(server, "id.server_wait");
    const stale = () => serverAsked !== question; // the user typed on while the server was asked
    try {
      const answer = await checkIdentifierOnServer(asApiText(r));
      if (stale()) return;
      server.className = answer.ok ? "hint ok" : "hint error";
      say(server, answer.ok ? "id.server_ok" : "id.server_bad",
        answer.ok ? { identifier: answer.identifier } : { rule: answer.problems.map((p) => p.rule).join("; ") });
    } catch (e) {
      if (stale()) return;
      server.className = "hint error";
      sayError(server, e);
    }
  }, 300);
  return r;
}
$("#identifier").addEventListener("input", onIdentifierInput);
$("#scheme").addEventListener("change", onIdentifierInput);

// --- the answer ------------------------------------------------------------------
const period = (from, until) => `${dateText(from)} — ${until ? dateText(until) : t("common.open_ended")}`;
const basis = (lb) => (lb ? `${lb.article}${lb.document_no ? ` ${lb.document_no}` : ""}` : "");
const kind = (k) => h("span", { "data-i18n": `kind.${k}` }, t(`kind.${k}`));

function reasonsTable(reasons) {
  return table([["col.seq", (r) => r.seq], ["col.kind", (r) => kind(r.kind)], ["col.message", (r) => reasonEl(r)],
    ["col.basis", (r) => basis(r.legal_basis)], ["col.period", (r) => (r.period_from ? period(r.period_from, r.period_until) : "")],
    ["col.amount", (r) => yuan(r.amount_fen)]], reasons, t);
}

function section(titleKey, content, id) {
  return h("section", { id, class: "reasons" }, h("h3", { "data-i18n": titleKey }, t(titleKey)), content);
}

function showAnswer(e, s) {
  const reasons = clear($("#reasons"));
  const answer = $("#answer");
  answer.className = `answer answer-${e.answer}`;
  say(answer, `answer.${e.answer}`);
  say($("#answer-meta"), "common.tree_size", { size: e.tree_size });
  // A needs-review answer's reasons call for a person's review; only a bar's reasons block (Art. 66).
  if (e.blocking.length) reasons.append(section(e.answer === "barred" ? "check.blocking" : "check.review", reasonsTable(e.blocking), "blocking"));
  if (e.warnings.length) reasons.append(section("check.warnings", reasonsTable(e.warnings), "warnings"));
  if (s && !isError(s)) {
    if (s.sanctions.length) {
      reasons.append(section("check.sanctions", table([["col.seq", (x) => x.seq], ["col.severity", (x) => t(`severity.${x.severity}`)],
        ["col.basis", (x) => basis(x.legal_basis)], ["col.period", (x) => period(x.effective_from, x.effective_until)],
        ["col.scope", (x) => `${join(x.benefits.map((b) => t(`benefit.${b}`)))} · ${join(x.regions.map((r) => regionName(tree, r)))}`],
        ["col.body", (x) => authorityName(x.deciding_body)]], s.sanctions, t), "sanctions"));
    }
    const open = s.clawbacks.filter((c) => c.outstanding_fen > 0 && c.voided_seq === null && c.exempted_seq === null);
    if (open.length) {
      reasons.append(section("check.clawbacks", table([["col.seq", (c) => c.seq], ["col.amount", (c) => yuan(c.amount_fen)],
        ["col.recovered", (c) => yuan(c.recovered_fen)], ["col.outstanding", (c) => yuan(c.outstanding_fen)],
        ["col.deadline", (c) => dateText(c.deadline)], ["col.overdue", (c) => (c.overdue ? "⚠" : "")]], open, t), "clawbacks"));
    }
    $("#timeline-link").href = `/console/timeline?subject=${encodeURIComponent(s.ref)}`;
  }
  for (const input of document.querySelectorAll('input[name="decision"]')) input.checked = input.value === (e.answer === "eligible" ? "proceed" : "refuse");
  showOverride();
  const canRecord = me.role === "programme_officer";
  if (canRecord) showSigner($("#record-key"), me.token_id);
  $("#record-form").hidden = !canRecord;
  $("#record-role").hidden = canRecord;
  say($("#record-message"), "id.empty");
  $("#result").hidden = false;
}

function showNoSubject(message) {
  clear($("#reasons"));
  const answer = $("#answer");
  answer.className = "answer answer-eligible";
  say(answer, "answer.eligible");
  say($("#answer-meta"), "check.no_subject", { message });
  $("#record-form").hidden = true;
  $("#record-role").hidden = true;
  $("#result").hidden = false;
}

function showError(out, result) {
  out.className = "message error";
  sayError(out, result);
}

$("#check-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const out = $("#check-message");
  const id = onIdentifierInput();
  questionChanged();
  const mine = generation;
  if (!id) return;
  out.className = "message";
  say(out, "common.loading");
  const vars = { subject: asApiText(id), benefit: $("#benefit").value, programme: $("#programme").value.trim(),
    region: (await picker).value(), on: $("#on").value };
  try {
    const data = await gql(CHECK, vars);
    if (mine !== generation) return; // the form changed while the ledger answered: this answer is not for it
    say(out, "id.empty");
    const e = data.eligibility;
    // A valid identifier no subject holds: the ledger answers eligible with no record behind it.
    if (e.__typename === "Eligibility" && !e.on_record) { asked = null; showNoSubject(data.subject.message ?? ""); return; }
    if (isError(e)) { showError(out, e); return; }
    // What the officer was shown is what gets signed: the answer, the tree size it was computed at
    // and the seqs that blocked (the eligibility.checked body, docs/entry-types.md).
    asked = { ...vars, request_id: crypto.randomUUID(), answer: e.answer, tree_size: e.tree_size,
      blocking: e.blocking.map((r) => r.seq), ref: isError(data.subject) ? null : data.subject.ref };
    showAnswer(e, data.subject);
  } catch (err) {
    if (mine !== generation) return;
    out.className = "message error";
    sayError(out, err);
  }
});

// --- recording the check -----------------------------------------------------------
function showOverride() {
  const override = document.querySelector('input[name="decision"]:checked')?.value === "override";
  for (const el of document.querySelectorAll(".override")) el.hidden = !override;
}
$("#decision").addEventListener("change", showOverride);

/** The officer's key, if this browser holds one the log has enrolled; else say why not. */
async function enrolledKey(out) {
  const key = await load(me.token_id);
  if (!key) { out.className = "message error"; say(out, "record.no_key"); return null; }
  const { state } = await enrolment(await describe(key));
  if (state === "enrolled") return key;
  out.className = "message error";
  say(out, "record.key_not_enrolled", { name: key.name, state: { key: `key.status.${state}` } });
  return null;
}


/** The eligibility.checked body (ledger/domain/records.py ELIGIBILITY_CHECKED) for what was asked and decided. */
function checkBody(recording, decision) {
  const body = { officer: $("#officer").value.trim(), programme: recording.programme, award_ref: $("#award-ref").value.trim(),
    benefit: recording.benefit, region: recording.region, on: recording.on, answer: recording.answer,
    tree_size: recording.tree_size, blocking: recording.blocking, decision };
  if (decision === "override") Object.assign(body, { approver: $("#approver").value.trim(), reason: $("#reason").value.trim() });
  return body;
}

$("#record-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const out = $("#record-message");
  const decision = document.querySelector('input[name="decision"]:checked')?.value;
  const approver = $("#approver").value.trim(), reason = $("#reason").value.trim();
  if (decision === "override" && !(approver && reason)) { out.className = "message error"; say(out, "record.need_override"); return; }
  if (!asked || !asked.ref || $("#result").hidden) return; // no answer on screen (the question changed): nothing to record
  const recording = asked;
  // Proceeding needs an eligible answer; otherwise an override (Art. 66 and the approver's name on record).
  if (decision === "proceed" && recording.answer !== "eligible") { out.className = "message error"; say(out, "record.proceed_barred"); return; }
  try {
    const key = await enrolledKey(out);
    if (!key) return;
    out.className = "message";
    say(out, "record.signing");
    const st = statement({ type: "eligibility.checked", authority: { id: me.authority_id, region: me.region },
      actor: `token:${me.token_id}`, subject: recording.ref, refs: [], request_id: recording.request_id,
      body: checkBody(recording, decision), signed_at: signedAt(), key: key.name });
    const entry = (await signAndRecord(key, st)).recorded[0];
    out.className = "message ok";
    say(out, "record.ok_signed", { seq: entry.seq, leaf: entry.leaf_hash, key: key.name });
    out.dataset.seq = entry.seq;
    if (asked === recording) asked = { ...asked, request_id: crypto.randomUUID() }; // a second record is a new request
  } catch (err) {
    out.className = "message error";
    if (err instanceof StatementError && err.code === "mismatch") { say(out, "record.mismatch"); return; }
    if (err instanceof StatementError) { showError(out, err); return; }
    sayError(out, err);
  }
});

tree = (await picker).tree;
document.body.dataset.ready = "1"; // for tests and slow machines: every handler is in place
