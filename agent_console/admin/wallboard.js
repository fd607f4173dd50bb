// Virtual Window — administration view #/wallboard: the live /admin `stats` stream (about
// every second), and the calls in progress with the supervisor monitor (silent, receive-only).

import { t, getLang, fmtTime, fmtDuration } from "/lib/i18n.js";
import { $, el } from "/lib/dom.js";
import { showError, clearError } from "/lib/errors.js";
import { connectSocket, closeSocket } from "/lib/socket.js";
import { Monitor } from "/s/monitor.js";
import { vw, fillTable, none, num, pct, itemName } from "/s/admin/common.js";

/** The /admin socket of a signed-in administrator: the stats stream and the monitor's leg. */
export function connectLive() {
  const socket = connectSocket("/admin", { token: vw.session.token });
  vw.socket = socket;
  socket.on("stats", (s) => {
    vw.stats = s;
    vw.statsCount += 1;
    vw.statsAt = new Date().toISOString();
    if (vw.view === "wallboard") relabel();
  });
  socket.on("connect_error", () => { /* the wallboard shows "not connected" */ });
  vw.monitor = new Monitor(socket, { caller: $("monitor-caller"), specialist: $("monitor-specialist"), back_office: $("monitor-back-office") }, {
    onState: monitorState,
    onBackOffice: (present) => ($("monitor-back-office-fig").hidden = !present),
  });
}

export function disconnectLive() {
  if (vw.monitor) vw.monitor.destroy();
  vw.monitor = null;
  if (vw.socket) closeSocket(vw.socket);
  vw.socket = null;
}

export const show = () => relabel();

export function relabel() {
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
  renderCalls();
}

// ---------------------------------------------------------------- supervisor monitor

let callsShown = "";
function renderCalls() {
  const calls = (vw.stats && vw.stats.calls) || [];
  const watching = vw.monitor && vw.monitor.callId;
  // Rebuild the rows only when the list changes, so a button is never replaced under the pointer.
  const shape = JSON.stringify([getLang(), watching, calls.map((c) => [c.call_id, c.mode, c.back_office && c.back_office.id])]);
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
    { label: t("adm.mon.col.specialist"), value: withBackOffice },
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

/** "演示坐席 + 李娜 (consult)": the specialist, and the back office invited into the call. */
function withBackOffice(c) {
  const name = c.specialist.display_name || c.specialist.username;
  if (!c.back_office) return name;
  return t(c.mode === "conference" ? "conf.wb.conference" : "conf.wb.consult", { name, other: c.back_office.display_name });
}

async function startMonitor(c) {
  if (!vw.monitor) return;
  clearError();
  vw.monitorCall = c;
  $("monitor").hidden = false;
  await vw.monitor.start(c.call_id);
  renderCalls();
}

function monitorState(state, info) {
  const c = vw.monitorCall || {};
  const status = $("monitor-status");
  $("monitor-stop").hidden = state !== "monitoring" && state !== "connecting";
  $("monitor-mode").disabled = state !== "monitoring";
  if (state !== "monitoring") checkMode("listen");
  if (state === "monitoring") titleMode("listen");
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
  if (state !== "connecting") renderCalls();
}

// ---------------------------------------------------------------- listen, whisper, barge

/** "Monitoring (silent)", or what the supervisor does now. */
function titleMode(mode) {
  const key = mode === "listen" ? "adm.mon.title" : `conf.mon.title.${mode}`;
  $("monitor-title").dataset.i18n = key;
  $("monitor-title").textContent = t(key);
}

function checkMode(mode) {
  const radio = document.querySelector(`input[name="monitor-mode"][value="${mode}"]`);
  if (radio) radio.checked = true;
}

/** Switch the live call's mode; the status says who hears the supervisor now. */
async function switchMode(mode) {
  if (!vw.monitor || !vw.monitor.active) return;
  clearError();
  $("monitor-mode").disabled = true;
  const ack = await vw.monitor.setMode(mode);
  $("monitor-mode").disabled = !vw.monitor.active;
  if (!ack.ok) {
    checkMode(vw.monitor.mode);
    const e = ack.error || {};
    const key = `conf.error.${e.code}`;
    if (t(key) !== key) showError({ code: e.code, message: t(key) });
    else if (["NotAllowedError", "NotFoundError", "NotReadableError", "no_media"].includes(e.code)) {
      showError({ code: e.code, message: t("conf.mon.nodevice", { message: e.message || e.code }) });
    } else showError(ack);
    return;
  }
  titleMode(mode);
  const c = vw.monitorCall || {};
  $("monitor-status").textContent = mode === "listen"
    ? t("adm.mon.on", { caller: (c.caller && c.caller.name) || "", specialist: (c.specialist && c.specialist.display_name) || "" })
    : t(`conf.mon.status.${mode}`);
}

export function bind() {
  $("monitor-stop").addEventListener("click", () => { if (vw.monitor) vw.monitor.stop(); });
  for (const r of document.querySelectorAll('input[name="monitor-mode"]')) r.addEventListener("change", () => switchMode(r.value));
}
