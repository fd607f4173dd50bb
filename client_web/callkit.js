// Virtual Window — in-call helpers shared by the caller page and the console:
// the chat log (messages and documents), document upload/download, device
// lists and the microphone level meter.

import { t } from "/c/i18n.js";
import { emitAck } from "/c/rtc.js";

export const MAX_DOCUMENT_BYTES = 10 * 1024 * 1024;
export const DOCUMENT_EXTENSIONS = ["jpg", "jpeg", "png", "gif", "webp", "pdf", "doc", "docx", "xls", "xlsx", "ofd", "txt"];

/** null when the file may be sent, else {code, message} (the server checks again). */
export function checkFile(file) {
  const ext = (file.name.split(".").pop() || "").toLowerCase();
  if (!file.name.includes(".") || !DOCUMENT_EXTENSIONS.includes(ext)) {
    return { code: "unsupported_type", message: t("doc.badtype") };
  }
  if (file.size > MAX_DOCUMENT_BYTES) return { code: "too_large", message: t("doc.toolarge") };
  if (file.size === 0) return { code: "empty_file", message: t("doc.empty") };
  return null;
}

/** POST /api/sessions/{id}/documents; resolves the Document or throws {code, message}. */
export async function uploadDocument(sessionId, token, file) {
  const form = new FormData();
  form.append("file", file, file.name);
  let r;
  try {
    r = await fetch(`/api/sessions/${encodeURIComponent(sessionId)}/documents`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
      body: form,
    });
  } catch (err) {
    throw { code: "network_error", message: err.message || String(err) };
  }
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw body.error || { code: `http_${r.status}`, message: r.statusText };
  return body;
}

/** The document's bytes as a Blob (the download needs the Bearer token). */
export async function fetchDocument(doc, token) {
  const r = await fetch(doc.url + (doc.content_type.startsWith("image/") ? "?inline=1" : ""), {
    headers: { Authorization: `Bearer ${token}` },
  });
  if (!r.ok) {
    const body = await r.json().catch(() => ({}));
    throw body.error || { code: `http_${r.status}`, message: r.statusText };
  }
  return r.blob();
}

export function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

function hhmm(iso) {
  const d = iso ? new Date(iso) : new Date();
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

/**
 * The chat log: text lines and documents, in order, each once (by key).
 * `me` is "caller" or "specialist"; `token()` returns the token for downloads.
 */
export class ChatLog {
  constructor(list, { me, token, onError }) {
    this.list = list;
    this.me = me;
    this.token = token;
    this.onError = onError || (() => {});
    this.keys = new Set();
    this.urls = [];
  }

  clear() {
    this.list.replaceChildren();
    this.keys.clear();
    for (const u of this.urls) URL.revokeObjectURL(u);
    this.urls = [];
  }

  _who(from) {
    if (from === this.me) return t("chat.you");
    if (from === "system") return "";
    return from === "caller" ? t("chat.caller") : t("chat.specialist");
  }

  _item(from, at, key) {
    if (key && this.keys.has(key)) return null;
    if (key) this.keys.add(key);
    const li = document.createElement("li");
    li.className = `chat-msg from-${from === this.me ? "me" : from}`;
    const meta = document.createElement("div");
    meta.className = "chat-meta";
    const who = this._who(from);
    meta.textContent = who ? `${who} · ${hhmm(at)}` : hhmm(at);
    li.append(meta);
    return li;
  }

  _append(li) {
    this.list.append(li);
    this.list.scrollTop = this.list.scrollHeight;
  }

  message(msg) {
    const li = this._item(msg.from, msg.at, msg.at ? `m:${msg.from}:${msg.at}:${msg.text}` : null);
    if (!li) return;
    const p = document.createElement("div");
    p.className = "chat-text";
    p.textContent = msg.text;
    li.append(p);
    this._append(li);
  }

  system(text) {
    const li = this._item("system", null, null);
    li.classList.add("chat-system");
    li.firstChild.remove();
    li.textContent = text;
    this._append(li);
  }

  document(doc) {
    const li = this._item(doc.from, doc.at, `d:${doc.id}`);
    if (!li) return;
    li.classList.add("chat-doc");
    li.dataset.documentId = doc.id;
    const box = document.createElement("div");
    box.className = "doc-card";
    const icon = document.createElement("span");
    icon.className = "doc-icon";
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = (doc.name.split(".").pop() || "").slice(0, 4).toUpperCase();
    const name = document.createElement("span");
    name.className = "doc-name";
    name.textContent = doc.name;
    const size = document.createElement("small");
    size.textContent = fmtBytes(doc.size);
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = "btn btn-small";
    btn.textContent = t("doc.download");
    btn.setAttribute("aria-label", `${t("doc.download")} ${doc.name}`);
    btn.addEventListener("click", () => this.download(doc));
    box.append(icon, name, size, btn);
    li.append(box);
    if (doc.content_type.startsWith("image/")) {
      const img = document.createElement("img");
      img.className = "doc-thumb";
      img.alt = doc.name;
      li.append(img);
      fetchDocument(doc, this.token()).then((blob) => {
        const url = URL.createObjectURL(blob);
        this.urls.push(url);
        img.src = url;
      }).catch(() => img.remove());
    }
    this._append(li);
  }

  async download(doc) {
    try {
      const blob = await fetchDocument(doc, this.token());
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = doc.name;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 30_000);
    } catch (err) {
      this.onError(err);
    }
  }
}

