// C2SP signed-note, vkey and tlog-checkpoint, verified with WebCrypto Ed25519,
// following ledger/signing/note.py and ledger/log/checkpoint.py.
// c2sp.org/signed-note: key ID = SHA-256(name || 0x0A || type || key)[:4];
// a signature line is "— <name> base64(key ID || signature)".
import { b64decode, concat, encoder, equal, hex, sha256, VerifyError } from "./bytes.js";

const ED25519 = 0x01;

/** A key name: non-empty, no white space, no "+" (ledger/signing/keys.py check_key_name);
 *  white space is the characters of verify_bundle.py's SPACE, so both read a name alike. */
const goodName = (name) => name.length > 0 && !/[+\s\x1c-\x1f\x85]/.test(name);

/** ``name+<8 hex key ID>+base64(0x01 || 32-byte key)``, its key ID recomputed. */
export async function parseVkey(text) {
  const parts = text.trim().split("+");
  if (parts.length < 3) throw new VerifyError("key", "want name+keyid+key");
  const [name, id] = parts;
  if (!goodName(name)) throw new VerifyError("key", `key name "${name.slice(0, 40)}": non-empty, no spaces, no "+"`);
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

/** Split a note into its text (through its final newline) and signature lines
 *  {name, keyId, signature}, refusing what ledger/signing/note.py ``parse`` refuses. */
export function splitNote(note) {
  const at = note.lastIndexOf("\n\n");
  if (at < 0 || !note.endsWith("\n")) throw new VerifyError("checkpoint_format", "no blank line before the signatures");
  const control = /[\u0000-\u0009\u000b-\u001f\u007f]/.exec(note);
  if (control) {
    throw new VerifyError("checkpoint_format", `control character U+${control[0].charCodeAt(0).toString(16).padStart(4, "0").toUpperCase()} is not allowed`);
  }
  const text = note.slice(0, at + 1);
  const signatures = note.slice(at + 2, -1).split("\n").map((line) => {
    const parts = line.startsWith("\u2014 ") ? line.slice(2).split(" ") : [];
    if (parts.length !== 2 || !goodName(parts[0])) {
      throw new VerifyError("checkpoint_format", `not a signature line: ${line.slice(0, 40)}`);
    }
    let raw;
    try { raw = b64decode(parts[1]); } catch { throw new VerifyError("checkpoint_format", `the signature by ${parts[0]} is not base64`); }
    if (raw.length < 5) throw new VerifyError("checkpoint_format", `the signature by ${parts[0]} is too short`);
    return { name: parts[0], keyId: raw.slice(0, 4), signature: raw.slice(4) };
  });
  return { text, signatures };
}

/** Raise VerifyError("checkpoint_signature", …) unless ``key`` signed the note.
 *  As c2sp.org/signed-note and ledger/signing/note.py ``verify``: a line is the key's
 *  when both its name and its key ID match; lines by other keys (witnesses, a
 *  rotated key of the same name) are ignored; every line of the key must verify. */
export async function verifyNote(note, key) {
  const { text, signatures } = splitNote(note);
  const mine = signatures.filter((s) => s.name === key.name && equal(s.keyId, key.keyId));
  if (!mine.length) {
    const seen = signatures.map((s) => `${s.name} (${hex(s.keyId)})`).join(", ");
    throw new VerifyError("checkpoint_signature", `no signature by ${key.name} with key ID ${hex(key.keyId)}; signed by: ${seen}`);
  }
  for (const line of mine) {
    if (line.signature.length !== 64) {
      throw new VerifyError("checkpoint_signature", `the signature by ${key.name} is ${line.signature.length} bytes, want 64`);
    }
    if (!(await ed25519Verify(key.publicKey, line.signature, encoder.encode(text)))) {
      throw new VerifyError("checkpoint_signature", `the Ed25519 signature by ${key.name} does not verify over the checkpoint`);
    }
  }
  return text;
}

/** c2sp.org/tlog-checkpoint body (ledger/log/checkpoint.py ``parse_body``): origin,
 *  decimal size, base64 root, then non-empty extension lines. */
export function parseCheckpoint(text) {
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3 || !lines[0] || !/^(0|[1-9][0-9]*)$/.test(lines[1])) {
    throw new VerifyError("checkpoint_format", "want origin, size and root lines");
  }
  if (lines.slice(3).some((line) => !line)) throw new VerifyError("checkpoint_format", "an empty extension line");
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
