// Virtual Window — administration pages (served at "/admin").
//
// One page, views chosen by the URL hash:
//   #/sessions            the session log: filters, sorting, pages, CSV export
//   #/sessions/{id}       one session: timeline, chat, documents, wrap-up, recordings in sync
//   #/overview            response times and service level for a period, with charts
//   #/wallboard           the live /admin `stats` stream (every second)
//   #/scores[/{id}]       the specialist leaderboard and one specialist's breakdown
//   #/catalog, #/accounts, #/queues   management
// Charts are inline SVG drawn here (no chart library).

import { io } from "/c/vendor/socket.io.esm.min.js";
import { t, applyI18n, bindLangSwitch, onLangChange, fmtTime, fmtDuration, getLang } from "/c/i18n.js";
import "/s/admin.strings.js";
import { bindLoginForm, loadSession, clearSession, api } from "/s/staff.js";
import { Monitor } from "/s/monitor.js";

const $ = (id) => document.getElementById(id);
const ROLE = "admin";
const PAGE = 50;
const SVG = "http://www.w3.org/2000/svg";

const vw = (window.vw = {
  session: null, view: null, items: [], total: 0, offset: 0, metrics: null, scores: null,
  socket: null, stats: null, statsCount: 0, catalog: [], accounts: [], detail: null,
});

// ---------------------------------------------------------------- small helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c != null) node.append(c instanceof Node ? c : String(c));
  return node;
}
function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null) node.setAttribute(k, v);
  for (const c of children.flat()) if (c != null) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}
const none = () => t("common.none");
const num = (v) => (v == null ? none() : Number(v).toLocaleString());
const pct = (v) => (v == null ? none() : `${(100 * v).toFixed(1)}%`);
const ms = (v) => (v == null ? none() : `${Math.round(v).toLocaleString()} ms`);
const fixed = (v, d = 1) => (v == null ? none() : Number(v).toFixed(d));
function tv(prefix, value) {
  const key = `${prefix}.${value}`;
  return t(key) !== key ? t(key) : value;
}
function itemName(code, name, nameEn) {
  const n = getLang() === "zh" ? name || nameEn : nameEn || name;
  return n ? `${code} ${n}` : code || none();
}

function showError(err) {
  const e = (err && err.error) || err || {};
  const text = e.message || e.code || String(err);
  $("error-text").textContent = `${t("common.error")}: ${text}${e.code && e.message ? ` (${e.code})` : ""}`;
  $("error").hidden = false;
}
function clearError() { $("error").hidden = true; }

function handleApiError(err) {
  if (err && err.status === 401) {
    logout();
    showLogin(t("login.role.admin"));
  } else {
    showError(err);
  }
}
async function call(path, init) {
  try {
    return await api(path, vw.session.token, init);
  } catch (err) {
    handleApiError(err);
    return null;
  }
}

