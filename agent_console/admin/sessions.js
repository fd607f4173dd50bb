// Virtual Window — administration view #/sessions: the session log with its filters,
// sorting, pages and CSV export.

import { t, tv } from "/lib/i18n.js";
import { $, el, saveBlob } from "/lib/dom.js";
import { request } from "/lib/http.js";
import { vw, call, apiFailed, none, itemName, catalogItemName, categoryLabel, timeNode, rangeQuery } from "/s/admin/common.js";

const PAGE = 50;

function filterQuery() {
  const q = rangeQuery("f-from", "f-to");
  const set = (name, id) => { const v = $(id).value.trim(); if (v) q.set(name, v); };
  set("service_item", "f-item");
  set("category", "f-category");
  set("specialist", "f-specialist");
  set("outcome", "f-outcome");
  set("company", "f-company");
  set("q", "f-q"); // a reference, a session id's start, the caller's name or company
  const sort = $("f-sort").value;
  if (sort && sort !== "-created_at") q.set("sort", sort);
  return q;
}

export async function show() {
  const q = filterQuery();
  $("csv-link").href = `/api/sessions.csv${q.toString() ? `?${q}` : ""}`;
  q.set("limit", String(PAGE));
  q.set("offset", String(vw.offset));
  const data = await call(`/api/sessions?${q}`);
  if (!data) return;
  vw.items = data.items || [];
  vw.total = data.total ?? vw.items.length;
  renderSessions();
}

function renderSessions() {
  const td = (text, cls) => el("td", { class: cls, text: text == null || text === "" ? none() : String(text) });
  const ts = (iso) => el("td", { class: "ts" }, timeNode(iso));
  $("sessions-body").replaceChildren(
    vw.items.length ? null : el("tr", {}, el("td", { colspan: 14, text: t("admin.empty") })),
    ...vw.items.map((s) => {
      const item = s.service_item || {};
      const caller = s.caller || {};
      const spec = s.specialist;
      return el("tr", { "data-session-id": s.id },
        el("td", {}, el("a", { class: "mono", href: `#/sessions/${encodeURIComponent(s.id)}`,
          "aria-label": t("adm.open", { id: s.reference || s.id }), text: s.reference || s.id.slice(0, 8) })), // the id before references
        ts(s.created_at), ts(s.offered_at), ts(s.answered_at), ts(s.media_at), ts(s.ended_at),
        td(item.code ? catalogItemName(item.code, item.name) : null),
        td([caller.name, caller.company].filter(Boolean).join(" · ")),
        td(spec ? spec.display_name || spec.username : null),
        el("td", {}, el("span", { class: `badge ${s.outcome || s.status || ""}`, text: s.outcome ? tv("outcome", s.outcome) : s.status || none() })),
        td(s.wait_ms == null ? null : s.wait_ms.toLocaleString(), "num"),
        td(s.connect_ms == null ? null : s.connect_ms.toLocaleString(), "num"),
        td(s.talk_s == null ? null : Number(s.talk_s).toFixed(1), "num"),
        td(s.satisfaction, "num"));
    }));
  const pages = Math.max(1, Math.ceil(vw.total / PAGE));
  $("sessions-caption").textContent = t("admin.total", { n: vw.total.toLocaleString() });
  $("page-info").textContent = t("adm.page", { p: Math.floor(vw.offset / PAGE) + 1, n: pages });
  $("prev-btn").disabled = vw.offset <= 0;
  $("next-btn").disabled = vw.offset + PAGE >= vw.total;
}

async function downloadCsv(ev) {
  ev.preventDefault();
  try {
    saveBlob(await request($("csv-link").getAttribute("href"), { token: vw.session.token, as: "blob", timeoutMs: 120_000 }), "sessions.csv");
  } catch (err) {
    apiFailed(err);
  }
}

/** The filters' choices: categories, specialists and service item codes (also after the accounts change). */
export function fillFilterChoices() {
  const all = () => el("option", { value: "", text: t("admin.filter.all") });
  const refill = (select, options) => {
    const keep = select.value;
    select.replaceChildren(all(), ...options);
    select.value = keep;
  };
  refill($("f-category"), [...new Set(vw.catalog.map((i) => i.category))].sort().map((x) => el("option", { value: x, text: categoryLabel(x) })));
  refill($("f-specialist"), vw.accounts.filter((a) => a.role === "specialist")
    .map((a) => el("option", { value: a.username, text: `${a.display_name} (${a.username})` })));
  $("item-codes").replaceChildren(...vw.catalog.map((i) => el("option", { value: i.code, text: itemName(i.code, i.name, i.name_en) })));
}

/** The catalog (retired items too: the log refers to them), categories and accounts the views name things by. */
export async function loadChoices() {
  const [items, accounts, categories] = await Promise.all([
    call("/api/admin/service-items"), call("/api/admin/accounts"), call("/api/admin/categories")]);
  if (items) vw.catalog = items.items || [];
  if (accounts) vw.accounts = accounts.items || [];
  if (categories) vw.categories = categories.items || [];
  fillFilterChoices();
}

export function relabel() {
  fillFilterChoices();
  renderSessions();
}

export function bind() {
  $("filters").addEventListener("submit", (ev) => {
    ev.preventDefault();
    vw.offset = 0;
    if (vw.view !== "sessions") location.hash = "#/sessions";
    else show();
  });
  $("reset-btn").addEventListener("click", () => {
    $("filters").reset();
    vw.offset = 0;
    show();
  });
  $("prev-btn").addEventListener("click", () => { vw.offset = Math.max(0, vw.offset - PAGE); show(); });
  $("next-btn").addEventListener("click", () => { vw.offset += PAGE; show(); });
  $("csv-link").addEventListener("click", downloadCsv);
}
