// Virtual Window — the supervisor monitor on the administration pages (see docs/contract.md, "/admin").
//
// The administrator's own receive-only leg on the /admin socket: four m-lines
// in the contract's order (caller audio, caller video, specialist audio,
// specialist video), opened on the first "Monitor" and kept for later ones
// (switching calls is only `monitor:start` again; nothing is renegotiated).
// The page sends nothing: no microphone or camera is asked for.

import { emitAck, fetchConfig, attachVideo } from "/c/rtc.js";

const KINDS = ["audio", "video", "audio", "video"];

export class Monitor {
  /**
   * `videos`: {caller: <video>, specialist: <video>}; callbacks:
   *   onState(state, info) — "connecting" | "monitoring" | "idle" | "ended" | "error"
   */
  constructor(socket, videos, { onState } = {}) {
    this.socket = socket;
    this.videos = videos;
    this.onState = onState || (() => {});
    this.pc = null;
    this.sid = null;          // the socket connection the leg belongs to
    this.callId = null;
    this.streams = { caller: new MediaStream(), specialist: new MediaStream() };
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

  async _openLeg() {
    const usable = this.pc && this.sid === this.socket.id && !["failed", "closed"].includes(this.pc.connectionState);
    if (usable) return { ok: true };
    this._closeLeg();
    const config = await fetchConfig();
    const pc = new RTCPeerConnection({ iceServers: config.ice_servers || [], bundlePolicy: "max-bundle" });
    this.pc = pc;
    this.sid = this.socket.id;
    this.streams = { caller: new MediaStream(), specialist: new MediaStream() };
    for (const kind of KINDS) pc.addTransceiver(kind, { direction: "recvonly" });
    pc.ontrack = (ev) => {
      if (this.pc !== pc) return;
      const index = pc.getTransceivers().indexOf(ev.transceiver);
      const stream = index < 2 ? this.streams.caller : this.streams.specialist;
      for (const old of stream.getTracks()) if (old.kind === ev.track.kind) stream.removeTrack(old);
      stream.addTrack(ev.track);
    };
    let answered = false;
    const pending = [];
    const send = (c) => this.socket.emit("rtc:candidate", c, () => {});
    pc.onicecandidate = (ev) => {
      if (this.pc !== pc || (ev.candidate && !ev.candidate.candidate)) return;
      const c = ev.candidate
        ? { candidate: ev.candidate.candidate, sdpMid: ev.candidate.sdpMid, sdpMLineIndex: ev.candidate.sdpMLineIndex }
        : { candidate: "", sdpMid: null, sdpMLineIndex: null };
      if (answered) send(c);
      else pending.push(c);
    };
    pc.onconnectionstatechange = () => {
      if (this.pc === pc && pc.connectionState === "failed" && this.active) {
        this.onState("error", { code: "media_failed", message: pc.connectionState });
      }
    };
    await pc.setLocalDescription(await pc.createOffer());
    const ack = await emitAck(this.socket, "rtc:offer", { type: "offer", sdp: pc.localDescription.sdp }, 15000);
    if (this.pc !== pc) return { ok: false, error: { code: "cancelled", message: "cancelled" } };
    if (!ack.ok) {
      this._closeLeg();
      return ack;
    }
    await pc.setRemoteDescription({ type: "answer", sdp: ack.sdp });
    answered = true;
    for (const c of pending.splice(0)) send(c);
    return { ok: true };
  }

  /** Listen to and watch `callId`; resolves to the server's ack ({ok, call_id, caller, specialist, ...}). */
  async start(callId) {
    this.onState("connecting", { call_id: callId });
    const leg = await this._openLeg();
    if (!leg.ok) {
      this.onState("error", leg.error);
      return leg;
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

  _closeLeg() {
    if (this.pc) {
      try { this.pc.close(); } catch (_) { /* already closed */ }
    }
    this.pc = null;
  }

  destroy() {
    this.callId = null;
    this._clearVideos();
    this._closeLeg();
    this.socket.off("monitor:ended", this._onEnded);
  }
}