const putJson = (path, body) =>
  call(path, { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

/** A <table> from column specs {label, value(row), cls, cell(row) -> Node}. */
function fillTable(table, columns, rows, { caption, empty, rowAttrs } = {}) {
  table.replaceChildren();
  if (caption) table.append(el("caption", { text: caption }));
  table.append(el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col", class: c.cls, text: c.label })))));
  const body = el("tbody");
  if (!rows.length) body.append(el("tr", {}, el("td", { colspan: columns.length, text: empty || t("admin.empty") })));
  for (const row of rows) {
    const tr = el("tr", rowAttrs ? rowAttrs(row) : {});
    for (const c of columns) {
      const td = el("td", { class: c.cls });
      if (c.cell) td.append(c.cell(row));
      else td.textContent = c.value(row) ?? none();
      tr.append(td);
    }
    body.append(tr);
  }
  table.append(body);
}

function timeNode(iso) {
  if (!iso) return document.createTextNode(none());
  return el("time", { datetime: iso, title: iso, text: fmtTime(iso) });
}

// ---------------------------------------------------------------- login, views

function showLogin(message) {
  $("login-view").hidden = false;
  $("admin-view").hidden = true;
  $("admin-nav").hidden = true;
  $("logout-btn").hidden = true;
  $("whoami").hidden = true;
  if (message) showError({ message });
}

function showAdmin() {
  $("login-view").hidden = true;
  $("admin-view").hidden = false;
  $("admin-nav").hidden = false;
  $("logout-btn").hidden = false;
  $("whoami").hidden = false;
  const u = vw.session.user || {};
  $("whoami").textContent = u.display_name || u.username || "";
}

const PERIOD_VIEWS = new Set(["overview", "scores"]);

function route() {
  if (!vw.session) return;
  const parts = (location.hash.replace(/^#\/?/, "") || "sessions").split("/").map(decodeURIComponent);
  let view = parts[0];
  const arg = parts[1];
  if (view === "sessions" && arg) view = "session";
  if (!document.querySelector(`.view[data-view="${view}"]`)) view = "sessions";
  vw.view = view;
  for (const sec of document.querySelectorAll(".view")) sec.hidden = sec.dataset.view !== view;
  $("period").hidden = !PERIOD_VIEWS.has(view);
  for (const a of document.querySelectorAll("#admin-nav a[data-view]")) {
    const current = a.dataset.view === view || (view === "session" && a.dataset.view === "sessions");
    if (current) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  clearError();
  if (view === "sessions") loadSessions();
  else if (view === "session") openSession(arg);
  else if (view === "overview") loadMetrics();
  else if (view === "wallboard") renderStats();
  else if (view === "scores") loadScores(arg);
  else if (view === "catalog") loadCatalog();
  else if (view === "accounts") loadAccounts();
  else if (view === "queues") loadQueues();
}

// ---------------------------------------------------------------- period (report and scores)

const pad2 = (n) => String(n).padStart(2, "0");
const dateValue = (d) => `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;

function applyPreset() {
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
function rangeQuery(fromId, toId, q = new URLSearchParams()) {
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
function periodQuery() {
  const q = rangeQuery("p-from", "p-to");
  q.set("threshold_s", String(threshold()));
  return q;
}
function threshold() {
  const v = Number($("p-threshold").value);
  return v > 0 && v <= 3600 ? v : 2;
}

// ---------------------------------------------------------------- response times

async function loadMetrics() {
  const q = periodQuery();
  q.set("tz_offset_min", String(-new Date().getTimezoneOffset()));
  const m = await call(`/api/metrics?${q}`);
  if (!m) return;
  vw.metrics = m;
  renderMetrics();
}

function renderMetrics() {
  const m = vw.metrics;
  if (!m) return;
  const s = m.threshold_s ?? 2;
  $("m-offered").textContent = num(m.offered);
  $("m-answered").textContent = num(m.answered);
  $("m-abandoned").textContent = num(m.abandoned);
  $("m-missed").textContent = num(m.missed);
  $("m-sl-label").textContent = t("adm.sl", { s });
  $("m-sla-label").textContent = t("adm.sla", { s });
  $("m-sl").textContent = pct(m.service_level);
  $("m-sla").textContent = pct(m.service_level_abandons);
  $("m-asa").textContent = ms(m.asa_ms);
  $("m-aht").textContent = m.aht_s == null ? none() : fmtDuration(m.aht_s);
  $("m-abr").textContent = pct(m.abandonment_rate);
  const c = m.connect_ms || {};
  $("m-connect").textContent = [c.p50, c.p90, c.p99].map((v) => (v == null ? "–" : Math.round(v))).join(" / ") + " ms";
  drawDistribution($("c-dist"), m);
  drawHours($("c-hour"), m);
  drawItems($("c-items"), m);

  fillTable($("t-items"), [
    { label: t("adm.col.code"), value: (r) => r.code },
    { label: t("adm.col.name"), value: (r) => (getLang() === "zh" ? r.name : r.name_en || r.name) },
    { label: t("admin.offered"), cls: "num", value: (r) => num(r.offered) },
    { label: t("admin.answered"), cls: "num", value: (r) => num(r.answered) },
    { label: t("admin.abandoned"), cls: "num", value: (r) => num(r.abandoned) },
    { label: t("adm.col.sl"), cls: "num", value: (r) => pct(r.service_level) },
    { label: t("adm.col.sla"), cls: "num", value: (r) => pct(r.service_level_abandons) },
    { label: t("adm.col.asa"), cls: "num", value: (r) => fixed(r.asa_ms, 0) },
    { label: t("adm.col.aht"), cls: "num", value: (r) => fixed(r.aht_s) },
  ], m.by_service_item || []);
  fillTable($("t-specialists"), [
    { label: t("admin.col.specialist"), value: (r) => r.display_name || r.username || r.id },
    { label: t("admin.answered"), cls: "num", value: (r) => num(r.answered) },
    { label: t("adm.col.aht"), cls: "num", value: (r) => fixed(r.aht_s) },
    { label: t("adm.col.satisfaction"), cls: "num", value: (r) => fixed(r.satisfaction, 2) },
    { label: t("adm.col.score"), cls: "num", value: (r) => fixed(r.score) },
  ], m.by_specialist || []);
  fillTable($("t-hours"), [
    { label: t("adm.col.hour"), value: (r) => `${pad2(r.hour)}:00` },
    { label: t("admin.offered"), cls: "num", value: (r) => num(r.offered) },
    { label: t("admin.answered"), cls: "num", value: (r) => num(r.answered) },
    { label: t("admin.abandoned"), cls: "num", value: (r) => num(r.abandoned) },
    { label: t("adm.col.sl"), cls: "num", value: (r) => pct(r.service_level) },
    { label: t("adm.col.sla"), cls: "num", value: (r) => pct(r.service_level_abandons) },
    { label: t("adm.col.asa"), cls: "num", value: (r) => fixed(r.asa_ms, 0) },
  ], (m.by_hour || []).filter((r) => r.offered));
}

// ---------------------------------------------------------------- charts (inline SVG)

const W = 560;
const H = 220;
const PAD = { l: 44, r: 12, t: 12, b: 30 };

function chartFrame(box, title, desc) {
  box.replaceChildren();
  const id = `${box.id}-desc`;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": `${box.id}-t ${id}`, class: "chart-svg" },
    svg("title", { id: `${box.id}-t` }, title), svg("desc", { id }, desc));
  box.append(root);
  return root;
}
function yAxis(root, max, fmt) {
  const ih = H - PAD.t - PAD.b;
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    const y = PAD.t + ih - (ih * i) / 4;
    root.append(svg("line", { x1: PAD.l, x2: W - PAD.r, y1: y, y2: y, class: "grid" }));
    root.append(svg("text", { x: PAD.l - 6, y: y + 4, "text-anchor": "end", class: "tick" }, fmt(v)));
  }
}

function drawDistribution(box, m) {
  const h = m.connect_histogram;
  const s = m.threshold_s ?? 2;
  const counts = h ? [...h.counts, h.over] : [];
  const total = counts.reduce((a, b) => a + b, 0);
  let within = 0;
  if (h) h.counts.forEach((c, i) => { if ((i + 1) * h.bin_ms <= h.threshold_ms) within += c; });
  const root = chartFrame(box, t("adm.c.dist"), t("adm.c.dist.desc", { s, within: num(within), n: num(total) }));
  if (!h || !total) return;
  const max = Math.max(...counts, 1);
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  yAxis(root, max, (v) => Math.round(v));
  const bw = iw / counts.length;
  counts.forEach((c, i) => {
    const bh = (ih * c) / max;
    const over = i === counts.length - 1;
    const lo = i * h.bin_ms;
    const label = over ? `≥ ${h.counts.length * h.bin_ms} ms: ${c}` : `${lo}–${lo + h.bin_ms} ms: ${c}`;
    root.append(svg("rect", {
      x: PAD.l + i * bw + 0.5, y: PAD.t + ih - bh, width: Math.max(bw - 1, 1), height: bh,
      class: (i + 1) * h.bin_ms <= h.threshold_ms ? "bar ok" : "bar late",
    }, svg("title", {}, label)));
  });
  const step = Math.ceil(counts.length / 8);
  for (let i = 0; i < counts.length; i += step) {
    root.append(svg("text", { x: PAD.l + i * bw, y: H - 10, class: "tick" }, `${((i * h.bin_ms) / 1000).toFixed(1)}s`));
  }
  const x = PAD.l + (h.threshold_ms / h.bin_ms) * bw;
  root.append(svg("line", { x1: x, x2: x, y1: PAD.t - 4, y2: PAD.t + ih, class: "threshold" }));
  root.append(svg("text", { x: x + 4, y: PAD.t + 8, class: "threshold-label" }, `${s} s`));
}

function drawHours(box, m) {
  const hours = m.by_hour || [];
  const offered = hours.reduce((a, r) => a + r.offered, 0);
  const root = chartFrame(box, t("adm.c.hour"), t("adm.c.hour.desc", { n: num(offered) }));
  if (!offered) return;
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  yAxis(root, 1, (v) => `${Math.round(v * 100)}%`);
  const bw = iw / 24;
  const maxVol = Math.max(...hours.map((r) => r.offered), 1);
  const pts = [];
  for (const r of hours) {
    const x = PAD.l + r.hour * bw;
    if (r.service_level != null) {
      const bh = ih * r.service_level;
      root.append(svg("rect", { x: x + 1, y: PAD.t + ih - bh, width: bw - 2, height: bh, class: "bar ok" },
        svg("title", {}, `${pad2(r.hour)}:00 · ${pct(r.service_level)} · ${r.offered}`)));
    }
    pts.push(`${x + bw / 2},${PAD.t + ih - (ih * r.offered) / maxVol}`);
    if (r.hour % 3 === 0) root.append(svg("text", { x: x + 2, y: H - 10, class: "tick" }, `${pad2(r.hour)}h`));
  }
  root.append(svg("polyline", { points: pts.join(" "), class: "volume" }, svg("title", {}, t("admin.offered"))));
}

function drawItems(box, m) {
  const rows = [...(m.by_service_item || [])].sort((a, b) => b.offered - a.offered).slice(0, 12);
  const root = chartFrame(box, t("adm.c.items"), t("adm.c.items.desc", { n: rows.length }));
  if (!rows.length) return;
  root.setAttribute("viewBox", `0 0 ${W * 2} ${rows.length * 24 + 30}`);
  const max = Math.max(...rows.map((r) => r.offered), 1);
  const left = 300;
  const iw = W * 2 - left - 60;
  rows.forEach((r, i) => {
    const y = 8 + i * 24;
    const parts = [["ok", r.answered], ["late", r.abandoned ?? 0], ["other", r.offered - r.answered - (r.abandoned ?? 0)]];
    root.append(svg("text", { x: left - 8, y: y + 14, "text-anchor": "end", class: "tick" }, itemName(r.code, r.name, r.name_en).slice(0, 40)));
    let x = left;
    for (const [cls, v] of parts) {
      const w = (iw * v) / max;
      if (w > 0) root.append(svg("rect", { x, y, width: w, height: 18, class: `bar ${cls}` }, svg("title", {}, `${r.code}: ${v}`)));
      x += w;
    }
    root.append(svg("text", { x: x + 6, y: y + 14, class: "tick" }, String(r.offered)));
  });
  const legend = el("p", { class: "legend" },
    el("span", { class: "key ok" }), t("admin.answered"), " ",
    el("span", { class: "key late" }), t("admin.abandoned"), " ",
    el("span", { class: "key other" }), t("adm.c.other"));
  box.append(legend);
}

// ---------------------------------------------------------------- wallboard (live)

function connectLive() {
  const socket = io("/admin", { auth: { token: vw.session.token }, transports: ["websocket", "polling"] });
  vw.socket = socket;
  socket.on("stats", (s) => {
    vw.stats = s;
    vw.statsCount += 1;
    vw.statsAt = new Date().toISOString();
    if (vw.view === "wallboard") renderStats();
  });
  socket.on("connect_error", () => { /* the wallboard shows "not connected" */ });
  vw.monitor = new Monitor(socket, { caller: $("monitor-caller"), specialist: $("monitor-specialist") }, { onState: monitorState });
}

function renderStats() {
  const s = vw.stats;
  if (!s) {
    $("wb-updated").textContent = t("adm.wb.offline");
    return;
  }
  $("wb-updated").textContent = fmtTime(vw.statsAt);
  $("wb-updated").dateTime = vw.statsAt;
  const queues = s.queues || [];
  $("wb-waiting").textContent = String(queues.reduce((n, q) => n + (q.waiting || 0), 0));
  const longest = Math.max(0, ...queues.map((q) => q.longest_wait_s || 0));
  $("wb-longest").textContent = queues.length ? fmtDuration(longest) : none();
  for (const k of ["ready", "ringing", "busy", "wrap_up", "away"]) $(`wb-${k}`).textContent = num((s.specialists || {})[k] ?? 0);
  const today = s.today || {};
  $("wb-offered").textContent = num(today.offered);
  $("wb-answered").textContent = num(today.answered);
  $("wb-abandoned").textContent = num(today.abandoned);
  $("wb-sl").textContent = pct(today.service_level);
  const names = Object.fromEntries(vw.catalog.map((i) => [i.code, i]));
  fillTable($("wb-queues"), [
    { label: t("admin.col.item"), value: (q) => { const i = names[q.service_item] || {}; return itemName(q.service_item, i.name, i.name_en); } },
    { label: t("adm.col.waiting"), cls: "num", value: (q) => num(q.waiting) },
    { label: t("adm.col.longest"), cls: "num", value: (q) => fmtDuration(q.longest_wait_s) },
  ], queues.filter((q) => q.waiting), { empty: t("adm.wb.none") });
  renderCalls(s.calls || []);
}

// ---------------------------------------------------------------- supervisor monitor (silent, receive-only)

let callsShown = "";
function renderCalls(calls) {
  const watching = vw.monitor && vw.monitor.callId;
  // Rebuild the rows only when the list changes, so a button is never replaced under the pointer.
  const shape = JSON.stringify([getLang(), watching, calls.map((c) => c.call_id)]);
  if (shape === callsShown) {
    for (const c of calls) {
      const cell = document.querySelector(`#wb-calls tr[data-call-id="${c.call_id}"] td.talk`);
      if (cell) cell.textContent = fmtDuration(c.talk_s);
    }
    return;
  }
  callsShown = shape;
  const who = (c) => [c.caller.name, c.caller.company].filter(Boolean).join(" · ");
  fillTable($("wb-calls"), [
    { label: t("admin.col.item"), value: (c) => itemName(c.service_item.code, c.service_item.name, c.service_item.name_en) },
    { label: t("adm.mon.col.caller"), value: who },
    { label: t("adm.mon.col.specialist"), value: (c) => c.specialist.display_name || c.specialist.username },
    { label: t("adm.mon.col.talk"), cls: "num talk", value: (c) => fmtDuration(c.talk_s) },
    { label: t("adm.mon.col.action"), cell: (c) => c.call_id === watching
      ? el("span", { class: "pill", text: t("adm.mon.watching") })
      : el("button", {
        type: "button", class: "btn btn-small", text: t("adm.mon.start"),
        title: t("adm.mon.start.label", { caller: who(c), specialist: c.specialist.display_name || "" }),
        onclick: () => startMonitor(c),
      }) },
  ], calls, { empty: t("adm.mon.none"), rowAttrs: (c) => ({ "data-call-id": c.call_id }) });
}

async function startMonitor(c) {
  if (!vw.monitor) return;
  clearError();
  vw.monitorCall = c;
  $("monitor").hidden = false;
  await vw.monitor.start(c.call_id);
  renderCalls((vw.stats && vw.stats.calls) || []);
}

function monitorState(state, info) {
  const c = vw.monitorCall || {};
  const status = $("monitor-status");
  $("monitor-stop").hidden = state !== "monitoring" && state !== "connecting";
  if (state === "connecting") status.textContent = t("adm.mon.connecting");
  else if (state === "monitoring") {
    status.textContent = t("adm.mon.on", {
      caller: (info.caller && info.caller.name) || (c.caller && c.caller.name) || "",
      specialist: (info.specialist && info.specialist.display_name) || "",
    });
  } else if (state === "ended") status.textContent = t("adm.mon.ended");
  else if (state === "idle") status.textContent = t("adm.mon.idle");
  else if (state === "error") {
    status.textContent = `${t("adm.mon.failed")}: ${(info && (info.message || info.code)) || ""}`;
    showError(info);
  }
  if (state !== "connecting") renderCalls((vw.stats && vw.stats.calls) || []);
}

// ---------------------------------------------------------------- session log

function filterQuery() {
  const q = rangeQuery("f-from", "f-to");
  const set = (name, id) => { const v = $(id).value.trim(); if (v) q.set(name, v); };
  set("service_item", "f-item");
  set("category", "f-category");
  set("specialist", "f-specialist");
  set("outcome", "f-outcome");
  set("company", "f-company");
  const sort = $("f-sort").value;
  if (sort && sort !== "-created_at") q.set("sort", sort);
  return q;
}

async function loadSessions() {
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
  const body = $("sessions-body");
  body.replaceChildren();
  if (!vw.items.length) body.append(el("tr", {}, el("td", { colspan: 14, text: t("admin.empty") })));
  for (const s of vw.items) {
    const item = s.service_item || {};
    const caller = s.caller || {};
    const spec = s.specialist;
    const td = (text, cls) => el("td", { class: cls, text: text == null || text === "" ? none() : String(text) });
    const ts = (iso) => el("td", { class: "ts" }, timeNode(iso));
    const label = s.outcome ? tv("outcome", s.outcome) : s.status || none();
    body.append(el("tr", { "data-session-id": s.id },
      el("td", {}, el("a", { class: "mono", href: `#/sessions/${encodeURIComponent(s.id)}`, "aria-label": t("adm.open", { id: s.id }), text: s.id.slice(0, 8) })),
      ts(s.created_at), ts(s.offered_at), ts(s.answered_at), ts(s.media_at), ts(s.ended_at),
      td(item.code ? `${item.code} ${item.name || ""}` : null),
      td([caller.name, caller.company].filter(Boolean).join(" · ")),
      td(spec ? spec.display_name || spec.username : null),
      el("td", {}, el("span", { class: `badge ${s.outcome || s.status || ""}`, text: label })),
      td(s.wait_ms == null ? null : s.wait_ms.toLocaleString(), "num"),
      td(s.connect_ms == null ? null : s.connect_ms.toLocaleString(), "num"),
      td(s.talk_s == null ? null : Number(s.talk_s).toFixed(1), "num"),
      td(s.satisfaction, "num"),
    ));
  }
  const pages = Math.max(1, Math.ceil(vw.total / PAGE));
  $("sessions-caption").textContent = t("admin.total", { n: vw.total.toLocaleString() });
  $("page-info").textContent = t("adm.page", { p: Math.floor(vw.offset / PAGE) + 1, n: pages });
  $("prev-btn").disabled = vw.offset <= 0;
  $("next-btn").disabled = vw.offset + PAGE >= vw.total;
}

async function downloadCsv(ev) {
  ev.preventDefault();
  const href = $("csv-link").getAttribute("href");
  try {
    const r = await fetch(href, { headers: { Authorization: `Bearer ${vw.session.token}` } });
    if (!r.ok) {
      const body = await r.json().catch(() => ({}));
      throw { status: r.status, ...(body.error || { code: `http_${r.status}`, message: r.statusText }) };
    }
    const url = URL.createObjectURL(await r.blob());
    const a = el("a", { href: url, download: "sessions.csv" });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 5000);
  } catch (err) {
    handleApiError(err);
  }
}

// ---------------------------------------------------------------- one session

function describeEvent(ev, s) {
  const d = ev.data || {};
  const who = d.username || (s.specialist && s.specialist.id === d.specialist_id ? s.specialist.display_name || s.specialist.username : null) || (d.specialist_id != null ? `#${d.specialist_id}` : "");
  const key = `adm.ev.${ev.type}`;
  if (t(key) === key) return ev.type;
  return t(key, { who, by: tv("adm.d.party", d.ended_by) || none(), reason: d.reason || none(), n: d.satisfaction ?? "" });
}

async function openSession(id) {
  const s = await call(`/api/sessions/${encodeURIComponent(id)}`);
  if (!s) return;
  vw.detail = s;
  if (!s.documents) {
    const docs = await api(`/api/sessions/${encodeURIComponent(id)}/documents`, vw.session.token).catch(() => null);
    s.documents = docs ? docs.items || [] : [];
  }
  renderSession();
}

function renderSession() {
  const s = vw.detail;
  if (!s) return;
  $("detail-id").textContent = s.id;
  const box = $("detail-body");
  box.replaceChildren();
  const fact = (label, value, cls) => el("div", { class: cls }, el("dt", { text: label }), el("dd", {}, value == null || value === "" ? none() : value));
  const item = s.service_item || {};
  const caller = s.caller || {};
  box.append(el("dl", { class: "facts", id: "detail-facts" },
    fact(t("admin.col.outcome"), el("span", { class: `badge ${s.outcome || s.status}`, text: s.outcome ? tv("outcome", s.outcome) : s.status })),
    fact(t("admin.col.item"), item.code ? `${item.code} ${item.name || ""}` : null),
    fact(t("adm.d.caller"), caller.name), fact(t("adm.d.company"), caller.company), fact(t("adm.d.phone"), caller.phone),
    fact(t("admin.col.specialist"), s.specialist ? s.specialist.display_name || s.specialist.username : null),
    fact(t("admin.col.created"), timeNode(s.created_at)), fact(t("admin.col.answered"), timeNode(s.answered_at)),
    fact(t("admin.col.media"), timeNode(s.media_at)), fact(t("admin.col.ended"), timeNode(s.ended_at)),
    fact(t("admin.col.wait"), s.wait_ms), fact(t("admin.col.connect"), s.connect_ms),
    fact(t("admin.col.talk"), s.talk_s == null ? null : fmtDuration(s.talk_s)),
    fact(t("admin.col.reason"), [s.end_reason, s.ended_by && tv("adm.d.party", s.ended_by)].filter(Boolean).join(" / ")),
    fact(t("admin.col.rating"), s.satisfaction == null ? null : `${s.satisfaction} / 5`),
    fact(t("console.disposition"), s.disposition ? tv("disp", s.disposition) : null),
    fact(t("console.difficulty"), s.difficulty == null ? null : `${s.difficulty} / 5`),
    fact(t("console.notes"), s.notes, "wide"),
  ));

  // recordings, side by side, one set of controls
  box.append(el("h3", { text: t("adm.d.recordings") }));
  box.append(renderRecordings(s.recordings || []));

  // timeline
  const created = Date.parse(s.created_at);
  const events = s.events || [];
  box.append(el("h3", { text: t("adm.d.timeline") }));
  box.append(el("ol", { class: "timeline", id: "timeline" }, events.map((ev) => {
    const dt = (Date.parse(ev.at) - created) / 1000;
    return el("li", { "data-type": ev.type },
      el("span", { class: "offset mono", text: `+${dt.toFixed(3)} s` }), " ",
      timeNode(ev.at), " ", el("strong", { text: describeEvent(ev, s) }),
      ev.type === "chat" ? null : ev.data && Object.keys(ev.data).length ? el("code", { class: "muted", text: ` ${JSON.stringify(ev.data)}` }) : null);
  })));

  // chat transcript
  const chat = events.filter((ev) => ev.type === "chat" && ev.data);
  box.append(el("h3", { text: t("adm.d.chat") }));
  box.append(chat.length ? el("ol", { class: "chat-log", id: "transcript" }, chat.map((ev) =>
    el("li", { class: `from-${ev.data.from}` }, el("strong", { text: tv("adm.d.party", ev.data.from) }), " ",
      timeNode(ev.at), el("p", { text: ev.data.text })))) : el("p", { class: "muted", text: t("adm.d.chat.none") }));

  // documents (when the documents feature is present)
  box.append(el("h3", { text: t("adm.d.documents") }));
  const docs = s.documents || [];
  box.append(docs.length ? el("ul", { id: "documents" }, docs.map((d) => el("li", {},
    el("a", { href: d.url, target: "_blank", rel: "noopener", text: d.filename || d.name || d.id }),
    ` · ${tv("adm.d.party", d.sender) || ""} · ${d.size != null ? `${(d.size / 1024).toFixed(0)} KB` : ""} `,
    timeNode(d.created_at || d.at)))) : el("p", { class: "muted", text: t("adm.d.documents.none") }));
}

/** Two <video>s played in sync: one clock (the first), the other follows it. */
function renderRecordings(recs) {
  if (!recs.length) return el("p", { class: "muted", text: t("adm.d.recordings.none") });
  const videos = recs.map((r) => el("video", { src: r.url, preload: "metadata", playsinline: true, "data-party": r.party, "aria-label": `${tv("adm.d.party", r.party)} · ${t("adm.d.recordings")}` }));
  const grid = el("div", { class: "recordings" }, recs.map((r, i) => el("figure", {},
    videos[i], el("figcaption", {}, `${tv("adm.d.party", r.party)}${r.duration_s != null ? ` · ${fmtDuration(r.duration_s)}` : ""} · `,
      el("a", { href: r.url, download: `${r.party}.webm`, text: "WebM" })))));
  const master = videos[0];
  const play = el("button", { type: "button", class: "btn btn-primary", id: "rec-play", text: t("adm.d.play") });
  const seek = el("input", { type: "range", id: "rec-seek", min: 0, max: 1000, value: 0, "aria-label": t("adm.d.seek") });
  const clock = el("span", { class: "mono", id: "rec-clock", text: "0:00" });
  const duration = () => Math.max(...videos.map((v) => (Number.isFinite(v.duration) ? v.duration : 0)), 0);
  const sync = () => {
    for (const v of videos.slice(1)) {
      if (Math.abs(v.currentTime - master.currentTime) > 0.25 && master.currentTime <= (v.duration || Infinity)) v.currentTime = master.currentTime;
    }
  };
  play.addEventListener("click", async () => {
    if (master.paused) {
      sync();
      await Promise.all(videos.map((v) => v.play().catch(() => {})));
    } else {
      videos.forEach((v) => v.pause());
    }
  });
  master.addEventListener("play", () => { play.textContent = t("adm.d.pause"); });
  master.addEventListener("pause", () => { play.textContent = t("adm.d.play"); videos.slice(1).forEach((v) => v.pause()); });
  master.addEventListener("timeupdate", () => {
    sync();
    const d = duration();
    if (d) seek.value = String(Math.round((1000 * master.currentTime) / d));
    clock.textContent = `${fmtDuration(master.currentTime)} / ${fmtDuration(d)}`;
  });
  seek.addEventListener("input", () => {
    const at = (Number(seek.value) / 1000) * duration();
    videos.forEach((v) => { v.currentTime = Math.min(at, v.duration || at); });
  });
  window.vw.recordings = videos;
  return el("div", { class: "recording-player" }, grid, el("div", { class: "toolbar" }, play, seek, clock));
}

// ---------------------------------------------------------------- scores

async function loadScores(id) {
  const data = await call(`/api/admin/scores?${periodQuery()}`);
  if (!data) return;
  vw.scores = data.items || [];
  renderScores(id);
}

function renderScores(id) {
  const rows = vw.scores || [];
  const bar = (v) => el("span", { class: "scorebar" }, el("span", { style: `width:${Math.max(0, Math.min(100, v || 0))}%` }), el("span", { text: fixed(v) }));
  fillTable($("t-scores"), [
    { label: t("adm.col.rank"), cls: "num", value: (r) => r.rank ?? none() },
    { label: t("admin.col.specialist"), cell: (r) => el("a", { href: `#/scores/${r.id}`, "aria-label": t("adm.scores.show", { name: r.display_name || r.username }), text: r.display_name || r.username }) },
    { label: t("adm.col.score"), cell: (r) => bar(r.score) },
    { label: t("admin.answered"), cls: "num", value: (r) => num(r.answered) },
    { label: t("adm.col.timeliness"), cls: "num", value: (r) => pct(r.breakdown.timeliness) },
    { label: t("adm.col.difficulty"), cls: "num", value: (r) => pct(r.breakdown.difficulty) },
    { label: t("adm.col.satisfaction"), cls: "num", value: (r) => (r.breakdown.satisfaction == null ? t("adm.scores.neutral") : pct(r.breakdown.satisfaction)) },
    { label: t("adm.col.aht"), cls: "num", value: (r) => fixed(r.aht_s) },
    { label: t("adm.col.ratings"), cls: "num", value: (r) => num(r.ratings) },
  ], rows, { empty: t("adm.scores.none"), rowAttrs: (r) => ({ "data-specialist-id": r.id }) });
  const box = $("score-detail");
  box.replaceChildren();
  const r = rows.find((x) => String(x.id) === String(id));
  if (!r) return;
  const b = r.breakdown;
  box.append(el("h3", { id: "score-detail-title", text: t("adm.scores.detail", { name: r.display_name || r.username }) }));
  box.append(el("dl", { class: "kpis" },
    ...[[t("adm.col.score"), fixed(r.score)], [t("adm.col.timeliness"), pct(b.timeliness)],
      [`${t("adm.col.within")}`, pct(b.answer_timeliness)], [t("adm.col.handle"), fixed(b.handle_timeliness, 2)],
      [t("adm.col.difficulty"), `${pct(b.difficulty)} (${fixed(b.mean_difficulty, 2)} / 5)`],
      [t("adm.col.satisfaction"), b.satisfaction == null ? t("adm.scores.neutral") : `${pct(b.satisfaction)} (${fixed(b.mean_satisfaction, 2)} / 5)`]]
      .map(([k, v]) => el("div", { class: "kpi" }, el("dt", { text: k }), el("dd", { text: v })))));
  const t2 = el("table", { id: "t-score-items" });
  fillTable(t2, [
    { label: t("admin.col.item"), value: (i) => itemName(i.code, i.name, i.name_en) },
    { label: t("admin.answered"), cls: "num", value: (i) => num(i.answered) },
    { label: t("adm.col.within"), cls: "num", value: (i) => num(i.within) },
    { label: t("adm.col.aht"), cls: "num", value: (i) => fixed(i.aht_s) },
    { label: t("adm.col.norm"), cls: "num", value: (i) => fixed(i.norm_aht_s) },
    { label: t("adm.col.handle"), cls: "num", value: (i) => fixed(i.handle_factor, 2) },
    { label: t("adm.col.item_difficulty"), cls: "num", value: (i) => i.item_difficulty },
    { label: t("adm.col.rated_difficulty"), cls: "num", value: (i) => fixed(i.rated_difficulty, 2) },
    { label: t("adm.col.satisfaction"), cls: "num", value: (i) => fixed(i.satisfaction, 2) },
  ], b.items || []);
  box.append(el("div", { class: "table-wrap" }, t2));
}

// ---------------------------------------------------------------- catalog

async function loadCatalog() {
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
    { label: "", cell: (i) => el("button", { type: "button", class: "btn btn-small", text: t("adm.edit"), "aria-label": t("adm.cat.edit_one", { code: i.code }), onclick: () => editItem(i) }) },
  ], data.items || []);
}

