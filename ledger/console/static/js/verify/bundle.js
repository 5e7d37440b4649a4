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
import { b64decode, checking, concat, decoder, encoder, fromHex, hex, sha256, VerifyError } from "./bytes.js";
import { canonicalize } from "./jcs.js";
import { ed25519Verify, openCheckpoint, parseVkey } from "./note.js";
import { nanoseconds, stated, verifyTlogProof } from "./tlogproof.js";
import { readZip } from "./zip.js";

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

function json(files, name, check) {
  if (!files.has(name)) throw new VerifyError(check, `${name} is missing`);
  try { return JSON.parse(decoder.decode(files.get(name))); } catch (e) { throw new VerifyError(check, `${name}: not JSON (${e.message})`); }
}

async function checkManifest(files) {
  const m = json(files, "manifest.json", "manifest");
  if (!isObject(m) || m.format !== FORMAT) throw new VerifyError("manifest", `format ${m?.format}, want ${FORMAT}`);
  if (!isObject(m.files)) throw new VerifyError("manifest", "manifest.json has no files table");
  const listed = Object.keys(m.files).sort();
  const present = [...files.keys()].filter((n) => n !== "manifest.json").sort();
  for (const n of listed) if (!files.has(n) || n === "manifest.json") throw new VerifyError("manifest", `${n}: listed in manifest.json, missing`);
  for (const n of present) if (!Object.hasOwn(m.files, n)) throw new VerifyError("manifest", `${n}: an extra file, not in manifest.json`);
  for (const n of listed) {
    const got = hex(await sha256(files.get(n)));
    if (got !== m.files[n]) throw new VerifyError("manifest", `${n}: SHA-256 ${got}, manifest.json says ${m.files[n]}`);
  }
  return m;
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

/** Verify a bundle's bytes against the pinned log key; ``report(check, detail)``
 *  hears each success. Raises VerifyError naming the first failed check.
 *  Returns what was proved, with ``authenticated`` (the files the log vouches
 *  for) and ``unauthenticated`` (the rest of the zip: renderings and the manifest). */
export async function verifyBundle(bytes, pinned, report = () => {}) {
  const files = await readZip(bytes);
  report("zip", `${files.size} files`);
  const m = await checking("manifest", () => checkManifest(files));
  report("manifest", `${Object.keys(m.files).length} files, SHA-256 each`);

  const keyName = `keys/${m.log_key}.vkey`;
  await checking("key", async () => {
    const bundledKey = files.get(keyName);
    if (!bundledKey || (await parseVkey(decoder.decode(bundledKey))).text !== pinned.text) {
      throw new VerifyError("key", `${keyName} is not the pinned log key ${pinned.name}`);
    }
  });
  report("key", `${keyName} = ${pinned.name}`);
  if (!files.has("checkpoint.txt")) throw new VerifyError("checkpoint_format", "checkpoint.txt is missing");
  const note = await checking("checkpoint_format", () => decoder.decode(files.get("checkpoint.txt")));
  const cp = await checking("checkpoint_signature", () => openCheckpoint(note, pinned));
  report("checkpoint_signature", `${pinned.name} · ${cp.origin} · size ${cp.size}`);

  const entries = new Map(), proven = new Set(["checkpoint.txt"]);
  const names = [...files.keys()].filter((n) => n.startsWith("entries/")).sort();
  for (const name of names) {
    const proofName = name.replace(/^entries\/(\d+)\.json$/, "proofs/$1.tlog-proof");
    if (proofName === name || !files.has(proofName)) throw new VerifyError("inclusion", `${name}: no proofs/<seq>.tlog-proof`);
    const text = await checking("proof_format", () => decoder.decode(files.get(proofName)));
    if (text.slice(text.indexOf("\n\n") + 2) !== note) {
      throw new VerifyError("inclusion", `${proofName}: not against checkpoint.txt`);
    }
    let proved;
    try {
      proved = await verifyTlogProof(text, pinned, () => {}, files.get(name));
    } catch (e) {
      if (e instanceof VerifyError) throw new VerifyError(e.check, `${proofName}: ${e.detail}`);
      throw e;
    }
    if (name !== `entries/${proved.entry.seq}.json`) throw new VerifyError("entry", `${name} holds seq ${proved.entry.seq}`);
    entries.set(proved.entry.seq, proved.entry);
    proven.add(name).add(proofName);
  }
  report("inclusion", `${entries.size} entries in the tree of size ${cp.size}`);

  await checking("entry_signature", () => checkSignatures(entries, pinned));
  await checking("entry", () => checkOrder(entries, (seq) => files.get(`entries/${seq}.json`)));
  report("entry_signature", `${entries.size} Ed25519 signatures`);

  const subjects = [...files.keys()].filter((n) => n.startsWith("subjects/")).sort();
  await checking("disclosure", async () => {
    for (const name of subjects) {
      const d = json(files, name, "disclosure");
      const ref = hex(await sha256(concat(fromHex(d.salt), encoder.encode(`${d.scheme}:${d.id}`))));
      if (ref !== d.ref || name !== `subjects/${d.ref}.json`) throw new VerifyError("disclosure", `${name}: SHA-256(salt || scheme:id) = ${ref}`);
      if (![...entries.values()].some((e) => stated(e).subject === ref)) throw new VerifyError("disclosure", `${name}: no entry about it`);
    }
  });
  report("disclosure", `${subjects.length}`);

  const custody = entries.get(m.custody_seq);
  await checking("custody", async () => {
    if (!custody || stated(custody).type !== "evidence.exported") throw new VerifyError("custody", `entries/${m.custody_seq}.json: not the evidence.exported entry`);
    if (!Array.isArray(m.content) || !m.content.every((p) => typeof p === "string" && files.has(p))) {
      throw new VerifyError("custody", "manifest.json content names files that are not in the bundle");
    }
    const body = stated(custody).body;
    const listing = Object.create(null); // file names are data: no prototype to collide with
    for (const p of m.content) listing[p] = hex(await sha256(files.get(p)));
    const digest = hex(await sha256(encoder.encode(canonicalize(listing))));
    if (body.content_sha256 !== digest || body.case !== m.case) {
      throw new VerifyError("custody", `content ${digest} for case ${m.case}; the export recorded ${body.content_sha256} for ${body.case}`);
    }
    const expected = [...body.seqs.map((n) => `entries/${n}.json`), ...body.subjects.map((r) => `subjects/${r}.json`)].sort();
    const content = m.content.filter((p) => p.startsWith("entries/") || p.startsWith("subjects/")).sort();
    if (expected.join("\n") !== content.join("\n")) {
      throw new VerifyError("custody", `manifest content ${content.join(", ")}; the export recorded ${expected.join(", ")}`);
    }
    const recorded = new Set([...body.seqs, custody.seq]);
    const extra = [...entries.keys()].filter((s) => !recorded.has(s));
    if (extra.length) throw new VerifyError("custody", `entries the export did not record: ${extra.join(", ")}`);
  });
  report("custody", `seq ${custody.seq} · ${m.case}`);

  // The content files are exactly what the log-signed custody entry hashed.
  for (const p of m.content) proven.add(p);
  const authenticated = [...proven].sort();
  const unauthenticated = [...files.keys()].filter((n) => !proven.has(n)).sort();
  return { checkpoint: cp, case: m.case, entries: entries.size, subjects: subjects.length, custodySeq: custody.seq,
    authenticated, unauthenticated };
}
