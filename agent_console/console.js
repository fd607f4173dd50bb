// Virtual Window — the specialist console (served at "/console").
//
// Log in (POST /api/login) → connect /agent with the token → open the media
// leg at once (kept across calls, so answering needs no negotiation) →
// Ready / Away / Auto-answer → call:offered (Accept / Decline, countdown) →
// call:connected (video, Hang up, Mute) → call:ended → wrap-up (call:wrapup).

import { io } from "/c/vendor/socket.io.esm.min.js";
import { t, applyI18n, bindLangSwitch, onLangChange, fmtDuration } from "/c/i18n.js";
import { MediaLeg, getLocalMedia, fetchConfig, emitAck, toggleTracks, attachVideo, watchFrames } from "/c/rtc.js";
import { login, loadSession, clearSession, itemLabel } from "/s/staff.js";

const $ = (id) => document.getElementById(id);
const ROLE = "specialist";

const vw = (window.vw = {
  state: "offline",   // the agent state from S→C agent:state
  callId: null,
  offer: null,
  call: null,          // {call_id, service_item, caller}
  legState: "new",
  user: null,
  socket: null,
  leg: null,
  localStream: null,
  remoteFrames: () => Number($("remote-video").dataset.frames || 0),
});

let countdownHandle = null;
let timerHandle = null;

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

// ---------------------------------------------------------------- views

function showLogin(message) {
  $("login-view").hidden = false;
  $("console-view").hidden = true;
  $("logout-btn").hidden = true;
  $("whoami").hidden = true;
  if (message) showError({ message });
  $("username").focus();
}

function showConsole() {
  $("login-view").hidden = true;
  $("console-view").hidden = false;
  $("logout-btn").hidden = false;
  $("whoami").hidden = false;
  $("whoami").textContent = `${t("console.signed")}: ${vw.user.display_name || vw.user.username}`;
}

function renderState() {
  const s = vw.state;
  const pill = $("agent-state");
  const key = `state.${s}`;
  pill.textContent = `${t("console.state")}: ${t(key) !== key ? t(key) : s}`;
  pill.dataset.state = s;
  document.body.dataset.state = s;
  const canChange = ["ready", "away", "offline"].includes(s);
  $("ready-btn").disabled = !canChange || s === "ready";
  $("away-btn").disabled = !canChange || s === "away";
  $("ready-btn").setAttribute("aria-pressed", String(s === "ready"));
  $("away-btn").setAttribute("aria-pressed", String(s === "away"));
  $("idle-text").textContent = s === "ready" ? t("console.idle.ready") : t("console.idle");
  $("idle-text").hidden = !canChange;
  if (s !== "ringing") hideOffer();
}

function showLegState(state) {
  vw.legState = state;
  const key = `leg.${state}`;
  $("leg-state").textContent = t(key) !== key ? t(key) : state;
  $("leg-state").dataset.state = state;
}

// ---------------------------------------------------------------- offer

function showOffer(msg) {
  vw.offer = msg;
  vw.callId = msg.call_id;
  const caller = msg.caller || {};
  $("offer-caller").textContent = caller.name || t("common.none");
  $("offer-company").textContent = caller.company || t("common.none");
  $("offer-item").textContent = itemLabel(msg.service_item);
  $("offer-waited").textContent = fmtDuration((msg.queued_ms || 0) / 1000);
  $("offer-card").hidden = false;
  $("accept-btn").disabled = false;
  $("decline-btn").disabled = false;
  const total = Math.max(1, Number(msg.timeout_s) || 15);
  const deadline = Date.now() + total * 1000;
  clearInterval(countdownHandle);
  const tick = () => {
    const left = Math.max(0, (deadline - Date.now()) / 1000);
    $("offer-countdown").textContent = `${Math.ceil(left)} s`;
    $("offer-bar").style.width = `${(100 * left) / total}%`;
    if (left <= 0) hideOffer();
  };
  tick();
  countdownHandle = setInterval(tick, 200);
  $("accept-btn").focus();
  notify(msg);
}

function hideOffer() {
  clearInterval(countdownHandle);
  countdownHandle = null;
  $("offer-card").hidden = true;
  vw.offer = null;
}

