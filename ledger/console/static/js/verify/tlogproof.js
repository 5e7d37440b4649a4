// c2sp.org/tlog-proof@v1 as ledger/log/tlog_proof.py writes it (docs/formats.md §4):
//   c2sp.org/tlog-proof@v1
//   extra <base64 of the entry's canonical bytes>
//   index <seq>
//   <base64 proof hash> ...            (leaf's sibling first)
//   <blank line>
//   <signed checkpoint note>
import { b64decode, checking, equal, hex, VerifyError } from "./bytes.js";
import { parseCanonical } from "./jcs.js";
import { leafHash, verifyInclusion } from "./merkle.js";
import { openCheckpoint } from "./note.js";

export const HEADER = "c2sp.org/tlog-proof@v1";
// The members of every v1 entry (docs/contracts.md §2.1): no more, no fewer.
const ENVELOPE = ["v", "seq", "prev", "type", "recorded_at", "authority", "actor", "subject", "refs", "request_id",
  "body", "signer", "sig"];
// docs/contracts.md §2.7: a v2 entry, and the statement its authority signs.
const V2_ENTRY = ["v", "seq", "prev", "recorded_at", "statement", "sig"];
const STATEMENT = ["v", "type", "authority", "actor", "subject", "refs", "request_id", "body", "signed_at", "key"];
const RECORDED_AT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})Z$/; // §2.1: UTC, microseconds
const SIGNED_AT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/; // §2.7: RFC 3339 UTC

export function parseTlogProof(text) {
  const at = text.indexOf("\n\n");
  if (at < 0) throw new VerifyError("proof_format", "no blank line before the checkpoint");
  const lines = text.slice(0, at).split("\n");
  const checkpoint = text.slice(at + 2);
  if (lines[0] !== HEADER) throw new VerifyError("proof_format", `first line is "${lines[0].slice(0, 40)}", want "${HEADER}"`);
  const rest = lines.slice(1);
  let extra = null;
  try {
    if (rest.length && rest[0].startsWith("extra ")) extra = b64decode(rest.shift().slice(6));
    if (!rest.length || !rest[0].startsWith("index ")) throw new VerifyError("proof_format", "missing index line");
    const indexText = rest.shift().slice(6);
    if (!/^(0|[1-9][0-9]*)$/.test(indexText)) throw new VerifyError("proof_format", `index "${indexText}" is not a decimal`);
    const index = Number(indexText);
    if (!Number.isSafeInteger(index)) throw new VerifyError("proof_format", `index ${indexText} is too large`);
    const proof = rest.map((line) => b64decode(line));
    return { index, proof, checkpoint, extra };
  } catch (e) {
    if (e instanceof VerifyError) throw e;
    throw new VerifyError("proof_format", e.message);
  }
}

const isObject = (x) => x !== null && typeof x === "object" && !Array.isArray(x);

/** ``obj`` has exactly ``fields`` as members, else an Error naming the difference. */
function exactly(obj, fields, what) {
  const missing = fields.filter((f) => !Object.hasOwn(obj, f));
  const extra = Object.keys(obj).filter((f) => !fields.includes(f));
  if (missing.length || extra.length) {
    throw new Error(`${what}: ${[...missing.map((f) => `${f} missing`), ...extra.map((f) => `${f} is not a member`)].join(", ")}`);
  }
}

/** An RFC 3339 UTC time (``RECORDED_AT`` or ``SIGNED_AT`` form) as a BigInt of
 *  nanoseconds since 1970: exact, with the date checked (no rolling over). */
export function nanoseconds(text, form, what) {
  const m = typeof text === "string" ? (form === "signed_at" ? SIGNED_AT : RECORDED_AT).exec(text) : null;
  if (!m) throw new Error(`${what} ${String(text).slice(0, 40)} is not an RFC 3339 UTC time`);
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d);
  t.setUTCHours(h, mi, s, 0);
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d || t.getUTCHours() !== h
      || t.getUTCMinutes() !== mi || t.getUTCSeconds() !== s) {
    throw new Error(`${what} ${text} is not a valid date and time`);
  }
  return BigInt(t.getTime()) * 1000000n + BigInt((m[7] ?? "").padEnd(9, "0"));
}

/** What an entry states: a v2 entry's statement, a v1 entry itself (type, authority, body …). */
export const stated = (entry) => (entry.v === 2 ? entry.statement : entry);

