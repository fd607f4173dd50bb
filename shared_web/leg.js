// Virtual Window — one WebRTC leg: the peer connection between this page and the server
// (docs/contract.md, "Media legs"). The caller page, the console and the supervisor monitor
// each hold one.
//
// The page always offers. Candidates gathered before the answer are held and sent once it
// is in, in order, the end marker last (nothing is dropped). A later offer renegotiates the
// same connection: the caller's screen share, or the server's `rtc:renegotiate`. Offers are
// sent one at a time, so a renegotiation never overlaps the offer before it.

import { getConfig } from "./http.js";
import { emitAck } from "./socket.js";

// More receive-only m-lines than a call of a few parties needs is a malformed request.
const MAX_ADDED_LINES = 8;

export class Leg {
  /**
   * Callbacks:
   *   onTrack(track, index) — a remote track arrived on m-line `index`
   *   onState(state, origin) — origin "local": pc.connectionState; "server": the server's rtc:state
   *   onError(error)        — {code, message}: the server refused an offer
   */
  constructor(socket, { onTrack, onState, onError } = {}) {
    this.socket = socket;
    this.onTrack = onTrack || (() => {});
    this.onState = onState || (() => {});
    this.onError = onError || (() => {});
    this.pc = null;
    this.sid = null;        // the socket connection the leg belongs to
    this.pending = [];      // candidates gathered before the answer arrived
    this.answered = false;
    this.generation = 0;    // bumps on every (re)open, so stale callbacks are ignored
    this.offers = Promise.resolve();
    this._onServerState = (msg) => this.onState(msg && msg.state, "server");
    this._onRenegotiate = (msg, ack) => this.renegotiate(msg).then((r) => typeof ack === "function" && ack(r));
    socket.on("rtc:state", this._onServerState);
    socket.on("rtc:renegotiate", this._onRenegotiate);
  }

  get state() {
    return this.pc ? this.pc.connectionState : "closed";
  }

  /** The leg can carry media for the current socket connection (a new connection has no leg on the server). */
  get usable() {
    return !!this.pc && this.sid === this.socket.id && !["failed", "closed"].includes(this.pc.connectionState);
  }

  /**
   * Open (or re-open) the leg with one m-line per entry of `lines`, in order: `{kind, track, stream}`
   * sends `track`; without a track the m-line only receives. Resolves true once the server answered.
   */
  async open(lines) {
    const config = await getConfig();
    this.close();
    const gen = ++this.generation;
    const pc = new RTCPeerConnection({
      iceServers: config.ice_servers || [],
      iceTransportPolicy: config.ice_transport_policy || "all", // "relay": through TURN only
      bundlePolicy: "max-bundle",
    });
    this.pc = pc;
    this.sid = this.socket.id;
    this.pending = [];
    this.answered = false;
    this.offers = Promise.resolve();
    for (const { kind, track, stream } of lines) {
      if (track) pc.addTrack(track, stream);
      else pc.addTransceiver(kind, { direction: "recvonly" });
    }
    pc.ontrack = (ev) => {
      if (gen === this.generation) this.onTrack(ev.track, pc.getTransceivers().indexOf(ev.transceiver));
    };
    pc.onicecandidate = (ev) => {
      if (gen !== this.generation) return;
      if (ev.candidate && !ev.candidate.candidate) return; // Chrome's per-generation empty marker
      // ev.candidate === null: gathering finished → {candidate: ""} ends the trickle.
      const c = ev.candidate
        ? { candidate: ev.candidate.candidate, sdpMid: ev.candidate.sdpMid, sdpMLineIndex: ev.candidate.sdpMLineIndex }
        : { candidate: "", sdpMid: null, sdpMLineIndex: null };
      if (this.answered) this._sendCandidate(c);
      else this.pending.push(c);
    };
    pc.onconnectionstatechange = () => {
      if (gen === this.generation) this.onState(pc.connectionState, "local");
    };
    return this.negotiate();
  }

  /** Send a new rtc:offer for the m-lines the connection has now; resolves true once answered. */
  negotiate() {
    const pc = this.pc;
    const gen = this.generation;
    if (!pc) return Promise.reject(new Error("no media leg"));
    const run = this.offers.then(() => (gen === this.generation ? this._offer(pc, gen) : false));
    this.offers = run.catch(() => false);
    return run;
  }

  async _offer(pc, gen) {
    await pc.setLocalDescription(await pc.createOffer());
    const ack = await emitAck(this.socket, "rtc:offer", { type: "offer", sdp: pc.localDescription.sdp }, 15000);
    if (gen !== this.generation) return false;
    if (!ack.ok) {
      this.onError(ack.error || { code: "rtc_offer_failed", message: "The server refused the media offer" });
      return false;
    }
    await pc.setRemoteDescription({ type: "answer", sdp: ack.sdp });
    this.answered = true;
    for (const c of this.pending.splice(0)) this._sendCandidate(c);
    return true;
  }

