// Virtual Window — the specialist console (served at "/console").
//
// Log in (POST /api/login) → connect /agent with the token → open the media
// leg at once (kept across calls, with a 3rd m-line to receive the caller's
// screen) → Ready / Away / Auto-answer → call:offered (ring tone through the
// chosen speaker, Accept / Decline, countdown; a short zip tone when
// auto-answer fires) → call:connected (video, mute, hold, transfer, chat,
// documents, the caller's screen) → call:ended → wrap-up (call:wrapup) → My day.
// Wire contract: docs/contract.md.

import { t, tv, onLangChange, fmtDuration, fmtClock } from "/lib/i18n.js";
import { $, el } from "/lib/dom.js";
import { mountChrome } from "/lib/chrome.js";
import { showError, clearError } from "/lib/errors.js";
import { request } from "/lib/http.js";
import { connectSocket, closeSocket, emitAck } from "/lib/socket.js";
import { ParticipantLeg } from "/lib/leg.js";
import { ParticipantTiles } from "/lib/participants.js";
import { getLocalMedia, getRememberedMedia, mediaError, swapTrack, toggleTracks, attachVideo, bindUnmute, watchFrames, watchPicture, stopMedia } from "/lib/media.js";
import { mountChat, ChatLog, fillDevices, MicMeter, MediaNotice } from "/lib/callkit.js";
import { mountQuality } from "/lib/quality.js";
import { mountSignIn, loadSession, clearSession, itemLabel } from "/s/staff.js";
import { Tones } from "/s/tones.js";
import { mountAppointmentList } from "/s/appointments.js";

const ROLE = "specialist";
const PREFS = "vw.console.prefs";

const vw = (window.vw = {
  state: "offline",   // the agent state from S→C agent:state
  callId: null,
  offer: null,
  call: null,          // {call_id, service_item, caller}
  held: false,
  callerSharing: false,
  legState: "new",
  user: null,
  token: null,
  socket: null,
  leg: null,
  localStream: null,
  tones: [],           // "ring" / "zip" played (for tests and diagnostics)
  remoteFrames: () => Number($("remote-video").dataset.frames || 0),
  screenFrames: () => Number($("screen-video").dataset.frames || 0),
  legStats: () => (vw.leg ? vw.leg.stats() : null),
  role: null,          // "back_office" in a call this console was invited to, else the owner's
  invite: null,        // this console's own invitation: {invite_id, mode, name, state: "pending"}
  mode: null,          // null, "consult" or "conference" (S→C call:participants)
  participants: [],    // the others in the call, as the server lists them
  tileFrames: () => Object.fromEntries([...document.querySelectorAll("#stage .tile")]
    .map((f) => [f.dataset.participantId, Number(f.querySelector("video").dataset.frames || 0)])),
});

let countdownHandle = null;
let timerHandle = null;
let wrapupHandle = null;
let dayHandle = null;
let meter = null;
let chat = null;

// ---------------------------------------------------------------- preferences

function prefs() {
  try { return JSON.parse(localStorage.getItem(PREFS) || "{}"); } catch (_) { return {}; }
}
function savePref(key, value) {
  const p = prefs();
  p[key] = value;
  try { localStorage.setItem(PREFS, JSON.stringify(p)); } catch (_) { /* ignore */ }
}

const tones = new Tones(vw.tones, prefs().speaker);

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
  pill.textContent = `${t("console.state")}: ${tv("state", s)}`;
  pill.dataset.state = s;
  document.body.dataset.state = s;
  const canChange = ["ready", "away", "offline"].includes(s);
  $("ready-btn").disabled = !canChange || s === "ready";
  $("away-btn").disabled = !canChange || s === "away";
  $("ready-btn").setAttribute("aria-pressed", String(s === "ready"));
  $("away-btn").setAttribute("aria-pressed", String(s === "away"));
  const idle = s === "ready" ? t("console.idle.ready") : t("console.idle");
  $("idle-text").textContent = idle;
  $("idle-big").textContent = idle;
  $("idle-text").hidden = !canChange;
  $("idle-card").hidden = !canChange || !$("call-card").hidden || !$("wrapup-card").hidden;
  $("idle-card").classList.toggle("is-ready", s === "ready");
  if (s !== "ringing") hideOffer();
}

function showLegState(state) {
  vw.legState = state;
  $("leg-state").textContent = tv("leg", state);
  $("leg-state").dataset.state = state;
}

// ---------------------------------------------------------------- offer

