// Virtual Window — the caller page (served at "/").
//
// Flow: choose a service item (search, or browse by category / department /
// level) → enterprise details (credit code checked, remembered) → device check
// (camera, microphone, preview, level meter; the media leg opens here, so the
// call connects at once) → Call (call:request) → queued (call:queued: position,
// estimated wait, Cancel) → connected (call:connected: video, mute, camera,
// screen share, chat, documents, hold screen) → ended (call:ended: rating and
// session number). A reload or network blip resumes with the call token.
// Wire contract: docs/contract.md.

import { io } from "/c/vendor/socket.io.esm.min.js";
import { t, applyI18n, bindLangSwitch, onLangChange, getLang, fmtDuration } from "/c/i18n.js";
import { MediaLeg, getLocalMedia, fetchConfig, emitAck, attachVideo, watchFrames } from "/c/rtc.js";
import { ChatLog, bindChatForm, fillDevices, MicMeter } from "/c/callkit.js";
import { normalise as normaliseCredit, problem as creditProblem } from "/c/uscc.js";

const $ = (id) => document.getElementById(id);
const STORE = "vw.caller";
const DEVICES = "vw.caller.devices";
const TOKEN_KEY = "vw.caller.call"; // the live session's call_token, per tab (resume after a reload)

const vw = (window.vw = {
  state: "idle",        // idle | requesting | queued | connected | ended
  callId: null,
  callToken: null,
  serviceItem: null,
  legState: "new",
  specialist: null,
  held: false,
  sharing: false,
  socket: null,
  leg: null,
  localStream: null,
  screenTrack: null,
  remoteFrames: () => Number($("remote-video").dataset.frames || 0),
});

let everConnected = false;  // the current session reached call:connected
let lastEnd = null;         // {reason, ended_by}
let timerHandle = null;
let connectedAt = 0;
let queuedAt = 0;
let lastQueued = null;
let mediaTried = false;     // getUserMedia has been attempted (success or not)
let allItems = [];          // the whole catalog (for browsing lists)
let lastItems = [];
let transferInfo = null;
const meter = new MicMeter($("mic-level"), $("mic-level-bar"));
const chat = new ChatLog($("chat-log"), { me: "caller", token: () => vw.callToken, onError: (e) => showError(e) });

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
    for (const [k, id] of [["company", "company"], ["credit_code", "credit-code"], ["name", "name"], ["phone", "phone"]]) {
      if (d[k]) $(id).value = d[k];
    }
    if (d.remember === false) $("remember").checked = false;
  } catch (_) { /* ignore */ }
}
function saveDetails() {
  try {
    if (!$("remember").checked) {
      localStorage.setItem(STORE, JSON.stringify({ remember: false }));
      return;
    }
    localStorage.setItem(STORE, JSON.stringify({
      company: $("company").value, credit_code: $("credit-code").value, name: $("name").value, phone: $("phone").value,
    }));
  } catch (_) { /* ignore */ }
}

// ---------------------------------------------------------------- validation

function creditError() {
  const raw = $("credit-code").value.trim();
  if (!raw) return "";
  const p = creditProblem(raw);
  return p ? t(`caller.credit.${p}`) : "";
}
function phoneError() {
  const raw = $("phone").value.trim();
  if (!raw) return "";
  return /^\+?[\d\s()-]{5,40}$/.test(raw) ? "" : t("caller.phone.bad");
}
function showFieldErrors(force = false) {
  for (const [input, out, fn] of [["credit-code", "credit-error", creditError], ["phone", "phone-error", phoneError]]) {
    const msg = fn();
    const el = $(input);
    const show = msg && (force || el.dataset.touched === "1");
    $(out).textContent = show ? msg : "";
    el.setAttribute("aria-invalid", show ? "true" : "false");
  }
}

// ---------------------------------------------------------------- service items

let searchSeq = 0;

function itemTitle(item) {
  return getLang() === "zh" ? item.name : item.name_en || item.name;
}
function itemSubtitle(item) {
  return getLang() === "zh" ? item.name_en || "" : item.name;
}
function catLabel(cat) {
  const key = `cat.${cat}`;
  return t(key) !== key ? t(key) : cat.replace(/_/g, " ");
}

