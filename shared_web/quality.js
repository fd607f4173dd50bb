// Virtual Window — network quality in a call, shared by the caller page and the console:
// a signal indicator for each side's link (S→C `call:quality`), the "network is weak"
// suggestion to turn the camera off, and the "video paused: weak network" notices
// (S→C `call:video`).
//
// `party` in both events is whose network (or whose video) the message is about; `self` is
// the page's own party ("caller" or "specialist"). The server decides the level; the page
// only shows it.

import { t, onLangChange } from "./i18n.js";
import { el } from "./dom.js";

export const PARTIES = ["caller", "specialist"];
const BARS = { good: 3, fair: 2, poor: 1, unknown: 0 };
// No figures for this long (on hold, a leg reconnecting, sampling off): the level is no longer
// known, and the bars say so instead of showing an old level (the server samples every 1-10 s).
export const STALE_MS = 12_000;

const other = (party) => (party === "caller" ? "specialist" : "caller");
/** The own party first: "Your network is weak" comes before the other side's. */
const selfFirst = (self) => (a, b) => (a === self ? -1 : b === self ? 1 : 0);

/** Set a text only when it changes: the notices are live regions, re-rendered every few seconds,
 * and a screen reader would read them out again at each write. */
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

const amount = (key, v, digits = 0) => (v == null || !Number.isFinite(Number(v)) ? t("common.none")
  : t(key, { n: Number(v).toLocaleString(undefined, { maximumFractionDigits: digits }) }));

/** "Round trip 42 ms · Loss 0.5% · Jitter 4 ms · 1,200 kbps": the figures of one `call:quality`
 * (jitter too, since the server's level depends on it). */
export function qualityFigures(msg) {
  return t("quality.figures", {
    rtt: amount("quality.ms", msg.rtt_ms),
    loss: amount("quality.pct", msg.loss_pct, 1),
    jitter: amount("quality.ms", msg.jitter_ms),
    kbps: amount("quality.kbps", msg.kbps),
  });
}

/** Who a party is, as this page's user sees it: "You", "Caller", "Specialist". */
const whoKey = (party, self) => (party === self ? "quality.you" : `quality.party.${party}`);
/** Whose network, in a sentence's words: "self", "caller", "specialist". */
const whoseKey = (party, self) => (party === self ? "self" : party);

/** One party's signal bars: three bars, as many lit as the level is good, named for screen readers. */
class Signal {
  constructor(party, self, staleMs) {
    this.party = party;
    this.self = self;
    this.staleMs = staleMs;
    this.msg = null;
    this.at = 0;
    this.bars = el("span", { class: "signal-bars", "aria-hidden": "true" }, [1, 2, 3].map((n) => el("i", { "data-bar": n })));
    this.name = el("span", { class: "signal-name", "aria-hidden": "true" });
    this.node = el("span", { class: "signal", role: "img", "data-party": party, hidden: true }, this.bars, this.name);
  }

  update(msg) {
    this.msg = msg;
    this.at = performance.now();
    this.render();
  }

  clear() {
    this.msg = null;
    this.render();
  }

  /** The level shown: the last one received, or "unknown" once it is too old to stand for now. */
  get level() {
    if (!this.msg) return null;
    if (performance.now() - this.at > this.staleMs) return "unknown";
    return BARS[this.msg.level] ? this.msg.level : "fair";
  }

  render() {
    const msg = this.msg;
    this.node.hidden = !msg;
    if (!msg) return;
    const level = this.level;
    this.node.dataset.level = level;
    for (const bar of this.bars.children) bar.classList.toggle("lit", Number(bar.dataset.bar) <= BARS[level]);
    setText(this.name, t(whoKey(this.party, this.self)));
    this.node.setAttribute("aria-label", t(`quality.aria.${whoseKey(this.party, this.self)}`, { level: t(`quality.level.${level}`) }));
    this.node.title = level === "unknown" ? t("quality.stale") : qualityFigures(msg);
  }
}

/**
 * The indicator line: a signal for each side, and, while a side's level is poor, which side's
 * network is weak with a button that turns the camera off through the page's own camera
 * button (`camera`: aria-pressed "true" while the camera is on). "Not now" hides the
 * suggestion until that side recovers and weakens again, or the next call.
 */
export class QualityView {
  constructor(box, { self, camera, staleMs = STALE_MS }) {
    this.self = self;
    this.camera = camera;
    this.signals = Object.fromEntries(PARTIES.slice().sort(selfFirst(self)).map((p) => [p, new Signal(p, self, staleMs)]));
    this.dismissed = new Set();
    this.weakText = el("span", { class: "quality-weak-text" });
    this.hint = el("span", { class: "quality-weak-hint" });
    this.cameraOff = el("button", { type: "button", class: "btn btn-small btn-primary", "data-action": "camera-off", onclick: () => this.turnCameraOff() });
    this.notNow = el("button", { type: "button", class: "btn btn-small btn-ghost", "data-action": "dismiss", onclick: () => this.dismiss() });
    this.weak = el("div", { class: "quality-weak", role: "status", "aria-live": "polite", hidden: true },
      this.weakText, this.hint, el("span", { class: "quality-weak-actions" }, this.cameraOff, this.notNow));
    this.label = el("span", { class: "quality-label" });
    this.box = el("span", { class: "signals", role: "group" }, this.label, Object.values(this.signals).map((s) => s.node));
    box.append(this.box, this.weak);
    if (camera) new MutationObserver(() => this.render()).observe(camera, { attributes: true, attributeFilter: ["aria-pressed", "disabled"] });
    // Figures age without a message: look again while any are shown.
    setInterval(() => { if (Object.values(this.signals).some((s) => s.msg)) this.render(); }, Math.min(2000, staleMs / 2));
  }

