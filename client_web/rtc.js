// Virtual Window — the browser side of one media leg (see CONTRACT.md, "Media legs").
//
// One RTCPeerConnection between this participant and the server, opened
// before it is needed (the caller during the device check, the specialist at
// login) and kept: answering a call is a bridge switch on the server, no
// negotiation. The client always offers. Shared by the caller page and the
// specialist console (imported there as /c/rtc.js).

/**
 * Ask for the microphone and the camera; fall back to whatever is available.
 * `audioId` / `videoId` choose devices (from enumerateDevices); `video: false` skips the camera.
 */
export async function getLocalMedia({ audioId, videoId, video: wantVideo = true } = {}) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw Object.assign(new Error("getUserMedia unavailable (needs HTTPS or localhost)"), { code: "no_media_devices" });
  }
  const video = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } };
  if (videoId) video.deviceId = { exact: videoId };
  const audio = audioId ? { deviceId: { exact: audioId }, echoCancellation: true, noiseSuppression: true } : true;
  if (!wantVideo) return navigator.mediaDevices.getUserMedia({ audio });
  try {
    return await navigator.mediaDevices.getUserMedia({ audio, video });
  } catch (err) {
    // One of the two devices may be missing or refused: try each alone.
    for (const constraints of [{ audio }, { video }]) {
      try {
        return await navigator.mediaDevices.getUserMedia(constraints);
      } catch (_) { /* try the next */ }
    }
    throw err;
  }
}

/** GET /api/config once per page. */
let configPromise = null;
export function fetchConfig() {
  if (!configPromise) {
    configPromise = fetch("/api/config", { headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : {}))
      .catch(() => ({}));
  }
  return configPromise;
}

/** Promise wrapper around a socket.io emit with acknowledgement and a timeout. */
export function emitAck(socket, event, payload, timeoutMs = 10000) {
  return new Promise((resolve) => {
    socket.timeout(timeoutMs).emit(event, payload, (err, ack) => {
      if (err) {
        resolve({ ok: false, error: { code: "timeout", message: `No answer from the server to ${event}` } });
      } else if (!ack || typeof ack !== "object") {
        resolve({ ok: false, error: { code: "bad_ack", message: `Unexpected answer to ${event}` } });
      } else {
        resolve(ack);
      }
    });
  });
}

/**
 * A media leg. Events (callbacks):
 *   onRemoteStream(MediaStream) — the stream the remote tracks are put in
 *   onRemoteScreen(MediaStream) — the other party's screen share (3rd m-line)
 *   onState(state)              — local pc.connectionState, or the server's rtc:state
 *   onError(error)              — {code, message}
 */
export class MediaLeg {
  constructor(socket, { iceServers = [], onRemoteStream, onRemoteScreen, onState, onError, receiveScreen = false } = {}) {
    this.socket = socket;
    this.iceServers = iceServers;
    this.onRemoteStream = onRemoteStream || (() => {});
    this.onRemoteScreen = onRemoteScreen || (() => {});
    this.receiveScreen = receiveScreen; // open with a 3rd (recvonly) video m-line for the other's screen
    this.screenTransceiver = null;
    this.screenStream = new MediaStream();
    this.onState = onState || (() => {});
    this.onError = onError || (() => {});
    this.pc = null;
    this.remoteStream = new MediaStream();
    this.pending = [];      // candidates gathered before the answer arrived
    this.answered = false;
    this.generation = 0;    // bumps on every (re)open, so stale callbacks are ignored
    this.serverState = null;
    this._onServerState = (msg) => {
      this.serverState = msg && msg.state;
      this.onState(this.serverState, "server");
    };
    socket.on("rtc:state", this._onServerState);
  }

  get state() {
    return this.pc ? this.pc.connectionState : "closed";
  }

