// Virtual Window — the caller page's waiting screen and the offer to queue again.
//
// WaitingView shows what S→C `call:queued` says (docs/contract.md): the position, the estimated
// wait counted down between messages (never below 1 s, so never "Now" unless the server says a
// specialist is free), "a specialist is being connected" while an offer rings, and, while nobody
// for the service is signed in (`staffed: 0`), a notice with the options the center offers
// (`options`: keep waiting, leave; others are ignored until the page knows them) and the time
// left before the wait ends. RequeueOffer shows, on the ended screen, the re-queue at the front
// that `call:ended` may carry (`requeue: {within_s}`), for as long as it lasts. The rules (the
// estimate, the limits, who may re-queue) are the server's.

import { t, fmtDuration, fmtClock } from "/lib/i18n.js";
import { $ } from "/lib/dom.js";

/** Seconds left of `seconds` given at `at` (ms), counted down; never below `floor`. */
function left(seconds, at, floor) {
  return Math.max(floor, Math.ceil(seconds - (Date.now() - at) / 1000));
}

export class WaitingView {
  constructor({ onLeave }) {
    this.msg = null;
    this.at = 0;
    this.kept = false; // the caller chose to keep waiting while nobody is signed in
    $("nobody-wait").addEventListener("click", () => { this.kept = true; this.render(); });
    $("nobody-leave").addEventListener("click", onLeave);
    setInterval(() => { if (this.msg) this.render(); }, 1000);
  }

  update(msg) {
    if (msg.staffed === 0 && !(this.msg && this.msg.staffed === 0)) this.kept = false; // told afresh
    this.msg = msg;
    this.at = Date.now();
    this.render();
  }

  clear() {
    this.msg = null;
    this.kept = false;
    $("queue-position").textContent = "…";
    $("queue-wait").textContent = "…";
    $("nobody-notice").hidden = true;
    $("queue-limit").hidden = true;
  }

  render() {
    const msg = this.msg;
    if (!msg) return;
    $("queue-position").textContent = msg.position != null ? String(msg.position) : t("common.none");
    const est = msg.estimated_wait_s;
    let wait;
    if (msg.offered) wait = t("caller.estimated.offered");
    else if (est == null) wait = t("caller.estimated.unknown");
    else if (est === 0) wait = t("caller.estimated.now");
    else wait = `≈ ${fmtDuration(left(est, this.at, 1))}`;
    $("queue-wait").textContent = wait;
    const ends = msg.ends_in_s != null ? fmtClock(left(msg.ends_in_s, this.at, 0)) : null;
    const nobody = msg.staffed === 0;
    $("nobody-notice").hidden = !nobody;
    if (nobody) {
      const ids = new Set((msg.options || []).map((o) => o.id));
      $("nobody-ends").hidden = !ends || msg.ends_reason !== "no_specialist";
      if (ends) $("nobody-ends").textContent = t("caller.nobody.ends", { time: ends });
      $("nobody-kept").hidden = !this.kept;
      $("nobody-wait").hidden = this.kept || !ids.has("wait");
      $("nobody-leave").hidden = !ids.has("leave");
    }
    // A limit that will end the wait before the estimated turn comes: say so.
    const late = !nobody && ends && msg.ends_reason === "max_wait" && !msg.offered
      && (est == null || est >= left(msg.ends_in_s, this.at, 0));
    $("queue-limit").hidden = !late;
    if (late) $("queue-limit").textContent = t("caller.limit.ends", { time: ends });
  }
}

export class RequeueOffer {
  constructor({ onRequeue }) {
    this.end = null;
    this.at = 0;
    $("requeue-btn").addEventListener("click", () => {
      if (this.end) onRequeue(this.end.call_id);
    });
    setInterval(() => { if (this.end) this.render(); }, 1000);
  }

  /** The `call:ended` just received (or null: no offer). */
  show(end) {
    this.end = end && end.requeue ? end : null;
    this.at = Date.now();
    this.render();
  }

  render() {
    const open = !!this.end && left(this.end.requeue.within_s, this.at, 0) > 0;
    $("requeue-offer").hidden = !open;
    if (!open) {
      this.end = null;
      return;
    }
    $("requeue-text").textContent = t("caller.requeue.text", { time: fmtClock(left(this.end.requeue.within_s, this.at, 0)) });
  }
}
