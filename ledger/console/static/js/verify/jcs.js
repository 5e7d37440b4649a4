// RFC 8785 (JCS) for the ledger's entries: object members sorted by UTF-16
// code units (JS string comparison is exactly that), strings as ECMAScript
// JSON.stringify writes them (RFC 8785 §3.2.2.2 is defined by it), and only
// integers within ±(2^53−1): the ledger refuses floats (docs/formats.md §1).
import { decoder, encoder, equal } from "./bytes.js";

function text(s) {
  // A lone surrogate has no UTF-8 form: RFC 8785 (and ledger/log/canonical.py) refuse it.
  if (!s.isWellFormed()) throw new Error("a string holds a lone surrogate (not valid Unicode)");
  return JSON.stringify(s);
}

export function canonicalize(value) {
  if (value === null || typeof value === "boolean") return JSON.stringify(value);
  if (typeof value === "string") return text(value);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new Error(`not an integer within ±(2^53−1): ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalize).join(",")}]`;
  if (typeof value !== "object") throw new Error(`not a JSON value: ${typeof value}`);
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${text(k)}:${canonicalize(value[k])}`).join(",")}}`;
}

/** Parse ``bytes`` and refuse them unless they are exactly the RFC 8785 form of
 *  what they say, as ledger/log/canonical.py's ``decode`` does: valid UTF-8 (no
 *  byte-order mark), no whitespace, members sorted, no duplicate members, no
 *  floats, exponents, -0 or integers beyond ±(2^53−1), no lone surrogates.
 *  Re-encoding and comparing byte for byte catches every other spelling. */
export function parseCanonical(bytes) {
  let value;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch (e) {
    throw new Error(`not UTF-8 JSON: ${e.message}`);
  }
  if (!equal(encoder.encode(canonicalize(value)), bytes)) throw new Error("the bytes are not RFC 8785 canonical JSON");
  return value;
}
