// Byte helpers for in-browser verification: strict base64, hex, UTF-8 and
// SHA-256 through WebCrypto. Nothing here trusts the server.

export const encoder = new TextEncoder();
export const decoder = new TextDecoder("utf-8", { fatal: true });

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard base64 (RFC 4648 §4) with padding; throws on anything else, like
 *  Python's ``b64decode(validate=True)`` that wrote the files. */
export function b64decode(text) {
  if (!B64.test(text)) throw new Error(`not base64: ${text.slice(0, 24)}…`);
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

export function b64encode(bytes) {
  let raw = "";
  for (const b of bytes) raw += String.fromCharCode(b);
  return btoa(raw);
}

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(text) {
  if (!/^(?:[0-9a-f]{2})*$/.test(text)) throw new Error(`not lowercase hex: ${text.slice(0, 24)}…`);
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

export function equal(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/** A failed check: ``check`` names it (an i18n key under ``check.``),
 *  ``detail`` says what was expected and what was found. */
export class VerifyError extends Error {
  constructor(check, detail) {
    super(`${check}: ${detail}`);
    this.check = check;
    this.detail = detail;
  }
}

/** Run one check: anything it throws that is not already a VerifyError (a
 *  TypeError from a missing field, a RangeError from a short buffer, a bad
 *  base64 line) is reported as a failure of *that* check, never as something
 *  else. Only the browser lacking Ed25519 is the browser's fault. */
export async function checking(check, run) {
  try {
    return await run();
  } catch (e) {
    if (e instanceof VerifyError) throw e;
    if (e?.name === "NotSupportedError") throw new VerifyError("webcrypto", e.message);
    throw new VerifyError(check, e?.message ?? String(e));
  }
}