/** Who calls, on the offer card or the call card (`card`: "offer" or "call"). */
function showCaller(card, msg) {
  const caller = msg.caller || {};
  const fields = [["caller", caller.name], ["company", caller.company], ["credit", caller.credit_code], ["phone", caller.phone]];
  for (const [id, value] of fields) {
    $(`${card}-${id}`).textContent = value || t("common.none");
  }
  return caller;
}

function showOffer(msg) {
  vw.offer = msg;
  vw.callId = msg.call_id;
  const caller = showCaller("offer", msg);
  $("offer-item").textContent = itemLabel(msg.service_item);
  // "Waited": this session's wait; after a transfer also the caller's whole time with the center.
  const waited = fmtDuration((msg.queued_ms || 0) / 1000);
  $("offer-waited").textContent = msg.transfer
    ? `${waited} · ${t("console.journey", { d: fmtDuration((msg.transfer.journey_ms || 0) / 1000) })}` : waited;
  showTransfer("offer-transfer", msg.transfer);
  showInvitation(msg.invite);
  $("offer-card").hidden = false;
  $("idle-card").hidden = true;
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
  // answered at once (the zip tone plays on call:connected); an invitation always rings
  if ($("auto-answer").checked && !msg.invite) return;
  $("accept-btn").focus();
  tones.ring();
  if (document.hidden && "Notification" in window && Notification.permission === "granted") {
    new Notification(t("console.offer"), { body: `${caller.name || ""} · ${itemLabel(msg.service_item)}` });
  }
}

function hideOffer() {
  clearInterval(countdownHandle);
  countdownHandle = null;
  tones.stop();
  $("offer-card").hidden = true;
  vw.offer = null;
}

// ---------------------------------------------------------------- call

function showCall(msg) {
  hideOffer();
  if (!vw.accepting) tones.zip(); // auto-answer fired (a manual answer already stopped the ring)
  vw.accepting = false;
  vw.call = msg;
  vw.callId = msg.call_id;
  showCaller("call", msg);
  $("call-item").textContent = itemLabel(msg.service_item);
  for (const el of document.querySelectorAll(".session-no")) el.textContent = msg.reference || msg.call_id;
  chat.clear();
  showTransfer("call-transfer", msg.transfer);
  if (msg.transfer) chat.system(transferText(msg.transfer)); // the earlier chat (chat:history) follows
  loadDocuments(msg.call_id); // a transfer's documents come along; a reload's too
  setHeld(false);
  setCallerScreen(false);
  $("mute-btn").setAttribute("aria-pressed", "false");
  $("wrapup-card").hidden = true;
  $("idle-card").hidden = true;
  $("call-card").hidden = false;
  $("hangup-btn").disabled = false;
  joinCall(msg);
  callerPicture.restart();
  const rv = $("remote-video");
  if (rv.srcObject) rv.play().catch(() => {});
  const started = Date.now();
  clearInterval(timerHandle);
  timerHandle = setInterval(() => { $("call-timer").textContent = fmtClock((Date.now() - started) / 1000); }, 500);
  $("call-timer").textContent = "0:00";
  $("hangup-btn").focus({ preventScroll: true });
}

/** "Transferred from 张伟: note" (S→C `transfer` of call:offered / call:connected). */
function transferText(transfer) {
  const name = (transfer.from && transfer.from.display_name) || t("common.none");
  return transfer.note ? t("console.transferred.from", { name, note: transfer.note })
    : t("console.transferred.from.nonote", { name });
}

function showTransfer(id, transfer) {
  $(id).hidden = !transfer;
  $(id).textContent = transfer ? transferText(transfer) : "";
}

async function loadDocuments(callId) {
  const docs = await request(`/api/sessions/${encodeURIComponent(callId)}/documents`, { token: vw.token }).catch(() => ({}));
  if (vw.callId !== callId) return;
  for (const d of docs.items || []) chat.document(d);
}

function setHeld(held, reason) {
  if (reason === "consult" || (!held && vw.consulting)) {
    consulting(held); // the caller holds while the specialists talk: they see each other, no hold screen
    held = false;
  }
  vw.held = held;
  $("hold-btn").setAttribute("aria-pressed", String(held));
  $("hold-overlay").hidden = !held;
  $("stage").classList.toggle("held", held);
}

