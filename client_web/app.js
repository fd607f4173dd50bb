// Virtual Window — the caller page (served at "/").
//
// Flow: choose a service item (catalog.js) → enterprise details (details.js) → device check
// (camera, microphone, preview, level meter: opened when the caller reaches this step, never
// at page load; the media leg opens here, so the call connects at once) → Call (call:request)
// → queued (call:queued: position, estimated wait, Cancel) → connected (call:connected: video,
// mute, camera, screen share, chat, documents, hold screen) → ended (call:ended: rating and
// session number; the camera and microphone are released, however the session ended). The
// current session, its token and the events about it are in session.js; a reload or network
// blip resumes it.
// Wire contract: docs/contract.md.

import { t, onLangChange, fmtClock } from "/lib/i18n.js";
import { $ } from "/lib/dom.js";
import { mountChrome } from "/lib/chrome.js";
import { showError, clearError } from "/lib/errors.js";
import { request } from "/lib/http.js";
import { connectSocket, emitAck } from "/lib/socket.js";
import { ParticipantLeg } from "/lib/leg.js";
import { ParticipantTiles } from "/lib/participants.js";
import { getLocalMedia, getRememberedMedia, mediaError, swapTrack, toggleTracks, attachVideo, bindUnmute, watchFrames, stopMedia } from "/lib/media.js";
import { mountChat, fillDevices, MicMeter, MediaNotice } from "/lib/callkit.js";
import { mountQuality } from "/lib/quality.js";
import { initCatalog, renderCatalog, selectedItem, itemTitle } from "/c/catalog.js";
import { loadDetails, saveDetails, bindDetails, detailsReady, showFieldErrors, detailsPayload } from "/c/details.js";
import { CallSession } from "/c/session.js";
import { WaitingView, RequeueOffer } from "/c/waiting.js";
import { mountHours, checkHours, hoursOpen, showClosed } from "/c/hours.js";
import { KeepPlace } from "/c/keepplace.js";
import { mountAppointments } from "/c/appointments.js";

const DEVICES = "vw.caller.devices";
const session = new CallSession();

const vw = (window.vw = {
  state: "idle",        // idle | requesting | queued | connected | ended
  get callId() { return session.id; },
  legState: "new",
  held: false,
  sharing: false,
  socket: null,
  leg: null,
  localStream: null,
  screenTrack: null,
  remoteFrames: () => Number($("remote-video").dataset.frames || 0),
  legStats: () => (vw.leg ? vw.leg.stats() : null),
  consult: false,       // the specialist consults a colleague: the caller holds
});

let everConnected = false;  // the current session reached call:connected
let lastEnd = null;         // {reason, ended_by}
let timerHandle = null;
let connectedAt = 0;
let queuedAt = 0;
let waiting = null;         // the waiting screen (waiting.js)
let requeue = null;         // the ended screen's offer to queue again at the front
let keep = null;            // keep my place (keepplace.js)
let mediaTried = false;     // this call's device check ran (getUserMedia succeeded or not)
let devicesOpening = null;  // the device check under way
let deviceTimer = 0;
let transferInfo = null;
let meter = null;
let chat = null;

// ---------------------------------------------------------------- call button, states

function renderSummary() {
  const item = selectedItem();
  const parts = [];
  if (item) parts.push(`${itemTitle(item)} (${item.code})`);
  const who = [$("company").value.trim(), $("name").value.trim()].filter(Boolean).join(" · ");
  if (who) parts.push(who);
  $("summary").textContent = parts.join(" — ");
}

function canCall() {
  return !!selectedItem() && detailsReady() && vw.socket && vw.socket.connected && hoursOpen();
}

function updateCallButton() {
  const ok = canCall();
  $("call-btn").disabled = !ok || vw.state !== "idle";
  $("call-need").hidden = ok;
  $("call-need").textContent = t(hoursOpen() ? "caller.call.need" : "caller.closed.call");
  const step = vw.state !== "idle" ? 4 : !selectedItem() ? 1 : !$("name").value.trim() ? 2 : 3;
  for (const li of document.querySelectorAll(".steps li")) {
    const n = Number(li.dataset.step);
    li.classList.toggle("done", n < step);
    li.classList.toggle("current", n === step);
  }
  if (step >= 3 && vw.state === "idle" && !mediaTried) scheduleDeviceCheck();
}

