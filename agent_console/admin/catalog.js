// Virtual Window — administration view #/catalog: search, edit, retire and import service
// items, and name their categories in both languages.

import { t, tv } from "/lib/i18n.js";
import { $, el } from "/lib/dom.js";
import { vw, call, putJson, fillTable, editButton, byLang, categoryLabel, departmentName } from "/s/admin/common.js";

const TEXT_FIELDS = ["code", "name", "name_en", "category", "department", "department_en", "keywords", "level"];

/** The name in the page's language, the other language under it. */
const twoNames = (main, other) => el("span", {}, main || "", other && other !== main ? el("small", { class: "muted block", text: other }) : null);

export async function show() {
  const q = $("cat-q").value.trim();
  const [data, cats] = await Promise.all([
    call(`/api/admin/service-items${q ? `?q=${encodeURIComponent(q)}` : ""}`), call("/api/admin/categories")]);
  if (!data) return;
  if (!q) vw.catalog = data.items || [];
  if (cats) vw.categories = cats.items || [];
  vw.catalogShown = data.items || [];
  relabel();
}

export function relabel() {
  const items = vw.catalogShown || [];
  fillTable($("t-catalog"), [
    { label: t("adm.cat.code"), cls: "mono", value: (i) => i.code },
    { label: t("adm.col.name"), cls: "wrap", cell: (i) => twoNames(byLang(i.name, i.name_en), byLang(i.name_en, i.name)) },
    { label: t("adm.f.category"), cls: "wrap", value: (i) => categoryLabel(i.category) },
    { label: t("adm.cat.department"), cls: "wrap", value: (i) => departmentName(i) },
    { label: t("adm.cat.level"), value: (i) => tv("adm.level", i.level) },
    { label: t("adm.col.difficulty"), cls: "num", value: (i) => i.difficulty },
    { label: t("adm.cat.recording"), value: (i) => (i.recording === false ? t("adm.no") : t("adm.yes")) },
    { label: t("adm.cat.status"), cell: (i) => el("span", { class: i.retired ? "badge missed" : "badge answered", text: i.retired ? t("adm.cat.retired") : t("adm.cat.offered") }) },
    { label: t("adm.col.action"), cls: "actions-cell", cell: (i) => el("span", { class: "row-actions" },
      editButton(t("adm.cat.edit_one", { code: i.code }), () => editItem(i)),
      el("button", {
        type: "button", class: "btn btn-small", text: i.retired ? t("adm.cat.restore") : t("adm.cat.retire"),
        "aria-label": t(i.retired ? "adm.cat.restore_one" : "adm.cat.retire_one", { code: i.code }), onclick: () => setRetired(i, !i.retired),
      })) },
  ], items, { rowAttrs: (i) => ({ "data-code": i.code, class: i.retired ? "retired" : null }), empty: t("adm.cat.none") });
  fillTable($("t-categories"), [
    { label: t("adm.cat.code"), cls: "mono", value: (c) => c.code },
    { label: t("adm.cat.cat_name"), value: (c) => (c.named ? c.name : "") },
    { label: t("adm.cat.cat_name_en"), value: (c) => (c.named ? c.name_en : "") },
    { label: t("adm.cat.items"), cls: "num", value: (c) => (c.retired_items ? t("adm.cat.items_retired", { n: c.items, r: c.retired_items }) : String(c.items)) },
    { label: t("adm.col.action"), cell: (c) => editButton(t("adm.cat.cat_edit_one", { code: c.code }), () => editCategory(c)) },
  ], vw.categories || [], { empty: t("adm.cat.none") });
  fillCategoryChoices();
}

/** The item form's category choices: every known category, by its display name. */
function fillCategoryChoices(selected = $("it-category").value) {
  $("it-category").replaceChildren(...(vw.categories || []).map((c) =>
    el("option", { value: c.code, text: `${byLang(c.named ? c.name : "", c.named ? c.name_en : "") || c.code} (${c.code})` })));
  if (selected) $("it-category").value = selected;
}

/** The form, filled with `item` (null: a new one with the defaults). */
function editItem(item) {
  $("item-form").hidden = false;
  $("item-form-title").textContent = item ? t("adm.cat.edit_one", { code: item.code }) : t("adm.cat.new");
  const defaults = { level: "district", difficulty: "3", category: (vw.categories[0] || {}).code || "" };
  fillCategoryChoices(item ? item.category : defaults.category);
  for (const k of [...TEXT_FIELDS, "difficulty"]) $(`it-${k}`).value = item ? String(item[k] ?? "") : defaults[k] || "";
  $("it-recording").checked = item ? item.recording !== false : true;
  $("it-code").readOnly = Boolean(item);
  (item ? $("it-name") : $("it-code")).focus();
}

async function saveItem(ev) {
  ev.preventDefault();
  const body = Object.fromEntries(TEXT_FIELDS.map((k) => [k, $(`it-${k}`).value.trim()]));
  body.difficulty = Number($("it-difficulty").value);
  body.recording = $("it-recording").checked;
  const saved = await putJson(`/api/admin/service-items/${encodeURIComponent(body.code)}`, body);
  if (!saved) return;
  $("item-form").hidden = true;
  $("cat-status").textContent = t("adm.cat.saved", { code: saved.code });
  show();
}

/** Retire (no longer offered to callers; kept in the log and the reports) or restore an item. */
async function setRetired(item, retired) {
  const saved = await putJson(`/api/admin/service-items/${encodeURIComponent(item.code)}`, { ...item, retired });
  if (!saved) return;
  $("cat-status").textContent = t(retired ? "adm.cat.retired_done" : "adm.cat.restored_done", { code: saved.code });
  show();
}

function editCategory(c) {
  $("category-form").hidden = false;
  $("category-form-title").textContent = c ? t("adm.cat.cat_edit_one", { code: c.code }) : t("adm.cat.cat_new");
  $("cg-code").value = c ? c.code : "";
  $("cg-code").readOnly = Boolean(c);
  $("cg-name").value = c && c.named ? c.name : "";
  $("cg-name_en").value = c && c.named ? c.name_en : "";
  (c ? $("cg-name") : $("cg-code")).focus();
}

async function saveCategory(ev) {
  ev.preventDefault();
  const code = $("cg-code").value.trim();
  const saved = await putJson(`/api/admin/categories/${encodeURIComponent(code)}`, { name: $("cg-name").value.trim(), name_en: $("cg-name_en").value.trim() });
  if (!saved) return;
  $("category-form").hidden = true;
  $("cat-status").textContent = t("adm.cat.saved", { code: saved.code });
  show();
}

async function importCatalog() {
  const file = $("cat-file").files[0];
  if (!file) { $("cat-status").textContent = t("adm.cat.nofile"); return; }
  const json = file.name.toLowerCase().endsWith(".json");
  const res = await call("/api/admin/service-items/import", {
    method: "POST", headers: { "Content-Type": json ? "application/json" : "text/csv" }, body: await file.text(),
  });
  if (!res) return;
  $("cat-status").textContent = t("adm.cat.imported", { n: res.imported });
  show();
}

export function bind() {
  $("catalog-search").addEventListener("submit", (ev) => { ev.preventDefault(); show(); });
  $("cat-new").addEventListener("click", () => editItem(null));
  $("cat-import").addEventListener("click", importCatalog);
  $("item-form").addEventListener("submit", saveItem);
  $("item-cancel").addEventListener("click", () => { $("item-form").hidden = true; });
  $("cg-new").addEventListener("click", () => editCategory(null));
  $("category-form").addEventListener("submit", saveCategory);
  $("category-cancel").addEventListener("click", () => { $("category-form").hidden = true; });
}