function setCallerScreen(sharing) {
  vw.callerSharing = sharing;
  $("screen-wrap").hidden = !sharing;
  $("call-card").classList.toggle("with-screen", sharing);
  if (sharing) {
    const v = $("screen-video");
    if (v.srcObject) v.play().catch(() => {});
  }
}

// "Camera off" instead of a black box when the caller sends no picture (camera off, none, stopped).
const callerPicture = watchPicture($("remote-video"), (picture) => {
  $("camera-off").hidden = picture;
  $("stage").classList.toggle("no-picture", !picture);
});

// "The caller is reconnecting…" over the call's video (S→C call:media).
const mediaNotice = new MediaNotice($("media-overlay"), $("media-text"), { prefix: "console", self: "specialist" });
// The network indicator and "video paused: weak network" (S→C call:quality, call:video).
const quality = mountQuality($("stage"), { self: "specialist", camera: $("camera-btn") });

function showWrapup(msg) {
  mediaNotice.clear();
  quality.clear();
  clearInterval(timerHandle);
  hideOffer();
  closeTransfer();
  $("call-card").hidden = true;
  setCallerScreen(false);
  const call = vw.call || {};
  const caller = (call.caller && call.caller.name) || "";
  const by = msg.ended_by ? tv("console.endedby", msg.ended_by) : "";
  const reason = msg.reason && msg.reason !== "hangup" ? tv("console.reason", msg.reason) : "";
  $("wrapup-summary").textContent = `${t("caller.session")} ${call.reference || msg.call_id}${caller ? ` · ${caller}` : ""} · ${[by, reason].filter(Boolean).join(", ")}`;
  $("wrapup-form").reset();
  if (msg.reason === "transferred") $("disposition").value = "referred";
  $("wrapup-btn").disabled = false;
  $("wrapup-card").hidden = false;
  vw.wrapupCallId = msg.call_id;
  const total = Number(msg.wrap_up_s) || 0;
  clearInterval(wrapupHandle);
  const started = Date.now();
  const tick = () => {
    const s = Math.floor((Date.now() - started) / 1000);
    $("wrapup-timer").textContent = fmtClock(total ? Math.max(0, total - s) : s); // time left, or taken
    $("wrapup-timer").title = t("console.wrapup.left");
  };
  tick();
  wrapupHandle = setInterval(tick, 500);
  $("notes").focus();
}

function hideWrapup() {
  clearInterval(wrapupHandle);
  $("wrapup-card").hidden = true;
  vw.call = null;
  vw.callId = null;
  vw.wrapupCallId = null;
  renderState();
  loadDay();
}

// ---------------------------------------------------------------- My day

async function loadDay() {
  if (!vw.socket || !vw.socket.connected) return;
  const ack = await emitAck(vw.socket, "agent:day", {});
  if (!ack.ok) return;
  const d = ack.day;
  vw.day = d;
  $("day-answered").textContent = String(d.answered);
  $("day-asa").textContent = d.avg_answer_ms != null ? `${(d.avg_answer_ms / 1000).toFixed(1)} s` : t("common.none");
  $("day-sat").textContent = d.avg_satisfaction != null ? `${d.avg_satisfaction.toFixed(1)} / 5` : t("common.none");
  $("day-score").textContent = d.score != null ? String(d.score) : t("common.none");
}

// ---------------------------------------------------------------- media

async function startMedia() {
  const p = prefs();
  try {
    vw.localStream = await getRememberedMedia({ audioId: p.mic });
    attachVideo($("self-video"), vw.localStream, { muted: true });
    meter.attach(vw.localStream);
  } catch (err) {
    vw.localStream = null;
    showError(mediaError(err, "no_media"));
  }
  vw.mediaTried = true;
  await refreshDevices();
  openLeg();
}

async function refreshDevices() {
  const mic = vw.localStream && vw.localStream.getAudioTracks()[0];
  await fillDevices($("mic-select"), "audioinput", mic && mic.getSettings ? mic.getSettings().deviceId : prefs().mic);
  await fillDevices($("speaker-select"), "audiooutput", prefs().speaker || "");
  const sinkOk = typeof HTMLMediaElement.prototype.setSinkId === "function";
  $("speaker-select").disabled = !sinkOk;
  $("sink-note").hidden = sinkOk;
}

async function switchMic() {
  const id = $("mic-select").value;
  if (!id) return;
  try {
    const fresh = await getLocalMedia({ audioId: id, video: false });
    const track = fresh.getAudioTracks()[0];
    vw.localStream = swapTrack(vw.localStream, track);
    meter.attach(vw.localStream);
    if (vw.leg && !(await vw.leg.replaceTrack("audio", track))) openLeg();
    savePref("mic", id);
  } catch (err) {
    showError(mediaError(err, "device_error"));
  }
}