  /**
   * The server's `rtc:renegotiate {audio: N, video: M}`: add N receive-only audio and then M
   * receive-only video m-lines after the existing ones and offer again (a party joins the call).
   * Resolves the ack sent back: {ok: true} or {ok: false, error}.
   */
  async renegotiate(msg) {
    const count = (v) => (Number.isInteger(v) && v >= 0 ? v : NaN);
    const audio = count(msg && msg.audio !== undefined ? msg.audio : 0);
    const video = count(msg && msg.video !== undefined ? msg.video : 0);
    if (!(audio + video <= MAX_ADDED_LINES)) {
      return { ok: false, error: { code: "invalid_value", message: `audio and video: whole numbers, at most ${MAX_ADDED_LINES} together` } };
    }
    if (!this.pc || !this.answered) return { ok: false, error: { code: "no_leg", message: "no media leg to renegotiate" } };
    for (let i = 0; i < audio; i++) this.pc.addTransceiver("audio", { direction: "recvonly" });
    for (let i = 0; i < video; i++) this.pc.addTransceiver("video", { direction: "recvonly" });
    try {
      if (await this.negotiate()) return { ok: true };
    } catch (err) {
      return { ok: false, error: { code: "rtc_error", message: err.message || String(err) } };
    }
    return { ok: false, error: { code: "rtc_offer_failed", message: "the new offer was not answered" } };
  }

  /** Swap the track sent on m-line `index` without renegotiating; false when that m-line only receives. */
  async replaceTrack(index, track) {
    const transceiver = this.pc && this.pc.getTransceivers()[index];
    if (!transceiver || transceiver.direction === "recvonly") return false;
    await transceiver.sender.replaceTrack(track);
    return true;
  }

  /** A summary of getStats(): the connection state, the round trip, and bytes, packets and frames per m-line. */
  async stats() {
    const out = { state: this.state, rtt_ms: null, inbound: [], outbound: [] };
    if (!this.pc) return out;
    (await this.pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp") {
        out.inbound.push({ mid: s.mid, kind: s.kind, bytes: s.bytesReceived, packets: s.packetsReceived, lost: s.packetsLost, frames: s.framesDecoded });
      } else if (s.type === "outbound-rtp") {
        out.outbound.push({ mid: s.mid, kind: s.kind, bytes: s.bytesSent, packets: s.packetsSent, frames: s.framesEncoded });
      } else if (s.type === "candidate-pair" && s.nominated && s.currentRoundTripTime != null) {
        out.rtt_ms = s.currentRoundTripTime * 1000;
      }
    });
    return out;
  }

  _sendCandidate(c) {
    // Socket.IO keeps the order of emits, so the end marker goes last.
    this.socket.emit("rtc:candidate", c, (ack) => {
      if (ack && ack.ok === false) console.warn("rtc:candidate refused", ack.error);
    });
  }

  close() {
    this.generation++;
    if (this.pc) {
      try { this.pc.close(); } catch (_) { /* already closed */ }
      this.pc = null;
    }
  }

  destroy() {
    this.close();
    this.socket.off("rtc:state", this._onServerState);
    this.socket.off("rtc:renegotiate", this._onRenegotiate);
  }
}

/**
 * A participant's leg (caller or specialist): the microphone and the camera on the first two
 * m-lines, in the contract's order, the other party's media received on them; optionally a
 * 3rd m-line, receiving the other party's screen (`receiveScreen`) or sending this one's.
 * Callbacks: onRemoteStream(MediaStream), onRemoteScreen(MediaStream), onAddedTrack(track, index)
 * for m-lines the server added with rtc:renegotiate; onState and onError as for Leg.
 */
export class ParticipantLeg extends Leg {
  constructor(socket, { onRemoteStream, onRemoteScreen, onAddedTrack, receiveScreen = false, ...rest } = {}) {
    super(socket, { ...rest, onTrack: (track, index) => this._route(track, index) });
    this.onRemoteStream = onRemoteStream || (() => {});
    this.onRemoteScreen = onRemoteScreen || (() => {});
    this.onAddedTrack = onAddedTrack || (() => {});
    this.receiveScreen = receiveScreen;
    this.remoteStream = new MediaStream();
    this.screenStream = new MediaStream();
    this.screenSender = null;
  }

  /** Open (or re-open) with the tracks of `stream` (may be null: receive only). */
  async open(stream) {
    this.remoteStream = new MediaStream();
    this.screenStream = new MediaStream();
    this.screenSender = null;
    this.onRemoteStream(this.remoteStream);
    const lines = [
      { kind: "audio", track: stream && stream.getAudioTracks()[0], stream },
      { kind: "video", track: stream && stream.getVideoTracks()[0], stream },
    ];
    if (this.receiveScreen) lines.push({ kind: "video" });
    return super.open(lines);
  }

  _route(track, index) {
    if (index === 2 && this.receiveScreen) {
      for (const old of this.screenStream.getTracks()) this.screenStream.removeTrack(old);
      this.screenStream.addTrack(track);
      this.onRemoteScreen(this.screenStream);
    } else if (index < 2) {
      for (const old of this.remoteStream.getTracks()) {
        if (old.kind === track.kind && old !== track) this.remoteStream.removeTrack(old);
      }
      if (!this.remoteStream.getTracks().includes(track)) this.remoteStream.addTrack(track);
      this.onRemoteStream(this.remoteStream);
    } else {
      this.onAddedTrack(track, index);
    }
  }

  /** Swap the microphone or camera track without renegotiating (device change). */
  replaceTrack(kind, track) {
    return super.replaceTrack(kind === "audio" ? 0 : 1, track);
  }

  /**
   * Send a screen-share track on the 3rd m-line. The first time, this adds the
   * m-line and renegotiates the same leg with a new rtc:offer; later shares
   * only replace the track. `null` stops sending (the m-line stays).
   */
  async shareScreen(track) {
    const pc = this.pc;
    if (!pc) throw new Error("no media leg");
    if (this.screenSender) {
      await this.screenSender.replaceTrack(track);
      return true;
    }
    if (!track) return true;
    this.screenSender = pc.addTransceiver(track, { direction: "sendonly", streams: [new MediaStream([track])] }).sender;
    return this.negotiate();
  }
}
