// Virtual Window — administration pages (served at "/admin").
//
// Log in as an administrator → metrics summary (GET /api/metrics), the
// session log (GET /api/sessions, newest first, filters, pages), a session's
// events and recordings (GET /api/sessions/{id}), CSV export
// (/api/sessions.csv) and the live figures of the /admin namespace.

import { io } from "/c/vendor/socket.io.esm.min.js";
import { t, applyI18n, bindLangSwitch, onLangChange, fmtTime, fmtDuration } from "/c/i18n.js";
import { login, loadSession, clearSession, api } from "/s/staff.js";

const $ = (id) => document.getElementById(id);
const ROLE = "admin";
const PAGE = 50;

const vw = (window.vw = { session: null, items: [], total: 0, offset: 0, metrics: null, socket: null });

function showError(err) {
  const e = (err && err.error) || err || {};
  const text = e.message || e.code || String(err);
  $("error-text").textContent = `${t("common.error")}: ${text}${e.code && e.message ? ` (${e.code})` : ""}`;
  $("error").hidden = false;
}
function clearError() {
  $("error").hidden = true;
}

function showLogin(message) {
  $("login-view").hidden = false;
  $("admin-view").hidden = true;
  $("logout-btn").hidden = true;
  $("whoami").hidden = true;
  if (message) showError({ message });
}

function showAdmin() {
  $("login-view").hidden = true;
  $("admin-view").hidden = false;
  $("logout-btn").hidden = false;
  $("whoami").hidden = false;
  const u = vw.session.user || {};
  $("whoami").textContent = u.display_name || u.username || "";
}

/** Any 401 means the token expired: back to the sign-in form. */
function handleApiError(err) {
  if (err && err.status === 401) {
    logout();
    showLogin(t("login.role.admin"));
  } else {
    showError(err);
  }
}

// ---------------------------------------------------------------- metrics

const num = (v) => (v == null ? t("common.none") : String(v));
const pct = (v) => (v == null ? t("common.none") : `${(100 * v).toFixed(1)}%`);
const ms = (v) => (v == null ? t("common.none") : `${Math.round(v)} ms`);

async function loadMetrics() {
  try {
    vw.metrics = await api("/api/metrics?threshold_s=2", vw.session.token);
  } catch (err) {
    handleApiError(err);
    return;
  }
  renderMetrics();
}

function renderMetrics() {
  const m = vw.metrics;
  if (!m) return;
  $("m-offered").textContent = num(m.offered);
  $("m-answered").textContent = num(m.answered);
  $("m-abandoned").textContent = num(m.abandoned);
  $("m-missed").textContent = num(m.missed);
  $("m-sl").textContent = pct(m.service_level);
  $("m-asa").textContent = ms(m.asa_ms);
  $("m-aht").textContent = m.aht_s == null ? t("common.none") : fmtDuration(m.aht_s);
  const c = m.connect_ms || {};
  $("m-connect").textContent = [c.p50, c.p90, c.p99].map((v) => (v == null ? "–" : Math.round(v))).join(" / ") + " ms";
}

// ---------------------------------------------------------------- sessions

function filterQuery() {
  const q = new URLSearchParams();
  const item = $("f-item").value.trim();
  const outcome = $("f-outcome").value;
  if (item) q.set("service_item", item);
  if (outcome) q.set("outcome", outcome);
  return q;
}

async function loadSessions() {
  const q = filterQuery();
  $("csv-link").href = `/api/sessions.csv${q.toString() ? `?${q}` : ""}`;
  q.set("limit", String(PAGE));
  q.set("offset", String(vw.offset));
  let data;
  try {
    data = await api(`/api/sessions?${q}`, vw.session.token);
  } catch (err) {
    handleApiError(err);
    return;
  }
  vw.items = data.items || [];
  vw.total = data.total ?? vw.items.length;
  renderSessions();
}