function showSessionNo() {
  for (const node of document.querySelectorAll(".session-no")) node.textContent = session.number || t("common.none");
}

function setState(state) {
  vw.state = state;
  document.body.dataset.state = state;
  const before = state === "idle" || state === "requesting";
  $("call-status").textContent = t(`caller.status.${vw.held && state === "connected" ? "held" : state}`);
  $("idle-actions").hidden = !before;
  $("waiting-panel").hidden = state !== "queued";
  $("call-panel").hidden = state !== "connected";
  $("ended-panel").hidden = state !== "ended";
  $("call-controls").hidden = state !== "connected";
  $("device-panel").hidden = state === "connected";
  $("form-panel").hidden = !before;
  $("wait-overlay").hidden = state !== "queued";
  $("step3-title").textContent = before ? t("caller.step3") : t("caller.stage");
  for (const id of ["service-search", "company", "credit-code", "name", "phone", "filter-category", "filter-department", "filter-level"]) {
    $(id).disabled = state !== "idle";
  }
  for (const r of document.querySelectorAll('input[name="service-item"]')) r.disabled = state !== "idle";
  const stage = $("stage");
  stage.classList.toggle("preview", state !== "connected");
  stage.classList.toggle("in-call", state === "connected");
  showSessionNo();
  if (state === "connected") startTimer();
  else stopTimer();
  if (state === "queued" && !queuedAt) queuedAt = Date.now();
  if (state !== "queued") queuedAt = 0;
  if (state !== "connected") setHeld(false);
  if (state !== "connected" && vw.sharing) stopShare(false);
  if (state === "ended") releaseDevices();
  showDeviceCheck();
  updateCallButton();
}

function startTimer() {
  connectedAt = connectedAt || Date.now();
  stopTimer();
  const tick = () => { $("call-timer").textContent = fmtClock((Date.now() - connectedAt) / 1000); };
  tick();
  timerHandle = setInterval(tick, 500);
}
function stopTimer() {
  if (timerHandle) clearInterval(timerHandle);
  timerHandle = null;
}
setInterval(() => {
  if (vw.state === "queued" && queuedAt) $("queue-waited").textContent = fmtClock((Date.now() - queuedAt) / 1000);
}, 1000);

function renderQueued() {
  waiting.render();
  $("transfer-note").hidden = !transferInfo;
  if (transferInfo) $("transfer-note").textContent = t("caller.transferred", { to: transferTarget(transferInfo) });
}

function transferTarget(msg) {
  return msg.specialist ? msg.specialist.display_name : itemTitle(msg.service_item);
}

function renderEnd() {
  if (!lastEnd) return;
  const { reason, ended_by: by } = lastEnd;
  let text;
  const key = `reason.${reason}`;
  if (by === "caller" && !everConnected && (reason === "hangup" || reason === "abandoned")) text = t("reason.caller_cancelled");
  else if (reason === "hangup") text = by === "caller" ? t("reason.caller_hangup") : t("reason.specialist_hangup");
  else if (reason && t(key) !== key) text = t(key);
  else if (by === "caller") text = everConnected ? t("reason.caller_hangup") : t("reason.abandoned");
  else if (by === "specialist") text = t("reason.specialist_hangup");
  else text = t("reason.other", { reason: reason || by || "?" });
  $("end-reason").textContent = text;
  requeue.render();
  $("rate-form").hidden = !everConnected || $("rate-thanks").hidden === false;
}

/** The session is over (told by the server, or it could not be resumed). */
let mediaNotice = null; // "the specialist is reconnecting…" (S→C call:media)
let quality = null; // the network indicator, "video paused: weak network" (S→C call:quality, call:video)

function ended(end) {
  lastEnd = end;
  requeue.show(end);
  keep.clear();
  if (end.reason === "closed") checkHours(); // the center closed with nobody left to answer
  if (mediaNotice) mediaNotice.clear();
  if (quality) quality.clear();
  session.forget();
  connectedAt = 0;
  transferInfo = null;
  $("specialist-badge").hidden = true;
  leaveConference();
  setState("ended");
  renderEnd();
}

/** On a phone the caller scrolled down to the Call button: bring the video's top back on screen. */
function revealStage() {
  const top = $("stage").getBoundingClientRect().top;
  if (top < 0 || top > window.innerHeight / 3) $("stage").scrollIntoView({ block: "start" });
}

