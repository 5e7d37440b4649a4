// Registered authorities by id (GET /console/api/authorities), so a deciding
// body or recording authority is shown by its name, not its id. Loaded once per
// page; a page that cannot load them shows ids.
import { publicJson } from "./api.js";

const NAMES = new Map();

/** Load the registry once (idempotent); never throws: ids are shown on failure. */
export const loaded = publicJson("/console/api/authorities")
  .then((rows) => { for (const a of rows) NAMES.set(a.id, a.name); })
  .catch(() => {});

/** The authority's registered name, or its id when unknown. */
export function authorityName(id) {
  return NAMES.get(id) ?? id ?? "";
}