function timeCell(iso) {
  const td = document.createElement("td");
  td.className = "ts";
  if (iso) {
    const time = document.createElement("time");
    time.dateTime = iso;
    time.title = iso;
    time.textContent = fmtTime(iso);
    td.append(time);
  } else {
    td.textContent = t("common.none");
  }
  return td;
}

function textCell(text, cls) {
  const td = document.createElement("td");
  if (cls) td.className = cls;
  td.textContent = text == null || text === "" ? t("common.none") : String(text);
  return td;
}

function renderSessions() {
  const body = $("sessions-body");
  body.replaceChildren();
  if (!vw.items.length) {
    const tr = document.createElement("tr");
    const td = textCell(t("admin.empty"));
    td.colSpan = 14;
    tr.append(td);
    body.append(tr);
  }
  for (const s of vw.items) {
    const tr = document.createElement("tr");
    tr.dataset.sessionId = s.id;
    const idCell = document.createElement("td");
    const link = document.createElement("button");
    link.type = "button";
    link.className = "link-btn mono";
    link.textContent = String(s.id);
    link.setAttribute("aria-label", `${t("admin.detail")} ${s.id}`);
    link.addEventListener("click", () => openDetail(s.id));
    idCell.append(link);
    const outcome = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = `badge ${s.outcome || s.status || ""}`;
    const okey = `outcome.${s.outcome}`;
    badge.textContent = s.outcome ? (t(okey) !== okey ? t(okey) : s.outcome) : s.status || t("common.none");
    outcome.append(badge);
    const item = s.service_item || {};
    const caller = s.caller || {};
    const spec = s.specialist;
    tr.append(
      idCell,
      timeCell(s.created_at),
      timeCell(s.offered_at),
      timeCell(s.answered_at),
      timeCell(s.media_at),
      timeCell(s.ended_at),
      textCell(item.code ? `${item.code} ${item.name || ""}` : null),
      textCell([caller.name, caller.company].filter(Boolean).join(" · ")),
      textCell(spec ? spec.display_name || spec.username : null),
      outcome,
      textCell(s.wait_ms, "num"),
      textCell(s.connect_ms, "num"),
      textCell(s.talk_s == null ? null : Number(s.talk_s).toFixed(1), "num"),
      textCell(s.satisfaction, "num"),
    );
    body.append(tr);
  }
  $("sessions-caption").textContent = t("admin.total", { n: vw.total });
  $("prev-btn").disabled = vw.offset <= 0;
  $("next-btn").disabled = vw.offset + PAGE >= vw.total;
}

/** Translate a value with a key prefix, falling back to the raw value. */
function tv(prefix, value) {
  const key = `${prefix}.${value}`;
  return t(key) !== key ? t(key) : value;
}