function setHeld(held, reason = vw.consult ? "consult" : null) {
  vw.held = held;
  vw.consult = held && reason === "consult";
  // in a consult the hold screen says why: the specialist is asking a colleague
  const [title, text] = vw.consult ? ["conf.caller.consult.title", "conf.caller.consult.text"] : ["caller.hold.title", "caller.hold.text"];
  $("hold-title").dataset.i18n = title;
  $("hold-title").textContent = t(title);
  $("hold-text").dataset.i18n = text;
  $("hold-text").textContent = t(text);
  $("hold-overlay").hidden = !held;
  $("stage").classList.toggle("held", held);
  if (vw.state === "connected") $("call-status").textContent = t(held ? "caller.status.held" : "caller.status.connected");
}

// ---------------------------------------------------------------- media

function showLegState(state) {
  vw.legState = state;
  const key = `leg.${state}`;
  $("leg-state").textContent = t(key) !== key ? t(key) : state;
  $("leg-state").dataset.state = state;
}

function savedDevices() {
  try { return JSON.parse(localStorage.getItem(DEVICES) || "{}"); } catch (_) { return {}; }
}

/** The device check once the caller reaches it (a pause after typing, so no prompt comes mid-word). */
function scheduleDeviceCheck() {
  clearTimeout(deviceTimer);
  deviceTimer = setTimeout(() => {
    if (vw.state === "idle" && !mediaTried) openDevices();
  }, 600);
}

/** The device check: the camera and microphone, then the leg with them (one check at a time). */
function openDevices() {
  clearTimeout(deviceTimer);
  if (!devicesOpening) devicesOpening = startMedia().finally(() => { devicesOpening = null; });
  return devicesOpening;
}

async function startMedia() {
  $("retry-media").hidden = true;
  $("devices-btn").hidden = true;
  const dev = savedDevices();
  try {
    const stream = await getRememberedMedia({ audioId: dev.audio, videoId: dev.video });
    if (vw.state === "ended") {
      stopMedia(stream); // the session ended meanwhile (a resumed one): nothing to show it for
      return;
    }
    vw.localStream = stream;
    attachVideo($("self-video"), vw.localStream, { muted: true });
    meter.attach(vw.localStream);
  } catch (err) {
    vw.localStream = null;
    showError(mediaError(err, "no_media"));
    $("retry-media").hidden = false;
  }
  mediaTried = true;
  showDeviceCheck();
  await refreshDevices();
  await openLeg();
}

/**
 * The session is over, however it ended: every local track stops (the camera light goes off),
 * the self-view empties and the leg closes. A new call's device check opens them again.
 */
function releaseDevices() {
  clearTimeout(deviceTimer);
  meter.stop();
  vw.localStream = stopMedia(vw.localStream, $("self-video"));
  mediaTried = false;
  $("retry-media").hidden = true;
  if (vw.leg) {
    vw.leg.close();
    showLegState("closed");
  }
}

/** The preview says "camera off" while no camera is live (before the device check, after the call). */
function showDeviceCheck() {
  const video = vw.localStream && vw.localStream.getVideoTracks()[0];
  $("self-off").hidden = vw.state === "connected" || (!!video && video.readyState === "live");
  $("devices-btn").hidden = vw.state !== "idle" || mediaTried || !!devicesOpening;
}

async function refreshDevices() {
  const id = (tracks) => (tracks && tracks[0] && tracks[0].getSettings ? tracks[0].getSettings().deviceId : undefined);
  const stream = vw.localStream;
  await fillDevices($("camera-select"), "videoinput", id(stream && stream.getVideoTracks()));
  await fillDevices($("mic-select"), "audioinput", id(stream && stream.getAudioTracks()));
}

