// Virtual Window — local media and <video> helpers of the caller page and the console.

import { t } from "./i18n.js";

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

/** The remembered devices first; any device when one of them is gone. */
export async function getRememberedMedia({ audioId, videoId }) {
  try {
    return await getLocalMedia({ audioId, videoId });
  } catch (err) {
    if (!audioId && !videoId) throw err;
    return getLocalMedia();
  }
}

/**
 * The call is over: stop every track of `stream` (the camera and microphone are released, their
 * light goes off) and empty each <video> that showed it. Returns null, for `stream = stopMedia(stream)`.
 */
export function stopMedia(stream, ...videos) {
  if (stream) for (const tr of stream.getTracks()) tr.stop();
  for (const video of videos) {
    video.pause();
    video.srcObject = null;
  }
  return null;
}

/** Browsers start an AudioContext suspended until the user acts: resume `context()` on the first click or key. */
export function resumeOnGesture(context) {
  const resume = () => {
    const ctx = context();
    if (ctx && ctx.state === "suspended") ctx.resume().catch(() => {});
  };
  document.addEventListener("click", resume, true);
  document.addEventListener("keydown", resume, true);
}

/** The {code, message} shown when a camera or microphone cannot be used. */
export function mediaError(err, code) {
  return { code: err.name || code, message: t("leg.nomedia", { message: err.message || err.name }) };
}

/** Enable/disable the local tracks of one kind; the new enabled state, or null without such tracks. */
export function toggleTracks(stream, kind) {
  const tracks = stream ? (kind === "audio" ? stream.getAudioTracks() : stream.getVideoTracks()) : [];
  if (!tracks.length) return null;
  const enabled = !tracks[0].enabled;
  for (const tr of tracks) tr.enabled = enabled;
  return enabled;
}

/** Put `track` into `stream` (a new one when null) in place of the track of its kind, keeping its mute. */
export function swapTrack(stream, track) {
  const target = stream || new MediaStream();
  const old = target.getTracks().find((tr) => tr.kind === track.kind);
  if (old) {
    track.enabled = old.enabled;
    target.removeTrack(old);
    old.stop();
  }
  target.addTrack(track);
  return target;
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

/** The "click to hear" button, shown when autoplay with sound was refused. */
export function bindUnmute(button, video) {
  button.addEventListener("click", () => {
    video.muted = false;
    video.play().catch(() => {});
    button.hidden = true;
  });
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

const DARK = 24; // no sampled block brighter than this (of 255): a black picture

/**
 * Whether `video` shows the other party's camera. `onChange(false)` when its stream has no live
 * video track (missing, ended or muted), no frame came for `stallMs` (the sender stopped its
 * camera or sends none), or the frames are black (a camera turned off with `track.enabled = false`
 * still sends black frames: remote tracks are not muted for it); `onChange(true)` when a picture
 * is back. Checked every `everyMs` from an 8×6 sample. `restart()` gives a new call `graceMs`
 * for its first frames before "no picture" is said.
 */
export function watchPicture(video, onChange, { stallMs = 2000, graceMs = 3000, everyMs = 500 } = {}) {
  watchFrames(video);
  const canvas = document.createElement("canvas");
  canvas.width = 8;
  canvas.height = 6;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  let shown = null;
  let frames = -1;
  let frameAt = performance.now();
  let since = frameAt;
  const black = () => {
    try {
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 0; i < d.length; i += 4) if (Math.max(d[i], d[i + 1], d[i + 2]) > DARK) return false;
      return true;
    } catch (_) {
      return false; // nothing drawable yet: the other checks decide
    }
  };
  const check = () => {
    const now = performance.now();
    const count = Number(video.dataset.frames || 0);
    if (count !== frames || document.hidden) { // a hidden page renders no frames: not a stall
      frames = count;
      frameAt = now;
    }
    const track = video.srcObject && video.srcObject.getVideoTracks ? video.srcObject.getVideoTracks()[0] : null;
    const picture = !!track && track.readyState === "live" && !track.muted
      && now - frameAt <= stallMs && video.videoWidth > 0 && !black();
    if (!picture && now - since < graceMs) return;
    if (picture !== shown) {
      shown = picture;
      onChange(picture);
    }
  };
  setInterval(check, everyMs);
  return {
    restart() {
      since = performance.now();
      frameAt = since;
      if (shown !== true) {
        shown = true; // the picture is coming
        onChange(true);
      }
    },
  };
}
