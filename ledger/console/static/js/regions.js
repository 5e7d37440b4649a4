// The GB/T 2260 picker: 内蒙古自治区 → league or city → banner or county. The
// value is the most specific code chosen (150000 means the whole region).
import { publicJson } from "./api.js";
import { clear, h } from "./dom.js";
import { t } from "./i18n.js";

export async function regionPicker(leagueSelect, countySelect, codeOut) {
  const tree = await publicJson("/console/api/regions");
  const fill = (select, nodes, emptyKey) => {
    clear(select).append(h("option", { value: "", "data-i18n": emptyKey }, t(emptyKey)),
      ...nodes.map((n) => h("option", { value: n.code }, `${n.name} (${n.code})`)));
  };
  const value = () => countySelect.value || leagueSelect.value || tree.code;
  const show = () => { codeOut.textContent = t("check.region.code", { code: value() }); };
  fill(leagueSelect, tree.children, "check.region.all");
  fill(countySelect, [], "check.region.all");
  countySelect.disabled = true;
  leagueSelect.addEventListener("change", () => {
    const league = tree.children.find((n) => n.code === leagueSelect.value);
    fill(countySelect, league ? league.children : [], "check.region.all");
    countySelect.disabled = !league;
    show();
  });
  countySelect.addEventListener("change", show);
  document.addEventListener("langchange", show);
  show();
  return { value, tree };
}

/** The name of GB/T 2260 ``code`` from the region ``tree`` (with its code), or the code itself if unknown. */
export function regionName(tree, code) {
  const find = (node) => (node.code === code ? node : (node.children ?? []).map(find).find(Boolean));
  const node = tree ? find(tree) : null;
  return node ? `${node.name} (${code})` : code;
}
