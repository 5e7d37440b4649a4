// The officer's enrolment page (docs/console.md, Signing key): make a signing
// key in this browser, show its public half and fingerprint for the admin who
// enrols it, and say whether the log has enrolled it. The private key never
// leaves the browser (signing_key.js); the page sends nothing but queries.
import { $ } from "./dom.js";
import { enrolment } from "./enrolment.js";
import { say, sayError, t } from "./i18n.js";
import { frame } from "./layout.js";
import { describe, generate, grouped, load, supported } from "./signing_key.js";

const me = frame("title.key");
const SIGNS = new Set(["programme_officer", "recorder"]); // the roles that record (README, roles)

function message(key, params = {}, cls = "message") {
  const out = $("#key-message");
  out.className = cls;
  say(out, key, params);
}

async function status(described) {
  const badge = $("#key-status"), detail = $("#key-status-detail");
  say(badge, "key.status.checking");
  badge.className = "answer answer-needs_review";
  say(detail, "id.empty");
  try {
    const { state, rec } = await enrolment(described);
    const cls = { enrolled: "answer-eligible", pending: "answer-needs_review" }[state] ?? "answer-barred";
    badge.className = `answer ${cls}`;
    badge.dataset.state = state;
    say(badge, `key.status.${state}`);
    say(detail, `key.status.${state}.detail`, rec ? { seq: rec.registered_seq, revoked: rec.revoked_seq ?? "" } : {});
  } catch (e) {
    badge.className = "answer answer-barred";
    badge.dataset.state = "unknown";
    say(badge, "key.status.unknown");
    sayError(detail, e);
  }
}

async function show() {
  const record = await load(me.token_id);
  $("#no-key").hidden = Boolean(record);
  $("#key-card").hidden = !record;
  if (!record) return;
  const d = await describe(record);
  $("#key-name").textContent = d.name;
  $("#key-authority").textContent = d.authorityId;
  $("#key-fingerprint").textContent = grouped(d.fingerprint);
  $("#key-created").textContent = d.createdAt;
  $("#key-vkey").value = d.vkey;
  await status(d);
}

async function makeKey() {
  await generate(me.token_id, me.authority_id);
  message("key.generated", {}, "message ok");
  await show();
}

async function start() {
  if (!me) return;
  if (!SIGNS.has(me.role) || !me.authority_id) { message("key.role", {}, "message error"); return; }
  if (!supported()) { message("key.unsupported", {}, "message error"); return; }
  $("#key-generate").addEventListener("click", () => makeKey().catch((e) => message("key.unsupported_detail", { message: e.message }, "message error")));
  $("#key-refresh").addEventListener("click", show);
  $("#key-replace").addEventListener("click", async () => {
    // The old private key cannot be recovered once replaced: ask first.
    if (!window.confirm(t("key.replace.confirm"))) return;
    await makeKey();
  });
  await show();
}

await start();
document.body.dataset.ready = "1";
