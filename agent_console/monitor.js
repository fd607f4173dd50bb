// Virtual Window — the supervisor monitor on the administration pages (see docs/contract.md, "/admin").
//
// The administrator's own receive-only leg (shared_web/leg.js) on the /admin socket: four
// m-lines in the contract's order (caller audio, caller video, specialist audio, specialist
// video), opened on the first "Monitor" and kept for later ones (switching calls is only
// `monitor:start` again; nothing is renegotiated). The page sends nothing: no microphone
// or camera is asked for.

import { Leg } from "/lib/leg.js";
import { emitAck } from "/lib/socket.js";
import { attachVideo } from "/lib/media.js";

const LINES = ["audio", "video", "audio", "video"].map((kind) => ({ kind }));

export class Monitor {
  /**
   * `videos`: {caller: <video>, specialist: <video>}; callbacks:
   *   onState(state, info) — "connecting" | "monitoring" | "idle" | "ended" | "error"
   */
  constructor(socket, videos, { onState } = {}) {
    this.socket = socket;
    this.videos = videos;
    this.onState = onState || (() => {});
    this.callId = null;
    this.streams = { caller: new MediaStream(), specialist: new MediaStream() };
    this.refused = null;      // the server's error when it refused the leg's offer
    this.leg = new Leg(socket, {
      onTrack: (track, index) => {
        const stream = index < 2 ? this.streams.caller : this.streams.specialist;
        for (const old of stream.getTracks()) if (old.kind === track.kind) stream.removeTrack(old);
        stream.addTrack(track);
      },
      onState: (state, origin) => {
        if (origin === "local" && state === "failed" && this.active) this.onState("error", { code: "media_failed", message: state });
      },
      onError: (error) => { this.refused = error; },
    });
    this._onEnded = (msg) => {
      if (!msg || msg.call_id !== this.callId) return;
      this.callId = null;
      this._clearVideos();
      this.onState("ended", msg);
    };
    socket.on("monitor:ended", this._onEnded);
  }

  get active() {
    return this.callId !== null;
  }

  /** The leg, opened when this connection has none; the error when the server refused it. */
  async _openLeg() {
    if (this.leg.usable) return null;
    this.streams = { caller: new MediaStream(), specialist: new MediaStream() };
    this.refused = null;
    if (await this.leg.open(LINES)) return null;
    this.leg.close();
    return this.refused || { code: "cancelled", message: "cancelled" };
  }

  /** Listen to and watch `callId`; resolves to the server's ack ({ok, call_id, caller, specialist, ...}). */
  async start(callId) {
    this.onState("connecting", { call_id: callId });
    const error = await this._openLeg();
    if (error) {
      this.onState("error", error);
      return { ok: false, error };
    }
    const ack = await emitAck(this.socket, "monitor:start", { call_id: callId });
    if (!ack.ok) {
      this.onState("error", ack.error);
      return ack;
    }
    this.callId = callId;
    attachVideo(this.videos.caller, this.streams.caller);
    attachVideo(this.videos.specialist, this.streams.specialist);
    this.onState("monitoring", ack);
    return ack;
  }

  /** Stop listening; the (silent) leg is kept for the next call. */
  async stop() {
    if (!this.active) return { ok: true };
    const callId = this.callId;
    this.callId = null;
    this._clearVideos();
    const ack = await emitAck(this.socket, "monitor:stop", { call_id: callId });
    this.onState("idle", { call_id: callId });
    return ack;
  }

  _clearVideos() {
    for (const video of Object.values(this.videos)) {
      video.pause();
      video.srcObject = null;
    }
  }

  destroy() {
    this.callId = null;
    this._clearVideos();
    this.leg.destroy();
    this.socket.off("monitor:ended", this._onEnded);
  }
}