async function switchSpeaker() {
  const id = $("speaker-select").value;
  savePref("speaker", id);
  for (const v of [$("remote-video")]) {
    if (typeof v.setSinkId === "function") {
      try { await v.setSinkId(id); } catch (err) { showError({ code: err.name, message: err.message }); }
    }
  }
  await tones.setSink(id);
  await tiles.setSink(id);
}

async function openLeg() {
  if (!vw.mediaTried || !vw.socket || !vw.socket.connected) return;
  if (!vw.leg) {
    vw.leg = new ParticipantLeg(vw.socket, {
      receiveScreen: true,
      onRemoteStream: (stream) => (tiles.active ? tiles.refresh() : attachVideo($("remote-video"), stream, {
        onAutoplayBlocked: () => ($("unmute-remote").hidden = false),
      })),
      onAddedTrack: () => tiles.refresh(), // a participant's media on the m-lines rtc:renegotiate added
      onRemoteScreen: (stream) => attachVideo($("screen-video"), stream, { muted: true }),
      onState: (state, origin) => { if (origin === "local") showLegState(state); },
      onError: (e) => showError(e),
    });
  }
  showLegState("connecting");
  try {
    await vw.leg.open(vw.localStream);
    const speaker = prefs().speaker;
    if (speaker && typeof $("remote-video").setSinkId === "function") $("remote-video").setSinkId(speaker).catch(() => {});
  } catch (err) {
    showLegState("failed");
    showError({ code: "rtc_error", message: err.message || String(err) });
  }
}

// ---------------------------------------------------------------- socket

