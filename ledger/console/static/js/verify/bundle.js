// Evidence bundles (docs/evidence.md, format integrity-ledger/evidence-bundle
// v1), checked in the browser in the order of ledger/evidence/verifier.py: manifest
// hashes, the pinned log key, the checkpoint signature, every proof and its
// entry, every entry's signature by the key registered for its authority
// (replaying the bundled key entries), disclosures, the custody record.
//
// What the log authenticates is less than the zip: the checkpoint (signed),
// every entry and its proof (included under it), and the custody entry's
// content files (entries, keys, disclosures: their SHA-256 are in the
// log-signed evidence.exported entry). manifest.json is not signed, and the
// reports and instructions (report.html, report.pdf, VERIFY.md,
// verify_bundle.py) are covered by nothing but that manifest: whoever can
// rewrite the zip can rewrite them. The result says which files are which.
//
// Entries are format v1 (docs/contracts.md §2.1: the entry signed, over its RFC
// 8785 bytes without ``sig``) or v2 (§2.7: the statement signed by its
// authority's key over "integrity-ledger/statement/v2\n" + RFC 8785(statement);
// the log signs checkpoints, not entries), never v1 after v2.
import { b64decode, checking, concat, decoder, encoder, equal, fromHex, hex, sha256, VerifyError } from "./bytes.js";
import { canonicalize } from "./jcs.js";
import { leafHash, verifyInclusion } from "./merkle.js";
import { ed25519Verify, openCheckpoint, parseVkey } from "./note.js";
import { parseStrict } from "./strictjson.js";
import { nanoseconds, parseEntry, parseTlogProof, stated } from "./tlogproof.js";
import { readZip, unsafeName } from "./zip.js";

export const FORMAT = "integrity-ledger/evidence-bundle";
// Entry types (docs/entry-types.md, "Signed by"): the log's own records, signed by
// the log key, and the authorities' records; an entry of another type does not verify.
const LOG_SIGNED = new Set(["authority.registered", "evidence.exported", "key.registered", "key.revoked",
  "log.initialized", "reconciliation.completed", "subject.erased", "token.issued", "token.revoked"]);
const AUTHORITY_SIGNED = new Set(["clawback.ordered", "clawback.recovered", "clawback.waived", "eligibility.checked",
  "entry.corrected", "exemption.granted", "honor.granted", "honor.revoked", "note.recorded", "programme.registered",
  "sanction.amended", "sanction.ended", "sanction.imposed", "subject.linked", "subsidy.granted"]);
// §2.7: the bytes a statement's signature covers start with this line.
export const STATEMENT_PREFIX = "integrity-ledger/statement/v2\n";
// §2.7: a statement's signed_at may be at most this much later than its entry's recorded_at.
export const SKEW_SECONDS = 300;

const isObject = (x) => x !== null && typeof x === "object" && !Array.isArray(x);

// The checks, in the order they run, and the exit code of a failure of each: the names
// and codes of ledger/evidence/standalone.py ``CHECKS`` (``ledger verify-bundle`` and the
// bundled verify_bundle.py), held equal by tests/test_tamper_corpus.py. A pass is exit 0
// against a pinned key, 3 ("consistent, not authenticated") against the bundle's own.
export const CHECKS = { usage: 2, zip: 2, manifest_format: 2, manifest: 1, key: 1, checkpoint_format: 1,
  checkpoint_signature: 1, checkpoint_origin: 1, entry: 1, proof_format: 1, inclusion: 1, entry_signature: 1,
  disclosure: 1, custody: 1, consistency: 1 };
export const NOT_AUTHENTICATED = "consistent, not authenticated";

const HEX64 = /^[0-9a-f]{64}$/, SALT = /^[0-9a-f]{32}$/;
const ENTRY = /^entries\/(0|[1-9][0-9]*)\.json$/, PROOF = /^proofs\/(0|[1-9][0-9]*)\.tlog-proof$/;
// c2sp.org/signed-note: non-empty, no "+" nor white space, the characters of verify_bundle.py's SPACE.
const keyNameOk = (name) => typeof name === "string" && name.length > 0 && !/[+\s\x1c-\x1f\x85]/.test(name);
const MANIFEST = { format: "string", version: "int", case: "string", requested_by: "string", exported_at: "string",
  origin: "string", tree_size: "int", custody_seq: "int", log_key: "string", content: "list",
  content_sha256: "string", files: "object" };
const OF_TYPE = { string: (x) => typeof x === "string", int: Number.isSafeInteger, list: Array.isArray, object: isObject };

