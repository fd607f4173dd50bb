// Virtual Window — what the administration views share: the page state, the API with the
// administrator's token, tables, number formats and the report period.

import { t, getLang, fmtTime, fmtClock } from "/lib/i18n.js";
import { $, el } from "/lib/dom.js";
import { request } from "/lib/http.js";
import { showError } from "/lib/errors.js";

export const vw = (window.vw = {
  session: null, view: null, items: [], total: 0, offset: 0, metrics: null, scores: null,
  socket: null, stats: null, statsCount: 0, catalog: [], accounts: [], categories: [], detail: null,
});

let onUnauthorized = () => {};
/** What to do when the token is refused (admin.js: sign in again). */
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

/** Show an API error; a refused token signs the administrator out. */
export function apiFailed(err) {
  if (err && err.status === 401) onUnauthorized();
  else showError(err);
}

/** The API with the administrator's token: the answer, or null once the error is shown. */
export async function call(path, init = {}) {
  try {
    return await request(path, { ...init, token: vw.session.token });
  } catch (err) {
    apiFailed(err);
    return null;
  }
}

export const putJson = (path, json) => call(path, { method: "PUT", json });

export const none = () => t("common.none");
export const num = (v) => (v == null ? none() : Number(v).toLocaleString());
export const pct = (v) => (v == null ? none() : `${(100 * v).toFixed(1)}%`);
export const ms = (v) => (v == null ? none() : `${Math.round(v).toLocaleString()} ms`);
export const fixed = (v, d = 1) => (v == null ? none() : Number(v).toFixed(d));
export const pad2 = (n) => String(n).padStart(2, "0");

/** The text in the page's language: `zh` or `en`, each falling back to the other. */
export const byLang = (zh, en) => (getLang() === "zh" ? zh || en : en || zh);

export function itemName(code, name, nameEn) {
  const n = byLang(name, nameEn);
  return n ? `${code} ${n}` : code || none();
}

/** A service item named by its code, in the page's language from the loaded catalog (vw.catalog). */
export function catalogItemName(code, name) {
  const i = vw.catalog.find((x) => x.code === code);
  return i ? itemName(i.code, i.name, i.name_en) : itemName(code, name);
}

/** A service item's category and department in the page's language (their codes as the last resort). */
export const categoryName = (i) => byLang(i.category_name, i.category_name_en) || i.category;
export const departmentName = (i) => byLang(i.department, i.department_en);

/** A category code's display name from the categories the page loaded (vw.categories). */
export function categoryLabel(code) {
  const c = (vw.categories || []).find((x) => x.code === code);
  return c ? byLang(c.name, c.name_en) : code;
}

/** "演示坐席 (demo)": a staff account by id or username, from the accounts the page loaded. */
export function staffName(idOrUsername, fallback) {
  const a = vw.accounts.find((x) => x.id === idOrUsername || x.username === idOrUsername);
  if (a) return a.display_name && a.display_name !== a.username ? `${a.display_name} (${a.username})` : a.username;
  if (fallback) return fallback;
  return idOrUsername == null ? none() : typeof idOrUsername === "number" ? `#${idOrUsername}` : String(idOrUsername);
}

/** A duration given in milliseconds, for people: "850 ms", "2.4 s", "3:05". */
export function fmtMs(v) {
  if (v == null) return none();
  if (v < 1000) return t("adm.u.ms", { n: Math.round(v) });
  if (v < 60_000) return t("common.seconds", { n: (v / 1000).toFixed(1) });
  return fmtClock(v / 1000);
}

export function timeNode(iso) {
  if (!iso) return document.createTextNode(none());
  return el("time", { datetime: iso, title: iso, text: fmtTime(iso) });
}

/** An edit button named for what it edits ("Edit SI-001"). */
export const editButton = (label, onclick) => el("button", { type: "button", class: "btn btn-small", text: t("adm.edit"), "aria-label": label, onclick });

/** A <table> from column specs {label, value(row), cls, cell(row) -> Node}. */
export function fillTable(table, columns, rows, { caption, empty, rowAttrs } = {}) {
  table.replaceChildren(...[
    caption ? el("caption", { text: caption }) : null,
    el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col", class: c.cls, text: c.label })))),
    el("tbody", {},
      rows.length ? null : el("tr", {}, el("td", { colspan: columns.length, text: empty || t("admin.empty") })),
      rows.map((row) => el("tr", rowAttrs ? rowAttrs(row) : {}, columns.map((c) => (c.cell
        ? el("td", { class: c.cls }, c.cell(row))
        : el("td", { class: c.cls, text: c.value(row) ?? none() }))))))].filter(Boolean)); // replaceChildren(null) writes "null"
}

// ---------------------------------------------------------------- the period (report and scores)

const dateValue = (d) => `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;

/** Set the period's dates from its preset (this week, last 7 days, ...). */
export function applyPreset() {
  const preset = $("p-preset").value;
  if (preset === "custom") return;
  const today = new Date();
  today.setHours(0, 0, 0, 0);
  let from = new Date(today);
  if (preset === "week") from.setDate(today.getDate() - ((today.getDay() + 6) % 7)); // Monday
  else if (preset === "7d") from.setDate(today.getDate() - 6);
  else if (preset === "month") from = new Date(today.getFullYear(), today.getMonth(), 1);
  else if (preset === "30d") from.setDate(today.getDate() - 29);
  $("p-from").value = dateValue(from);
  $("p-to").value = dateValue(today);
}

/** [since, until) as ISO from two local dates (the end date is included). */
export function rangeQuery(fromId, toId, q = new URLSearchParams()) {
  const from = $(fromId).value;
  const to = $(toId).value;
  if (from) q.set("since", new Date(`${from}T00:00:00`).toISOString());
  if (to) {
    const end = new Date(`${to}T00:00:00`);
    end.setDate(end.getDate() + 1);
    q.set("until", end.toISOString());
  }
  return q;
}

export function periodQuery() {
  const q = rangeQuery("p-from", "p-to");
  const v = Number($("p-threshold").value);
  q.set("threshold_s", String(v > 0 && v <= 3600 ? v : 2));
  return q;
}