async function loadCatalog() {
  try {
    const r = await fetch("/api/service-items", { headers: { Accept: "application/json" } });
    const data = await r.json();
    allItems = data.items || [];
  } catch (_) {
    allItems = [];
  }
  renderFilters();
}

function renderFilters() {
  const fill = (select, values, label) => {
    const current = select.value;
    select.replaceChildren();
    const all = document.createElement("option");
    all.value = "";
    all.textContent = t("caller.filter.all");
    select.append(all);
    for (const v of values) {
      const o = document.createElement("option");
      o.value = v;
      o.textContent = label(v);
      select.append(o);
    }
    select.value = values.includes(current) ? current : "";
  };
  const cats = [...new Set(allItems.map((i) => i.category))].sort();
  const depts = [...new Set(allItems.map((i) => i.department).filter(Boolean))].sort();
  fill($("filter-category"), cats, catLabel);
  fill($("filter-department"), depts, (d) => d);
}

async function searchItems() {
  const q = $("service-search").value.trim();
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
  box.replaceChildren();
  const items = filteredItems();
  $("service-count").textContent = t("caller.service.count", { n: items.length });
  if (!items.length) {
    const p = document.createElement("p");
    p.className = "hint";
    p.textContent = t("caller.service.none");
    box.append(p);
    return;
  }
  for (const item of items.slice(0, 80)) {
    const label = document.createElement("label");
    label.className = "result";
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "service-item";
    input.value = item.code;
    input.checked = !!vw.serviceItem && vw.serviceItem.code === item.code;
    input.disabled = vw.state !== "idle";
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
    const tags = [
      [item.code, "tag mono"],
      [catLabel(item.category), "tag"],
      [item.department, "tag"],
      [t(`level.${item.level}`), `tag level-${item.level}`],
    ];
    for (const [v, cls] of tags) {
      if (!v) continue;
      const tag = document.createElement("span");
      tag.className = cls;
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
  p.textContent = `${t("caller.service.selected")}: ${itemTitle(item)} (${item.code}) · ${t(`level.${item.level}`)}`;
  p.hidden = false;
  renderSummary();
  updateCallButton();
}

function renderSummary() {
  const parts = [];
  if (vw.serviceItem) parts.push(`${itemTitle(vw.serviceItem)} (${vw.serviceItem.code})`);
  const who = [$("company").value.trim(), $("name").value.trim()].filter(Boolean).join(" · ");
  if (who) parts.push(who);
  $("summary").textContent = parts.join(" — ");
}

// ---------------------------------------------------------------- call button, states

function canCall() {
  return !!vw.serviceItem && $("name").value.trim().length > 0 && !creditError() && !phoneError()
    && vw.socket && vw.socket.connected;
}

function updateCallButton() {
  const ok = canCall();
  $("call-btn").disabled = !ok || vw.state !== "idle";
  $("call-need").hidden = ok;
  const step = vw.state !== "idle" ? 4 : !vw.serviceItem ? 1 : !$("name").value.trim() ? 2 : 3;
  for (const li of document.querySelectorAll(".steps li")) {
    const n = Number(li.dataset.step);
    li.classList.toggle("done", n < step);
    li.classList.toggle("current", n === step);
  }
}

function setState(state) {
  vw.state = state;
  document.body.dataset.state = state;
  $("call-status").textContent = t(`caller.status.${vw.held && state === "connected" ? "held" : state}`);
  $("idle-actions").hidden = !(state === "idle" || state === "requesting");
  $("waiting-panel").hidden = state !== "queued";
  $("call-panel").hidden = state !== "connected";
  $("ended-panel").hidden = state !== "ended";
  $("call-controls").hidden = state !== "connected";
  $("device-panel").hidden = state === "connected";
  $("form-panel").hidden = !(state === "idle" || state === "requesting");
  $("wait-overlay").hidden = state !== "queued";
  $("step3-title").textContent = state === "idle" || state === "requesting" ? t("caller.step3") : t("caller.stage");
  for (const id of ["service-search", "company", "credit-code", "name", "phone", "filter-category", "filter-department", "filter-level"]) {
    $(id).disabled = state !== "idle";
  }
  for (const r of document.querySelectorAll('input[name="service-item"]')) r.disabled = state !== "idle";
  const stage = $("stage");
  stage.classList.toggle("preview", state !== "connected");
  stage.classList.toggle("in-call", state === "connected");
  for (const el of document.querySelectorAll(".session-no")) el.textContent = vw.callId || t("common.none");
  if (state === "connected") startTimer();
  else stopTimer();
  if (state === "queued" && !queuedAt) queuedAt = Date.now();
  if (state !== "queued") queuedAt = 0;
  if (state !== "connected") setHeld(false);
  if (state !== "connected" && vw.sharing) stopShare(false);
  updateCallButton();
}

function startTimer() {
  connectedAt = connectedAt || Date.now();
  stopTimer();
  const tick = () => {
    const s = Math.floor((Date.now() - connectedAt) / 1000);
    $("call-timer").textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  };
  tick();
  timerHandle = setInterval(tick, 500);
}
function stopTimer() {
  if (timerHandle) clearInterval(timerHandle);
  timerHandle = null;
}
setInterval(() => {
  if (vw.state === "queued" && queuedAt) {
    const s = Math.floor((Date.now() - queuedAt) / 1000);
    $("queue-waited").textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }
}, 1000);

function renderQueued() {
  if (!lastQueued) return;
  $("queue-position").textContent = lastQueued.position != null ? String(lastQueued.position) : t("common.none");
  $("queue-wait").textContent = lastQueued.estimated_wait_s != null
    ? (lastQueued.estimated_wait_s === 0 ? t("caller.estimated.now") : `≈ ${fmtDuration(lastQueued.estimated_wait_s)}`)
    : t("common.none");
  if (transferInfo) {
    $("transfer-note").hidden = false;
    const to = transferInfo.specialist ? transferInfo.specialist.display_name : itemTitle(transferInfo.service_item);
    $("transfer-note").textContent = t("caller.transferred", { to });
  } else {
    $("transfer-note").hidden = true;
  }
}

function renderEnd() {
  if (!lastEnd) return;
  const { reason, ended_by: by } = lastEnd;
  let text;
  const key = `reason.${reason}`;
  if (reason === "hangup") text = by === "caller" ? t("reason.caller_hangup") : t("reason.specialist_hangup");
  else if (reason && t(key) !== key) text = t(key);
  else if (by === "caller") text = everConnected ? t("reason.caller_hangup") : t("reason.abandoned");
  else if (by === "specialist") text = t("reason.specialist_hangup");
  else text = t("reason.other", { reason: reason || by || "?" });
  $("end-reason").textContent = text;
  $("rate-form").hidden = !everConnected || $("rate-thanks").hidden === false;
}

function setHeld(held) {
  vw.held = held;
  $("hold-overlay").hidden = !held;
  $("stage").classList.toggle("held", held);
  if (vw.state === "connected") $("call-status").textContent = t(held ? "caller.status.held" : "caller.status.connected");
}

// ---------------------------------------------------------------- media

function showLegState(state) {
  vw.legState = state;
  const el = $("leg-state");
  const key = `leg.${state}`;
  el.textContent = t(key) !== key ? t(key) : state;
  el.dataset.state = state;
}

function savedDevices() {
  try { return JSON.parse(localStorage.getItem(DEVICES) || "{}"); } catch (_) { return {}; }
}

async function startMedia() {
  $("retry-media").hidden = true;
  const dev = savedDevices();
  try {
    try {
      vw.localStream = await getLocalMedia({ audioId: dev.audio, videoId: dev.video });
    } catch (err) {
      if (!dev.audio && !dev.video) throw err;
      vw.localStream = await getLocalMedia(); // a remembered device is gone
    }
    attachVideo($("self-video"), vw.localStream, { muted: true });
    meter.attach(vw.localStream);
  } catch (err) {
    vw.localStream = null;
    showError({ code: err.name || "no_media", message: t("leg.nomedia", { message: err.message || err.name }) });
    $("retry-media").hidden = false;
  }
  mediaTried = true;
  await refreshDevices();
  await openLeg();
}

async function refreshDevices() {
  const track = (kind) => vw.localStream && (kind === "audio" ? vw.localStream.getAudioTracks() : vw.localStream.getVideoTracks())[0];
  const id = (tr) => (tr && tr.getSettings ? tr.getSettings().deviceId : undefined);
  await fillDevices($("camera-select"), "videoinput", id(track("video")));
  await fillDevices($("mic-select"), "audioinput", id(track("audio")));
}

async function switchDevice(kind) {
  const select = kind === "audio" ? $("mic-select") : $("camera-select");
  const deviceId = select.value;
  if (!deviceId) return;
  try {
    const opts = kind === "audio" ? { audioId: deviceId, video: false } : { videoId: deviceId };
    const fresh = await getLocalMedia(opts);
    const track = kind === "audio" ? fresh.getAudioTracks()[0] : fresh.getVideoTracks()[0];
    for (const extra of fresh.getTracks()) if (extra !== track) extra.stop();
    if (!track) return;
    if (!vw.localStream) vw.localStream = new MediaStream();
    const old = kind === "audio" ? vw.localStream.getAudioTracks()[0] : vw.localStream.getVideoTracks()[0];
    if (old) {
      track.enabled = old.enabled;
      vw.localStream.removeTrack(old);
      old.stop();
    }
    vw.localStream.addTrack(track);
    attachVideo($("self-video"), vw.localStream, { muted: true });
    if (kind === "audio") meter.attach(vw.localStream);
    const swapped = vw.leg ? await vw.leg.replaceTrack(kind, track) : false;
    if (!swapped && vw.leg && vw.state !== "connected") openLeg(); // opened without that device: reopen
    const saved = savedDevices();
    saved[kind] = deviceId;
    try { localStorage.setItem(DEVICES, JSON.stringify(saved)); } catch (_) { /* ignore */ }
  } catch (err) {
    showError({ code: err.name || "device_error", message: t("leg.nomedia", { message: err.message || err.name }) });
  }
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
    vw.sharing = false;
    $("share-btn").setAttribute("aria-pressed", "false");
  } catch (err) {
    showLegState("failed");
    showError({ code: "rtc_error", message: err.message || String(err) });
  }
}

// ---------------------------------------------------------------- screen share

async function startShare() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia) {
    showError({ code: "no_screen_share", message: t("caller.share.unsupported") });
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 10, max: 15 } }, audio: false });
  } catch (err) {
    if (err && err.name !== "NotAllowedError") showError({ code: err.name, message: err.message });
    return;
  }
  const track = stream.getVideoTracks()[0];
  if (!track) return;
  track.contentHint = "detail";
  track.addEventListener("ended", () => stopShare(true));
  vw.screenTrack = track;
  try {
    const ok = await vw.leg.shareScreen(track);
    if (ok === false) throw new Error("the server refused the screen share");
  } catch (err) {
    track.stop();
    vw.screenTrack = null;
    showError({ code: "screen_share_failed", message: err.message || String(err) });
    return;
  }
  vw.sharing = true;
  $("share-btn").setAttribute("aria-pressed", "true");
  $("sharing-badge").hidden = false;
  if (vw.callId) emitAck(vw.socket, "call:screen", { call_id: vw.callId, sharing: true });
}