function notify(msg) {
  // A short two-tone chime: the console is used with a headset.
  try {
    const ctx = new AudioContext();
    const o = ctx.createOscillator();
    const g = ctx.createGain();
    o.connect(g).connect(ctx.destination);
    g.gain.value = 0.05;
    o.frequency.setValueAtTime(880, ctx.currentTime);
    o.frequency.setValueAtTime(660, ctx.currentTime + 0.15);
    o.start();
    o.stop(ctx.currentTime + 0.3);
    o.onended = () => ctx.close();
  } catch (_) { /* no audio */ }
  if (document.hidden && "Notification" in window && Notification.permission === "granted") {
    new Notification(t("console.offer"), { body: `${(msg.caller && msg.caller.name) || ""} · ${itemLabel(msg.service_item)}` });
  }
}

// ---------------------------------------------------------------- call

function showCall(msg) {
  hideOffer();
  vw.call = msg;
  vw.callId = msg.call_id;
  const caller = msg.caller || {};
  $("call-caller").textContent = caller.name || t("common.none");
  $("call-company").textContent = caller.company || t("common.none");
  $("call-phone").textContent = caller.phone || t("common.none");
  $("call-item").textContent = itemLabel(msg.service_item);
  for (const el of document.querySelectorAll(".session-no")) el.textContent = msg.call_id;
  $("chat-log").replaceChildren();
  $("wrapup-card").hidden = true;
  $("call-card").hidden = false;
  const rv = $("remote-video");
  if (rv.srcObject) rv.play().catch(() => {});
  const started = Date.now();
  clearInterval(timerHandle);
  timerHandle = setInterval(() => {
    const s = Math.floor((Date.now() - started) / 1000);
    $("call-timer").textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }, 500);
  $("call-timer").textContent = "0:00";
}

function showWrapup(msg) {
  clearInterval(timerHandle);
  hideOffer();
  $("call-card").hidden = true;
  const call = vw.call || {};
  const caller = (call.caller && call.caller.name) || "";
  const byKey = `console.endedby.${msg.ended_by}`;
  const by = t(byKey) !== byKey ? t(byKey) : msg.ended_by || "";
  const reason = [by, msg.reason && msg.reason !== "hangup" ? msg.reason : ""].filter(Boolean).join(", ");
  $("wrapup-summary").textContent = `${t("caller.session")} ${msg.call_id}${caller ? ` · ${caller}` : ""}${reason ? ` · ${reason}` : ""}`;
  $("wrapup-form").reset();
  $("wrapup-btn").disabled = false;
  $("wrapup-card").hidden = false;
  vw.wrapupCallId = msg.call_id;
  $("notes").focus();
}

// ---------------------------------------------------------------- media

async function startMedia() {
  try {
    vw.localStream = await getLocalMedia();
    attachVideo($("self-video"), vw.localStream, { muted: true });
  } catch (err) {
    vw.localStream = null;
    showError({ code: err.name || "no_media", message: t("leg.nomedia", { message: err.message || err.name }) });
  }
  vw.mediaTried = true;
  openLeg();
}

