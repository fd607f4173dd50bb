// Virtual Window — the caller page (served at "/").
//
// Flow: choose a service item → fill in company/name/phone → the camera
// preview opens and, with it, the media leg (so answering is instant) →
// Call (call:request) → queued (call:queued) → connected (call:connected) →
// ended (call:ended) → rating (call:rate). Wire contract: shared/CONTRACT.md.

import { io } from "/c/vendor/socket.io.esm.min.js";
import { t, applyI18n, bindLangSwitch, onLangChange, getLang, fmtDuration } from "/c/i18n.js";
import { MediaLeg, getLocalMedia, fetchConfig, emitAck, toggleTracks, attachVideo, watchFrames } from "/c/rtc.js";

const $ = (id) => document.getElementById(id);
const STORE = "vw.caller";

const vw = (window.vw = {
  state: "idle",        // idle | requesting | queued | connected | ended
  callId: null,
  callToken: null,
  serviceItem: null,
  legState: "new",
  specialist: null,
  socket: null,
  leg: null,
  localStream: null,
  remoteFrames: () => Number($("remote-video").dataset.frames || 0),
});

let everConnected = false;  // the current session reached call:connected
let lastEnd = null;         // {reason, ended_by}
let timerHandle = null;
let connectedAt = 0;
let lastQueued = null;
let mediaTried = false;     // getUserMedia has been attempted (success or not)

// ---------------------------------------------------------------- errors

function showError(err) {
  const e = (err && err.error) || err || {};
  const text = e.message || e.code || String(err);
  $("error-text").textContent = `${t("common.error")}: ${text}${e.code && e.message ? ` (${e.code})` : ""}`;
  $("error").hidden = false;
}
function clearError() {
  $("error").hidden = true;
}

// ---------------------------------------------------------------- stored details

function loadDetails() {
  try {
    const d = JSON.parse(localStorage.getItem(STORE) || "{}");
    for (const k of ["company", "name", "phone"]) if (d[k]) $(k).value = d[k];
  } catch (_) { /* ignore */ }
}
function saveDetails() {
  try {
    localStorage.setItem(STORE, JSON.stringify({ company: $("company").value, name: $("name").value, phone: $("phone").value }));
  } catch (_) { /* ignore */ }
}

// ---------------------------------------------------------------- service items

let searchSeq = 0;
let lastItems = [];

function itemTitle(item) {
  return getLang() === "zh" ? item.name : item.name_en || item.name;
}
function itemSubtitle(item) {
  return getLang() === "zh" ? item.name_en || "" : item.name;
}

async function searchItems(q) {
  const seq = ++searchSeq;
  let data;
  try {
    const r = await fetch(`/api/service-items?q=${encodeURIComponent(q)}`, { headers: { Accept: "application/json" } });
    data = await r.json().catch(() => ({}));
    if (!r.ok) throw data;
  } catch (err) {
    if (seq === searchSeq) showError(err);
    return;
  }
  if (seq !== searchSeq) return; // a newer search is under way
  lastItems = (data.items || []).slice(0, 50);
  renderItems();
}

function renderItems() {
  const box = $("service-results");
  box.replaceChildren();
  if (!lastItems.length) {
    const p = document.createElement("p");
    p.className = "hint";
    p.textContent = t("caller.service.none");
    box.append(p);
    return;
  }
  for (const item of lastItems) {
    const label = document.createElement("label");
    label.className = "result";
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "service-item";
    input.value = item.code;
    input.checked = vw.serviceItem && vw.serviceItem.code === item.code;
    input.addEventListener("change", () => selectItem(item));
    const body = document.createElement("span");
    body.className = "result-body";
    const title = document.createElement("span");
    title.className = "result-title";
    title.textContent = itemTitle(item);
    const sub = document.createElement("span");
    sub.className = "result-sub";
    sub.textContent = itemSubtitle(item);
    const meta = document.createElement("span");
    meta.className = "result-meta";
    for (const v of [item.code, item.category, item.department, item.level]) {
      if (!v) continue;
      const tag = document.createElement("span");
      tag.className = "tag";
      tag.textContent = v;
      meta.append(tag);
    }
    body.append(title, sub, meta);
    label.append(input, body);
    box.append(label);
  }
}

