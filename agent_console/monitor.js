// Virtual Window — the supervisor monitor on the administration pages (see docs/contract.md, "/admin").
//
// The administrator's own leg (shared_web/leg.js) on the /admin socket: four m-lines in the
// contract's order (caller audio, caller video, specialist audio, specialist video), opened on
// the first "Monitor" and kept for later ones (switching calls is only `monitor:start` again).
// A back-office specialist invited into the call comes on m-lines the server adds with
// `rtc:renegotiate`. To listen the page sends nothing; to whisper (the specialists hear the
// supervisor) the first m-line also sends the microphone, to barge in (everyone sees and hears
// the supervisor) the first two send the microphone and the camera: they turn sendrecv once
// (one renegotiation) and stop sending, without renegotiating, when back to listening.

import { Leg } from "/lib/leg.js";
import { emitAck } from "/lib/socket.js";
import { attachVideo, getLocalMedia, stopMedia } from "/lib/media.js";

const LINES = ["audio", "video", "audio", "video"].map((kind) => ({ kind }));
const MODES = ["listen", "whisper", "barge"];

export class Monitor {
  /**
   * `videos`: {caller: <video>, specialist: <video>, back_office?: <video>}; callbacks:
   *   onState(state, info) — "connecting" | "monitoring" | "idle" | "ended" | "error"
   *   onBackOffice(present) — a back-office specialist's media arrived (true) or the call ended (false)
   */
  constructor(socket, videos, { onState, onBackOffice } = {}) {
    this.socket = socket;
    this.videos = videos;
    this.onState = onState || (() => {});
    this.onBackOffice = onBackOffice || (() => {});
    this.callId = null;
    this.mode = "listen";
    this.local = null;        // the supervisor's microphone (and camera) while whispering or barging
    this.streams = this._newStreams();
    this.refused = null;      // the server's error when it refused the leg's offer
    this.leg = new Leg(socket, {
      onTrack: (track, index) => {
        const stream = index < 2 ? this.streams.caller : index < 4 ? this.streams.specialist : this.streams.back_office;
        for (const old of stream.getTracks()) if (old.kind === track.kind) stream.removeTrack(old);
        stream.addTrack(track);
        if (index >= 4 && track.kind === "video") {
          // a later call's back office may come on the same m-lines: shown while its picture flows
          track.addEventListener("unmute", () => this._syncBackOffice());
          track.addEventListener("mute", () => this._syncBackOffice());
          this._syncBackOffice();
        }
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
      this._stopSending();
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
    this.streams = this._newStreams();
    this.refused = null;
    if (await this.leg.open(LINES)) return null;
    this.leg.close();
    return this.refused || { code: "cancelled", message: "cancelled" };
  }

  _newStreams() {
    return { caller: new MediaStream(), specialist: new MediaStream(), back_office: new MediaStream() };
  }

  /** Listen to and watch `callId` (always listening first); resolves to the server's ack ({ok, call_id, caller, specialist, mode, ...}). */
  async start(callId) {
    this.onState("connecting", { call_id: callId });
    this._stopSending();
    const error = await this._openLeg();
    if (error) {
      this.onState("error", error);
      return { ok: false, error };
    }
    const ack = await emitAck(this.socket, "monitor:start", { call_id: callId, mode: "listen" });
    if (!ack.ok) {
      this.onState("error", ack.error);
      return ack;
    }
    this.callId = callId;
    this.mode = "listen";
    attachVideo(this.videos.caller, this.streams.caller);
    attachVideo(this.videos.specialist, this.streams.specialist);
    this._syncBackOffice();
    this.onState("monitoring", ack);
    return ack;
  }

  /**
   * Switch the live call to `mode` ("listen", "whisper", "barge"): the microphone (and for barge
   * the camera) first, then `monitor:start {mode}`. Resolves to the ack; on a refusal the mode stays.
   */
  async setMode(mode) {
    if (!this.active || !MODES.includes(mode)) return { ok: false, error: { code: "not_monitoring", message: "not monitoring" } };
    if (mode === this.mode) return { ok: true, mode };
    if (mode !== "listen") {
      const error = await this._startSending(mode === "barge");
      if (error) return { ok: false, error };
    }
    const ack = await emitAck(this.socket, "monitor:start", { call_id: this.callId, mode });
    if (!ack.ok) {
      if (this.mode === "listen") this._stopSending();
      return ack;
    }
    this.mode = mode;
    if (mode === "listen") this._stopSending();
    else if (mode === "whisper") this._sendOn(1, null); // whisper is heard, not seen
    return ack;
  }

  /** The microphone on the first m-line (and the camera on the second): sendrecv, renegotiated once. */
  async _startSending(camera) {
    const have = this.local && this.local.getVideoTracks().length;
    if (!this.local || (camera && !have)) {
      stopMedia(this.local);
      this.local = null;
      try {
        this.local = await getLocalMedia({ video: camera });
      } catch (err) {
        return { code: err.name || "no_media", message: err.message || String(err) };
      }
    }
    const audio = this.local.getAudioTracks()[0];
    const video = camera ? this.local.getVideoTracks()[0] : null;
    if (!audio || (camera && !video)) return { code: "no_media", message: camera ? "no microphone or camera" : "no microphone" };
    const audioGrew = this._sendOn(0, audio);
    const videoGrew = camera ? this._sendOn(1, video) : false;
    if ((audioGrew || videoGrew) && !(await this.leg.negotiate())) return this.refused || { code: "rtc_offer_failed", message: "the new offer was not answered" };
    return null;
  }

  /** Send `track` on transceiver `index` (null: nothing); true when its direction had to change (renegotiate). */
  _sendOn(index, track) {
    const transceiver = this.leg.pc && this.leg.pc.getTransceivers()[index];
    if (!transceiver) return false;
    transceiver.sender.replaceTrack(track).catch(() => {});
    if (!track || transceiver.direction === "sendrecv") return false;
    if (this.local) transceiver.sender.setStreams(this.local);
    transceiver.direction = "sendrecv";
    return true;
  }

  /** Nothing goes up any more (the m-lines stay sendrecv, silent); the microphone and camera are released. */
  _stopSending() {
    if (this.leg.pc) for (const index of [0, 1]) this._sendOn(index, null);
    this.local = stopMedia(this.local);
    this.mode = "listen";
  }

  /** The back office's video while its picture flows in a monitored call. */
  _syncBackOffice() {
    const video = this.videos.back_office;
    const present = this.active && this.streams.back_office.getVideoTracks().some((tr) => !tr.muted);
    if (video && present && video.srcObject !== this.streams.back_office) attachVideo(video, this.streams.back_office);
    this.onBackOffice(present);
  }

  /** Stop listening; the (silent) leg is kept for the next call. */
  async stop() {
    if (!this.active) return { ok: true };
    const callId = this.callId;
    this.callId = null;
    this._clearVideos();
    this._stopSending();
    const ack = await emitAck(this.socket, "monitor:stop", { call_id: callId });
    this.onState("idle", { call_id: callId });
    return ack;
  }

  _clearVideos() {
    for (const video of Object.values(this.videos)) {
      video.pause();
      video.srcObject = null;
    }
    this.onBackOffice(false);
  }

  destroy() {
    this.callId = null;
    this._clearVideos();
    this._stopSending();
    this.leg.destroy();
    this.socket.off("monitor:ended", this._onEnded);
  }
}