async function openLeg() {
  if (!vw.mediaTried || !vw.socket || !vw.socket.connected) return;
  const cfg = await fetchConfig();
  if (!vw.leg) {
    vw.leg = new MediaLeg(vw.socket, {
      iceServers: cfg.ice_servers || [],
      onRemoteStream: (stream) => attachVideo($("remote-video"), stream, {
        onAutoplayBlocked: () => ($("unmute-remote").hidden = false),
      }),
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

function connect(token) {
  const socket = io("/agent", { auth: { token }, transports: ["websocket", "polling"] });
  vw.socket = socket;
  let everConnected = false;

  socket.on("connect", () => {
    everConnected = true;
    if ($("error-text").textContent.includes("disconnected")) clearError();
    openLeg(); // a new connection has no leg on the server
  });
  socket.on("connect_error", (err) => {
    if (!socket.active) {
      // Refused by the server (bad or expired token, wrong role): sign in again.
      teardown();
      clearSession(ROLE);
      showLogin(err.message || t("login.role.specialist"));
      return;
    }
    if (everConnected) showError({ code: "disconnected", message: err.message });
  });
  socket.on("disconnect", (reason) => {
    if (reason === "io client disconnect") return;
    if (reason === "io server disconnect") {
      teardown();
      clearSession(ROLE);
      showLogin(t("login.role.specialist"));
      return;
    }
    showError({ code: "disconnected", message: reason });
  });

  socket.on("agent:state", (msg) => {
    vw.state = msg.state;
    if (msg.call_id) vw.callId = msg.call_id;
    renderState();
  });
  socket.on("call:offered", (msg) => showOffer(msg));
  socket.on("call:offer_ended", (msg) => {
    // Server extension: the offer was declined, timed out or withdrawn.
    if (!vw.offer || !msg || msg.call_id === vw.offer.call_id) hideOffer();
  });
  socket.on("call:connected", (msg) => showCall(msg));
  socket.on("call:ended", (msg) => showWrapup(msg));
  socket.on("chat:message", (msg) => {
    if (vw.callId && msg.call_id && msg.call_id !== vw.callId) return;
    if (msg.from === "specialist") return; // our own lines are shown when acknowledged
    addChat(t("chat.caller"), msg.text, msg.from);
  });
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

function teardown() {
  if (vw.leg) vw.leg.destroy();
  vw.leg = null;
  if (vw.socket) {
    vw.socket.removeAllListeners();
    vw.socket.disconnect();
  }
  vw.socket = null;
  if (vw.localStream) for (const tr of vw.localStream.getTracks()) tr.stop();
  vw.localStream = null;
  vw.mediaTried = false;
  vw.state = "offline";
  hideOffer();
  clearInterval(timerHandle);
  $("call-card").hidden = true;
  $("wrapup-card").hidden = true;
  renderState();
  showLegState("closed");
}

function start(session) {
  vw.user = session.user;
  showConsole();
  renderState();
  showLegState("new");
  connect(session.token);
  startMedia();
}

// ---------------------------------------------------------------- actions

async function setAgentState(state) {
  clearError();
  const ack = await emitAck(vw.socket, "agent:state", { state, auto_answer: $("auto-answer").checked });
  if (!ack.ok) showError(ack);
  else if (ack.state) {
    vw.state = ack.state;
    renderState();
  }
}

async function callAction(event) {
  if (!vw.callId) return;
  const ack = await emitAck(vw.socket, event, { call_id: vw.callId });
  if (!ack.ok) showError(ack);
  return ack;
}

function init() {
  applyI18n();
  bindLangSwitch($("lang-switch"));
  onLangChange(() => {
    renderState();
    showLegState(vw.legState);
    if (vw.user) $("whoami").textContent = `${t("console.signed")}: ${vw.user.display_name || vw.user.username}`;
    if (vw.offer) $("offer-item").textContent = itemLabel(vw.offer.service_item);
    if (vw.call) $("call-item").textContent = itemLabel(vw.call.service_item);
  });
  watchFrames($("remote-video"));
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
  $("logout-btn").addEventListener("click", async () => {
    if (vw.socket && vw.socket.connected && ["ready", "away"].includes(vw.state)) {
      await emitAck(vw.socket, "agent:state", { state: "offline" }, 3000);
    }
    teardown();
    clearSession(ROLE);
    vw.user = null;
    showLogin();
  });

  $("ready-btn").addEventListener("click", () => setAgentState("ready"));
  $("away-btn").addEventListener("click", () => setAgentState("away"));
  $("auto-answer").addEventListener("change", () => {
    if (vw.state === "ready" || vw.state === "away") setAgentState(vw.state);
  });
  $("accept-btn").addEventListener("click", async () => {
    $("accept-btn").disabled = true;
    $("decline-btn").disabled = true;
    const ack = await callAction("call:accept");
    if (ack && !ack.ok) hideOffer();
  });
  $("decline-btn").addEventListener("click", async () => {
    $("accept-btn").disabled = true;
    $("decline-btn").disabled = true;
    await callAction("call:decline");
    hideOffer();
  });
  $("hangup-btn").addEventListener("click", () => callAction("call:hangup"));
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
  $("wrapup-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const callId = vw.wrapupCallId;
    if (!callId) return;
    $("wrapup-btn").disabled = true;
    const payload = { call_id: callId, disposition: $("disposition").value, difficulty: Number($("difficulty").value) };
    const notes = $("notes").value.trim();
    if (notes) payload.notes = notes;
    const ack = await emitAck(vw.socket, "call:wrapup", payload);
    if (!ack.ok) {
      $("wrapup-btn").disabled = false;
      showError(ack);
      return;
    }
    $("wrapup-card").hidden = true;
    vw.call = null;
    vw.callId = null;
    vw.wrapupCallId = null;
  });
  $("chat-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = $("chat-input").value.trim();
    if (!text || !vw.callId) return;
    $("chat-input").value = "";
    const ack = await emitAck(vw.socket, "chat:message", { call_id: vw.callId, text });
    if (!ack.ok) showError(ack);
    else addChat(t("chat.you"), text, "specialist");
  });

  renderState();
  const session = loadSession(ROLE);
  if (session) start(session);
  else showLogin();
}

init();
