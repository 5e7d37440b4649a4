// RFC 8785 (JCS) for the ledger's entries: object members sorted by UTF-16
// code units (JS string comparison is exactly that), strings as ECMAScript
// JSON.stringify writes them (RFC 8785 §3.2.2.2 is defined by it), and only
// integers within ±(2^53−1): the ledger refuses floats (docs/formats.md §1).
export function canonicalize(value) {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new Error(`not an integer within ±(2^53−1): ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalize).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalize(value[k])}`).join(",")}}`;
}
