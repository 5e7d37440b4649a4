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
// The members of every entry (ledger/log/entry.py ENVELOPE_FIELDS): no more, no fewer.
const ENVELOPE = ["v", "seq", "prev", "type", "recorded_at", "authority", "actor", "subject", "refs", "request_id",
  "body", "signer", "sig"];

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

/** An entry from its bytes, refused (as ledger/log/entry.py ``from_canonical``
 *  refuses it) unless they are exactly RFC 8785 and it has the envelope's members. */
export function parseEntry(bytes) {
  const entry = parseCanonical(bytes);
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) throw new Error("an entry is a JSON object");
  const missing = ENVELOPE.filter((f) => !Object.hasOwn(entry, f));
  const extra = Object.keys(entry).filter((f) => !ENVELOPE.includes(f));
  if (missing.length || extra.length) {
    throw new Error(`envelope: ${[...missing.map((f) => `${f} missing`), ...extra.map((f) => `${f} is not an envelope field`)].join(", ")}`);
  }
  const a = entry.authority;
  if (a === null || typeof a !== "object" || Array.isArray(a) || Object.keys(a).sort().join(",") !== "id,region") {
    throw new Error("authority must be {id, region}");
  }
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
  report("entry", `seq ${entry.seq} · ${entry.type} · RFC 8785`);
  return { checkpoint: cp, index: p.index, leaf, entry, note: p.checkpoint };
}
