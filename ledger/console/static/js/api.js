// The one way the console talks to the ledger: POST /graphql with the user's
// bearer token, exactly as any API client (same roles, same jurisdictions).
// The token lives in sessionStorage: this tab only, gone when it closes, never
// sent by the browser on its own (so no CSRF); see docs/decisions/0008.
const TOKEN = "ledger.console.token";
const ME = "ledger.console.me";

export const session = {
  token: () => sessionStorage.getItem(TOKEN),
  me: () => JSON.parse(sessionStorage.getItem(ME) || "null"),
  save(token, me) { sessionStorage.setItem(TOKEN, token); sessionStorage.setItem(ME, JSON.stringify(me)); },
  clear() { sessionStorage.removeItem(TOKEN); sessionStorage.removeItem(ME); },
};

export class Unauthenticated extends Error {}

async function post(path, body, token) {
  const r = await fetch(path, {
    method: "POST", cache: "no-store", credentials: "omit",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const data = await r.json().catch(() => ({}));
  if (r.status === 401) throw new Unauthenticated(data.errors?.[0]?.message ?? "unauthenticated");
  if (!r.ok && !data.data) throw new Error(data.errors?.[0]?.message ?? `HTTP ${r.status}`);
  return data;
}

/** The ``data`` of a GraphQL answer; a 401 sends the user back to the login page. */
export async function gql(query, variables = {}, token = session.token()) {
  let body;
  try {
    body = await post("/graphql", { query, variables }, token);
  } catch (e) {
    if (e instanceof Unauthenticated && token === session.token()) toLogin();
    throw e;
  }
  if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join("; "));
  return body.data;
}

export function checkIdentifierOnServer(text) {
  return post("/console/api/identifier", { text }, session.token());
}

export async function publicJson(path) {
  const r = await fetch(path, { cache: "no-store", credentials: "omit" });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
}

export function toLogin() {
  session.clear();
  const next = location.pathname + location.search;
  location.assign(`/console/?next=${encodeURIComponent(next)}`);
}

/** Union results: the answer, or an Error member ({code, message}). */
export function isError(result) {
  return result && typeof result.code === "string" && typeof result.message === "string" && !("answer" in result);
}
