// C2SP signed-note, vkey and tlog-checkpoint, verified with WebCrypto Ed25519.
// c2sp.org/signed-note: key ID = SHA-256(name || 0x0A || type || key)[:4];
// a signature line is "— <name> base64(key ID || signature)".
import { b64decode, concat, encoder, equal, hex, sha256, VerifyError } from "./bytes.js";

const ED25519 = 0x01;

/** ``name+<8 hex key ID>+base64(0x01 || 32-byte key)``, its key ID recomputed. */
export async function parseVkey(text) {
  const parts = text.trim().split("+");
  if (parts.length < 3) throw new VerifyError("key", "want name+keyid+key");
  const [name, id] = parts;
  let raw;
  try { raw = b64decode(parts.slice(2).join("+")); } catch (e) { throw new VerifyError("key", e.message); }
  if (!/^[0-9a-f]{8}$/.test(id) || raw.length !== 33 || raw[0] !== ED25519) {
    throw new VerifyError("key", `${name}: want 8 hex digits and 0x01 || a 32-byte Ed25519 key`);
  }
  const keyId = (await sha256(concat(encoder.encode(name), new Uint8Array([0x0a]), raw))).slice(0, 4);
  if (hex(keyId) !== id) throw new VerifyError("key", `${name}: key ID is ${id}, the key's is ${hex(keyId)}`);
  return { name, keyId, publicKey: raw.slice(1), text: text.trim() };
}

export async function ed25519Verify(publicKey, signature, message) {
  const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
}

/** Split a note into its text (through its final newline) and signature lines. */
export function splitNote(note) {
  const at = note.lastIndexOf("\n\n");
  if (at < 0 || !note.endsWith("\n")) throw new VerifyError("checkpoint_format", "no blank line before the signatures");
  const text = note.slice(0, at + 1);
  const signatures = note.slice(at + 2, -1).split("\n").map((line) => {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m) throw new VerifyError("checkpoint_format", `not a signature line: ${line.slice(0, 40)}`);
    return { name: m[1], blob: m[2] };
  });
  return { text, signatures };
}

/** Raise VerifyError("checkpoint_signature", …) unless ``key`` signed the note. */
export async function verifyNote(note, key) {
  const { text, signatures } = splitNote(note);
  const line = signatures.find((s) => s.name === key.name);
  if (!line) throw new VerifyError("checkpoint_signature", `no signature by ${key.name}`);
  let blob;
  try { blob = b64decode(line.blob); } catch (e) { throw new VerifyError("checkpoint_signature", e.message); }
  if (blob.length !== 68) throw new VerifyError("checkpoint_signature", `signature is ${blob.length} bytes, want 4 + 64`);
  if (!equal(blob.slice(0, 4), key.keyId)) {
    throw new VerifyError("checkpoint_signature", `key ID ${hex(blob.slice(0, 4))}, want ${hex(key.keyId)}`);
  }
  if (!(await ed25519Verify(key.publicKey, blob.slice(4), encoder.encode(text)))) {
    throw new VerifyError("checkpoint_signature", `the Ed25519 signature by ${key.name} does not verify over the checkpoint`);
  }
  return text;
}

/** c2sp.org/tlog-checkpoint body: origin, decimal size, base64 root, extensions. */
export function parseCheckpoint(text) {
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3 || !/^(0|[1-9][0-9]*)$/.test(lines[1])) {
    throw new VerifyError("checkpoint_format", "want origin, size and root lines");
  }
  let root;
  try { root = b64decode(lines[2]); } catch (e) { throw new VerifyError("checkpoint_format", e.message); }
  if (root.length !== 32) throw new VerifyError("checkpoint_format", `root is ${root.length} bytes, want 32`);
  const size = Number(lines[1]);
  if (!Number.isSafeInteger(size)) throw new VerifyError("checkpoint_format", `size ${lines[1]} is too large`);
  return { origin: lines[0], size, root };
}

/** Verify the signature first, then read the body (never parse unsigned data). */
export async function openCheckpoint(note, key) {
  return parseCheckpoint(await verifyNote(note, key));
}