  update(msg) {
    const signal = msg && this.signals[msg.party];
    if (!signal) return; // a party this page does not show
    if (msg.level !== "poor") this.dismissed.delete(msg.party);
    signal.update(msg);
    this.render();
  }

  clear() {
    for (const s of Object.values(this.signals)) s.clear();
    this.dismissed.clear();
    this.render();
  }

  /** The sides whose level is poor now, the own first. */
  weakParties() {
    return Object.values(this.signals).filter((s) => s.level === "poor").map((s) => s.party);
  }

  cameraIsOn() {
    return !!this.camera && this.camera.getAttribute("aria-pressed") === "true" && !this.camera.disabled;
  }

  turnCameraOff() {
    if (this.cameraIsOn()) this.camera.click();
    this.render();
  }

  dismiss() {
    for (const p of this.weakParties()) this.dismissed.add(p);
    this.render();
  }

  render() {
    const signals = Object.values(this.signals);
    for (const s of signals) s.render();
    setText(this.label, t("quality.title"));
    this.box.hidden = !signals.some((s) => s.msg);
    this.box.setAttribute("aria-label", t("quality.title"));
    const weak = this.weakParties();
    const show = weak.some((p) => !this.dismissed.has(p));
    this.weak.hidden = !show;
    if (!show) return;
    const said = weak.map((p) => t(`quality.weak.${whoseKey(p, this.self)}`));
    if ([...this.weakText.children].map((e) => e.textContent).join("\n") !== said.join("\n")) {
      this.weakText.replaceChildren(...weak.map((p, i) => el("strong", { "data-party": p, text: said[i] })));
    }
    const on = this.cameraIsOn();
    setText(this.hint, on ? t("quality.weak.hint") : "");
    this.hint.hidden = !on;
    this.cameraOff.hidden = !on;
    setText(this.cameraOff, t("quality.weak.camera"));
    setText(this.notNow, t("quality.weak.dismiss"));
  }
}

/**
 * "Video paused: weak network" (S→C `call:video`): over the other side's video when theirs is
 * paused for this page (`overlay`), and a notice to the sender when its own is (`own`).
 * `stage` gets the class `video-paused` meanwhile, so "camera off" placeholders stand aside.
 */
export class VideoPauseNotice {
  constructor(overlay, own, { self, stage }) {
    this.overlay = overlay;
    this.title = overlay.querySelector("strong");
    this.hint = overlay.querySelector("span");
    this.own = own;
    this.self = self;
    this.stage = stage;
    this.paused = new Set();
  }

  update(msg) {
    if (!msg || !PARTIES.includes(msg.party)) return;
    if (msg.state === "paused") this.paused.add(msg.party);
    else if (msg.state === "resumed") this.paused.delete(msg.party);
    this.render();
  }

  clear() {
    this.paused.clear();
    this.render();
  }

  render() {
    const remote = this.paused.has(other(this.self));
    const mine = this.paused.has(this.self);
    this.overlay.hidden = !remote;
    this.own.hidden = !mine;
    if (this.stage) this.stage.classList.toggle("video-paused", remote);
    setText(this.title, t("quality.video.paused"));
    setText(this.hint, t("quality.video.paused.hint"));
    setText(this.own, t(`quality.video.own.${this.self}`));
  }
}

/**
 * Mount both into a page: the indicator line right after `stage` (the call's video; empty,
 * so taking no room, until there is something to show), the paused overlay inside the stage.
 * Returns `{quality(msg), video(msg), clear()}`: the page hands its `call:quality` and
 * `call:video` of the current call to the first two and calls `clear()` when the call ends.
 */
export function mountQuality(stage, { self, camera, staleMs }) {
  const box = el("div", { class: "quality-line", id: "quality-line", "data-self": self });
  const own = el("p", { class: "quality-own-paused", id: "own-video-paused", role: "status", "aria-live": "polite", hidden: true });
  const overlay = el("div", { class: "overlay soft video-paused-overlay", id: "video-paused", role: "status", "aria-live": "polite", hidden: true },
    el("div", { class: "overlay-icon pause-icon", "aria-hidden": "true" }), el("strong"), el("span"));
  stage.append(overlay);
  stage.after(box);
  const view = new QualityView(box, { self, camera, staleMs });
  box.append(own);
  const notice = new VideoPauseNotice(overlay, own, { self, stage });
  onLangChange(() => { view.render(); notice.render(); });
  view.render();
  notice.render();
  return {
    view,
    notice,
    quality: (msg) => view.update(msg),
    video: (msg) => notice.update(msg),
    clear: () => { view.clear(); notice.clear(); },
  };
}