/** manifest.json, every member of its type (docs/evidence.md), or VerifyError("manifest_format"). */
function readManifest(files) {
  const bad = (why) => new VerifyError("manifest_format", `manifest.json: ${why}`);
  if (!files.has("manifest.json")) throw bad("missing (not an evidence bundle)");
  let m;
  try { m = parseStrict(files.get("manifest.json")); } catch (e) { throw bad(`not strict JSON (${e.message})`); }
  if (!isObject(m)) throw bad("not a JSON object");
  if (m.format !== FORMAT) throw bad(`format ${JSON.stringify(m.format)?.slice(0, 100)}, want ${FORMAT}`);
  if (m.version !== 1) throw bad(`version ${JSON.stringify(m.version)?.slice(0, 100)}, want 1`);
  const names = Object.keys(m).sort(), want = Object.keys(MANIFEST).sort();
  if (names.join() !== want.join() || !want.every((k) => OF_TYPE[MANIFEST[k]](m[k]))) {
    throw bad(`want exactly the members ${want.join(", ")}, each of its type`);
  }
  if (m.tree_size < 0 || m.custody_seq < 0 || !keyNameOk(m.log_key)) throw bad("sizes not negative and a log key name");
  if (!HEX64.test(m.content_sha256)) throw bad("content_sha256: 64 hex digits");
  for (const [p, h] of Object.entries(m.files)) {
    if (p === "manifest.json" || unsafeName(p) || p.endsWith("/") || typeof h !== "string" || !HEX64.test(h)) {
      throw bad(`files: member names and 64 hex digits, not ${JSON.stringify(p).slice(0, 100)}`);
    }
  }
  if (!m.content.every((p) => typeof p === "string") || new Set(m.content).size !== m.content.length) {
    throw bad("content: distinct names");
  }
  return m;
}

/** The manifest lists exactly the files in the zip, with their SHA-256 (check "manifest"). */
async function checkListing(files, m) {
  const bad = (why) => new VerifyError("manifest", why);
  const present = [...files.keys()].filter((n) => n !== "manifest.json").sort();
  for (const n of Object.keys(m.files).sort()) if (!files.has(n)) throw bad(`${n}: listed in manifest.json, missing`);
  for (const n of present) if (!Object.hasOwn(m.files, n)) throw bad(`${n}: an extra file, not in manifest.json`);
  for (const n of [...m.content].sort()) {
    if (!files.has(n) || n === "manifest.json") throw bad(`${n}: in the content the custody entry covers, missing`);
  }
  for (const n of Object.keys(m.files).sort()) {
    const got = hex(await sha256(files.get(n)));
    if (got !== m.files[n]) throw bad(`${n}: SHA-256 ${got}, manifest.json says ${m.files[n]}`);
  }
}

/** The bytes ``e``'s signature covers: v1, RFC 8785 of the entry without ``sig``
 *  (§2.1); v2, the prefix and RFC 8785 of the statement (§2.7). The entry's bytes
 *  were proven RFC 8785 (tlogproof.js parseEntry), so re-encoding gives exactly them. */
function signedBytes(e) {
  if (e.v === 2) return encoder.encode(STATEMENT_PREFIX + canonicalize(e.statement));
  const { sig, ...unsigned } = e;
  return encoder.encode(canonicalize(unsigned));
}

async function checkEntrySignature(e, registry, log) {
  const s = stated(e);
  const signer = e.v === 2 ? s.key : e.signer;
  let key;
  if (LOG_SIGNED.has(s.type)) {
    if (s.type === "log.initialized" && (await parseVkey(s.body.log_key)).text !== log.key.text) {
      throw new VerifyError("entry_signature", `seq ${e.seq}: log.initialized names ${s.body.log_key}, not the pinned key`);
    }
    if (signer !== log.key.name) throw new VerifyError("entry_signature", `seq ${e.seq}: signed by ${signer}, must be the log key`);
    // §2.7: the log's own records are statements by the log operator's authority (seq 0's).
    if (e.v === 2 && log.operator !== null && s.authority.id !== log.operator) {
      throw new VerifyError("entry_signature", `seq ${e.seq}: a record of the log stated by ${s.authority.id}, not ${log.operator}`);
    }
    key = log.key;
  } else if (AUTHORITY_SIGNED.has(s.type)) {
    const rec = registry.get(signer);
    // A key signs strictly after its key.registered and strictly before its key.revoked.
    if (!rec) throw new VerifyError("entry_signature", `seq ${e.seq}: signer ${signer} is not a registered key`);
    if (rec.authority !== s.authority.id) throw new VerifyError("entry_signature", `seq ${e.seq}: key ${signer} is not ${s.authority.id}'s`);
    if (!(rec.registered < e.seq && (rec.revoked === null || e.seq < rec.revoked))) {
      throw new VerifyError("entry_signature", `seq ${e.seq}: key ${signer} was not valid at this seq`);
    }
    key = rec.key;
  } else {
    throw new VerifyError("entry_signature", `seq ${e.seq}: unknown entry type ${s.type}`);
  }
  const ok = await ed25519Verify(key.publicKey, b64decode(e.sig), signedBytes(e));
  if (!ok) throw new VerifyError("entry_signature", `seq ${e.seq}: the signature by ${key.name} does not verify`);
}

