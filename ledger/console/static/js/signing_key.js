// The officer's signing key, made and kept in this browser (docs/console.md,
// Signing key; decision 0016). WebCrypto Ed25519 (RFC 8032), generated with
// extractable = false: the private half is a CryptoKey the page can sign with
// but never read, export or send (WebCrypto §14.3.4: exportKey on a
// non-extractable key throws InvalidAccessError). It is kept in IndexedDB,
// which stores a CryptoKey by structured clone without ever exposing its
// bytes, per origin (the browser's rule) and per login (the record's key is
// the token id, the same identity the log names as actor, "token:<id>").
//
// Scope: generating, storing (a new key replaces the old) and presenting the key (name, raw
// public key, fingerprint, C2SP vkey) and signing bytes with it. Not here:
// what is signed (statement.js) or whether the log has enrolled it (the pages
// ask the API).
import { b64encode, concat, encoder, hex, sha256 } from "./verify/bytes.js";

const DB = "ledger-console";
const STORE = "signing-keys";
const ALGORITHM = { name: "Ed25519" };
const ED25519_TYPE = 0x01; // c2sp.org/signed-note: signature type of an Ed25519 note key

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "login" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function transact(mode, run) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = run(tx.objectStore(STORE));
      // Resolve on commit, not on the request: a put is durable only once its transaction completes.
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted"));
    });
  } finally {
    db.close();
  }
}

/** SHA-256 of the raw 32-byte public key, lowercase hex: what the officer reads
 *  out to the admin, and what the server computes (ledger.signing.public_keys). */
export async function fingerprint(publicRaw) {
  return hex(await sha256(publicRaw));
}

/** The fingerprint in groups of four, for reading aloud and comparing by eye. */
export function grouped(fp) {
  return fp.match(/.{1,4}/g).join(" ");
}

/** The key's name: its authority and 8 fingerprint digits (the server's default
 *  for an unnamed key). A name is registered once and never re-bound, so a
 *  replacement key, having another fingerprint, always has another name. */
export function keyName(authorityId, fp) {
  return `${authorityId}-${fp.slice(0, 8)}`;
}

/** C2SP vkey ``name+hex(key ID)+base64(0x01 || key)``; key ID =
 *  SHA-256(name || 0x0A || 0x01 || key)[:4] (c2sp.org/signed-note). */
export async function vkey(name, publicRaw) {
  const typed = concat(new Uint8Array([ED25519_TYPE]), publicRaw);
  const id = (await sha256(concat(encoder.encode(name), new Uint8Array([0x0a]), typed))).slice(0, 4);
  return `${name}+${hex(id)}+${b64encode(typed)}`;
}

/** What the page shows and the admin enrols: everything public about a stored key. */
export async function describe(record) {
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", record.publicKey)); // the public half only
  const fp = await fingerprint(raw);
  return { name: record.name, publicKey: b64encode(raw), fingerprint: fp, vkey: await vkey(record.name, raw),
    authorityId: record.authorityId, createdAt: record.createdAt };
}

/** The key stored for this login, or null. */
export async function load(login) {
  return (await transact("readonly", (store) => store.get(login))) ?? null;
}

/** Make a new key for ``login`` (replacing any stored one) and store it.
 *  Crash safety: the new key is written in one IndexedDB transaction; until it
 *  commits the old record (if any) is still the stored one, after it the old
 *  private key is gone from this browser for good (replacing a key, docs/console.md). */
export async function generate(login, authorityId, now = new Date()) {
  const pair = await crypto.subtle.generateKey(ALGORITHM, false, ["sign", "verify"]);
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const record = { login, authorityId, name: keyName(authorityId, await fingerprint(raw)),
    privateKey: pair.privateKey, publicKey: pair.publicKey, createdAt: now.toISOString() };
  await transact("readwrite", (store) => store.put(record));
  return record;
}

/** Ed25519 signature (64 bytes, base64) of ``bytes`` with the stored private key. */
export async function sign(record, bytes) {
  return b64encode(new Uint8Array(await crypto.subtle.sign(ALGORITHM, record.privateKey, bytes)));
}

/** Can this browser make and use the key at all? (WebCrypto needs a secure
 *  context, HTTPS or loopback; Ed25519 needs a browser of 2025 or later.) */
export function supported() {
  return Boolean(globalThis.isSecureContext && crypto?.subtle && globalThis.indexedDB);
}
