// Statements built and signed in the browser (docs/contracts.md §2.7; decision 0016).
// A statement is exactly the ten members of §2.7; its signed bytes are
// "integrity-ledger/statement/v2\n" followed by its RFC 8785 bytes, computed
// here with the verifier's own JCS (verify/jcs.js). Before anything is signed,
// the server is asked for the statement it makes of the same draft
// (statement_to_sign): apart from signed_at (§2.7: the signer's clock, so the
// browser's own, never the server's) its bytes must be the browser's byte for
// byte, or nothing is signed. The browser signs only the bytes it computed from
// what is on the screen, never bytes the server supplied.
import { gql } from "./api.js";
import { b64decode, encoder, equal } from "./verify/bytes.js";
import { canonicalize } from "./verify/jcs.js";
import { sign } from "./signing_key.js";

export const PREFIX = "integrity-ledger/statement/v2\n"; // §2.7 domain separation

const TO_SIGN = `query ConsoleStatementToSign($type: String!, $request_id: String!, $body: JSON!, $key: String!,
    $subject: String, $refs: [Int!], $authority_id: String, $actor: String) {
  statement_to_sign(type: $type, request_id: $request_id, body: $body, key: $key, subject: $subject, refs: $refs,
      authority_id: $authority_id, actor: $actor) { __typename
    ... on StatementToSign { statement signed_bytes }
    ... on ValidationFailed { code message problems { field rule } }
    ... on Error { code message } } }`;

const RECORD = `mutation ConsoleRecordStatements($statements: [String!]!) {
  record_statements(statements: $statements) { __typename
    ... on StatementsRecorded { tree_size recorded { index seq leaf_hash retried } }
    ... on ValidationFailed { code message problems { field rule } }
    ... on Error { code message } } }`;

/** RFC 3339 UTC with six fractional digits and Z, as the log writes recorded_at
 *  (ledger/log/entry.py format_time); the browser's clock has milliseconds. */
export function signedAt(now = new Date()) {
  return now.toISOString().replace(/Z$/, "000Z");
}

/** The §2.7 statement: exactly its ten members. */
export function statement({ type, authority, actor, subject, refs, request_id, body, signed_at, key }) {
  return { v: 2, type, authority: { id: authority.id, region: authority.region }, actor, subject, refs,
    request_id, body, signed_at, key };
}

export function signedBytes(st) {
  return encoder.encode(PREFIX + canonicalize(st));
}

export class StatementError extends Error {
  constructor(code, message, problems = null) {
    super(message);
    this.code = code;
    this.problems = problems;
  }
}

function failed(result) {
  return new StatementError(result.code, result.message, result.problems ?? null);
}

/** Ask the server what it makes of the same draft; refuse unless, with its
 *  signed_at, its bytes are ours. Returns the bytes to sign (ours, our clock). */
export async function checkWithServer(st) {
  const r = (await gql(TO_SIGN, { type: st.type, request_id: st.request_id, body: st.body, key: st.key,
    subject: st.subject, refs: st.refs, authority_id: st.authority.id, actor: st.actor })).statement_to_sign;
  if (r.__typename !== "StatementToSign") throw failed(r);
  const theirs = b64decode(r.signed_bytes);
  let serverTime;
  try { serverTime = JSON.parse(r.statement).signed_at; } catch { serverTime = null; }
  if (typeof serverTime !== "string" || !equal(theirs, signedBytes({ ...st, signed_at: serverTime }))) {
    throw new StatementError("mismatch", "the server's bytes to sign differ from this browser's: nothing was signed");
  }
  return signedBytes(st);
}

/** Sign ``st`` with the stored key and hand it to the log; the recorded statements. */
export async function signAndRecord(key, st) {
  const bytes = await checkWithServer(st);
  const signed = { statement: st, sig: await sign(key, bytes) };
  const r = (await gql(RECORD, { statements: [JSON.stringify(signed)] })).record_statements;
  if (r.__typename !== "StatementsRecorded") throw failed(r);
  return r;
}