  /** Open (or re-open) the leg with the tracks of `stream` (may be null: receive only). */
  async open(stream) {
    this.close();
    const gen = ++this.generation;
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, bundlePolicy: "max-bundle" });
    this.pc = pc;
    this.pending = [];
    this.answered = false;
    this.remoteStream = new MediaStream();
    this.screenStream = new MediaStream();
    this.screenTransceiver = null;
    this.onRemoteStream(this.remoteStream);

    // Order of m-lines is fixed by the contract: audio (microphone), then video (camera).
    const audio = stream ? stream.getAudioTracks()[0] : null;
    const video = stream ? stream.getVideoTracks()[0] : null;
    if (audio) pc.addTrack(audio, stream);
    else pc.addTransceiver("audio", { direction: "recvonly" });
    if (video) pc.addTrack(video, stream);
    else pc.addTransceiver("video", { direction: "recvonly" });
    // Optional 3rd m-line (contract: a second video, the screen share).
    if (this.receiveScreen) this.screenTransceiver = pc.addTransceiver("video", { direction: "recvonly" });

    pc.ontrack = (ev) => {
      if (gen !== this.generation) return;
      const track = ev.track;
      const index = pc.getTransceivers().indexOf(ev.transceiver);
      if (index === 2) {
        for (const old of this.screenStream.getTracks()) this.screenStream.removeTrack(old);
        this.screenStream.addTrack(track);
        this.onRemoteScreen(this.screenStream);
        return;
      }
      for (const old of this.remoteStream.getTracks()) {
        if (old.kind === track.kind && old !== track) this.remoteStream.removeTrack(old);
      }
      if (!this.remoteStream.getTracks().includes(track)) this.remoteStream.addTrack(track);
      this.onRemoteStream(this.remoteStream);
    };
    pc.onicecandidate = (ev) => {
      if (gen !== this.generation) return;
      // ev.candidate === null: gathering finished → {candidate: ""} ends the trickle.
      const c = ev.candidate
        ? { candidate: ev.candidate.candidate, sdpMid: ev.candidate.sdpMid, sdpMLineIndex: ev.candidate.sdpMLineIndex }
        : { candidate: "", sdpMid: null, sdpMLineIndex: null };
      if (ev.candidate && !ev.candidate.candidate) return; // Chrome's per-generation empty marker
      if (this.answered) this._sendCandidate(c);
      else this.pending.push(c); // nothing is dropped: flushed once the answer is in
    };
    pc.onconnectionstatechange = () => {
      if (gen !== this.generation) return;
      this.onState(pc.connectionState, "local");
    };

    await this._negotiate(pc, gen);
  }

  async _negotiate(pc, gen) {
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const ack = await emitAck(this.socket, "rtc:offer", { type: "offer", sdp: pc.localDescription.sdp }, 15000);
    if (gen !== this.generation) return false;
    if (!ack.ok) {
      this.onError(ack.error || { code: "rtc_offer_failed", message: "The server refused the media offer" });
      return false;
    }
    await pc.setRemoteDescription({ type: "answer", sdp: ack.sdp });
    this.answered = true;
    const queued = this.pending;
    this.pending = [];
    for (const c of queued) this._sendCandidate(c);
    return true;
  }

  /** Swap the microphone or camera track without renegotiating (device change). */
  async replaceTrack(kind, track) {
    if (!this.pc) return false;
    const index = kind === "audio" ? 0 : 1;
    const transceiver = this.pc.getTransceivers()[index];
    if (!transceiver || transceiver.direction === "recvonly") return false; // opened without that device
    await transceiver.sender.replaceTrack(track);
    return true;
  }

  /**
   * Send a screen-share track on the 3rd m-line. The first time, this adds the
   * m-line and renegotiates the same leg with a new rtc:offer; later shares
   * only replace the track. `null` stops sending (the m-line stays).
   */
  async shareScreen(track) {
    const pc = this.pc;
    if (!pc) throw new Error("no media leg");
    if (this.screenTransceiver) {
      await this.screenTransceiver.sender.replaceTrack(track);
      return true;
    }
    if (!track) return true;
    const stream = new MediaStream([track]);
    this.screenTransceiver = pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
    return this._negotiate(pc, this.generation);
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
  }
}

/** Enable/disable the local tracks of one kind; returns the new enabled state. */
export function toggleTracks(stream, kind) {
  if (!stream) return false;
  const tracks = kind === "audio" ? stream.getAudioTracks() : stream.getVideoTracks();
  if (!tracks.length) return false;
  const enabled = !tracks[0].enabled;
  for (const t of tracks) t.enabled = enabled;
  return enabled;
}

/**
 * Attach a stream to a <video> and keep `data-frames`, `data-width`,
 * `data-height` up to date (decoded frames, for tests and diagnostics).
 * Falls back to muted playback when autoplay with sound is refused;
 * `onAutoplayBlocked` lets the page offer an "unmute" button.
 */
export function attachVideo(video, stream, { muted = false, onAutoplayBlocked } = {}) {
  if (video.srcObject !== stream) video.srcObject = stream;
  video.muted = muted;
  video.playsInline = true;
  const p = video.play();
  if (p && p.catch) {
    p.catch((err) => {
      if (err && err.name === "NotAllowedError" && !video.muted) {
        video.muted = true;
        video.play().catch(() => {});
        if (onAutoplayBlocked) onAutoplayBlocked();
      }
    });
  }
  watchFrames(video);
}

export function watchFrames(video) {
  if (video._vwWatching) return;
  video._vwWatching = true;
  let frames = 0;
  const update = (_now, meta) => {
    frames = meta && meta.presentedFrames ? meta.presentedFrames : frames + 1;
    video.dataset.frames = String(frames);
    video.dataset.width = String(video.videoWidth || 0);
    video.dataset.height = String(video.videoHeight || 0);
    video.requestVideoFrameCallback(update);
  };
  if ("requestVideoFrameCallback" in HTMLVideoElement.prototype) {
    video.dataset.frames = "0";
    video.requestVideoFrameCallback(update);
  } else {
    // Fallback: sample the playback quality counters.
    setInterval(() => {
      const q = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : null;
      video.dataset.frames = String(q ? q.totalVideoFrames : 0);
      video.dataset.width = String(video.videoWidth || 0);
      video.dataset.height = String(video.videoHeight || 0);
    }, 250);
  }
}
