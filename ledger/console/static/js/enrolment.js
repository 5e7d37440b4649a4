// Whether the log has enrolled a key (decision 0016): the key must be
// registered (key.registered, written by an admin) to the officer's authority,
// under its name, with the same public key, and not revoked. The log decides
// again when it appends (the key registered at the head); this is the page's
// early answer, so an officer without an enrolled key is told before signing.
import { gql } from "./api.js";
import { say, sayError } from "./i18n.js";
import { describe, load } from "./signing_key.js";

const KEYS = `query ConsoleKeys($authority_id: String!) {
  keys(authority_id: $authority_id) { keys { name vkey authority_id fingerprint registered_seq revoked_seq valid } } }`;

const REGISTER = `mutation ConsoleRegisterKey($authority_id: String!, $public_key: String!, $name: String, $holder: String) {
  register_key(authority_id: $authority_id, public_key: $public_key, name: $name, holder: $holder) { __typename
    ... on KeyRecorded { seq key { name vkey fingerprint } }
    ... on ValidationFailed { code message problems { field rule } }
    ... on Error { code message } } }`;

const REVOKE = `mutation ConsoleRevokeKey($name: String!, $reason: String!) {
  revoke_key(name: $name, reason: $reason) { __typename
    ... on KeyRecorded { seq key { name revoked_seq } }
    ... on ValidationFailed { code message problems { field rule } }
    ... on Error { code message } } }`;

export async function keysOf(authorityId) {
  return (await gql(KEYS, { authority_id: authorityId })).keys.keys;
}

/** "enrolled", "revoked", "other" (the name is registered with another key or
 *  authority) or "pending" (not registered yet), and the registration if any. */
export async function enrolment(described) {
  const keys = await keysOf(described.authorityId);
  const rec = keys.find((k) => k.name === described.name);
  if (!rec) return { state: "pending", rec: null };
  if (rec.vkey !== described.vkey || rec.authority_id !== described.authorityId) return { state: "other", rec };
  return { state: rec.valid ? "enrolled" : "revoked", rec };
}

/** Admin: register a public key (vkey, or base64 raw key with a name) for an authority. */
export async function registerKey(authorityId, publicKey, name, holder) {
  return (await gql(REGISTER, { authority_id: authorityId, public_key: publicKey, name: name || null,
    holder: holder || null })).register_key;
}

/** Admin: revoke a key (key.revoked): it signs nothing after that entry; what it signed stays valid. */
export async function revokeKey(name, reason) {
  return (await gql(REVOKE, { name, reason })).revoke_key;
}

/** Say in ``out`` which of this login's keys will sign, or why none can (the
 *  check and round pages; the log checks again when it appends). */
export async function showSigner(out, login) {
  try {
    const key = await load(login);
    if (!key) { out.className = "error"; say(out, "record.no_key"); return; }
    const { state } = await enrolment(await describe(key));
    out.className = state === "enrolled" ? "ok" : "error";
    if (state === "enrolled") say(out, "record.signer", { name: key.name });
    else say(out, "record.key_not_enrolled", { name: key.name, state: { key: `key.status.${state}` } });
  } catch (e) {
    out.className = "error";
    sayError(out, e);
  }
}
