// c2sp.org/tlog-proof@v1 as ledger/tlog_proof.py writes it (docs/formats.md §4):
//   c2sp.org/tlog-proof@v1
//   extra <base64 of the entry's canonical bytes>
//   index <seq>
//   <base64 proof hash> ...            (leaf's sibling first)
//   <blank line>
//   <signed checkpoint note>
import { b64decode, decoder, hex, VerifyError } from "./bytes.js";
import { leafHash, verifyInclusion } from "./merkle.js";
import { openCheckpoint } from "./note.js";

export const HEADER = "c2sp.org/tlog-proof@v1";

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
    const proof = rest.map((line) => b64decode(line));
    return { index: Number(indexText), proof, checkpoint, extra };
  } catch (e) {
    if (e instanceof VerifyError) throw e;
    throw new VerifyError("proof_format", e.message);
  }
}

/** Every check in order; ``report(step, detail)`` is told of each success.
 *  Raises VerifyError naming the first check that fails. Returns what was proved. */
export async function verifyTlogProof(text, key, report = () => {}, entryBytes = null) {
  const p = parseTlogProof(text);
  report("proof_format", `index ${p.index}, ${p.proof.length} hashes`);
  const cp = await openCheckpoint(p.checkpoint, key);
  report("checkpoint_signature", `${key.name} · ${cp.origin} · size ${cp.size}`);
  const data = entryBytes ?? p.extra;
  if (data === null) throw new VerifyError("entry", "the proof carries no entry (no extra line)");
  if (entryBytes && p.extra && hex(entryBytes) !== hex(p.extra)) {
    throw new VerifyError("entry", "the entry differs from the entry carried in the proof's extra line");
  }
  const leaf = await leafHash(data);
  await verifyInclusion(p.index, cp.size, leaf, p.proof, cp.root);
  report("inclusion", `leaf ${hex(leaf)} → root ${hex(cp.root)}`);
  let entry;
  try { entry = JSON.parse(decoder.decode(data)); } catch (e) { throw new VerifyError("entry", `not JSON: ${e.message}`); }
  if (entry.seq !== p.index) throw new VerifyError("entry", `entry seq ${entry.seq}, proof index ${p.index}`);
  report("entry", `seq ${entry.seq} · ${entry.type}`);
  return { checkpoint: cp, index: p.index, leaf, entry, note: p.checkpoint };
}
