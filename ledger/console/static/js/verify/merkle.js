// RFC 9162 §2.1 hashes and the §2.1.3.2 inclusion check, in the browser.
// Arithmetic uses Math.floor / % rather than bit operators: JS bit operators
// truncate to 32 bits and tree sizes may exceed 2^31.
import { concat, equal, hex, sha256, VerifyError } from "./bytes.js";

const LEAF = new Uint8Array([0x00]);
const NODE = new Uint8Array([0x01]);

/** RFC 9162 §2.1.1: SHA-256(0x00 || entry bytes). */
export function leafHash(entry) {
  return sha256(concat(LEAF, entry));
}

/** RFC 9162 §2.1.1: SHA-256(0x01 || left || right). */
export function nodeHash(left, right) {
  return sha256(concat(NODE, left, right));
}

const odd = (n) => n % 2 === 1;
const half = (n) => Math.floor(n / 2);

/** The exact number of hashes an inclusion proof of ``index`` in ``size`` has
 *  (the §2.1.3.2 loop run without hashing). */
export function inclusionPathLength(index, size) {
  let fn = index, sn = size - 1, n = 0;
  while (sn > 0) {
    if (odd(fn) || fn === sn) {
      if (!odd(fn)) while (!odd(fn) && fn !== 0) { fn = half(fn); sn = half(sn); }
    }
    fn = half(fn); sn = half(sn); n++;
  }
  return n;
}

/** Raise VerifyError("inclusion", …) unless ``proof`` leads from ``leaf`` at
 *  ``index`` to ``root`` in a tree of ``size`` (RFC 9162 §2.1.3.2). */
export async function verifyInclusion(index, size, leaf, proof, root) {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) {
    throw new VerifyError("inclusion", `index ${index} is outside a tree of size ${size}`);
  }
  const want = inclusionPathLength(index, size);
  if (proof.length !== want) {
    throw new VerifyError("inclusion", `wrong proof size ${proof.length}, want ${want}`);
  }
  let fn = index, sn = size - 1, r = leaf;
  for (const p of proof) {
    if (p.length !== 32) throw new VerifyError("inclusion", `a proof hash has ${p.length} bytes, want 32`);
    if (odd(fn) || fn === sn) {
      r = await nodeHash(p, r);
      if (!odd(fn)) while (!odd(fn) && fn !== 0) { fn = half(fn); sn = half(sn); }
    } else {
      r = await nodeHash(r, p);
    }
    fn = half(fn); sn = half(sn);
  }
  if (!equal(r, root)) {
    throw new VerifyError("inclusion", `computed root ${hex(r)}, checkpoint root ${hex(root)}`);
  }
}
