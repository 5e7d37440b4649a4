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

/** A refusal from the server with its machine-readable code (GraphQL ``extensions.code``;
 * docs/api.md, Results and errors) and details (``retry_after``, ``field``, …): pages say it
 * by code (``sayError``), not in the server's English. */
export class ApiError extends Error {
  constructor(code, message, details = {}) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

export class Unauthenticated extends ApiError {}

function refusal(errors, status, Kind = ApiError) {
  const first = errors?.[0] ?? {};
  const { code, ...details } = first.extensions ?? {};
  const message = (errors ?? []).map((e) => e.message).join("; ") || `HTTP ${status}`;
  return new Kind(typeof code === "string" ? code : status === 401 ? "unauthenticated" : `http_${status}`, message, details);
}

async function post(path, body, token) {
  const r = await fetch(path, {
    method: "POST", cache: "no-store", credentials: "omit",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const data = await r.json().catch(() => ({}));
  if (r.status === 401) throw refusal(data.errors, 401, Unauthenticated);
  if (!r.ok && !data.data) throw refusal(data.errors, r.status);
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
  if (body.errors?.length) throw refusal(body.errors, 200);
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