async function applyKeyEntry(e, registry, log) {
  const s = stated(e);
  if (s.type === "log.initialized") {
    if (e.v === 2 && e.seq !== 0) throw new VerifyError("entry_signature", `seq ${e.seq}: log.initialized after seq 0`);
    log.operator = s.authority.id;
  } else if (s.type === "key.registered") {
    const key = await parseVkey(s.body.vkey);
    if (e.v === 2 && (registry.has(key.name) || key.name === log.key.name)) {
      throw new VerifyError("entry_signature", `seq ${e.seq}: key ${key.name} is registered already`);
    }
    registry.set(key.name, { key, authority: s.body.authority_id, registered: e.seq, revoked: null });
  } else if (s.type === "key.revoked" && e.v === 2) {
    const rec = registry.get(s.body.name);
    if (!rec || rec.revoked !== null || s.refs.length !== 1 || s.refs[0] !== rec.registered) {
      throw new VerifyError("entry_signature", `seq ${e.seq}: ${s.body.name} is not a registered, unrevoked key this entry refs`);
    }
    rec.revoked = e.seq;
  } else if (s.type === "key.revoked" && registry.has(s.body.name)) {
    registry.get(s.body.name).revoked = e.seq;
  }
}

/** docs/contracts.md §2.7, for the entries a bundle holds: no v1 entry after a v2
 *  entry; a v2 entry's ``prev`` is the leaf hash of entry seq-1 when that entry is
 *  in the bundle, its ``recorded_at`` no earlier than an earlier entry's, and its
 *  statement's ``signed_at`` at most ``skew`` seconds later than its ``recorded_at``. */
export async function checkOrder(entries, bytesOf, skewSeconds = SKEW_SECONDS) {
  let firstV2 = null, latest = null, latestSeq = null;
  for (const seq of [...entries.keys()].sort((a, b) => a - b)) {
    const e = entries.get(seq);
    if (e.v === 1 && firstV2 !== null) throw new VerifyError("entry", `seq ${seq}: a v1 entry after the v2 entry ${firstV2}`);
    let recorded = null;
    try { recorded = nanoseconds(e.recorded_at, "recorded_at", "recorded_at"); } catch (err) { if (e.v === 2) throw err; }
    if (e.v === 2) {
      if (firstV2 === null) firstV2 = seq;
      if (entries.has(seq - 1)) {
        const before = hex(await sha256(concat(new Uint8Array([0]), bytesOf(seq - 1))));
        if (e.prev !== before) throw new VerifyError("entry", `seq ${seq}: prev ${e.prev}, the leaf hash of entry ${seq - 1} is ${before}`);
      }
      if (latest !== null && recorded < latest) throw new VerifyError("entry", `seq ${seq}: recorded_at ${e.recorded_at} is before entry ${latestSeq}'s`);
      const signed = nanoseconds(e.statement.signed_at, "signed_at", "signed_at");
      if (signed > recorded + BigInt(skewSeconds) * 1000000000n) {
        throw new VerifyError("entry", `seq ${seq}: signed_at ${e.statement.signed_at} is more than ${skewSeconds} s after recorded_at ${e.recorded_at}`);
      }
    }
    if (recorded !== null && (latest === null || recorded >= latest)) { latest = recorded; latestSeq = seq; }
  }
}

/** Every entry's signature, replaying the bundled key entries in seq order. */
export async function checkSignatures(entries, pinned) {
  const registry = new Map(), log = { key: pinned, operator: null };
  for (const seq of [...entries.keys()].sort((a, b) => a - b)) {
    const e = entries.get(seq);
    await checkEntrySignature(e, registry, log);
    await applyKeyEntry(e, registry, log);
  }
}

/** The bundle's entries and their proofs (checks "entry", "proof_format", "inclusion"), by seq,
 *  in the order of verify_bundle.py: entries by name, each parsed before its proof. */