function editItem(item) {
  const f = $("item-form");
  f.hidden = false;
  for (const k of ["code", "name", "name_en", "category", "department", "level", "difficulty"]) $(`it-${k}`).value = item ? String(item[k] ?? "") : k === "level" ? "district" : k === "difficulty" ? "3" : "";
  $("it-recording").checked = item ? item.recording !== false : true;
  $("it-code").readOnly = Boolean(item);
  $("it-code").focus();
}

async function saveItem(ev) {
  ev.preventDefault();
  const body = {};
  for (const k of ["code", "name", "name_en", "category", "department", "level"]) body[k] = $(`it-${k}`).value.trim();
  body.difficulty = Number($("it-difficulty").value);
  body.recording = $("it-recording").checked;
  const saved = await putJson(`/api/admin/service-items/${encodeURIComponent(body.code)}`, body);
  if (!saved) return;
  $("item-form").hidden = true;
  $("cat-status").textContent = t("adm.cat.saved", { code: saved.code });
  loadCatalog();
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
  loadCatalog();
}

// ---------------------------------------------------------------- accounts

async function loadAccounts() {
  const data = await call("/api/admin/accounts");
  if (!data) return;
  vw.accounts = data.items || [];
  fillFilterChoices();
  fillTable($("t-accounts"), [
    { label: t("login.username"), value: (a) => a.username },
    { label: t("adm.acc.display"), value: (a) => a.display_name },
    { label: t("adm.acc.role"), value: (a) => tv("adm.role", a.role) },
    { label: t("adm.acc.skills"), value: (a) => (a.skills || []).join(", ") },
    { label: "", cell: (a) => el("button", { type: "button", class: "btn btn-small", text: t("adm.edit"), "aria-label": t("adm.acc.edit_one", { name: a.username }), onclick: () => editAccount(a) }) },
  ], vw.accounts);
}

