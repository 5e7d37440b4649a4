// The admin's key page (docs/console.md, Enrolling a key): register the public
// key an officer's browser made (key.registered, signed by the log key on the
// server, register_key) after comparing its fingerprint with the officer, and
// list an authority's keys. The console holds no key of its own: the API does
// the registering, with the admin token's rights.
import { isError } from "./api.js";
import { $, clear, table } from "./dom.js";
import { keysOf, registerKey, revokeKey } from "./enrolment.js";
import { say, sayError, t } from "./i18n.js";
import { frame } from "./layout.js";
import { fingerprint, grouped } from "./signing_key.js";
import { b64decode } from "./verify/bytes.js";
import { parseVkey } from "./verify/note.js";

const me = frame("title.keys");

/** The raw public key in what was pasted: a vkey's key, or base64 of 32 bytes. */
async function publicRaw(text) {
  const s = text.trim();
  if (s.includes("+") && s.split("+").length >= 3 && /^[^+\s]+\+[0-9a-f]{8}\+/.test(s)) return (await parseVkey(s)).publicKey;
  const raw = b64decode(s);
  if (raw.length !== 32) throw new Error(`${raw.length} bytes, want 32`);
  return raw;
}

async function showFingerprint() {
  const out = $("#enrol-fingerprint"), text = $("#enrol-key").value;
  if (!text.trim()) { out.className = "hint"; say(out, "id.empty"); return; }
  try {
    out.className = "hint ok";
    say(out, "keys.fingerprint", { fp: grouped(await fingerprint(await publicRaw(text))) });
  } catch (e) {
    out.className = "hint error";
    say(out, "keys.bad_key", { message: e.message });
  }
}
$("#enrol-key").addEventListener("input", showFingerprint);

$("#enrol-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const out = $("#enrol-message");
  out.className = "message";
  say(out, "common.loading");
  try {
    const r = await registerKey($("#enrol-authority").value.trim(), $("#enrol-key").value.trim(), $("#enrol-name").value.trim(),
      $("#enrol-holder").value.trim());
    if (isError(r)) { out.className = "message error"; sayError(out, r); return; }
    out.className = "message ok";
    say(out, "keys.ok", { name: r.key.name, seq: r.seq });
    $("#list-authority").value = $("#enrol-authority").value.trim();
    await list();
  } catch (e) {
    out.className = "message error";
    sayError(out, e);
  }
});

async function list() {
  const out = $("#list-message"), where = clear($("#key-list"));
  try {
    const keys = await keysOf($("#list-authority").value.trim());
    say(out, "keys.count", { n: keys.length });
    const state = (k) => t(k.revoked_seq === null ? "keys.state.valid" : "keys.state.revoked");
    where.append(table([["keys.col.name", (k) => k.name], ["keys.col.registered", (k) => k.registered_seq],
      ["keys.col.revoked", (k) => k.revoked_seq ?? ""], ["col.status", state], ["keys.col.vkey", (k) => k.vkey]], keys, t));
  } catch (e) {
    out.className = "message error";
    sayError(out, e);
  }
}
$("#list-form").addEventListener("submit", (event) => { event.preventDefault(); list(); });

$("#revoke-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const out = $("#revoke-message");
  try {
    const r = await revokeKey($("#revoke-name").value.trim(), $("#revoke-reason").value.trim());
    if (isError(r)) { out.className = "message error"; sayError(out, r); return; }
    out.className = "message ok";
    say(out, "keys.revoked", { name: r.key.name, seq: r.seq });
    if ($("#list-authority").value.trim()) await list();
  } catch (e) {
    out.className = "message error";
    sayError(out, e);
  }
});

if (me && me.role !== "admin") { $("#enrol-message").className = "message error"; say($("#enrol-message"), "keys.role"); }
document.body.dataset.ready = "1";