async function switchDevice(kind) {
  const select = kind === "audio" ? $("mic-select") : $("camera-select");
  const deviceId = select.value;
  if (!deviceId) return;
  try {
    const fresh = await getLocalMedia(kind === "audio" ? { audioId: deviceId, video: false } : { videoId: deviceId });
    const track = kind === "audio" ? fresh.getAudioTracks()[0] : fresh.getVideoTracks()[0];
    for (const extra of fresh.getTracks()) if (extra !== track) extra.stop();
    if (!track) return;
    vw.localStream = swapTrack(vw.localStream, track);
    attachVideo($("self-video"), vw.localStream, { muted: true });
    if (kind === "audio") meter.attach(vw.localStream);
    const swapped = vw.leg ? await vw.leg.replaceTrack(kind, track) : false;
    if (!swapped && vw.leg && vw.state !== "connected") openLeg(); // opened without that device: reopen
    const saved = savedDevices();
    saved[kind] = deviceId;
    try { localStorage.setItem(DEVICES, JSON.stringify(saved)); } catch (_) { /* ignore */ }
  } catch (err) {
    showError(mediaError(err, "device_error"));
  }
}

async function openLeg() {
  // Needs both the socket and the outcome of the device check; whichever comes last opens it.
  if (!mediaTried || !vw.socket || !vw.socket.connected) return;
  if (!vw.leg) {
    vw.leg = new ParticipantLeg(vw.socket, {
      onRemoteStream: (stream) => {
        if (tiles.active) tiles.refresh();
        else attachVideo($("remote-video"), stream, { onAutoplayBlocked: () => ($("unmute-remote").hidden = false) });
      },
      onAddedTrack: () => tiles.refresh(), // a second specialist's media, on the m-lines rtc:renegotiate added
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
  if (session.id) emitAck(vw.socket, "call:screen", { call_id: session.id, sharing: true });
}

async function stopShare(tell = true) {
  const track = vw.screenTrack;
  vw.screenTrack = null;
  vw.sharing = false;
  $("share-btn").setAttribute("aria-pressed", "false");
  $("sharing-badge").hidden = true;
  if (track) track.stop();
  if (vw.leg && vw.leg.pc) await vw.leg.shareScreen(null).catch(() => {});
  if (tell && session.id && vw.state === "connected") emitAck(vw.socket, "call:screen", { call_id: session.id, sharing: false });
}

// ---------------------------------------------------------------- socket

function connect() {
  const socket = connectSocket("/caller", session.auth);
  vw.socket = socket;
  session.socket = socket;

  socket.on("connect", () => {
    clearError("disconnected");
    updateCallButton();
    openLeg(); // a new connection has no leg on the server: (re)open it
  });
  socket.on("connect_error", () => {
    if (socket.auth && socket.auth.resume && !socket.active) {
      // The session could not be resumed (it ended meanwhile): start afresh.
      session.forget();
      if (vw.state !== "idle") ended({ reason: "caller_disconnected", ended_by: "system" });
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

  session.on("call:callback_due", (msg) => keep.due(msg));
  session.on("call:queued", (msg) => {
    waiting.update(msg);
    if (msg.call_id) session.id = msg.call_id;
    keep.update(msg);
    if (vw.state === "requesting" || vw.state === "queued" || (session.resuming && vw.state === "idle")) setState("queued");
    session.resuming = false;
    renderQueued();
  });
  session.on("call:connected", (msg) => {
    const resumed = session.resuming || (vw.state === "connected" && msg.call_id === session.id);
    session.id = msg.call_id || session.id;
    if (msg.reference) session.reference = msg.reference; // a resumed page learns it here too
    session.resuming = false;
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
    revealStage();
  });
  session.on("call:ended", ended);
  session.on("call:held", (msg) => setHeld(!!msg.held, msg.reason || null));
  mediaNotice = new MediaNotice($("media-overlay"), $("media-text"), { prefix: "caller", self: "caller" });
  session.on("call:media", (msg) => mediaNotice.update(msg));
  quality = mountQuality($("stage"), { self: "caller", camera: $("camera-btn") });
  session.on("call:quality", quality.quality);
  session.on("call:video", quality.video);
  session.on("call:transferred", (msg) => {
    if (msg.handover) {
      handedOver(msg);
      return;
    }
    // The session continues as a new one (new number, new token) with the same connection.
    session.begin(msg.new_call_id, msg.call_token, msg.reference);
    transferInfo = msg;
    waiting.clear();
    quality.clear(); // the next specialist's link is another one
    $("specialist-badge").hidden = true;
    chat.system(t("caller.transferred", { to: transferTarget(msg) }));
    setState("queued");
    renderQueued();
  });
  session.on("chat:message", (msg) => chat.message(msg));
  session.on("chat:history", (msg) => {
    for (const m of msg.messages || []) chat.message(m);
    loadDocuments();
  });
  session.on("document:shared", (msg) => chat.document(msg.document));
  session.on("call:participants", (msg) => tiles.update(msg, vw.leg));
  session.on("call:supervisor", showSupervisor);
}

// ---------------------------------------------------------------- several people in one call

// The specialists in the call, a tile each (shared_web/participants.js): with two, side by side.
const tiles = new ParticipantTiles({
  stage: $("stage"),
  main: $("remote-video"),
  selfId: () => "caller",
  pickMain: (others) => others.find((p) => p.role === "specialist"),
  onMain: (p) => {
    if (!p || vw.state !== "connected") return;
    $("specialist-badge").textContent = p.display_name || "";
    $("specialist-badge").hidden = false;
  },
  onAutoplayBlocked: () => ($("unmute-remote").hidden = false),
});

/** A warm hand-over: the same call goes on with the invited specialist, without a queue (S→C call:transferred {handover}). */
function handedOver(msg) {
  session.begin(msg.new_call_id, msg.call_token, msg.reference);
  leaveConference(); // the new session starts as a call of two (its call:participants, if any, follow)
  const name = (msg.specialist && msg.specialist.display_name) || t("common.none");
  chat.system(t("conf.caller.handover", { name }));
  $("specialist-name").textContent = name;
  showSessionNo();
}

/** A supervisor joined the call, and the caller sees and hears them (S→C call:supervisor, barge only). */
function showSupervisor(msg) {
  const name = (msg && msg.supervisor && msg.supervisor.display_name) || t("common.none");
  $("supervisor-note").hidden = !(msg && msg.mode);
  $("supervisor-note").textContent = msg && msg.mode ? t("conf.caller.supervisor", { name }) : "";
}

/** The call is over (or goes on as a new session of two): no tiles, no supervisor. */
function leaveConference() {
  tiles.clear();
  showSupervisor(null);
  if (vw.leg) attachVideo($("remote-video"), vw.leg.remoteStream, { onAutoplayBlocked: () => ($("unmute-remote").hidden = false) });
}

async function loadDocuments() {
  if (!session.id || !session.token) return;
  const docs = await request(`/api/sessions/${session.id}/documents`, { token: session.token }).catch(() => ({}));
  for (const d of docs.items || []) chat.document(d); // else shown when they arrive
}

// ---------------------------------------------------------------- actions

/** Call; `appointment`: the token of a booked appointment, which says the item and the caller. */
async function requestCall(appointment) {
  clearError();
  const booked = typeof appointment === "string";
  if (booked ? vw.state !== "idle" : (showFieldErrors(true), !canCall())) return;
  saveDetails();
  everConnected = false;
  lastEnd = null;
  waiting.clear();
  requeue.show(null);
  transferInfo = null;
  connectedAt = 0;
  session.reset();
  chat.clear();
  setState("requesting");
  if (!mediaTried || devicesOpening) await openDevices(); // Call pressed before the device check ran
  const ack = await emitAck(vw.socket, "call:request",
    booked ? { appointment, ...detailsPayload() } : { service_item: selectedItem().code, ...detailsPayload() });
  if (!ack.ok) {
    setState("idle");
    if (ack.error && ack.error.code === "closed") showClosed(ack); // the closed screen, not an error
    else showError(ack);
    return;
  }
  session.begin(ack.call_id, ack.call_token, ack.reference); // reconnects (and reloads) resume this session
  if (vw.state === "requesting") {
    setState("queued");
    renderQueued();
    $("cancel-btn").focus({ preventScroll: true });
  } else {
    showSessionNo();
  }
}

async function hangup() {
  if (!session.id) return;
  const ack = await emitAck(vw.socket, "call:hangup", { call_id: session.id });
  if (!ack.ok) {
    showError(ack);
    return;
  }
  // The server confirms with call:ended; if it already ended, show that.
  setTimeout(() => {
    if (vw.state === "queued" || vw.state === "connected" || vw.state === "requesting") {
      lastEnd = { reason: everConnected ? "caller_hangup" : "abandoned", ended_by: "caller" };
      session.forget();
      setState("ended");
      renderEnd();
    }
  }, 3000);
}

/** Wait again at the front of the queue: the specialist's console dropped and did not come back. */
async function requeueCall(callId) {
  clearError();
  $("requeue-btn").disabled = true;
  session.id = null; // the new session's call:queued may come before the ack: let it through
  const ack = await emitAck(vw.socket, "call:requeue", { call_id: callId });
  $("requeue-btn").disabled = false;
  requeue.show(null);
  if (!ack.ok) {
    session.id = callId;
    showError(ack);
    return;
  }
  everConnected = false;
  lastEnd = null;
  connectedAt = 0;
  session.begin(ack.call_id, ack.call_token, ack.reference);
  setState("queued");
  $("cancel-btn").focus({ preventScroll: true });
}

async function rate(ev) {
  ev.preventDefault();
  const chosen = document.querySelector('input[name="satisfaction"]:checked');
  if (!chosen || !session.id) return;
  const payload = { call_id: session.id, satisfaction: Number(chosen.value) };
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
  session.reset();
  everConnected = false;
  lastEnd = null;
  $("rate-form").reset();
  $("rate-btn").disabled = true;
  $("rate-thanks").hidden = true;
  $("rate-form").hidden = false;
  chat.clear();
  setState("idle"); // the device check opens the camera and microphone again
  $("call-btn").focus({ preventScroll: true });
}

// ---------------------------------------------------------------- wiring

function init() {
  mountChrome();
  meter = new MicMeter($("mic-level"), $("mic-level-bar"));
  const mounted = mountChat($("chat"), {
    me: "caller",
    current: () => ({ socket: vw.socket, callId: session.id, token: session.token }),
    onError: showError,
  });
  chat = mounted.chat;
  waiting = new WaitingView({ onLeave: hangup });
  requeue = new RequeueOffer({ onRequeue: requeueCall });
  keep = new KeepPlace({ current: () => ({ socket: vw.socket, callId: session.id }), onError: showError });
  const back = keep.takeLink(); // opened from the resume link: back to the kept place
  if (back) {
    session.begin(null, back);
    session.resuming = true;
  }
  onLangChange(() => {
    renderCatalog();
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

  bindDetails(() => { renderSummary(); updateCallButton(); });
  $("call-btn").addEventListener("click", () => requestCall());
  $("cancel-btn").addEventListener("click", hangup);
  $("hangup-btn").addEventListener("click", hangup);
  $("mute-btn").addEventListener("click", () => {
    const enabled = toggleTracks(vw.localStream, "audio");
    if (enabled !== null) $("mute-btn").setAttribute("aria-pressed", String(!enabled));
  });
  $("camera-btn").setAttribute("aria-pressed", "true");
  $("camera-btn").addEventListener("click", () => {
    const enabled = toggleTracks(vw.localStream, "video");
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
  bindUnmute($("unmute-remote"), $("remote-video"));
  $("unmute-remote").addEventListener("click", () => tiles.resume());
  $("retry-media").addEventListener("click", openDevices);
  $("devices-btn").addEventListener("click", openDevices);
  $("rate-form").addEventListener("submit", rate);
  $("rate-form").addEventListener("change", () => {
    $("rate-btn").disabled = !document.querySelector('input[name="satisfaction"]:checked');
  });
  $("again-btn").addEventListener("click", newCall);
  // Drop a file on the chat to send it.
  const chatBox = $("call-panel");
  chatBox.addEventListener("dragover", (ev) => { ev.preventDefault(); chatBox.classList.add("dropping"); });
  chatBox.addEventListener("dragleave", () => chatBox.classList.remove("dropping"));
  chatBox.addEventListener("drop", (ev) => {
    ev.preventDefault();
    chatBox.classList.remove("dropping");
    const file = ev.dataTransfer.files[0];
    if (file && vw.state === "connected") mounted.sendFile(file);
  });

  setState("idle");
  showLegState("new");
  connect();
  mountHours({ onChange: updateCallButton });
  initCatalog({
    choosable: () => vw.state === "idle",
    selected: () => { renderSummary(); updateCallButton(); checkHours((selectedItem() || {}).code || null); },
  });
  mountAppointments({ selectedItem, details: detailsPayload, onJoin: requestCall, onError: showError });
  refreshDevices(); // the lists only: the camera and microphone open at the device check
  if (session.resuming) openDevices(); // a reload in a call: back on camera at once
}

init();