function editAccount(a) {
  $("acc-form").hidden = false;
  $("acc-username").value = a ? a.username : "";
  $("acc-username").readOnly = Boolean(a);
  $("acc-display").value = a ? a.display_name : "";
  $("acc-role").value = a ? a.role : "specialist";
  $("acc-password").value = "";
  $("acc-skills").value = a ? (a.skills || []).join(", ") : "";
  $("acc-username").focus();
}

async function saveAccount(ev) {
  ev.preventDefault();
  const username = $("acc-username").value.trim();
  const body = {
    role: $("acc-role").value,
    display_name: $("acc-display").value.trim() || undefined,
    password: $("acc-password").value || undefined,
    skills: $("acc-skills").value.split(",").map((s) => s.trim()).filter(Boolean),
  };
  const saved = await putJson(`/api/admin/accounts/${encodeURIComponent(username)}`, body);
  if (!saved) return;
  $("acc-form").hidden = true;
  $("acc-status").textContent = t("adm.acc.saved", { name: saved.username });
  loadAccounts();
}

// ---------------------------------------------------------------- queues

async function loadQueues() {
  const data = await call("/api/queues");
  if (!data) return;
  const rows = data.items || [];
  vw.queues = rows;
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => k !== "service_item" && k !== "live");
  const show = (v) => (v == null ? none() : typeof v === "object" ? JSON.stringify(v) : String(v));
  fillTable($("t-queues"), [
    { label: t("admin.col.item"), value: (r) => r.service_item },
    ...keys.map((k) => ({ label: k, value: (r) => show(r[k]) })),
    { label: "", cell: (r) => el("button", { type: "button", class: "btn btn-small", text: t("adm.edit"), "aria-label": t("adm.q.edit_one", { code: r.service_item }), onclick: () => editQueue(r) }) },
  ], rows);
}