/** Fill a <select> with the devices of `kind` ("videoinput", "audioinput", "audiooutput"). */
export async function fillDevices(select, kind, current) {
  let devices = [];
  try {
    devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === kind);
  } catch (_) { /* no permission yet */ }
  select.replaceChildren();
  if (kind === "audiooutput") {
    const opt = document.createElement("option");
    opt.value = "";
    opt.textContent = t("device.default");
    select.append(opt);
  }
  devices.forEach((d, i) => {
    if (kind === "audiooutput" && (d.deviceId === "default" || d.deviceId === "")) return;
    const opt = document.createElement("option");
    opt.value = d.deviceId;
    opt.textContent = d.label || `${t(kind === "videoinput" ? "device.camera" : kind === "audioinput" ? "device.mic" : "device.speaker")} ${i + 1}`;
    select.append(opt);
  });
  if (!select.options.length) {
    const opt = document.createElement("option");
    opt.value = "";
    opt.textContent = t("device.none");
    select.append(opt);
  }
  if (current && [...select.options].some((o) => o.value === current)) select.value = current;
  return devices;
}

/** A microphone level meter: updates `bar` (width) and `meter` (aria-valuenow). */
export class MicMeter {
  constructor(meter, bar) {
    this.meter = meter;
    this.bar = bar;
    this.ctx = null;
    this.source = null;
    this.raf = 0;
    this.level = 0;
    const resume = () => { if (this.ctx && this.ctx.state === "suspended") this.ctx.resume().catch(() => {}); };
    document.addEventListener("click", resume, true);
    document.addEventListener("keydown", resume, true);
  }

  attach(stream) {
    this.stop();
    const track = stream && stream.getAudioTracks()[0];
    if (!track) return;
    try {
      this.ctx = this.ctx || new AudioContext();
      this.ctx.resume().catch(() => {});
      this.source = this.ctx.createMediaStreamSource(new MediaStream([track]));
      const analyser = this.ctx.createAnalyser();
      analyser.fftSize = 512;
      this.source.connect(analyser);
      const data = new Uint8Array(analyser.fftSize);
      let lastAria = 0;
      const loop = (now) => {
        analyser.getByteTimeDomainData(data);
        let sum = 0;
        for (const v of data) sum += ((v - 128) / 128) ** 2;
        const rms = Math.sqrt(sum / data.length);
        const level = Math.min(100, Math.round(Math.sqrt(rms) * 140));
        this.level = track.enabled ? level : 0;
        this.bar.style.width = `${this.level}%`;
        if (now - lastAria > 500) {
          this.meter.setAttribute("aria-valuenow", String(this.level));
          lastAria = now;
        }
        this.raf = requestAnimationFrame(loop);
      };
      this.raf = requestAnimationFrame(loop);
    } catch (_) { /* no WebAudio */ }
  }

  stop() {
    cancelAnimationFrame(this.raf);
    if (this.source) this.source.disconnect();
    this.source = null;
  }
}

/**
 * Wire a page's chat form and attachment button (the same on the caller page and
 * the console): `chat:message` over the socket, documents over HTTP.
 * `current()` returns `{socket, callId, token}` of the live call (or no callId).
 * Returns the function that sends a file.
 */
export function bindChatForm({ form, input, attachButton, fileInput, status }, { chat, current, onError }) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    const { socket, callId } = current();
    if (!text || !callId) return;
    input.value = "";
    const ack = await emitAck(socket, "chat:message", { call_id: callId, text });
    if (!ack.ok) onError(ack);
    else if (ack.message) chat.message(ack.message);
  });
  async function sendFile(file) {
    const { callId, token } = current();
    if (!file || !callId || !token) return;
    const problem = checkFile(file);
    if (problem) {
      onError(problem);
      return;
    }
    status.textContent = t("doc.uploading", { name: file.name });
    try {
      const doc = await uploadDocument(callId, token, file);
      chat.document(doc);
      status.textContent = t("doc.sent", { name: doc.name });
    } catch (err) {
      status.textContent = "";
      onError(err);
    }
  }
  attachButton.addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", () => {
    const file = fileInput.files[0];
    fileInput.value = "";
    sendFile(file);
  });
  return sendFile; // for other ways in, such as dropping a file on the call
}
