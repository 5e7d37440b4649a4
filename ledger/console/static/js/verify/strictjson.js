// Strict JSON for the files of an evidence bundle that are not RFC 8785 (manifest.json,
// disclosures): what ledger/evidence/standalone.py's ``strict_json`` accepts, no more.
// UTF-8 without a byte-order mark, unique member names (RFC 8259 §4 leaves duplicates
// to the reader: two readers could each take a different one), integers only and within
// ±(2^53−1) (RFC 7493 §2.2, I-JSON), nesting bounded. JSON.parse alone takes the last
// duplicate, 5.0 as 5 and a BOM as nothing.
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const NUMBER = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
export const MAX_DEPTH = 512;

/** The value of ``bytes``, or Error naming what is not strict JSON. */
export function parseStrict(bytes) {
  let text;
  try { text = strictDecoder.decode(bytes); } catch (e) { throw new Error(`not UTF-8 (${e.message})`); }
  let i = 0;
  const fail = (why) => { throw new Error(`${why} at character ${i}`); };
  const space = () => { while (i < text.length && " \t\n\r".includes(text[i])) i++; };
  const string = () => {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    if (i >= text.length) fail("an unterminated string");
    i++;
    try { return JSON.parse(text.slice(start, i)); } catch (e) { return fail(`a bad string (${e.message})`); }
  };
  const value = (depth) => {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
    space();
    const c = text[i];
    if (c === "{") {
      i++;
      const out = {};
      space();
      if (text[i] === "}") { i++; return out; }
      for (;;) {
        space();
        if (text[i] !== '"') fail("a member name expected");
        const name = string();
        if (Object.hasOwn(out, name)) fail(`the member name ${JSON.stringify(name).slice(0, 40)} repeated`);
        space();
        if (text[i++] !== ":") fail("':' expected");
        // defineProperty: a member named __proto__ is data, not the prototype
        Object.defineProperty(out, name, { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
        space();
        if (text[i] === ",") { i++; continue; }
        if (text[i] === "}") { i++; return out; }
        fail("',' or '}' expected");
      }
    }
    if (c === "[") {
      i++;
      const out = [];
      space();
      if (text[i] === "]") { i++; return out; }
      for (;;) {
        out.push(value(depth + 1));
        space();
        if (text[i] === ",") { i++; continue; }
        if (text[i] === "]") { i++; return out; }
        fail("',' or ']' expected");
      }
    }
    if (c === '"') return string();
    for (const [word, v] of [["true", true], ["false", false], ["null", null]]) {
      if (text.startsWith(word, i)) { i += word.length; return v; }
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) return fail("a JSON value expected");
    if (m[2] || m[3]) fail(`the number ${m[0].slice(0, 20)} is not an integer`);
    const n = Number(m[0]);
    if (m[0].length > 17 || !Number.isSafeInteger(n)) fail(`the integer ${m[0].slice(0, 20)} is beyond ±(2^53−1)`);
    i += m[0].length;
    return n;
  };
  const out = value(0);
  space();
  if (i !== text.length) fail("text after the JSON value");
  return out;
}
