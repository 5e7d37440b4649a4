// The audit page (issue 9 ¶4): the latest checkpoint, and a tlog-proof or an
// evidence bundle verified here, in the browser, against the log key the user
// pins. The server supplies data only; no answer of its own is used.
import { gql, isError, publicJson } from "./api.js";
import { $, clear, h } from "./dom.js";
import { say, t } from "./i18n.js";
import { frame } from "./layout.js";
import { verifyBundle } from "./verify/bundle.js";
import { VerifyError } from "./verify/bytes.js";
import { parseVkey } from "./verify/note.js";
import { verifyTlogProof } from "./verify/tlogproof.js";

const PINNED = "ledger.console.pinned-vkey"; // localStorage: a public key, kept across sessions on purpose
let bundle = null; // {name, bytes} of an uploaded zip

frame("title.audit");

async function showCheckpoint() {
  try {
    const cp = (await gql("query ConsoleCheckpoint { latest_checkpoint { __typename ... on Checkpoint { size root_hash note } ... on Error { code message } } }")).latest_checkpoint;
    if (isError(cp)) { say($("#cp-message"), "common.error", { message: cp.message }); return; }
    $("#cp-size").textContent = cp.size;
    $("#cp-root").textContent = cp.root_hash;
    $("#cp-note").textContent = cp.note;
  } catch (e) { say($("#cp-message"), "common.error", { message: e.message }); }
}

async function showKey() {
  let published = null;
  try { published = (await publicJson("/console/api/log-key")).vkey; } catch { /* an empty log: nothing published */ }
  const pinned = localStorage.getItem(PINNED);
  $("#vkey").value = pinned ?? published ?? "";
  const out = $("#key-message");
  if (pinned) {
    out.className = published && published !== pinned ? "message error" : "message ok";
    if (published && published !== pinned) say(out, "audit.key.differs", { vkey: published });
    else say(out, "audit.key.pinned", { name: pinned.split("+")[0] });
  }
}

$("#pin").addEventListener("click", async () => {
  const out = $("#key-message");
  try {
    const key = await parseVkey($("#vkey").value);
    localStorage.setItem(PINNED, key.text);
    out.className = "message ok";
    say(out, "audit.key.pinned", { name: key.name });
  } catch (e) { fail(e); }
});

$("#fetch").addEventListener("click", async () => {
  const seq = Number($("#seq").value);
  let r;
  try {
    r = (await gql(`query ConsoleProof($seq: Int!) { inclusion_proof(seq: $seq) { __typename
        ... on InclusionProof { tlog_proof } ... on Error { code message } } }`, { seq })).inclusion_proof;
  } catch (e) { r = { code: "error", message: e.message }; }
  if (isError(r)) { clear($("#steps")); fail(new VerifyError("proof_format", r.message)); return; }
  bundle = null;
  $("#file-name").textContent = "";
  $("#proof").value = r.tlog_proof ?? "";
});

$("#file").addEventListener("change", async () => {
  const file = $("#file").files[0];
  if (!file) return;
  const bytes = new Uint8Array(await file.arrayBuffer());
  const zip = bytes[0] === 0x50 && bytes[1] === 0x4b; // "PK"
  bundle = zip ? { name: file.name, bytes } : null;
  $("#file-name").textContent = `${file.name} · ${bytes.length} B`;
  $("#proof").value = zip ? "" : new TextDecoder().decode(bytes);
});
$("#proof").addEventListener("input", () => { bundle = null; $("#file-name").textContent = ""; });

// --- verification ------------------------------------------------------------------
function step(check, detail, ok) {
  $("#steps").append(h("li", { class: ok ? "ok" : "fail", "data-check": check },
    h("span", { "data-i18n": `check.${check}` }, t(`check.${check}`)), `: ${detail}`));
}

function fail(e) {
  const verdict = $("#verdict");
  verdict.hidden = false;
  verdict.className = "verdict fail";
  const check = e instanceof VerifyError ? e.check : "webcrypto";
  verdict.dataset.check = check;
  // The check's name is translated; the detail (hashes, sizes) is the same in any language.
  say(verdict, "audit.fail", { check: { key: `check.${check}` }, detail: e.detail ?? e.message });
  step(check, e.detail ?? e.message, false);
}

async function verify() {
  clear($("#steps"));
  const verdict = $("#verdict");
  verdict.hidden = true;
  delete verdict.dataset.check;
  if (!globalThis.crypto?.subtle) { fail(new VerifyError("webcrypto", t("audit.webcrypto"))); return; }
  try {
    const key = await parseVkey($("#vkey").value);
    step("key", `${key.name} (${[...key.keyId].map((b) => b.toString(16).padStart(2, "0")).join("")})`, true);
    if (bundle) {
      const r = await verifyBundle(bundle.bytes, key, (check, detail) => step(check, detail, true));
      say(verdict, "audit.ok.bundle", { case: r.case, entries: r.entries, subjects: r.subjects, size: r.checkpoint.size });
    } else {
      let text = $("#proof").value.replace(/\r\n/g, "\n");
      if (!text.trim()) { say(verdict, "audit.empty"); verdict.hidden = false; verdict.className = "verdict fail"; return; }
      if (!text.endsWith("\n")) text += "\n"; // a paste may lose the final newline (it is not signed)
      const r = await verifyTlogProof(text, key, (check, detail) => step(check, detail, true));
      say(verdict, "audit.ok.proof", { seq: r.index, type: r.entry.type, size: r.checkpoint.size, key: key.name });
    }
    verdict.hidden = false;
    verdict.className = "verdict ok";
    verdict.dataset.check = "ok";
  } catch (e) {
    fail(e);
  }
}
$("#verify").addEventListener("click", verify);

await Promise.all([showCheckpoint(), showKey()]);
const seq = new URLSearchParams(location.search).get("seq");
if (seq !== null && /^\d+$/.test(seq)) { $("#seq").value = seq; $("#fetch").click(); }
document.body.dataset.ready = "1";
