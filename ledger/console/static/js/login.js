// Log in: check the token with the cheapest GraphQL query (``me``) and keep it
// in this tab's sessionStorage. A bad token is the API's 401, shown as such.
import { gql, session, Unauthenticated } from "./api.js";
import { $ } from "./dom.js";
import { say } from "./i18n.js";
import { frame } from "./layout.js";

const HOME = { programme_officer: "/console/check", recorder: "/console/check", auditor: "/console/audit",
  court: "/console/timeline", admin: "/console/keys" };

function next(role) {
  const wanted = new URLSearchParams(location.search).get("next");
  // Only our own pages: never an open redirect.
  return wanted && /^\/console\/[a-z]+$/.test(wanted.split("?")[0]) ? wanted : HOME[role] ?? "/console/check";
}

frame("title.login", { requireLogin: false });
$("#login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const token = $("#token").value.trim();
  const out = $("#login-message");
  out.className = "message";
  try {
    const { me } = await gql("query ConsoleLogin { me { token_id role authority_id region case_ref } }", {}, token);
    session.save(token, me);
    say(out, "login.ok", { role: me.role });
    location.assign(next(me.role));
  } catch (e) {
    out.className = "message error";
    say(out, e instanceof Unauthenticated ? "login.bad" : "login.failed", { message: e.message });
  }
});
$("#login-submit").disabled = false; // the submit is ours now (login.html keeps it off until here)
document.body.dataset.ready = "1";
