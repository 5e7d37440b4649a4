// A small zip reader (APPNOTE 6.3: end of central directory, central
// directory, local headers), for evidence bundles: stored and deflated
// members, CRC-32 checked, no zip64, no encryption. Inflation is the
// browser's own DecompressionStream("deflate-raw").
import { decoder, VerifyError } from "./bytes.js";

const EOCD = 0x06054b50, CENTRAL = 0x02014b50, LOCAL = 0x04034b50;

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

async function inflateRaw(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** {name: Uint8Array} of every file (directories skipped). */
export async function readZip(bytes) {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--) {
    if (v.getUint32(i, true) === EOCD) { end = i; break; }
  }
  if (end < 0) throw new VerifyError("zip", "not a zip file (no end of central directory)");
  const count = v.getUint16(end + 10, true);
  let at = v.getUint32(end + 16, true);
  const files = {};
  for (let n = 0; n < count; n++) {
    if (at + 46 > bytes.length || v.getUint32(at, true) !== CENTRAL) throw new VerifyError("zip", "bad central directory");
    const flags = v.getUint16(at + 8, true), method = v.getUint16(at + 10, true), crc = v.getUint32(at + 16, true);
    const packed = v.getUint32(at + 20, true), size = v.getUint32(at + 24, true);
    const nameLen = v.getUint16(at + 28, true);
    const extraLen = v.getUint16(at + 30, true), commentLen = v.getUint16(at + 32, true);
    const local = v.getUint32(at + 42, true);
    const name = decoder.decode(bytes.subarray(at + 46, at + 46 + nameLen));
    at += 46 + nameLen + extraLen + commentLen;
    if (flags & 1) throw new VerifyError("zip", `${name}: encrypted`);
    if (packed === 0xffffffff || size === 0xffffffff || local === 0xffffffff) throw new VerifyError("zip", `${name}: zip64 is not supported`);
    if (v.getUint32(local, true) !== LOCAL) throw new VerifyError("zip", `${name}: bad local header`);
    const start = local + 30 + v.getUint16(local + 26, true) + v.getUint16(local + 28, true);
    const data = bytes.subarray(start, start + packed);
    if (name.endsWith("/")) continue;
    let content;
    if (method === 0) content = data.slice();
    else if (method === 8) content = await inflateRaw(data);
    else throw new VerifyError("zip", `${name}: compression method ${method} is not supported`);
    if (content.length !== size || crc32(content) !== crc) throw new VerifyError("zip", `${name}: size or CRC-32 does not match`);
    if (name in files) throw new VerifyError("zip", `${name}: present twice`);
    files[name] = content;
  }
  return files;
}