/** A form built from the queue's own settings: numbers, switches, text, and JSON for lists. */
function editQueue(q) {
  vw.queueEditing = q;
  $("queue-form").hidden = false;
  $("queue-form-title").textContent = t("adm.q.edit_one", { code: q.service_item });
  const box = $("queue-fields");
  box.replaceChildren();
  for (const [k, v] of Object.entries(q)) {
    if (QUEUE_FIXED.has(k)) continue;
    const id = `q-${k}`;
    let input;
    if (typeof v === "boolean") input = el("input", { id, type: "checkbox", "data-key": k, "data-kind": "bool" });
    else if (typeof v === "number") input = el("input", { id, type: "number", step: "any", value: String(v), "data-key": k, "data-kind": "number" });
    else if (v !== null && typeof v === "object") input = el("textarea", { id, rows: 3, "data-key": k, "data-kind": "json" });
    else input = el("input", { id, value: v == null ? "" : String(v), "data-key": k, "data-kind": "text" });
    if (input.dataset.kind === "bool") input.checked = v;
    if (input.dataset.kind === "json") input.value = JSON.stringify(v);
    box.append(el("div", { class: input.dataset.kind === "json" ? "field wide" : "field" }, el("label", { for: id, text: k }), input));
  }
}

async function saveQueue(ev) {
  ev.preventDefault();
  const q = vw.queueEditing;
  const body = {};
  for (const input of $("queue-fields").querySelectorAll("[data-key]")) {
    const k = input.dataset.key;
    const kind = input.dataset.kind;
    try {
      body[k] = kind === "bool" ? input.checked : kind === "number" ? Number(input.value)
        : kind === "json" ? JSON.parse(input.value || "null") : input.value === "" ? null : input.value;
    } catch (_) {
      showError({ code: "invalid_value", message: `${k}: JSON` });
      return;
    }
  }
  const saved = await putJson(`/api/queues/${encodeURIComponent(q.service_item)}`, body);
  if (!saved) return;
  $("queue-form").hidden = true;
  $("q-status").textContent = t("adm.cat.saved", { code: q.service_item });
  loadQueues();
}

