// The audit page (docs/console.md, Audit): the latest checkpoint, and a tlog-proof or an
// evidence bundle verified here, in the browser, against the log key the user
// pins. The server supplies data only; no answer of its own is used, and its
// key is no more than a suggestion: nothing is verified until the user has
// compared a key and pinned it, and only the pinned key is ever used.
import { gql, isError, publicJson } from "./api.js";
import { $, clear, h } from "./dom.js";
import { say, sayError, t } from "./i18n.js";
import { frame } from "./layout.js";
import { verifyBundle } from "./verify/bundle.js";
import { checking, hex, VerifyError } from "./verify/bytes.js";
import { parseVkey } from "./verify/note.js";
import { stated, verifyTlogProof } from "./verify/tlogproof.js";

const PINNED = "ledger.console.pinned-vkey"; // localStorage: a public key, kept across sessions on purpose
let bundle = null; // {name, bytes} of an uploaded zip
let published = null; // the key this server names (a suggestion, never trusted on its own)
const pinnedKey = () => localStorage.getItem(PINNED);

frame("title.audit");

async function showCheckpoint() {
  try {
    const cp = (await gql("query ConsoleCheckpoint { latest_checkpoint { __typename ... on Checkpoint { size root_hash note } ... on Error { code message } } }")).latest_checkpoint;
    if (isError(cp)) { sayError($("#cp-message"), cp); return; }
    $("#cp-size").textContent = cp.size;
    $("#cp-root").textContent = cp.root_hash;
    $("#cp-note").textContent = cp.note;
  } catch (e) { sayError($("#cp-message"), e); }
}

/** Say whether the key in the field is pinned (and so will be used). */
function showPinState() {
  const out = $("#key-message"), pinned = pinnedKey(), field = $("#vkey").value.trim();
  out.className = "message error";
  if (!pinned) say(out, "audit.key.not_pinned");
  else if (field !== pinned) say(out, "audit.key.field_unpinned", { name: pinned.split("+")[0] });
  else if (published && published !== pinned) say(out, "audit.key.differs", { vkey: published });
  else { out.className = "message ok"; say(out, "audit.key.pinned", { name: pinned.split("+")[0] }); }
}

async function showKey() {
  try { published = (await publicJson("/console/api/log-key")).vkey; } catch { /* an empty log: nothing published */ }
  $("#vkey").value = pinnedKey() ?? published ?? "";
  showPinState();
}
$("#vkey").addEventListener("input", showPinState);

$("#pin").addEventListener("click", async () => {
  try {
    const key = await parseVkey($("#vkey").value);
    localStorage.setItem(PINNED, key.text);
    $("#vkey").value = key.text;
    showPinState();
  } catch (e) { clear($("#steps")); fail(e); }
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
  // Every check wraps its own errors (verify/bytes.js ``checking``): anything
  // else is a fault of the verifier itself, not of the browser's crypto.
  const check = e instanceof VerifyError ? e.check : "internal";
  verdict.dataset.check = check;
  // The check's name is translated; the detail (hashes, sizes) is the same in any language.
  say(verdict, "audit.fail", { check: { key: `check.${check}` }, detail: e.detail ?? e.message });
  step(check, e.detail ?? e.message, false);
}

/** Refuse to verify: no key pinned, or the field holds a key that is not the pinned one. */
function refuseUnpinned(pinned) {
  const verdict = $("#verdict");
  verdict.hidden = false;
  verdict.className = "verdict fail";
  verdict.dataset.check = "unpinned";
  if (pinned) say(verdict, "audit.unpinned.changed", { name: pinned.split("+")[0] });
  else say(verdict, "audit.unpinned.none");
}

/** Which files of a verified bundle the log authenticates, and which it does not. */
function showCoverage(r) {
  const groups = new Map();
  for (const name of r.authenticated) {
    const dir = name.includes("/") ? `${name.slice(0, name.indexOf("/"))}/` : name;
    groups.set(dir, (groups.get(dir) ?? 0) + 1);
  }
  const covered = [...groups].map(([dir, n]) => (dir.endsWith("/") ? `${dir} (${n})` : dir));
  say($("#covered"), "audit.covered", { files: covered.join(", ") });
  say($("#not-covered"), "audit.not_covered", { files: r.unauthenticated.join(", ") });
  $("#not-covered").dataset.files = r.unauthenticated.join(" ");
  $("#coverage").hidden = false;
}

async function verify() {
  clear($("#steps"));
  const verdict = $("#verdict");
  verdict.hidden = true;
  $("#coverage").hidden = true;
  delete verdict.dataset.check;
  if (!globalThis.crypto?.subtle) { fail(new VerifyError("webcrypto", t("audit.webcrypto"))); return; }
  // Only a key the user has pinned: the one the server pre-filled proves nothing on its own.
  const pinned = pinnedKey();
  if (!pinned || $("#vkey").value.trim() !== pinned) { refuseUnpinned(pinned); return; }
  try {
    const key = await checking("key", () => parseVkey(pinned));
    step("key", `${key.name} (${hex(key.keyId)}) · ${t("audit.key.pinned_step")}`, true);
    if (bundle) {
      const r = await verifyBundle(bundle.bytes, key, (check, detail) => step(check, detail, true));
      say(verdict, "audit.ok.bundle", { case: r.case, entries: r.entries, subjects: r.subjects, size: r.checkpoint.size });
      showCoverage(r);
    } else {
      let text = $("#proof").value.replace(/\r\n/g, "\n");
      if (!text.trim()) { say(verdict, "audit.empty"); verdict.hidden = false; verdict.className = "verdict fail"; return; }
      if (!text.endsWith("\n")) text += "\n"; // a paste may lose the final newline (it is not signed)
      const r = await verifyTlogProof(text, key, (check, detail) => step(check, detail, true));
      say(verdict, "audit.ok.proof", { seq: r.index, type: stated(r.entry).type, size: r.checkpoint.size, key: key.name });
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