function connect(token) {
  const socket = connectSocket("/agent", { token });
  vw.socket = socket;
  let everConnected = false;

  socket.on("connect", () => {
    everConnected = true;
    clearError("disconnected");
    openLeg(); // a new connection has no leg on the server
    loadDay();
    clearInterval(dayHandle);
    dayHandle = setInterval(loadDay, 60_000);
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
  socket.on("call:ended", callEnded);
  socket.on("call:held", (msg) => { if (msg.call_id === vw.callId) setHeld(!!msg.held, msg.reason); });
  socket.on("call:media", (msg) => { if (msg.call_id === vw.callId) mediaNotice.update(msg); });
  socket.on("call:quality", (msg) => { if (msg.call_id === vw.callId) quality.quality(msg); });
  socket.on("call:video", (msg) => { if (msg.call_id === vw.callId) quality.video(msg); });
  socket.on("call:screen", (msg) => {
    if (msg.call_id === vw.callId && msg.from === "caller") setCallerScreen(!!msg.sharing);
  });
  socket.on("chat:message", (msg) => {
    if (vw.callId && msg.call_id && msg.call_id !== vw.callId) return;
    chat.message(msg);
  });
  socket.on("chat:history", (msg) => {
    // after a reload during a call: the conversation so far
    if (vw.callId && msg.call_id !== vw.callId) return;
    for (const m of msg.messages || []) chat.message(m);
  });
  socket.on("document:shared", (msg) => {
    if (vw.callId && msg.call_id !== vw.callId) return;
    chat.document(msg.document);
  });
  socket.on("call:participants", (msg) => {
    early = msg; // a hand-over's new session may be told before its call:connected
    if (msg.call_id === vw.callId) showParticipants(msg);
  });
  socket.on("call:invite_ended", inviteEnded);
  socket.on("call:supervisor", (msg) => { if (msg.call_id === vw.callId) showSupervisor(msg); });
}

function teardown() {
  if (vw.leg) vw.leg.destroy();
  vw.leg = null;
  if (vw.socket) closeSocket(vw.socket);
  vw.socket = null;
  vw.localStream = stopMedia(vw.localStream, $("self-video"));
  vw.mediaTried = false;
  leaveCallView();
  vw.state = "offline";
  hideOffer();
  clearInterval(timerHandle);
  clearInterval(wrapupHandle);
  clearInterval(dayHandle);
  $("call-card").hidden = true;
  $("wrapup-card").hidden = true;
  renderState();
  showLegState("closed");
}

function start(session) {
  vw.user = session.user;
  vw.token = session.token;
  showConsole();
  renderState();
  showLegState("new");
  connect(session.token);
  startMedia();
  mountAppointmentList(session.token); // the day's appointments (appointments.js)
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

/** `event` about the current call; a refusal is shown, in the words `${words}.<code>` when strings.js has them. */
async function callAction(event, extra = {}, words = null) {
  if (!vw.callId) return null;
  const ack = await emitAck(vw.socket, event, { call_id: vw.callId, ...extra });
  if (!ack.ok) {
    const code = ack.error && ack.error.code;
    const key = `${words}.${code}`;
    showError(words && t(key) !== key ? { code, message: t(key) } : ack);
  }
  return ack;
}

function toggleMute() {
  const enabled = toggleTracks(vw.localStream, "audio");
  if (enabled !== null) $("mute-btn").setAttribute("aria-pressed", String(!enabled));
}

async function toggleHold() {
  if ($("call-card").hidden) return;
  const ack = await callAction("call:hold", { hold: !vw.held });
  if (ack && ack.ok) setHeld(ack.held);
}

async function accept() {
  if ($("offer-card").hidden || $("accept-btn").disabled) return;
  $("accept-btn").disabled = true;
  $("decline-btn").disabled = true;
  tones.stop();
  vw.accepting = true;
  const ack = await callAction("call:accept");
  if (ack && !ack.ok) vw.accepting = false;
  if (ack && !ack.ok) hideOffer();
}

async function decline() {
  if ($("offer-card").hidden || $("decline-btn").disabled) return;
  $("accept-btn").disabled = true;
  $("decline-btn").disabled = true;
  await callAction("call:decline");
  hideOffer();
}

async function hangup() {
  if ($("call-card").hidden || $("hangup-btn").disabled) return;
  $("hangup-btn").disabled = true;
  const ack = await callAction("call:hangup");
  if (!ack || !ack.ok) $("hangup-btn").disabled = false;
}

// ---------------------------------------------------------------- transfer

let catalog = null;

/** Fill a dialog's service item list (the call's own item chosen) and its list of signed-in colleagues. */
async function fillTargets(itemSel, specSel) {
  if (!catalog) {
    catalog = (await request("/api/service-items").catch(() => ({}))).items || [];
  }
  itemSel.replaceChildren(...catalog.map((item) => el("option", { value: item.code, text: itemLabel(item) })));
  const current = vw.call && vw.call.service_item && vw.call.service_item.code;
  if (current) itemSel.value = current;
  const ack = await emitAck(vw.socket, "call:transfer_targets", {});
  const targets = (ack.ok && ack.specialists) || [];
  specSel.replaceChildren(...(targets.length
    ? targets.map((s) => el("option", { value: s.username, text: `${s.display_name} (${s.username}) · ${tv("state", s.state)}` }))
    : [el("option", { value: "", text: t("console.transfer.nobody") })]));
}

async function openTransfer() {
  if (!vw.callId) return;
  await fillTargets($("transfer-item"), $("transfer-specialist"));
  $("transfer-note").value = "";
  syncTransferKind();
  $("transfer-dialog").showModal();
}

function syncTransferKind() {
  const kind = document.querySelector('input[name="transfer-kind"]:checked').value;
  $("transfer-item-field").hidden = kind !== "queue";
  $("transfer-spec-field").hidden = kind !== "specialist";
}

function closeTransfer() {
  if ($("transfer-dialog").open) $("transfer-dialog").close();
}

async function confirmTransfer(ev) {
  ev.preventDefault();
  const kind = document.querySelector('input[name="transfer-kind"]:checked').value;
  const extra = kind === "queue" ? { service_item: $("transfer-item").value } : { specialist: $("transfer-specialist").value };
  if (!Object.values(extra)[0]) return;
  const note = $("transfer-note").value.trim();
  if (note) extra.note = note; // shown to whoever answers next
  $("transfer-confirm").disabled = true;
  const ack = await callAction("call:transfer", extra);
  $("transfer-confirm").disabled = false;
  if (ack && ack.ok) closeTransfer();
}

// ---------------------------------------------------------------- several people in one call

// The others in the call, a tile each (shared_web/participants.js): the caller large; in a consult,
// where the caller holds, the colleague.
const tiles = new ParticipantTiles({
  stage: $("stage"),
  main: $("remote-video"),
  selfId: () => (vw.user ? `specialist:${vw.user.id}` : null),
  pickMain: (others) => others.find((p) => p.role === "caller"),
  onMain: (p) => {
    const named = !!p && (tiles.others.length > 1 || p.role !== "caller");
    $("main-name").hidden = !named;
    $("main-name").textContent = named ? p.display_name || "" : "";
  },
  onMapped: showCallerScreen,
  onAutoplayBlocked: () => ($("unmute-remote").hidden = false),
});

/** The caller's screen: on this leg's 3rd m-line only if the caller came first, else on an added one. */
function showCallerScreen(others) {
  const caller = others.find((p) => p.role === "caller");
  const screen = caller ? tiles.track(caller.screen_mid) : null;
  const shown = $("screen-video").srcObject;
  if (screen && !(shown && shown.getVideoTracks()[0] === screen)) {
    attachVideo($("screen-video"), new MediaStream([screen]), { muted: true });
  }
}

let offerHistory = null; // the invitation's chat and documents on the offer card
let early = null;        // the last call:participants, for a call this console is not shown yet

/** An event about the several people in the call (its refusals in their own words, `conf.error.<code>`). */
const confAction = (event, extra = {}) => callAction(event, extra, "conf.error");

/** "李娜 invites you to consult: the note" (S→C call:offered `invite`, call:connected `invite`). */
function invitationText(invite) {
  const name = (invite.from && invite.from.display_name) || t("common.none");
  const text = t(invite.mode === "conference" ? "conf.offer.conference" : "conf.offer.consult", { name });
  return invite.note ? `${text}: ${invite.note}` : text;
}

/** The offer card of an invitation: who invites, how and why, and the chat and documents so far. */
function showInvitation(invite) {
  $("offer-invite").hidden = !invite;
  $("offer-history").hidden = !invite;
  if (!invite) return;
  $("offer-invite").textContent = invitationText(invite);
  // "back_office": the owner's lines (from "specialist") are not this console's own.
  offerHistory = offerHistory || new ChatLog($("offer-history-log"), {
    me: "back_office", token: () => vw.token, onError: showError, account: () => (vw.user ? vw.user.id : null),
  });
  offerHistory.clear();
  const items = [...(invite.messages || []).map((m) => ({ at: m.at, show: () => offerHistory.message(m) })),
    ...(invite.documents || []).map((d) => ({ at: d.at, show: () => offerHistory.document(d) }))];
  items.sort((a, b) => String(a.at).localeCompare(String(b.at)));
  for (const item of items) item.show();
  if (!items.length) offerHistory.system(t("conf.offer.nohistory"));
}

/** The call card of this console's call: the owner's controls, or an invited specialist's Leave. */
function joinCall(msg) {
  if (tiles.msg && tiles.msg.call_id !== msg.call_id) tiles.clear(); // another call (a hand-over's new session)
  if (early && early.call_id === msg.call_id && !tiles.msg) showParticipants(early);
  vw.role = msg.role || null;
  const backOffice = vw.role === "back_office";
  $("leave-btn").hidden = !backOffice;
  $("leave-btn").disabled = false;
  $("hangup-btn").hidden = backOffice;
  $("transfer-btn").hidden = backOffice; // the owner's: the invited specialist only leaves
  $("invite-btn").hidden = backOffice;
  $("hold-btn").hidden = backOffice;
  if (msg.invite) chat.system(invitationText(msg.invite));
  if (msg.handover) chat.system(t("conf.handedover"));
  renderInvite();
}

function showParticipants(msg) {
  vw.mode = msg.mode || null;
  tiles.update(msg, vw.leg);
  vw.participants = tiles.others;
  if (vw.invite && vw.participants.some((p) => p.role === "specialist")) vw.invite = null; // accepted
  renderInvite();
}

/** The caller holds while the specialists consult (S→C call:held {reason: "consult"}). */
function consulting(on) {
  vw.consulting = on;
  renderInvite();
}

/** The invitation's state and the owner's choices with a colleague in the call. */
function renderInvite() {
  const owner = vw.role !== "back_office";
  const colleague = vw.participants.find((p) => p.role === "specialist");
  const pending = vw.invite;
  const name = colleague && colleague.display_name;
  let text = "";
  if (pending) text = t(pending.mode === "conference" ? "conf.pending.conference" : "conf.pending.consult", { name: pending.name });
  else if (colleague && vw.mode === "consult") text = t("conf.consulting", { name });
  else if (colleague) text = t("conf.conferencing", { name });
  else if (vw.inviteOutcome) text = t(`conf.ended.${vw.inviteOutcome.reason}`, { name: vw.inviteOutcome.name });
  $("invite-panel").hidden = !text;
  $("invite-status").textContent = text;
  $("invite-cancel-btn").hidden = !(owner && pending);
  $("conference-btn").hidden = !(owner && colleague && vw.mode === "consult");
  $("handover-btn").hidden = !(owner && colleague);
  $("return-btn").hidden = !(owner && colleague);
  $("return-btn").textContent = t(vw.mode === "consult" ? "conf.return" : "conf.return.conference");
  $("invite-btn").disabled = !!(pending || colleague);
}

/** A supervisor speaks to this console (whisper or barge) or stopped (S→C call:supervisor). */
function showSupervisor(msg) {
  const mode = msg && msg.mode;
  $("supervisor-note").hidden = !mode;
  $("supervisor-note").textContent = mode
    ? t(`conf.supervisor.${mode}`, { name: (msg.supervisor && msg.supervisor.display_name) || t("common.none") }) : "";
}

function syncInviteKind() {
  const kind = document.querySelector('input[name="invite-kind"]:checked').value;
  $("invite-item-field").hidden = kind !== "queue";
  $("invite-spec-field").hidden = kind !== "specialist";
}

async function openInvite() {
  if (!vw.callId || vw.role === "back_office" || $("invite-btn").disabled) return;
  await fillTargets($("invite-item"), $("invite-specialist"));
  $("invite-note").value = "";
  syncInviteKind();
  $("invite-dialog").showModal();
}

function closeInvite() {
  if ($("invite-dialog").open) $("invite-dialog").close();
}

async function sendInvite(ev) {
  ev.preventDefault();
  const kind = document.querySelector('input[name="invite-kind"]:checked').value;
  const mode = document.querySelector('input[name="invite-mode"]:checked').value;
  const select = kind === "queue" ? $("invite-item") : $("invite-specialist");
  if (!select.value) return;
  const extra = kind === "queue" ? { service_item: select.value } : { specialist: select.value };
  extra.mode = mode;
  const note = $("invite-note").value.trim();
  if (note) extra.note = note;
  $("invite-confirm").disabled = true;
  const ack = await confAction("call:invite", extra);
  $("invite-confirm").disabled = false;
  if (!ack || !ack.ok) return;
  closeInvite();
  const name = (ack.specialist && ack.specialist.display_name) || select.selectedOptions[0].textContent;
  vw.invite = { invite_id: ack.invite_id, mode, name };
  vw.inviteOutcome = null;
  renderInvite();
}

/** The inviter's invitation ended unanswered: declined, timed out or withdrawn (S→C call:invite_ended). */
function inviteEnded(msg) {
  if (!vw.invite || msg.invite_id !== vw.invite.invite_id) return;
  vw.inviteOutcome = { reason: msg.reason, name: vw.invite.name };
  vw.invite = null;
  renderInvite();
}

async function cancelInvite() {
  const invite = vw.invite;
  const ack = await confAction("call:invite_cancel");
  if (ack && ack.ok && invite) inviteEnded({ invite_id: invite.invite_id, reason: "cancelled" });
}

/** The owner's choices with a colleague: call:conference, call:handover, call:return. */
async function withColleague(event, button) {
  button.disabled = true;
  await confAction(event);
  button.disabled = false;
}

/** The invited specialist leaves; the call goes on without it (no wrap-up: the owner writes the notes). */
async function leave() {
  if ($("leave-btn").hidden || $("leave-btn").disabled) return;
  $("leave-btn").disabled = true;
  const ack = await confAction("call:leave");
  if (ack && ack.ok) endInvitedCall();
  else $("leave-btn").disabled = false;
}

/** S→C call:ended: the wrap-up, unless this console was invited (it is ready again at once). */
function callEnded(msg) {
  if (msg.invited) {
    endInvitedCall();
    return;
  }
  leaveCallView();
  showWrapup(msg);
}

function endInvitedCall() {
  leaveCallView();
  mediaNotice.clear();
  clearInterval(timerHandle);
  $("call-card").hidden = true;
  setCallerScreen(false);
  vw.call = null;
  vw.callId = null;
  renderState();
  loadDay();
}

/** Back to a call of two, or none: no tiles, invitation or supervisor. */
function leaveCallView() {
  tiles.clear();
  if (vw.leg) attachVideo($("remote-video"), vw.leg.remoteStream, { onAutoplayBlocked: () => ($("unmute-remote").hidden = false) });
  closeInvite();
  vw.role = null;
  vw.invite = null;
  vw.inviteOutcome = null;
  vw.mode = null;
  vw.participants = [];
  consulting(false);
  showSupervisor(null);
}

// ---------------------------------------------------------------- wiring

function init() {
  mountChrome();
  meter = new MicMeter($("mic-level"), $("mic-level-bar"));
  chat = mountChat($("chat"), {
    me: "specialist", current: () => ({ socket: vw.socket, callId: vw.callId, token: vw.token }), onError: showError,
    account: () => (vw.user ? vw.user.id : null), // two specialists in a call: whose line is whose
  }).chat;
  onLangChange(() => {
    renderState();
    showLegState(vw.legState);
    if (vw.user) $("whoami").textContent = `${t("console.signed")}: ${vw.user.display_name || vw.user.username}`;
    if (vw.offer) $("offer-item").textContent = itemLabel(vw.offer.service_item);
    if (vw.offer) showTransfer("offer-transfer", vw.offer.transfer);
    if (vw.call) $("call-item").textContent = itemLabel(vw.call.service_item);
    if (vw.call) showTransfer("call-transfer", vw.call.transfer);
    refreshDevices();
    loadDay();
  });
  watchFrames($("remote-video"));
  watchFrames($("screen-video"));
  $("auto-answer").checked = !!prefs().auto_answer;

  mountSignIn(ROLE, { onLogin: start });
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
    savePref("auto_answer", $("auto-answer").checked);
    if (vw.state === "ready" || vw.state === "away") setAgentState(vw.state);
  });
  $("accept-btn").addEventListener("click", accept);
  $("decline-btn").addEventListener("click", decline);
  $("hangup-btn").addEventListener("click", hangup);
  $("mute-btn").addEventListener("click", toggleMute);
  $("hold-btn").addEventListener("click", toggleHold);
  $("transfer-btn").addEventListener("click", openTransfer);
  $("transfer-form").addEventListener("submit", confirmTransfer);
  $("transfer-cancel").addEventListener("click", closeTransfer);
  for (const r of document.querySelectorAll('input[name="transfer-kind"]')) r.addEventListener("change", syncTransferKind);
  $("invite-btn").addEventListener("click", openInvite);
  $("invite-form").addEventListener("submit", sendInvite);
  $("invite-back").addEventListener("click", closeInvite);
  for (const r of document.querySelectorAll('input[name="invite-kind"]')) r.addEventListener("change", syncInviteKind);
  $("invite-cancel-btn").addEventListener("click", cancelInvite);
  $("conference-btn").addEventListener("click", () => withColleague("call:conference", $("conference-btn")));
  $("handover-btn").addEventListener("click", () => withColleague("call:handover", $("handover-btn")));
  $("return-btn").addEventListener("click", () => withColleague("call:return", $("return-btn")));
  $("leave-btn").addEventListener("click", leave);
  $("camera-btn").addEventListener("click", () => {
    const enabled = toggleTracks(vw.localStream, "video");
    if (enabled !== null) $("camera-btn").setAttribute("aria-pressed", String(enabled));
  });
  $("mic-select").addEventListener("change", switchMic);
  $("speaker-select").addEventListener("change", switchSpeaker);
  $("test-tone-btn").addEventListener("click", () => { tones.ring(); setTimeout(() => { if (!vw.offer) tones.stop(); }, 1200); });
  if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
    navigator.mediaDevices.addEventListener("devicechange", refreshDevices);
  }
  bindUnmute($("unmute-remote"), $("remote-video"));
  $("unmute-remote").addEventListener("click", () => tiles.resume());
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
      if (ack.error && ack.error.code === "not_in_wrap_up") hideWrapup(); // it expired meanwhile
      else showError(ack);
      return;
    }
    hideWrapup();
  });

  // Keyboard shortcuts (Alt + letter, so typing in chat or notes is never taken).
  document.addEventListener("keydown", (ev) => {
    if (!ev.altKey || ev.ctrlKey || ev.metaKey || $("console-view").hidden) return;
    const actions = { a: accept, d: decline, h: hangup, m: () => { if (!$("call-card").hidden) toggleMute(); }, o: toggleHold };
    const fn = actions[ev.key.toLowerCase()] || actions[(ev.code || "").replace("Key", "").toLowerCase()];
    if (fn) {
      ev.preventDefault();
      fn();
    }
  });

  renderState();
  const session = loadSession(ROLE);
  if (session) start(session);
  else showLogin();
}

init();