async function resetQueue() {
  const q = vw.queueEditing;
  const done = await call(`/api/queues/${encodeURIComponent(q.service_item)}`, { method: "DELETE" });
  if (!done) return;
  $("queue-form").hidden = true;
  $("q-status").textContent = t("adm.cat.saved", { code: q.service_item });
  loadQueues();
}

// ---------------------------------------------------------------- filter choices

function fillFilterChoices() {
  const cats = [...new Set(vw.catalog.map((i) => i.category))].sort();
  const keep = (sel) => sel.value;
  const catSel = $("f-category");
  const c = keep(catSel);
  catSel.replaceChildren(el("option", { value: "", text: t("admin.filter.all") }), ...cats.map((x) => el("option", { value: x, text: x })));
  catSel.value = c;
  const specSel = $("f-specialist");
  const s = keep(specSel);
  specSel.replaceChildren(el("option", { value: "", text: t("admin.filter.all") }),
    ...vw.accounts.filter((a) => a.role === "specialist").map((a) => el("option", { value: a.username, text: `${a.display_name} (${a.username})` })));
  specSel.value = s;
  $("item-codes").replaceChildren(...vw.catalog.map((i) => el("option", { value: i.code, text: itemName(i.code, i.name, i.name_en) })));
}

async function loadChoices() {
  const [items, accounts] = await Promise.all([call("/api/service-items"), call("/api/admin/accounts")]);
  if (items) vw.catalog = items.items || [];
  if (accounts) vw.accounts = accounts.items || [];
  fillFilterChoices();
}