async function stopShare(tell = true) {
  const track = vw.screenTrack;
  vw.screenTrack = null;
  vw.sharing = false;
  $("share-btn").setAttribute("aria-pressed", "false");
  $("sharing-badge").hidden = true;
  if (track) track.stop();
  if (vw.leg && vw.leg.pc) await vw.leg.shareScreen(null).catch(() => {});
  if (tell && vw.callId && vw.state === "connected") emitAck(vw.socket, "call:screen", { call_id: vw.callId, sharing: false });
}

// ---------------------------------------------------------------- socket

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
    showError({ code: "disconnected", message: t("caller.reconnecting") });
    updateCallButton();
  });
  socket.on("disconnect", (reason) => {
    updateCallButton();
    if (reason !== "io client disconnect") showError({ code: "disconnected", message: t("caller.reconnecting") });
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
    const resumed = vw.resuming || (vw.state === "connected" && msg.call_id === vw.callId);
    vw.callId = msg.call_id || vw.callId;
    vw.specialist = msg.specialist || null;
    vw.resuming = false;
    everConnected = true;
    const name = (msg.specialist && msg.specialist.display_name) || t("common.none");
    $("specialist-name").textContent = name;
    $("specialist-badge").textContent = name;
    $("specialist-badge").hidden = false;
    if (!resumed && !transferInfo) chat.clear();
    if (transferInfo) chat.system(t("caller.transfer.connected", { name }));
    transferInfo = null;
    if (!resumed) connectedAt = Date.now();
    setState("connected");
    const rv = $("remote-video");
    if (rv.srcObject) rv.play().catch(() => {});
    $("hangup-btn").focus({ preventScroll: true });
  });
  socket.on("call:ended", (msg) => {
    if (vw.callId && msg.call_id && msg.call_id !== vw.callId) return;
    lastEnd = msg;
    socket.auth = {};
    keepToken(null);
    connectedAt = 0;
    transferInfo = null;
    $("specialist-badge").hidden = true;
    setState("ended");
    renderEnd();
  });
  socket.on("call:held", (msg) => {
    if (vw.callId && msg.call_id !== vw.callId) return;
    setHeld(!!msg.held);
  });
  socket.on("call:transferred", (msg) => {
    if (vw.callId && msg.call_id !== vw.callId) return;
    // The session continues as a new one (new number, new token) with the same connection.
    vw.callId = msg.new_call_id;
    vw.callToken = msg.call_token;
    socket.auth = { resume: msg.call_token };
    keepToken(msg.call_token);
    transferInfo = msg;
    lastQueued = null;
    $("queue-position").textContent = "…";
    $("queue-wait").textContent = "…";
    $("specialist-badge").hidden = true;
    const to = msg.specialist ? msg.specialist.display_name : itemTitle(msg.service_item);
    chat.system(t("caller.transferred", { to }));
    setState("queued");
    renderQueued();
  });
  socket.on("chat:message", (msg) => {
    if (vw.callId && msg.call_id && msg.call_id !== vw.callId) return;
    chat.message(msg);
  });
  socket.on("chat:history", (msg) => {
    if (vw.callId && msg.call_id !== vw.callId) return;
    for (const m of msg.messages || []) chat.message(m);
    loadDocuments();
  });
  socket.on("document:shared", (msg) => {
    if (vw.callId && msg.call_id !== vw.callId) return;
    chat.document(msg.document);
  });
}

