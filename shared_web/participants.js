// Virtual Window — the other people in a call, one tile each (docs/contract.md, "Several people
// in one call"). Built from S→C `call:participants`: for every other participant the server says
// which of this leg's own transceivers (by `mid`) carries their audio and video, so each remote
// track is mapped to its participant through its transceiver, never guessed from the m-line order.
//
// The main participant (the caller on the console, the first specialist on the caller page) plays
// in the page's large <video>, sound included, as in a call of two. Everyone else gets their own
// <audio> element (the browser mixes the audio tracks) and, if they send video, a tile (a muted
// <video> and their name).

import { el } from "./dom.js";
import { attachVideo, watchFrames } from "./media.js";

export class ParticipantTiles {
  /**
   * `stage`: the element the tiles go into (the page's video stage); `main`: its large <video>;
   * `selfId()`: this page's own participant id, if it knows it (the server lists only the others);
   * `pickMain(others)`: which of the others plays in `main` (else the first); `onMain(participant|null)` tells the
   * page who that is (its name badge); `onMapped(others)` after every mapping (the page's own extras, such
   * as a screen share); `onAutoplayBlocked` as for attachVideo.
   */
  constructor({ stage, main, selfId, pickMain, onMain, onMapped, onAutoplayBlocked }) {
    this.stage = stage;
    this.selfId = selfId || (() => null);
    this.main = main;
    this.pickMain = pickMain;
    this.onMain = onMain || (() => {});
    this.onMapped = onMapped || (() => {});
    this.onAutoplayBlocked = onAutoplayBlocked;
    this.leg = null;
    this.msg = null;          // the last call:participants
    this.sink = "";           // the chosen speaker (setSinkId), for every <audio> too
    this.tiles = new Map();   // participant id → {figure, video, caption}
    this.sounds = new Map();  // audio mid → <audio>
    this.mainStream = null;
    this.mainKey = "";
    this.box = el("div", { class: "tiles", "aria-live": "polite" });
    this.speakers = el("div", { class: "tile-sounds", hidden: true });
    stage.append(this.box, this.speakers);
  }

  /** Whether the server has told who is in the call (else the page's call of two applies). */
  get active() {
    return !!this.msg;
  }

  /** The others in the call (never this page's own participant, should the server list it). */
  get others() {
    if (!this.msg) return [];
    const self = this.selfId();
    return (this.msg.participants || []).filter((p) => p.id !== self);
  }

  /** S→C call:participants for the current call. */
  update(msg, leg) {
    this.msg = msg;
    this.leg = leg || this.leg;
    this.refresh();
    // The server announces the participants while it asks this leg for the new transceivers:
    // their mids exist once that renegotiation is answered, so map again then.
    if (this.leg && this.leg.offers) this.leg.offers.then(() => this.refresh());
  }

  /** The receiving track of this leg's transceiver `mid`, or null (not negotiated yet). */
  track(mid) {
    const pc = this.leg && this.leg.pc;
    if (mid == null || !pc) return null;
    const transceiver = pc.getTransceivers().find((tr) => tr.mid === String(mid));
    return transceiver ? transceiver.receiver.track : null;
  }

  /** Map every participant's tracks again (after call:participants, a new track, a renegotiation). */
  refresh() {
    if (!this.msg) return;
    const others = this.others;
    const main = others.length ? this.pickMain(others) || others[0] : null;
    this._showMain(main);
    const rest = others.filter((p) => p !== main);
    const seen = rest.filter((p) => p.video_mid != null); // a whispering supervisor is heard, not seen: no tile
    const keep = new Set(seen.map((p) => String(p.id)));
    for (const [id, tile] of this.tiles) {
      if (!keep.has(id)) {
        tile.video.srcObject = null;
        tile.figure.remove();
        this.tiles.delete(id);
      }
    }
    for (const p of seen) this._showTile(p);
    this._playSounds(rest);
    this.stage.classList.toggle("multi", seen.length > 0);
    this.stage.dataset.others = String(others.length);
    this.onMapped(others);
  }

  _showMain(p) {
    const audio = p ? this.track(p.audio_mid) : null;
    const video = p ? this.track(p.video_mid) : null;
    const key = [p && p.id, audio && audio.id, video && video.id].join("|");
    if (key !== this.mainKey) {
      this.mainKey = key;
      this.mainStream = new MediaStream([audio, video].filter(Boolean));
      attachVideo(this.main, this.mainStream, { onAutoplayBlocked: this.onAutoplayBlocked });
    }
    this.main.dataset.participantId = p ? String(p.id) : "";
    this.onMain(p);
  }

  _showTile(p) {
    const id = String(p.id);
    let tile = this.tiles.get(id);
    if (!tile) {
      const video = el("video", { class: "tile-video", autoplay: true, playsinline: true, muted: true, "data-frames": "0" });
      const caption = el("figcaption", { class: "tile-name" });
      const figure = el("figure", { class: "tile", "data-participant-id": id }, video, caption);
      this.box.append(figure);
      watchFrames(video);
      tile = { figure, video, caption, track: null };
      this.tiles.set(id, tile);
    }
    tile.figure.dataset.role = p.role || "";
    tile.caption.textContent = p.display_name || "";
    tile.video.setAttribute("aria-label", p.display_name || p.role || "");
    const track = this.track(p.video_mid);
    if (track !== tile.track) {
      tile.track = track;
      attachVideo(tile.video, new MediaStream(track ? [track] : []), { muted: true });
    }
  }

  /** One <audio> per other participant's audio track (the main one sounds through `main`). */
  _playSounds(rest) {
    const wanted = new Map();
    for (const p of rest) {
      const track = this.track(p.audio_mid);
      if (track) wanted.set(String(p.audio_mid), { track, p });
    }
    for (const [mid, audio] of this.sounds) {
      if (!wanted.has(mid)) {
        audio.srcObject = null;
        audio.remove();
        this.sounds.delete(mid);
      }
    }
    for (const [mid, { track, p }] of wanted) {
      let audio = this.sounds.get(mid);
      if (!audio) {
        audio = el("audio", { autoplay: true, "data-mid": mid });
        this.speakers.append(audio);
        this.sounds.set(mid, audio);
        if (this.sink && typeof audio.setSinkId === "function") audio.setSinkId(this.sink).catch(() => {});
      }
      audio.dataset.participantId = String(p.id);
      if (!audio.srcObject || audio.srcObject.getAudioTracks()[0] !== track) {
        audio.srcObject = new MediaStream([track]);
        audio.play().catch(() => { if (this.onAutoplayBlocked) this.onAutoplayBlocked(); });
      }
    }
  }

  /** Play every participant's sound through speaker `id` (the main <video> is the page's to set). */
  async setSink(id) {
    this.sink = id || "";
    for (const audio of this.sounds.values()) {
      if (typeof audio.setSinkId === "function") await audio.setSinkId(this.sink).catch(() => {});
    }
  }

  /** The unmute button was pressed: play what autoplay refused. */
  resume() {
    for (const audio of this.sounds.values()) audio.play().catch(() => {});
  }

  /** The call is over (or back to a call of two without the server's list). */
  clear() {
    this.msg = null;
    this.mainKey = "";
    this.mainStream = null;
    for (const tile of this.tiles.values()) {
      tile.video.srcObject = null;
      tile.figure.remove();
    }
    this.tiles.clear();
    for (const audio of this.sounds.values()) {
      audio.srcObject = null;
      audio.remove();
    }
    this.sounds.clear();
    this.stage.classList.remove("multi");
    delete this.stage.dataset.others;
    this.onMain(null);
  }
}
