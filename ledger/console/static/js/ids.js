// Identifier checks as the user types (docs/contracts.md §2.6): the same rules
// as ledger/domain/identifiers.py (python-stdnum), ported for instant feedback. The
// server's answer (POST /console/api/identifier) is the authoritative one.
// Each result is {ok, scheme, value} or {ok: false, scheme, error, params}
// with ``error`` an i18n key under ``id.``.

// GB 11643-1999 / ISO 7064 MOD 11-2: weight of position i (0-based) is 2^(17-i) mod 11.
const RID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const RID_CHECK = "10X98765432"; // index: weighted sum mod 11

// GB 32100-2015: 31 symbols (no I, O, Z, S, V), weights 3^i mod 31, check (31 − sum mod 31) mod 31.
const USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

export function ridCheckChar(first17) {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * RID_WEIGHTS[i];
  return RID_CHECK[sum % 11];
}

export function usccCheckChar(first17) {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += USCC_ALPHABET.indexOf(first17[i]) * USCC_WEIGHTS[i];
  return USCC_ALPHABET[(31 - (sum % 31)) % 31];
}

const compact = (text) => text.replace(/[\s-]/g, "").toUpperCase();
const fail = (scheme, error, params = {}) => ({ ok: false, scheme, error, params });

function realDate(yyyymmdd) {
  const [y, m, d] = [yyyymmdd.slice(0, 4), yyyymmdd.slice(4, 6), yyyymmdd.slice(6, 8)].map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d && y >= 1900;
}

/** Resident identity number (and permits in its format). 15-digit numbers are
 *  upgraded as GB 11643-1999 says: insert 19 before the year, add the check. */
export function checkRid(text) {
  let n = compact(text);
  if (/^\d{15}$/.test(n)) { const body = n.slice(0, 6) + "19" + n.slice(6); n = body + ridCheckChar(body); }
  if (n.length !== 18) return fail("cn-rid", "id.rid_length", { n: n.length });
  if (!/^\d{17}[\dX]$/.test(n)) return fail("cn-rid", "id.rid_chars");
  if (!realDate(n.slice(6, 14))) return fail("cn-rid", "id.rid_birth", { date: n.slice(6, 14) });
  const want = ridCheckChar(n);
  if (n[17] !== want) return fail("cn-rid", "id.rid_check", { got: n[17], want });
  return { ok: true, scheme: "cn-rid", value: n };
}

export function checkUscc(text) {
  const n = compact(text);
  if (n.length !== 18) return fail("cn-uscc", "id.uscc_length", { n: n.length });
  if (!/^\d{8}/.test(n)) return fail("cn-uscc", "id.uscc_head");
  const bad = [...new Set(n.slice(8))].filter((c) => !USCC_ALPHABET.includes(c));
  if (bad.length) return fail("cn-uscc", "id.uscc_chars", { chars: bad.join(" ") });
  const want = usccCheckChar(n);
  if (n[17] !== want) return fail("cn-uscc", "id.uscc_check", { got: n[17], want });
  return { ok: true, scheme: "cn-uscc", value: n };
}

export function checkPassport(text) {
  const m = /^([A-Za-z]{3})\/([A-Za-z0-9\s-]{5,30})$/.exec(text.trim());
  const number = m ? compact(m[2]) : "";
  if (!m || !/^[A-Z0-9]{5,20}$/.test(number)) return fail("passport", "id.passport_format");
  return { ok: true, scheme: "passport", value: `${m[1].toUpperCase()}/${number}` };
}

const CHECKS = { "cn-rid": checkRid, "cn-uscc": checkUscc, passport: checkPassport };
// How far a failed check got: a check-character error is the most telling.
const DEPTH = { "id.rid_check": 3, "id.uscc_check": 3, "id.rid_birth": 2, "id.uscc_chars": 2, "id.rid_chars": 1, "id.uscc_head": 1 };

/** Check ``text`` as ``scheme`` ("auto": whichever rule it satisfies; when none,
 *  the error of the rule it came closest to, persons first). A typed
 *  ``scheme:`` prefix wins. */
export function checkIdentifier(text, scheme = "auto") {
  const prefixed = /^(cn-rid|cn-uscc|passport):(.*)$/i.exec(text.trim());
  if (prefixed) { scheme = prefixed[1].toLowerCase(); text = prefixed[2]; }
  if (scheme !== "auto") return CHECKS[scheme](text);
  if (text.includes("/")) return checkPassport(text);
  const rid = checkRid(text), uscc = checkUscc(text);
  if (rid.ok) return rid;
  if (uscc.ok) return uscc;
  return (DEPTH[uscc.error] ?? 0) > (DEPTH[rid.error] ?? 0) ? uscc : rid;
}

/** ``scheme:value`` as the API takes it. */
export const asApiText = (r) => `${r.scheme}:${r.value}`;