async function provenEntries(files, note, cp, proven) {
  const entries = new Map();
  for (const name of [...files.keys()].filter((n) => n.startsWith("entries/")).sort()) {
    if (!ENTRY.test(name)) throw new VerifyError("entry", `${name}: want entries/<seq>.json`);
    const bytes = files.get(name);
    const e = await checking("entry", () => parseEntry(bytes));
    if (name !== `entries/${e.seq}.json`) throw new VerifyError("entry", `${name} holds seq ${e.seq}`);
    const proofName = `proofs/${e.seq}.tlog-proof`;
    if (!files.has(proofName)) throw new VerifyError("inclusion", `${proofName}: the proof of entry ${e.seq} is missing`);
    const p = await checking("proof_format", () => parseTlogProof(decoder.decode(files.get(proofName))));
    if (p.checkpoint !== note) throw new VerifyError("inclusion", `${proofName}: not against checkpoint.txt`);
    if (p.index !== e.seq) throw new VerifyError("inclusion", `${proofName}: index ${p.index}, want ${e.seq}`);
    if (p.extra && !equal(p.extra, bytes)) {
      throw new VerifyError("entry", `${proofName}: the entry differs from the entry carried in the proof's extra line`);
    }
    await checking("inclusion", async () => {
      try {
        await verifyInclusion(p.index, cp.size, await leafHash(bytes), p.proof, cp.root);
      } catch (err) {
        throw new VerifyError("inclusion", `${proofName}: ${err.detail ?? err.message}`);
      }
    });
    entries.set(e.seq, e);
    proven.add(name).add(proofName);
  }
  for (const name of [...files.keys()].filter((n) => n.startsWith("proofs/")).sort()) {
    const match = PROOF.exec(name);
    if (!match) throw new VerifyError("entry", `${name}: want proofs/<seq>.tlog-proof`);
    if (!entries.has(Number(match[1]))) throw new VerifyError("entry", `entries/${match[1]}.json is missing (its proof ${name} is not)`);
  }
  return entries;
}

async function checkDisclosures(files, entries) {
  const subjects = [...files.keys()].filter((n) => n.startsWith("subjects/")).sort();
  for (const name of subjects) {
    let d;
    try { d = parseStrict(files.get(name)); } catch (e) { throw new VerifyError("disclosure", `${name}: not strict JSON (${e.message})`); }
    if (!isObject(d) || !["ref", "scheme", "id", "salt"].every((k) => typeof d[k] === "string") || !SALT.test(d.salt)) {
      throw new VerifyError("disclosure", `${name}: want {ref, scheme, id, salt (32 hex digits), name}`);
    }
    if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(d.scheme + d.id)) {
      throw new VerifyError("disclosure", `${name}: scheme and id in Unicode text (a lone surrogate)`);
    }
    const ref = hex(await sha256(concat(fromHex(d.salt), encoder.encode(`${d.scheme}:${d.id}`))));
    if (ref !== d.ref || name !== `subjects/${d.ref}.json`) throw new VerifyError("disclosure", `${name}: SHA-256(salt || scheme:id) = ${ref}`);
    if (![...entries.values()].some((e) => stated(e).subject === ref)) throw new VerifyError("disclosure", `${name}: no entry about it`);
  }
  return subjects.length;
}

/** The custody entry (evidence.exported, log-signed, proven) records this bundle: the
 *  digest of its content files, case, requester, time, seqs and subjects. */
async function checkCustody(files, m, entries) {
  const bad = (why) => new VerifyError("custody", why);
  const custody = entries.get(m.custody_seq);
  if (!custody || stated(custody).type !== "evidence.exported") throw bad(`entries/${m.custody_seq}.json: not the evidence.exported entry`);
  const b = stated(custody).body;
  if (!(["content_sha256", "case", "requested_by"].every((k) => typeof b[k] === "string")
        && Array.isArray(b.seqs) && b.seqs.every(Number.isSafeInteger)
        && Array.isArray(b.subjects) && b.subjects.every((x) => typeof x === "string"))) {
    throw bad(`entries/${m.custody_seq}.json: not an evidence.exported body`);
  }
  const listing = Object.create(null); // file names are data: no prototype to collide with
  for (const p of m.content) listing[p] = hex(await sha256(files.get(p)));
  const digest = hex(await sha256(encoder.encode(canonicalize(listing))));
  if (b.content_sha256 !== digest || b.case !== m.case) {
    throw bad(`content ${digest} for case ${m.case}; the export recorded ${b.content_sha256} for ${b.case}`);
  }
  if (m.content_sha256 !== b.content_sha256 || m.requested_by !== b.requested_by || m.exported_at !== custody.recorded_at) {
    throw bad("manifest.json: content_sha256, requested_by, exported_at are not what the custody entry records");
  }
  const expected = [...new Set([...b.seqs.map((n) => `entries/${n}.json`), ...b.subjects.map((r) => `subjects/${r}.json`)])].sort();
  const content = m.content.filter((p) => p.startsWith("entries/") || p.startsWith("subjects/")).sort();
  if (expected.join("\n") !== content.join("\n")) {
    throw bad(`manifest content ${content.join(", ")}; the export recorded ${expected.join(", ")}`);
  }
  const recorded = new Set([...b.seqs, custody.seq]);
  const extra = [...entries.keys()].filter((s) => !recorded.has(s));
  if (extra.length) throw bad(`entries the export did not record: ${extra.join(", ")}`);
  return custody;
}