async function openDetail(id) {
  let s;
  try {
    s = await api(`/api/sessions/${encodeURIComponent(id)}`, vw.session.token);
  } catch (err) {
    handleApiError(err);
    return;
  }
  const box = $("detail-body");
  box.replaceChildren();
  const dl = document.createElement("dl");
  dl.className = "facts";
  const fields = [
    ["admin.col.id", s.id], ["admin.col.outcome", s.outcome ? tv("outcome", s.outcome) : s.status],
    ["admin.col.item", s.service_item ? `${s.service_item.code} ${s.service_item.name || ""}` : null],
    ["admin.col.caller", s.caller ? [s.caller.name, s.caller.company, s.caller.phone].filter(Boolean).join(" · ") : null],
    ["admin.col.specialist", s.specialist ? s.specialist.display_name || s.specialist.username : null],
    ["console.disposition", s.disposition ? tv("disp", s.disposition) : null], ["console.difficulty", s.difficulty],
    ["admin.col.rating", s.satisfaction], ["console.notes", s.notes],
    ["admin.col.reason", [s.end_reason, s.ended_by].filter(Boolean).join(" / ")],
  ];
  for (const [k, v] of fields) {
    const div = document.createElement("div");
    const dt = document.createElement("dt");
    dt.textContent = t(k);
    const dd = document.createElement("dd");
    dd.textContent = v == null || v === "" ? t("common.none") : String(v);
    div.append(dt, dd);
    dl.append(div);
  }
  box.append(dl);

  if (s.recordings && s.recordings.length) {
    const h = document.createElement("h3");
    h.textContent = t("admin.recordings");
    const ul = document.createElement("ul");
    for (const rec of s.recordings) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = rec.url;
      a.textContent = `${rec.party}${rec.duration_s != null ? ` · ${fmtDuration(rec.duration_s)}` : ""}${rec.bytes != null ? ` · ${(rec.bytes / 1e6).toFixed(1)} MB` : ""}`;
      a.target = "_blank";
      a.rel = "noopener";
      li.append(a);
      ul.append(li);
    }
    box.append(h, ul);
  }

  const h = document.createElement("h3");
  h.textContent = t("admin.events");
  const table = document.createElement("table");
  table.className = "events";
  const tb = document.createElement("tbody");
  for (const ev of s.events || []) {
    const tr = document.createElement("tr");
    tr.append(timeCell(ev.at), textCell(ev.type), textCell(ev.data && Object.keys(ev.data).length ? JSON.stringify(ev.data) : ""));
    tb.append(tr);
  }
  table.append(tb);
  const wrap = document.createElement("div");
  wrap.className = "table-wrap";
  wrap.append(table);
  box.append(h, wrap);
  $("detail").showModal();
}

// ---------------------------------------------------------------- CSV with the token

async function downloadCsv(ev) {
  ev.preventDefault();
  const href = $("csv-link").getAttribute("href");
  try {
    const r = await fetch(href, { headers: { Authorization: `Bearer ${vw.session.token}` } });
    if (!r.ok) {
      const body = await r.json().catch(() => ({}));
      throw { status: r.status, ...(body.error || { code: `http_${r.status}`, message: r.statusText }) };
    }
    const blob = await r.blob();
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = "sessions.csv";
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  } catch (err) {
    handleApiError(err);
  }
}

// ---------------------------------------------------------------- live

function connectLive() {
  const socket = io("/admin", { auth: { token: vw.session.token }, transports: ["websocket", "polling"] });
  vw.socket = socket;
  socket.on("stats", (s) => {
    const waiting = (s.queues || []).reduce((n, q) => n + (q.waiting || 0), 0);
    $("live-waiting").textContent = String(waiting);
    $("live-ready").textContent = num(s.specialists && s.specialists.ready);
    $("live-busy").textContent = num(s.specialists && s.specialists.busy);
  });
  socket.on("connect_error", () => { /* live figures are optional */ });
}

// ---------------------------------------------------------------- session

function start(session) {
  vw.session = session;
  vw.offset = 0;
  showAdmin();
  refresh();
  connectLive();
}

function refresh() {
  clearError();
  loadMetrics();
  loadSessions();
}

function logout() {
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
    renderMetrics();
    renderSessions();
  });
  $("error-dismiss").addEventListener("click", clearError);
  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearError();
    $("login-btn").disabled = true;
    try {
      const session = await login($("username").value.trim(), $("password").value, ROLE);
      $("password").value = "";
      start(session);
    } catch (err) {
      showError(err);
    } finally {
      $("login-btn").disabled = false;
    }
  });
  $("logout-btn").addEventListener("click", () => {
    logout();
    showLogin();
  });
  $("filters").addEventListener("submit", (ev) => {
    ev.preventDefault();
    vw.offset = 0;
    refresh();
  });
  $("prev-btn").addEventListener("click", () => {
    vw.offset = Math.max(0, vw.offset - PAGE);
    loadSessions();
  });
  $("next-btn").addEventListener("click", () => {
    vw.offset += PAGE;
    loadSessions();
  });
  $("csv-link").addEventListener("click", downloadCsv);
  $("detail-close").addEventListener("click", () => $("detail").close());

  const session = loadSession(ROLE);
  if (session) start(session);
  else showLogin();
}

init();
