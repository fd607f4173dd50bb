// Virtual Window — the caller page's choice of a service item: search, or browse by
// category, department and level. The server ranks the search (store/search.py): the list
// keeps its order, best match first.

import { t, getLang } from "/lib/i18n.js";
import { $, el } from "/lib/dom.js";
import { request } from "/lib/http.js";
import { showError } from "/lib/errors.js";

let allItems = [];   // the whole catalog (for the browsing lists)
let lastItems = [];  // the latest search
let searchSeq = 0;
let selected = null;
let canChoose = () => true;
let onSelect = () => {};

export function itemTitle(item) {
  return getLang() === "zh" ? item.name : item.name_en || item.name;
}
function itemSubtitle(item) {
  return getLang() === "zh" ? item.name_en || "" : item.name;
}
// Why an item whose name does not say it was found: its keywords, those in the page's language first.
function alsoKnownAs(item) {
  if (item.matched !== "keywords" || !item.keywords) return "";
  const words = item.keywords.split(/[,;，；、\n]+/).map((w) => w.trim()).filter(Boolean);
  const chinese = (w) => /[\u3400-\u9fff]/.test(w);
  const mine = words.filter((w) => chinese(w) === (getLang() === "zh"));
  return `${t("caller.service.aka")}: ${(mine.length ? mine : words).slice(0, 4).join(getLang() === "zh" ? "、" : ", ")}`;
}
function catLabel(cat) {
  const key = `cat.${cat}`;
  return t(key) !== key ? t(key) : cat.replace(/_/g, " ");
}

/** The chosen service item, or null. */
export function selectedItem() {
  return selected;
}

async function loadCatalog() {
  allItems = (await request("/api/service-items").catch(() => ({}))).items || [];
  renderFilters();
}

function renderFilters() {
  const fill = (select, values, label) => {
    const current = select.value;
    select.replaceChildren(el("option", { value: "", text: t("caller.filter.all") }),
      ...values.map((v) => el("option", { value: v, text: label(v) })));
    select.value = values.includes(current) ? current : "";
  };
  fill($("filter-category"), [...new Set(allItems.map((i) => i.category))].sort(), catLabel);
  fill($("filter-department"), [...new Set(allItems.map((i) => i.department).filter(Boolean))].sort(), (d) => d);
}

async function searchItems() {
  const q = $("service-search").value.trim();
  const seq = ++searchSeq;
  let data;
  try {
    data = await request(`/api/service-items?q=${encodeURIComponent(q)}`);
  } catch (err) {
    if (seq === searchSeq) showError(err);
    return;
  }
  if (seq !== searchSeq) return; // a newer search is under way
  lastItems = data.items || [];
  renderItems();
}

function filteredItems() {
  const cat = $("filter-category").value;
  const dept = $("filter-department").value;
  const level = $("filter-level").value;
  return lastItems.filter((i) => (!cat || i.category === cat) && (!dept || i.department === dept) && (!level || i.level === level));
}

function renderItems() {
  const box = $("service-results");
  const items = filteredItems();
  $("service-count").textContent = t("caller.service.count", { n: items.length });
  if (!items.length) {
    box.replaceChildren(el("p", { class: "hint", text: t("caller.service.none") }));
    return;
  }
  // A keyboard user keeps the focus on the same service item when the list is redrawn.
  const focused = box.contains(document.activeElement) ? document.activeElement.value : null;
  box.replaceChildren(...items.slice(0, 80).map((item) => el("label", { class: "result" },
    el("input", {
      type: "radio", name: "service-item", value: item.code, checked: !!selected && selected.code === item.code,
      disabled: !canChoose(), onchange: () => select(item),
    }),
    el("span", { class: "result-body" },
      el("span", { class: "result-title", text: itemTitle(item) }),
      el("span", { class: "result-sub", text: itemSubtitle(item) }),
      ...[alsoKnownAs(item)].filter(Boolean).map((text) => el("span", { class: "result-sub result-aka", text })),
      el("span", { class: "result-meta" }, [
        [item.code, "tag mono"],
        [catLabel(item.category), "tag"],
        [item.department, "tag"],
        [t(`level.${item.level}`), `tag level-${item.level}`],
      ].filter(([v]) => v).map(([v, cls]) => el("span", { class: cls, text: v })))))));
  const again = focused && [...box.querySelectorAll('input[name="service-item"]')].find((r) => r.value === focused);
  if (again) again.focus();
}

function select(item) {
  selected = item;
  const p = $("service-selected");
  p.textContent = `${t("caller.service.selected")}: ${itemTitle(item)} (${item.code}) · ${t(`level.${item.level}`)}`;
  p.hidden = false;
  onSelect(item);
}

/** Again in the current language. */
export function renderCatalog() {
  renderFilters();
  renderItems();
  if (selected) select(selected);
}

/** Load the catalog and wire the search; `choosable()`: whether a choice may be made now. */
export function initCatalog({ choosable, selected: onSelected }) {
  canChoose = choosable;
  onSelect = onSelected;
  let debounce = null;
  $("service-search").addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(searchItems, 150);
  });
  for (const id of ["filter-category", "filter-department", "filter-level"]) $(id).addEventListener("change", renderItems);
  loadCatalog();
  searchItems();
}
