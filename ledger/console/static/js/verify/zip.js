// A small zip reader (APPNOTE 6.3: end of central directory, central
// directory, local headers), for evidence bundles: stored and deflated
// members, CRC-32 checked, no zip64, no encryption. Inflation is the
// browser's own DecompressionStream("deflate-raw"), read chunk by chunk and
// stopped as soon as a member inflates past the size it declares, and the
// declared sizes together may not pass MAX_TOTAL: a zip bomb costs nothing.
import { checking, decoder, VerifyError } from "./bytes.js";

const EOCD = 0x06054b50, CENTRAL = 0x02014b50, LOCAL = 0x04034b50;
// The bounds of ledger/evidence/layout.py (and verify_bundle.py): members, and bytes all members inflated.
export const MAX_TOTAL = 2 ** 30;
export const MAX_MEMBERS = 210000;

/** A member name: ASCII, or UTF-8 with general-purpose flag bit 11 set (APPNOTE 4.4.4);
 *  any other encoding is refused, as ledger/evidence/standalone.py read_zip does. */
function memberName(raw, flags) {
  if (!(flags & 0x800) && raw.some((b) => b > 0x7f)) {
    throw new VerifyError("zip", "a member name in another encoding than ASCII or flagged UTF-8");
  }
  return decoder.decode(raw);
}

/** Why a member name is unsafe to extract, or null (ledger/evidence/standalone.py ``unsafe_name``). */
export function unsafeName(name) {
  const path = name.endsWith("/") ? name.slice(0, -1) : name;
  if (!path) return "an empty name";
  if (/[\x00-\x1f\x7f]/.test(name)) return "a control character";
  if (name.includes("\\")) return "a backslash";
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path)) return "an absolute path";
  if (path.split("/").some((s) => s === "" || s === "." || s === "..")) return "an empty, '.' or '..' segment";
  return null;
}

let table = null;
function crc32(bytes) {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (const b of bytes) c = table[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Inflate ``bytes``; refuse as soon as the output passes ``limit`` bytes. */
async function inflateRaw(bytes, limit, name) {
  const reader = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw")).getReader();
  const chunks = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > limit) throw new VerifyError("zip", `${name}: inflates to more than the ${limit} bytes it declares`);
      chunks.push(value);
    }
  } catch (e) {
    reader.cancel().catch(() => {});
    if (e instanceof VerifyError) throw e;
    throw new VerifyError("zip", `${name}: not valid deflate data (${e.message})`);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

/** The central directory's records, read from its start to its declared end
 *  (not trusting the record count alone: a directory that holds more or fewer
 *  records than the end record says is refused). */
function centralDirectory(bytes, v) {
  let end = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--) {
    if (v.getUint32(i, true) === EOCD) { end = i; break; }
  }
  if (end < 0) throw new VerifyError("zip", "not a zip file (no end of central directory)");
  const disk = v.getUint16(end + 4, true), cdDisk = v.getUint16(end + 6, true);
  const onDisk = v.getUint16(end + 8, true), count = v.getUint16(end + 10, true);
  const cdSize = v.getUint32(end + 12, true), cdStart = v.getUint32(end + 16, true);
  if (disk !== 0 || cdDisk !== 0 || onDisk !== count) throw new VerifyError("zip", "multi-disk zip files are not supported");
  if (count === 0xffff || cdSize === 0xffffffff || cdStart === 0xffffffff) throw new VerifyError("zip", "zip64 is not supported");
  // Bytes before the zip (a self-extractor's stub) shift every offset by the same amount;
  // APPNOTE 4.3.16 offsets are from the start of the zip, as Python's zipfile reads them.
  const shift = end - cdSize - cdStart;
  if (shift < 0) throw new VerifyError("zip", "the central directory runs past its end record");
  const records = [], first = cdStart + shift, last = first + cdSize;
  let at = first;
  while (at < last) {
    if (at + 46 > last || v.getUint32(at, true) !== CENTRAL) throw new VerifyError("zip", `bad central directory record at byte ${at}`);
    const nameLen = v.getUint16(at + 28, true), extraLen = v.getUint16(at + 30, true), commentLen = v.getUint16(at + 32, true);
    const next = at + 46 + nameLen + extraLen + commentLen;
    if (next > last) throw new VerifyError("zip", `central directory record at byte ${at} runs past the directory`);
    records.push({
      flags: v.getUint16(at + 8, true), method: v.getUint16(at + 10, true), crc: v.getUint32(at + 16, true),
      packed: v.getUint32(at + 20, true), size: v.getUint32(at + 24, true), local: v.getUint32(at + 42, true) + shift,
      mode: v.getUint32(at + 38, true) >>> 16, // external attributes: the Unix mode in the high half
      name: memberName(bytes.subarray(at + 46, at + 46 + nameLen), v.getUint16(at + 8, true)),
    });
    at = next;
  }
  if (records.length !== count) {
    throw new VerifyError("zip", `the central directory holds ${records.length} files, its end record says ${count}`);
  }
  return records;
}

/** Map of name → Uint8Array for every file (directories skipped). */
export async function readZip(bytes) {
  return checking("zip", async () => {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const records = centralDirectory(bytes, v);
    const declared = records.reduce((n, r) => n + r.size, 0);
    if (declared > MAX_TOTAL) throw new VerifyError("zip", `the files would inflate to ${declared} bytes, more than ${MAX_TOTAL}`);
    if (records.length > MAX_MEMBERS) throw new VerifyError("zip", `${records.length} members, more than ${MAX_MEMBERS}`);
    // Refused before anything is read (as ledger/evidence/standalone.py read_zip): names that
    // would extract outside the folder ("zip slip"), two names equal ignoring case, links.
    const seen = new Map();
    for (const r of records) {
      const problem = unsafeName(r.name);
      if (problem) throw new VerifyError("zip", `${JSON.stringify(r.name)}: ${problem}`);
      if ((r.mode & 0o170000) === 0o120000) throw new VerifyError("zip", `${r.name}: a symbolic link`);
      const key = r.name.replace(/\/+$/, "").toLowerCase();
      if (seen.has(key)) throw new VerifyError("zip", `${r.name}: one member of this name (ignoring case), also ${seen.get(key)}`);
      seen.set(key, r.name);
    }
    const files = new Map();
    for (const r of records) {
      const { name } = r;
      if (r.flags & 1) throw new VerifyError("zip", `${name}: encrypted`);
      if (r.packed === 0xffffffff || r.size === 0xffffffff || r.local === 0xffffffff) throw new VerifyError("zip", `${name}: zip64 is not supported`);
      if (r.local + 30 > bytes.length || v.getUint32(r.local, true) !== LOCAL) throw new VerifyError("zip", `${name}: bad local header`);
      const start = r.local + 30 + v.getUint16(r.local + 26, true) + v.getUint16(r.local + 28, true);
      if (start + r.packed > bytes.length) throw new VerifyError("zip", `${name}: its data runs past the end of the file`);
      if (files.has(name)) throw new VerifyError("zip", `${name}: present twice`);
      if (name.endsWith("/")) continue;
      const data = bytes.subarray(start, start + r.packed);
      let content;
      if (r.method === 0) content = data.slice();
      else if (r.method === 8) content = await inflateRaw(data, r.size, name);
      else throw new VerifyError("zip", `${name}: compression method ${r.method} is not supported`);
      if (content.length !== r.size || crc32(content) !== r.crc) throw new VerifyError("zip", `${name}: size or CRC-32 does not match`);
      files.set(name, content);
    }
    return files;
  });
}