function selectItem(item) {
  vw.serviceItem = item;
  const p = $("service-selected");
  p.textContent = `${t("caller.service.selected")}: ${itemTitle(item)} (${item.code})`;
  p.hidden = false;
  updateCallButton();
}

// ---------------------------------------------------------------- call button, states

function updateCallButton() {
  const ok = !!vw.serviceItem && $("name").value.trim().length > 0 && vw.socket && vw.socket.connected;
  $("call-btn").disabled = !ok || vw.state !== "idle";
  $("call-need").hidden = ok;
}

function setState(state) {
  vw.state = state;
  document.body.dataset.state = state;
  $("call-status").textContent = t(`caller.status.${state}`);
  $("idle-actions").hidden = !(state === "idle" || state === "requesting");
  $("waiting-panel").hidden = state !== "queued";
  $("call-panel").hidden = state !== "connected";
  $("ended-panel").hidden = state !== "ended";
  for (const id of ["service-search", "company", "name", "phone"]) $(id).disabled = state !== "idle";
  for (const r of document.querySelectorAll('input[name="service-item"]')) r.disabled = state !== "idle";
  const stage = $("stage");
  stage.classList.toggle("preview", state !== "connected");
  stage.classList.toggle("in-call", state === "connected");
  for (const el of document.querySelectorAll(".session-no")) el.textContent = vw.callId || t("common.none");
  if (state === "connected") startTimer();
  else stopTimer();
  const panel = { queued: "waiting-panel", ended: "ended-panel", connected: "stage" }[state];
  if (panel) $(panel).scrollIntoView({ block: "nearest", behavior: "smooth" });
  updateCallButton();
}

function startTimer() {
  connectedAt = Date.now();
  stopTimer();
  timerHandle = setInterval(() => {
    const s = Math.floor((Date.now() - connectedAt) / 1000);
    $("call-timer").textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }, 500);
  $("call-timer").textContent = "0:00";
}
function stopTimer() {
  if (timerHandle) clearInterval(timerHandle);
  timerHandle = null;
}

function renderQueued() {
  if (!lastQueued) return;
  $("queue-position").textContent = lastQueued.position != null ? String(lastQueued.position) : t("common.none");
  $("queue-wait").textContent = lastQueued.estimated_wait_s != null ? fmtDuration(lastQueued.estimated_wait_s) : t("common.none");
}

function renderEnd() {
  if (!lastEnd) return;
  const { reason, ended_by: by } = lastEnd;
  let text;
  const key = `reason.${reason}`;
  if (reason && t(key) !== key) text = t(key);
  else if (by === "caller") text = everConnected ? t("reason.caller_hangup") : t("reason.abandoned");
  else if (by === "specialist") text = t("reason.specialist_hangup");
  else text = t("reason.other", { reason: reason || by || "?" });
  $("end-reason").textContent = text;
  $("rate-form").hidden = !everConnected || $("rate-thanks").hidden === false;
}

// ---------------------------------------------------------------- media

function showLegState(state) {
  vw.legState = state;
  const el = $("leg-state");
  const key = `leg.${state}`;
  el.textContent = t(key) !== key ? t(key) : state;
  el.dataset.state = state;
}

async function startMedia() {
  $("retry-media").hidden = true;
  try {
    vw.localStream = await getLocalMedia();
    attachVideo($("self-video"), vw.localStream, { muted: true });
  } catch (err) {
    vw.localStream = null;
    showError({ code: err.name || "no_media", message: t("leg.nomedia", { message: err.message || err.name }) });
    $("retry-media").hidden = false;
  }
  mediaTried = true;
  await openLeg();
}

async function openLeg() {
  // Needs both the socket and the outcome of the device check; whichever comes last opens it.
  if (!mediaTried || !vw.socket || !vw.socket.connected) return;
  const cfg = await fetchConfig();
  if (!vw.leg) {
    vw.leg = new MediaLeg(vw.socket, {
      iceServers: cfg.ice_servers || [],
      onRemoteStream: (stream) => {
        attachVideo($("remote-video"), stream, { onAutoplayBlocked: () => ($("unmute-remote").hidden = false) });
      },
      onState: (state, origin) => { if (origin === "local") showLegState(state); },
      onError: (e) => showError(e),
    });
  }
  showLegState("connecting");
  try {
    await vw.leg.open(vw.localStream);
  } catch (err) {
    showLegState("failed");
    showError({ code: "rtc_error", message: err.message || String(err) });
  }
}