/** docs/contracts.md §2.7: exactly the v2 members, the statement exactly its own, each of its type. */
function parseV2(e) {
  exactly(e, V2_ENTRY, "v2 entry");
  const st = e.statement;
  if (!isObject(st)) throw new Error("the statement is a JSON object");
  exactly(st, STATEMENT, "statement");
  const a = st.authority;
  if (!isObject(a) || Object.keys(a).sort().join(",") !== "id,region" || typeof a.id !== "string" || typeof a.region !== "string") {
    throw new Error("statement authority must be {id, region}");
  }
  if (st.v !== 2) throw new Error(`statement v is ${JSON.stringify(st.v)}, want 2`);
  for (const k of ["type", "actor", "request_id", "key"]) if (typeof st[k] !== "string") throw new Error(`statement ${k} must be text`);
  if (!(st.subject === null || typeof st.subject === "string")) throw new Error("statement subject must be text or null");
  if (!isObject(st.body)) throw new Error("statement body must be an object");
  if (!Number.isSafeInteger(e.seq) || e.seq < 0) throw new Error("seq must be a non-negative integer");
  if (!Array.isArray(st.refs) || !st.refs.every((r) => Number.isSafeInteger(r) && r >= 0 && r < e.seq)) {
    throw new Error(`statement refs must be earlier seqs (below ${e.seq})`);
  }
  if (typeof e.prev !== "string" || !/^[0-9a-f]{64}$/.test(e.prev)) throw new Error("prev must be 64 lowercase hex digits");
  nanoseconds(e.recorded_at, "recorded_at", "recorded_at");
  nanoseconds(st.signed_at, "signed_at", "signed_at");
  if (typeof e.sig !== "string") throw new Error("sig must be base64");
  b64decode(e.sig);
  return e;
}

/** An entry from its bytes, refused unless they are exactly RFC 8785 and it has
 *  the members of its format: v1 (docs/contracts.md §2.1, as ledger/log/entry.py
 *  ``from_canonical`` requires) or v2 (§2.7). */
export function parseEntry(bytes) {
  const entry = parseCanonical(bytes);
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) throw new Error("an entry is a JSON object");
  if (entry.v === 2) return parseV2(entry);
  const missing = ENVELOPE.filter((f) => !Object.hasOwn(entry, f));
  const extra = Object.keys(entry).filter((f) => !ENVELOPE.includes(f));
  if (missing.length || extra.length) {
    throw new Error(`envelope: ${[...missing.map((f) => `${f} missing`), ...extra.map((f) => `${f} is not an envelope field`)].join(", ")}`);
  }
  const a = entry.authority;
  if (a === null || typeof a !== "object" || Array.isArray(a) || Object.keys(a).sort().join(",") !== "id,region") {
    throw new Error("authority must be {id, region}");
  }
  if (entry.v !== 1) throw new Error(`format version ${JSON.stringify(entry.v)}, want 1 or 2`);
  if (typeof entry.sig !== "string") throw new Error("sig must be base64");
  b64decode(entry.sig);
  return entry;
}

/** Every check in order; ``report(step, detail)`` is told of each success.
 *  Raises VerifyError naming the first check that fails. Returns what was proved. */
export async function verifyTlogProof(text, key, report = () => {}, entryBytes = null) {
  const p = await checking("proof_format", () => parseTlogProof(text));
  report("proof_format", `index ${p.index}, ${p.proof.length} hashes`);
  const cp = await checking("checkpoint_signature", () => openCheckpoint(p.checkpoint, key));
  report("checkpoint_signature", `${key.name} · ${cp.origin} · size ${cp.size}`);
  const data = entryBytes ?? p.extra;
  if (data === null) throw new VerifyError("entry", "the proof carries no entry (no extra line)");
  if (entryBytes && p.extra && !equal(entryBytes, p.extra)) {
    throw new VerifyError("entry", "the entry differs from the entry carried in the proof's extra line");
  }
  const leaf = await checking("inclusion", async () => {
    const hash = await leafHash(data);
    await verifyInclusion(p.index, cp.size, hash, p.proof, cp.root);
    return hash;
  });
  report("inclusion", `leaf ${hex(leaf)} → root ${hex(cp.root)}`);
  const entry = await checking("entry", () => parseEntry(data));
  if (entry.seq !== p.index) throw new VerifyError("entry", `entry seq ${entry.seq}, proof index ${p.index}`);
  report("entry", `seq ${entry.seq} · v${entry.v} · ${stated(entry).type} · RFC 8785`);
  return { checkpoint: cp, index: p.index, leaf, entry, note: p.checkpoint };
}