// ---------------------------------------------------------------- session

function start(session) {
  vw.session = session;
  vw.offset = 0;
  showAdmin();
  loadChoices();
  connectLive();
  route();
}

function logout() {
  if (vw.monitor) vw.monitor.destroy();
  vw.monitor = null;
  if (vw.socket) {
    vw.socket.removeAllListeners();
    vw.socket.disconnect();
  }
  vw.socket = null;
  clearSession(ROLE);
  vw.session = null;
}

function init() {
  applyI18n();
  bindLangSwitch($("lang-switch"));
  onLangChange(() => {
    if (!vw.session) return;
    fillFilterChoices();
    renderSessions();
    renderMetrics();
    renderStats();
    if (vw.view === "session") renderSession();
    if (vw.view === "scores") renderScores(location.hash.split("/")[2]);
  });
  $("error-dismiss").addEventListener("click", clearError);
  $("monitor-stop").addEventListener("click", () => { if (vw.monitor) vw.monitor.stop(); });
  bindLoginForm(ROLE, { onLogin: start, onError: showError, clearError });
  $("logout-btn").addEventListener("click", () => { logout(); showLogin(); });
  window.addEventListener("hashchange", route);
  $("filters").addEventListener("submit", (ev) => {
    ev.preventDefault();
    vw.offset = 0;
    if (vw.view !== "sessions") location.hash = "#/sessions";
    else loadSessions();
  });
  $("reset-btn").addEventListener("click", () => {
    $("filters").reset();
    vw.offset = 0;
    loadSessions();
  });
  $("prev-btn").addEventListener("click", () => { vw.offset = Math.max(0, vw.offset - PAGE); loadSessions(); });
  $("next-btn").addEventListener("click", () => { vw.offset += PAGE; loadSessions(); });
  $("csv-link").addEventListener("click", downloadCsv);
  $("p-preset").value = "week";
  applyPreset();
  $("p-preset").addEventListener("change", applyPreset);
  for (const id of ["p-from", "p-to"]) $(id).addEventListener("input", () => { $("p-preset").value = "custom"; });
  $("period").addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (vw.view === "scores") loadScores(location.hash.split("/")[2]);
    else loadMetrics();
  });
  $("catalog-search").addEventListener("submit", (ev) => { ev.preventDefault(); loadCatalog(); });
  $("cat-new").addEventListener("click", () => editItem(null));
  $("cat-import").addEventListener("click", importCatalog);
  $("item-form").addEventListener("submit", saveItem);
  $("item-cancel").addEventListener("click", () => { $("item-form").hidden = true; });
  $("acc-new").addEventListener("click", () => editAccount(null));
  $("acc-form").addEventListener("submit", saveAccount);
  $("acc-cancel").addEventListener("click", () => { $("acc-form").hidden = true; });
  $("queue-form").addEventListener("submit", saveQueue);
  $("queue-reset").addEventListener("click", resetQueue);
  $("queue-cancel").addEventListener("click", () => { $("queue-form").hidden = true; });

  const session = loadSession(ROLE);
  if (session) start(session);
  else showLogin();
}

init();
