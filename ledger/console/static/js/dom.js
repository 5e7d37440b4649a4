// A tiny element builder: everything is built with textContent (never
// innerHTML), so ledger data cannot inject markup, and the CSP needs no
// 'unsafe-inline'.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

/** Integer fen as yuan with two decimals, without floats (money is never a float). */
export function yuan(fen) {
  if (fen === null || fen === undefined) return "";
  const n = BigInt(fen);
  const sign = n < 0n ? "-" : "", a = n < 0n ? -n : n;
  const whole = (a / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${sign}¥${whole}.${(a % 100n).toString().padStart(2, "0")}`;
}

/** A table of rows; ``columns`` are [i18n key, row => cell content]. */
export function table(columns, rows, t) {
  return h("table", {},
    h("thead", {}, h("tr", {}, columns.map(([key]) => h("th", { "data-i18n": key }, t(key))))),
    h("tbody", {}, rows.map((row) => h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(row)))))));
}