/** Verify a bundle's bytes; ``pinned``: the log key the user trusts, or null (then the
 *  bundle's own key, and the result says ``authenticated: false``, "consistent, not
 *  authenticated"). ``report(check, detail)`` hears each success. Raises VerifyError
 *  naming the first failed check (``CHECKS``), in the order of verify_bundle.py.
 *  Returns what was proved, with ``authenticated`` (the files the log vouches for),
 *  ``unauthenticated`` (the rest of the zip: renderings and the manifest), ``pinned``
 *  and ``verdict`` ("authenticated" or NOT_AUTHENTICATED). */
export async function verifyBundle(bytes, pinned, report = () => {}) {
  const files = await readZip(bytes);
  report("zip", `${files.size} files`);
  const m = readManifest(files);
  await checking("manifest", () => checkListing(files, m));
  report("manifest", `${Object.keys(m.files).length} files, SHA-256 each`);

  const keyName = `keys/${m.log_key}.vkey`;
  const logKey = await checking("key", async () => {
    if (!files.has(keyName)) throw new VerifyError("key", `${keyName} is missing`);
    const bundled = await parseVkey(decoder.decode(files.get(keyName)).trim());
    if (bundled.name !== m.log_key) throw new VerifyError("key", `${keyName} is not the Ed25519 note key ${m.log_key}`);
    if (pinned && bundled.text !== pinned.text) throw new VerifyError("key", `${keyName} is not the pinned log key ${pinned.name}`);
    return pinned ?? bundled;
  });
  report("key", pinned ? `${keyName} = ${pinned.name}` : `${keyName} (${NOT_AUTHENTICATED}: no pinned key)`);
  if (!files.has("checkpoint.txt")) throw new VerifyError("checkpoint_format", "checkpoint.txt is missing");
  const note = await checking("checkpoint_format", () => decoder.decode(files.get("checkpoint.txt")));
  const cp = await checking("checkpoint_signature", () => openCheckpoint(note, logKey));
  if (cp.origin !== m.origin || cp.size !== m.tree_size) {
    throw new VerifyError("checkpoint_origin", `manifest.json: origin ${m.origin} at tree size ${m.tree_size}; checkpoint.txt: ${cp.origin} at ${cp.size}`);
  }
  report("checkpoint_signature", `${logKey.name} · ${cp.origin} · size ${cp.size}`);

  const proven = new Set(["checkpoint.txt"]);
  const entries = await provenEntries(files, note, cp, proven);
  report("inclusion", `${entries.size} entries in the tree of size ${cp.size}`);

  await checking("entry_signature", () => checkSignatures(entries, logKey));
  await checking("entry", () => checkOrder(entries, (seq) => files.get(`entries/${seq}.json`)));
  report("entry_signature", `${entries.size} Ed25519 signatures`);

  const subjects = await checking("disclosure", () => checkDisclosures(files, entries));
  report("disclosure", `${subjects}`);
  const custody = await checking("custody", () => checkCustody(files, m, entries));
  report("custody", `seq ${custody.seq} · ${m.case}`);

  // The content files are exactly what the log-signed custody entry hashed.
  for (const p of m.content) proven.add(p);
  const authenticated = [...proven].sort();
  const unauthenticated = [...files.keys()].filter((n) => !proven.has(n)).sort();
  return { checkpoint: cp, case: m.case, entries: entries.size, subjects, custodySeq: custody.seq,
    authenticated, unauthenticated, pinned: Boolean(pinned), verdict: pinned ? "authenticated" : NOT_AUTHENTICATED };
}
