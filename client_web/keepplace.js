// Virtual Window — keep my place (docs/contract.md: call:keep_place, call:callback_due,
// call:callback_accept). A waiting caller may keep its place and leave the page; the page then
// shows the link to come back (the server sends it to the center's webhook as well). When the
// caller's turn comes, a page still open plays a sound, shows a desktop notification (permission
// is asked when the caller chooses to keep its place) and counts down the time to accept; "I'm
// here" (or opening the link) routes the caller at once. The rules are the server's.

import { t, fmtClock } from "/lib/i18n.js";
import { $ } from "/lib/dom.js";
import { emitAck } from "/lib/socket.js";

const LINK_PARAM = "resume";

/** Two short tones (WebAudio): the caller's turn. */
function chime() {
  try {
    const ctx = new (window.AudioContext || window.webkitAudioContext)();
    [0, 0.35].forEach((at, i) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = i ? 880 : 660;
      gain.gain.setValueAtTime(0.2, ctx.currentTime + at);
      gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + at + 0.3);
      osc.connect(gain).connect(ctx.destination);
      osc.start(ctx.currentTime + at);
      osc.stop(ctx.currentTime + at + 0.3);
    });
  } catch (_) { /* no audio: the page and the notification still say it */ }
}

export class KeepPlace {
  /** `current()`: {socket, callId}; `onError(ack)`. */
  constructor({ current, onError }) {
    this.current = current;
    this.onError = onError;
    this.state = null;      // null | "held" | "alerted"
    this.link = null;       // the resume link (from the ack)
    this.acceptBy = 0;      // ms, while alerted
    this.options = new Set();
    this.fromLink = false;  // the page was opened from the resume link: accept once it is back
    $("keep-place-btn").addEventListener("click", () => this.keep());
    $("callback-here-btn").addEventListener("click", () => this.accept());
    setInterval(() => { if (this.state === "alerted") this.render(); }, 1000);
  }

  /** The call token of a resume link (`/?resume=TOKEN`), taken out of the address bar. */
  takeLink() {
    const params = new URLSearchParams(location.search);
    const token = params.get(LINK_PARAM);
    if (!token) return null;
    params.delete(LINK_PARAM);
    history.replaceState(null, "", location.pathname + (params.toString() ? `?${params}` : ""));
    this.fromLink = true;
    return token;
  }

  /** S→C call:queued. */
  update(msg) {
    this.options = new Set((msg.options || []).map((o) => o.id));
    this.state = msg.callback || null;
    if (this.fromLink && this.state) {
      this.fromLink = false;
      this.accept();
      return;
    }
    this.fromLink = false;
    this.render();
  }

  /** S→C call:callback_due: the caller's turn. */
  due(msg) {
    this.state = "alerted";
    this.acceptBy = Date.now() + msg.accept_s * 1000;
    chime();
    if ("Notification" in window && Notification.permission === "granted") {
      try {
        new Notification(t("callback.notify.title"), { body: t("callback.notify.body"), tag: msg.call_id });
      } catch (_) { /* some browsers allow notifications from a service worker only */ }
    }
    this.render();
  }

  clear() {
    this.state = null;
    this.link = null;
    this.options = new Set();
    this.render();
  }

  async keep() {
    const { socket, callId } = this.current();
    if ("Notification" in window && Notification.permission === "default") {
      Notification.requestPermission().catch(() => {});
    }
    const ack = await emitAck(socket, "call:keep_place", { call_id: callId });
    if (!ack.ok) {
      this.onError(ack);
      return;
    }
    this.state = ack.callback.state;
    this.link = ack.callback.resume_url;
    this.render();
  }

  async accept() {
    const { socket, callId } = this.current();
    const ack = await emitAck(socket, "call:callback_accept", { call_id: callId });
    if (!ack.ok) {
      this.onError(ack);
      return;
    }
    this.state = null;
    this.render();
  }

  render() {
    $("keep-place-btn").hidden = !!this.state || !this.options.has("keep_place");
    $("wait-book-btn").hidden = !!this.state || !this.options.has("book"); // appointments.js opens it
    $("callback-box").hidden = !this.state;
    $("callback-box").classList.toggle("due", this.state === "alerted");
    if (!this.state) return;
    $("callback-link-line").hidden = !this.link;
    if (this.link) $("callback-link").href = this.link;
    $("callback-text").textContent = this.state === "alerted"
      ? t("callback.due", { time: fmtClock(Math.max(0, (this.acceptBy - Date.now()) / 1000)) })
      : t("callback.held");
  }
}
