// Virtual Window — the console's tones, made with WebAudio and played through the chosen
// speaker: the ring tone of an offer (manual answer) and the zip tone of auto-answer.

import { resumeOnGesture } from "/lib/media.js";

export class Tones {
  /** `played`: the names of the tones played are pushed there (for tests and diagnostics). */
  constructor(played, sink) {
    this.played = played;
    this.sink = sink;
    this.ctx = null;
    this.dest = null;
    this.audio = null;
    this.ringTimer = null;
    resumeOnGesture(() => this.ctx);
  }

  _ensure() {
    if (this.ctx) return true;
    try {
      this.ctx = new AudioContext();
      // Played through an <audio> element so setSinkId picks the headset.
      this.dest = this.ctx.createMediaStreamDestination();
      this.audio = new Audio();
      this.audio.srcObject = this.dest.stream;
      this.audio.play().catch(() => {});
      this.setSink(this.sink);
      return true;
    } catch (_) {
      return false;
    }
  }

  async setSink(id) {
    this.sink = id || "";
    if (this.audio && typeof this.audio.setSinkId === "function") {
      try { await this.audio.setSinkId(this.sink); } catch (_) { /* device gone */ }
    }
  }

  _beep(freqs, start, dur, gain = 0.12, sweepTo = null) {
    const ctx = this.ctx;
    const g = ctx.createGain();
    g.gain.setValueAtTime(0, start);
    g.gain.linearRampToValueAtTime(gain, start + 0.015);
    g.gain.setValueAtTime(gain, start + dur - 0.03);
    g.gain.linearRampToValueAtTime(0, start + dur);
    g.connect(this.dest);
    for (const f of freqs) {
      const o = ctx.createOscillator();
      o.type = "sine";
      o.frequency.setValueAtTime(f, start);
      if (sweepTo) o.frequency.exponentialRampToValueAtTime(sweepTo, start + dur);
      o.connect(g);
      o.start(start);
      o.stop(start + dur + 0.01);
    }
  }

  /** The ring tone (manual answer): a two-tone burst, repeated until stopped. */
  ring() {
    if (!this._ensure()) return;
    this.stop();
    this.ctx.resume().catch(() => {});
    this.played.push("ring");
    const burst = () => {
      const now = this.ctx.currentTime;
      this._beep([440, 480], now, 0.4);
      this._beep([440, 480], now + 0.6, 0.4);
    };
    burst();
    this.ringTimer = setInterval(burst, 2500);
  }

  /** The zip tone (auto-answer): one short rising chirp. */
  zip() {
    if (!this._ensure()) return;
    this.stop();
    this.ctx.resume().catch(() => {});
    this.played.push("zip");
    const now = this.ctx.currentTime;
    this._beep([900], now, 0.12, 0.15, 2400);
  }

  stop() {
    clearInterval(this.ringTimer);
    this.ringTimer = null;
  }
}
