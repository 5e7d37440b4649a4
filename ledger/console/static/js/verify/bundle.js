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
import { b64decode, checking, concat, decoder, encoder, fromHex, hex, sha256, VerifyError } from "./bytes.js";
import { canonicalize } from "./jcs.js";
import { ed25519Verify, openCheckpoint, parseVkey } from "./note.js";
import { verifyTlogProof } from "./tlogproof.js";
import { readZip } from "./zip.js";

export const FORMAT = "integrity-ledger/evidence-bundle";
// Entry types signed by the log key (ledger/log/entry_types.py, ledger/domain/records.py: signed_by="log").
const LOG_SIGNED = new Set(["log.initialized", "key.registered", "key.revoked", "subject.erased",
  "reconciliation.completed", "evidence.exported"]);

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

async function checkEntrySignature(e, registry, logKey) {
  let key;
  if (LOG_SIGNED.has(e.type)) {
    if (e.type === "log.initialized" && (await parseVkey(e.body.log_key)).text !== logKey.text) {
      throw new VerifyError("entry_signature", `seq ${e.seq}: log.initialized names ${e.body.log_key}, not the pinned key`);
    }
    if (e.signer !== logKey.name) throw new VerifyError("entry_signature", `seq ${e.seq}: signed by ${e.signer}, must be the log key`);
    key = logKey;
  } else {
    const rec = registry.get(e.signer);
    // A key signs strictly after its key.registered and strictly before its key.revoked.
    if (!rec) throw new VerifyError("entry_signature", `seq ${e.seq}: signer ${e.signer} is not a registered key`);
    if (rec.authority !== e.authority.id) throw new VerifyError("entry_signature", `seq ${e.seq}: key ${e.signer} is not ${e.authority.id}'s`);
    if (!(rec.registered < e.seq && (rec.revoked === null || e.seq < rec.revoked))) {
      throw new VerifyError("entry_signature", `seq ${e.seq}: key ${e.signer} was not valid at this seq`);
    }
    key = rec.key;
  }
  // The entry's bytes were proven RFC 8785 (tlogproof.js parseEntry), so
  // re-encoding it without ``sig`` gives exactly the bytes that were signed.
  const { sig, ...unsigned } = e;
  const ok = await ed25519Verify(key.publicKey, b64decode(sig), encoder.encode(canonicalize(unsigned)));
  if (!ok) throw new VerifyError("entry_signature", `seq ${e.seq}: the signature by ${key.name} does not verify`);
}

async function applyKeyEntry(e, registry) {
  if (e.type === "key.registered") {
    const key = await parseVkey(e.body.vkey);
    registry.set(key.name, { key, authority: e.body.authority_id, registered: e.seq, revoked: null });
  } else if (e.type === "key.revoked" && registry.has(e.body.name)) {
    registry.get(e.body.name).revoked = e.seq;
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

  const registry = new Map();
  await checking("entry_signature", async () => {
    for (const seq of [...entries.keys()].sort((a, b) => a - b)) {
      const e = entries.get(seq);
      await checkEntrySignature(e, registry, pinned);
      await applyKeyEntry(e, registry);
    }
  });
  report("entry_signature", `${entries.size} Ed25519 signatures`);

  const subjects = [...files.keys()].filter((n) => n.startsWith("subjects/")).sort();
  await checking("disclosure", async () => {
    for (const name of subjects) {
      const d = json(files, name, "disclosure");
      const ref = hex(await sha256(concat(fromHex(d.salt), encoder.encode(`${d.scheme}:${d.id}`))));
      if (ref !== d.ref || name !== `subjects/${d.ref}.json`) throw new VerifyError("disclosure", `${name}: SHA-256(salt || scheme:id) = ${ref}`);
      if (![...entries.values()].some((e) => e.subject === ref)) throw new VerifyError("disclosure", `${name}: no entry about it`);
    }
  });
  report("disclosure", `${subjects.length}`);

  const custody = entries.get(m.custody_seq);
  await checking("custody", async () => {
    if (!custody || custody.type !== "evidence.exported") throw new VerifyError("custody", `entries/${m.custody_seq}.json: not the evidence.exported entry`);
    if (!Array.isArray(m.content) || !m.content.every((p) => typeof p === "string" && files.has(p))) {
      throw new VerifyError("custody", "manifest.json content names files that are not in the bundle");
    }
    const listing = Object.create(null); // file names are data: no prototype to collide with
    for (const p of m.content) listing[p] = hex(await sha256(files.get(p)));
    const digest = hex(await sha256(encoder.encode(canonicalize(listing))));
    if (custody.body.content_sha256 !== digest || custody.body.case !== m.case) {
      throw new VerifyError("custody", `content ${digest} for case ${m.case}; the export recorded ${custody.body.content_sha256} for ${custody.body.case}`);
    }
    const expected = [...custody.body.seqs.map((n) => `entries/${n}.json`), ...custody.body.subjects.map((r) => `subjects/${r}.json`)].sort();
    const content = m.content.filter((p) => p.startsWith("entries/") || p.startsWith("subjects/")).sort();
    if (expected.join("\n") !== content.join("\n")) {
      throw new VerifyError("custody", `manifest content ${content.join(", ")}; the export recorded ${expected.join(", ")}`);
    }
    const recorded = new Set([...custody.body.seqs, custody.seq]);
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