// ---------------------------------------------------------------- socket

const TOKEN_KEY = "vw.caller.call"; // the live session's call_token, per tab (resume after a reload)

function keepToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch (_) { /* storage disabled */ }
}

function connect() {
  let saved = null;
  try { saved = sessionStorage.getItem(TOKEN_KEY); } catch (_) { /* storage disabled */ }
  vw.resuming = !!saved;
  vw.callToken = saved;
  const socket = io("/caller", { auth: saved ? { resume: saved } : {}, transports: ["websocket", "polling"] });
  vw.socket = socket;

  socket.on("connect", () => {
    clearErrorIf("disconnected");
    updateCallButton();
    openLeg(); // a new connection has no leg on the server: (re)open it
  });
  socket.on("connect_error", (err) => {
    if (socket.auth && socket.auth.resume && !socket.active) {
      // The session could not be resumed (it ended meanwhile): start afresh.
      socket.auth = {};
      keepToken(null);
      vw.resuming = false;
      if (vw.state !== "idle") {
        lastEnd = { reason: "caller_disconnected", ended_by: "system" };
        setState("ended");
        renderEnd();
      }
      socket.connect();
      return;
    }
    showError({ code: "disconnected", message: err.message });
    updateCallButton();
  });
  socket.on("disconnect", (reason) => {
    updateCallButton();
    if (reason !== "io client disconnect") showError({ code: "disconnected", message: reason });
  });

  socket.on("call:queued", (msg) => {
    if (vw.callId && msg.call_id && msg.call_id !== vw.callId) return;
    lastQueued = msg;
    if (msg.call_id) vw.callId = msg.call_id;
    if (vw.state === "requesting" || vw.state === "queued" || (vw.resuming && vw.state === "idle")) setState("queued");
    vw.resuming = false;
    renderQueued();
  });
  socket.on("call:connected", (msg) => {
    if (vw.callId && msg.call_id && msg.call_id !== vw.callId) return;
    vw.callId = msg.call_id || vw.callId;
    vw.specialist = msg.specialist || null;
    vw.resuming = false;
    everConnected = true;
    const name = (msg.specialist && msg.specialist.display_name) || t("common.none");
    $("specialist-name").textContent = name;
    $("specialist-badge").textContent = name;
    $("specialist-badge").hidden = false;
    $("chat-log").replaceChildren();
    setState("connected");
    const rv = $("remote-video");
    if (rv.srcObject) rv.play().catch(() => {});
  });
  socket.on("call:ended", (msg) => {
    if (vw.callId && msg.call_id && msg.call_id !== vw.callId) return;
    lastEnd = msg;
    socket.auth = {};
    keepToken(null);
    $("specialist-badge").hidden = true;
    setState("ended");
    renderEnd();
  });
  socket.on("chat:message", (msg) => {
    if (vw.callId && msg.call_id && msg.call_id !== vw.callId) return;
    if (msg.from === "caller") return; // our own lines are shown when acknowledged
    addChat(t("chat.specialist"), msg.text, msg.from);
  });
}

function clearErrorIf(code) {
  if ($("error-text").textContent.includes(`(${code})`) || $("error-text").textContent.includes(code)) clearError();
}

function addChat(who, text, from) {
  const li = document.createElement("li");
  li.className = `chat-msg from-${from}`;
  const b = document.createElement("strong");
  b.textContent = `${who}: `;
  li.append(b, document.createTextNode(text));
  $("chat-log").append(li);
  li.scrollIntoView({ block: "nearest" });
}

// ---------------------------------------------------------------- actions

async function requestCall() {
  clearError();
  saveDetails();
  everConnected = false;
  lastEnd = null;
  lastQueued = null;
  vw.callId = null;
  setState("requesting");
  const payload = {
    service_item: vw.serviceItem.code,
    name: $("name").value.trim(),
    company: $("company").value.trim() || undefined,
    phone: $("phone").value.trim() || undefined,
  };
  const ack = await emitAck(vw.socket, "call:request", payload);
  if (!ack.ok) {
    setState("idle");
    showError(ack);
    return;
  }
  vw.callId = ack.call_id;
  vw.callToken = ack.call_token || null;
  if (vw.callToken) {
    vw.socket.auth = { resume: vw.callToken }; // reconnects (and reloads) resume this session
    keepToken(vw.callToken);
  }
  if (vw.state === "requesting") {
    setState("queued");
    renderQueued();
  } else {
    for (const el of document.querySelectorAll(".session-no")) el.textContent = vw.callId;
  }
}

