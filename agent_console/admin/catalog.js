// Virtual Window — administration view #/catalog: search, edit and import service items.

import { t, tv } from "/lib/i18n.js";
import { $ } from "/lib/dom.js";
import { vw, call, putJson, fillTable, editButton } from "/s/admin/common.js";

const TEXT_FIELDS = ["code", "name", "name_en", "category", "department", "level"];

export async function show() {
  const q = $("cat-q").value.trim();
  const data = await call(`/api/service-items${q ? `?q=${encodeURIComponent(q)}` : ""}`);
  if (!data) return;
  if (!q) vw.catalog = data.items || [];
  fillTable($("t-catalog"), [
    { label: t("adm.cat.code"), value: (i) => i.code },
    { label: t("adm.cat.name"), value: (i) => i.name },
    { label: t("adm.cat.name_en"), value: (i) => i.name_en },
    { label: t("adm.f.category"), value: (i) => i.category },
    { label: t("adm.cat.department"), value: (i) => i.department },
    { label: t("adm.cat.level"), value: (i) => tv("adm.level", i.level) },
    { label: t("adm.col.difficulty"), cls: "num", value: (i) => i.difficulty },
    { label: t("adm.cat.recording"), value: (i) => (i.recording === false ? t("adm.no") : t("adm.yes")) },
    { label: "", cell: (i) => editButton(t("adm.cat.edit_one", { code: i.code }), () => editItem(i)) },
  ], data.items || []);
}

/** The form, filled with `item` (null: a new one with the defaults). */
function editItem(item) {
  $("item-form").hidden = false;
  const defaults = { level: "district", difficulty: "3" };
  for (const k of [...TEXT_FIELDS, "difficulty"]) $(`it-${k}`).value = item ? String(item[k] ?? "") : defaults[k] || "";
  $("it-recording").checked = item ? item.recording !== false : true;
  $("it-code").readOnly = Boolean(item);
  $("it-code").focus();
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
}