async function loadDocuments() {
  if (!vw.callId || !vw.callToken) return;
  try {
    const r = await fetch(`/api/sessions/${vw.callId}/documents`, { headers: { Authorization: `Bearer ${vw.callToken}` } });
    if (!r.ok) return;
    for (const d of (await r.json()).items || []) chat.document(d);
  } catch (_) { /* shown when they arrive */ }
}

function clearErrorIf(code) {
  if ($("error-text").textContent.includes(`(${code})`) || $("error-text").textContent.includes(code)) clearError();
}

// ---------------------------------------------------------------- actions

async function requestCall() {
  clearError();
  showFieldErrors(true);
  if (!canCall()) return;
  saveDetails();
  everConnected = false;
  lastEnd = null;
  lastQueued = null;
  transferInfo = null;
  connectedAt = 0;
  vw.callId = null;
  chat.clear();
  setState("requesting");
  const credit = normaliseCredit($("credit-code").value);
  const payload = {
    service_item: vw.serviceItem.code,
    name: $("name").value.trim(),
    company: $("company").value.trim() || undefined,
    phone: $("phone").value.trim() || undefined,
    credit_code: credit || undefined,
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
    $("cancel-btn").focus({ preventScroll: true });
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
  setTimeout(() => {
    if (vw.state === "queued" || vw.state === "connected" || vw.state === "requesting") {
      lastEnd = { reason: everConnected ? "caller_hangup" : "abandoned", ended_by: "caller" };
      keepToken(null);
      setState("ended");
      renderEnd();
    }
  }, 3000);
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
  $("rate-thanks").focus && $("rate-thanks").focus();
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
  chat.clear();
  setState("idle");
  // The leg stays open across sessions; re-open it only if it died.
  if (!vw.leg || ["failed", "closed", "disconnected"].includes(vw.leg.state)) openLeg();
  $("call-btn").focus({ preventScroll: true });
}

function toggleLocal(kind) {
  const tracks = vw.localStream ? (kind === "audio" ? vw.localStream.getAudioTracks() : vw.localStream.getVideoTracks()) : [];
  if (!tracks.length) return null;
  const enabled = !tracks[0].enabled;
  for (const tr of tracks) tr.enabled = enabled;
  return enabled;
}

// ---------------------------------------------------------------- wiring

function init() {
  applyI18n();
  bindLangSwitch($("lang-switch"));
  onLangChange(() => {
    renderFilters();
    renderItems();
    if (vw.serviceItem) selectItem(vw.serviceItem);
    setState(vw.state);
    setHeld(vw.held);
    renderQueued();
    renderEnd();
    renderSummary();
    showFieldErrors();
    showLegState(vw.legState);
  });
  loadDetails();
  watchFrames($("remote-video"));

  let debounce = null;
  $("service-search").addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(searchItems, 150);
  });
  for (const id of ["filter-category", "filter-department", "filter-level"]) $(id).addEventListener("change", renderItems);
  for (const id of ["company", "credit-code", "name", "phone"]) {
    $(id).addEventListener("input", () => { showFieldErrors(); renderSummary(); updateCallButton(); });
    $(id).addEventListener("blur", () => { $(id).dataset.touched = "1"; showFieldErrors(); });
    $(id).addEventListener("change", saveDetails);
  }
  $("credit-code").addEventListener("change", () => {
    $("credit-code").value = normaliseCredit($("credit-code").value);
  });
  $("remember").addEventListener("change", saveDetails);
  $("call-btn").addEventListener("click", requestCall);
  $("cancel-btn").addEventListener("click", hangup);
  $("hangup-btn").addEventListener("click", hangup);
  $("mute-btn").addEventListener("click", () => {
    const enabled = toggleLocal("audio");
    if (enabled !== null) $("mute-btn").setAttribute("aria-pressed", String(!enabled));
  });
  $("camera-btn").setAttribute("aria-pressed", "true");
  $("camera-btn").addEventListener("click", () => {
    const enabled = toggleLocal("video");
    if (enabled !== null) {
      $("camera-btn").setAttribute("aria-pressed", String(enabled));
      $("stage").classList.toggle("camera-off", !enabled);
    }
  });
  $("share-btn").addEventListener("click", () => (vw.sharing ? stopShare(true) : startShare()));
  $("camera-select").addEventListener("change", () => switchDevice("video"));
  $("mic-select").addEventListener("change", () => switchDevice("audio"));
  if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
    navigator.mediaDevices.addEventListener("devicechange", refreshDevices);
  }
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
  const sendFile = bindChatForm(
    { form: $("chat-form"), input: $("chat-input"), attachButton: $("attach-btn"), fileInput: $("file-input"), status: $("upload-status") },
    { chat, current: () => ({ socket: vw.socket, callId: vw.callId, token: vw.callToken }), onError: showError },
  );
  // Drop a file on the chat to send it.
  const chatBox = $("call-panel");
  chatBox.addEventListener("dragover", (ev) => { ev.preventDefault(); chatBox.classList.add("dropping"); });
  chatBox.addEventListener("dragleave", () => chatBox.classList.remove("dropping"));
  chatBox.addEventListener("drop", (ev) => {
    ev.preventDefault();
    chatBox.classList.remove("dropping");
    const file = ev.dataTransfer.files[0];
    if (file && vw.state === "connected") sendFile(file);
  });

  setState("idle");
  showLegState("new");
  connect();
  loadCatalog();
  searchItems();
  startMedia();
}

init();