async function hangup() {
  if (!vw.callId) return;
  const ack = await emitAck(vw.socket, "call:hangup", { call_id: vw.callId });
  if (!ack.ok) {
    showError(ack);
    return;
  }
  // The server confirms with call:ended; if it already ended, show that.
  if (vw.state !== "ended") {
    setTimeout(() => {
      if (vw.state === "queued" || vw.state === "connected" || vw.state === "requesting") {
        lastEnd = { reason: everConnected ? "caller_hangup" : "abandoned", ended_by: "caller" };
        setState("ended");
        renderEnd();
      }
    }, 3000);
  }
}

async function rate(ev) {
  ev.preventDefault();
  const chosen = document.querySelector('input[name="satisfaction"]:checked');
  if (!chosen || !vw.callId) return;
  const payload = { call_id: vw.callId, satisfaction: Number(chosen.value) };
  const comment = $("rate-comment").value.trim();
  if (comment) payload.comment = comment;
  $("rate-btn").disabled = true;
  const ack = await emitAck(vw.socket, "call:rate", payload);
  if (!ack.ok) {
    $("rate-btn").disabled = false;
    showError(ack);
    return;
  }
  $("rate-form").hidden = true;
  $("rate-thanks").hidden = false;
}

function newCall() {
  clearError();
  keepToken(null);
  vw.callId = null;
  vw.callToken = null;
  vw.specialist = null;
  everConnected = false;
  lastEnd = null;
  $("rate-form").reset();
  $("rate-btn").disabled = true;
  $("rate-thanks").hidden = true;
  $("rate-form").hidden = false;
  setState("idle");
  // The leg stays open across sessions; re-open it only if it died.
  if (!vw.leg || ["failed", "closed", "disconnected"].includes(vw.leg.state)) openLeg();
}

// ---------------------------------------------------------------- wiring

function init() {
  applyI18n();
  bindLangSwitch($("lang-switch"));
  onLangChange(() => {
    renderItems();
    if (vw.serviceItem) selectItem(vw.serviceItem);
    setState(vw.state);
    renderQueued();
    renderEnd();
    showLegState(vw.legState);
  });
  loadDetails();
  watchFrames($("remote-video"));

  let debounce = null;
  $("service-search").addEventListener("input", (e) => {
    clearTimeout(debounce);
    debounce = setTimeout(() => searchItems(e.target.value.trim()), 150);
  });
  for (const id of ["company", "name", "phone"]) {
    $(id).addEventListener("input", () => { updateCallButton(); });
    $(id).addEventListener("change", saveDetails);
  }
  $("call-btn").addEventListener("click", requestCall);
  $("cancel-btn").addEventListener("click", hangup);
  $("hangup-btn").addEventListener("click", hangup);
  $("mute-btn").addEventListener("click", () => {
    const enabled = toggleTracks(vw.localStream, "audio");
    $("mute-btn").setAttribute("aria-pressed", String(!enabled));
  });
  $("camera-btn").addEventListener("click", () => {
    const enabled = toggleTracks(vw.localStream, "video");
    $("camera-btn").setAttribute("aria-pressed", String(enabled));
  });
  $("unmute-remote").addEventListener("click", () => {
    const v = $("remote-video");
    v.muted = false;
    v.play().catch(() => {});
    $("unmute-remote").hidden = true;
  });
  $("retry-media").addEventListener("click", startMedia);
  $("error-dismiss").addEventListener("click", clearError);
  $("rate-form").addEventListener("submit", rate);
  $("rate-form").addEventListener("change", () => {
    $("rate-btn").disabled = !document.querySelector('input[name="satisfaction"]:checked');
  });
  $("again-btn").addEventListener("click", newCall);
  $("chat-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = $("chat-input").value.trim();
    if (!text || !vw.callId) return;
    $("chat-input").value = "";
    const ack = await emitAck(vw.socket, "chat:message", { call_id: vw.callId, text });
    if (!ack.ok) showError(ack);
    else addChat(t("chat.you"), text, "caller");
  });

  setState("idle");
  showLegState("new");
  connect();
  searchItems("");
  startMedia();
}

init();
