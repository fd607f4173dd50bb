// Virtual Window — in-call helpers shared by the caller page and the console:
// the chat panel (messages and documents), document upload/download, device
// lists and the microphone level meter.

import { t, applyI18n, fmtBytes } from "./i18n.js";
import { el, saveBlob } from "./dom.js";
import { request } from "./http.js";
import { emitAck } from "./socket.js";
import { resumeOnGesture } from "./media.js";

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

/** POST /api/sessions/{id}/documents; resolves the Document or throws the HttpError. */
export function uploadDocument(sessionId, token, file) {
  const form = new FormData();
  form.append("file", file, file.name);
  return request(`/api/sessions/${encodeURIComponent(sessionId)}/documents`, {
    method: "POST", token, body: form, timeoutMs: 120_000, // up to 10 MB over a slow line
  });
}

/** The document's bytes as a Blob (the download needs the Bearer token). */
export function fetchDocument(doc, token) {
  const inline = doc.content_type.startsWith("image/") ? "?inline=1" : "";
  return request(doc.url + inline, { token, as: "blob", timeoutMs: 60_000 });
}

function hhmm(iso) {
  const d = iso ? new Date(iso) : new Date();
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

/**
 * The chat log: text lines and documents, in order, each once (by key).
 * `me` is "caller" or "specialist"; `token()` returns the token for downloads; `account()` this
 * console's account id: with two specialists in a call, a line that names its specialist
 * (`specialist: {id, display_name}`) is "you" only if it is this account's, else their name.
 */
export class ChatLog {
  constructor(list, { me, token, onError, account }) {
    this.list = list;
    this.me = me;
    this.account = account || (() => null);
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

  _who(from, by) {
    if (by && by.id != null && this.account() != null) {
      return by.id === this.account() ? t("chat.you") : by.display_name || t("chat.specialist");
    }
    if (from === this.me) return t("chat.you");
    if (from === "system") return "";
    return from === "caller" ? t("chat.caller") : t("chat.specialist");
  }

  _item(from, at, key, by) {
    if (key && this.keys.has(key)) return null;
    if (key) this.keys.add(key);
    const who = this._who(from, by);
    const mine = by && by.id != null && this.account() != null ? by.id === this.account() : from === this.me;
    return el("li", { class: `chat-msg from-${mine ? "me" : from}` },
      el("div", { class: "chat-meta", text: who ? `${who} · ${hhmm(at)}` : hhmm(at) }));
  }

  _append(li) {
    this.list.append(li);
    this.list.scrollTop = this.list.scrollHeight;
  }

  message(msg) {
    const li = this._item(msg.from, msg.at, msg.at ? `m:${msg.from}:${msg.at}:${msg.text}` : null, msg.specialist);
    if (!li) return;
    li.append(el("div", { class: "chat-text", text: msg.text }));
    this._append(li);
  }

  system(text) {
    this._append(el("li", { class: "chat-msg from-system chat-system", text }));
  }

  document(doc) {
    const li = this._item(doc.from, doc.at, `d:${doc.id}`);
    if (!li) return;
    li.classList.add("chat-doc");
    li.dataset.documentId = doc.id;
    li.append(el("div", { class: "doc-card" },
      el("span", { class: "doc-icon", "aria-hidden": "true", text: (doc.name.split(".").pop() || "").slice(0, 4).toUpperCase() }),
      el("span", { class: "doc-name", text: doc.name }),
      el("small", { text: fmtBytes(doc.size) }),
      el("button", {
        type: "button", class: "btn btn-small", text: t("doc.download"), "aria-label": `${t("doc.download")} ${doc.name}`,
        onclick: () => this.download(doc),
      })));
    if (doc.content_type.startsWith("image/")) {
      const img = el("img", { class: "doc-thumb", alt: doc.name });
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
      saveBlob(await fetchDocument(doc, this.token()), doc.name);
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
  const speaker = kind === "audiooutput";
  const label = t(kind === "videoinput" ? "device.camera" : kind === "audioinput" ? "device.mic" : "device.speaker");
  select.replaceChildren(
    speaker ? el("option", { value: "", text: t("device.default") }) : null,
    ...devices.map((d, i) => (speaker && (d.deviceId === "default" || d.deviceId === "")
      ? null : el("option", { value: d.deviceId, text: d.label || `${label} ${i + 1}` }))).filter(Boolean),
  );
  if (!select.options.length) select.append(el("option", { value: "", text: t("device.none") }));
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
    resumeOnGesture(() => this.ctx);
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
    this.level = 0;
    this.bar.style.width = "0%";
    this.meter.setAttribute("aria-valuenow", "0");
  }
}

/**
 * The chat panel of the caller page and the console, built into `section`: the log, the
 * message form (`chat:message` over the socket) and the attachment button (documents over
 * HTTP). `current()` returns `{socket, callId, token}` of the live call (or no callId).
 * Returns the ChatLog and the function that sends a file (for other ways in, such as
 * dropping a file on the call).
 */
export function mountChat(section, { me, current, onError, account }) {
  const list = el("ol", { id: "chat-log", class: "chat-log", "aria-live": "polite", tabindex: "0", "data-i18n-aria": "chat.log" });
  const input = el("input", { id: "chat-input", type: "text", maxlength: "1000", autocomplete: "off", "data-i18n-ph": "chat.ph" });
  const form = el("form", { id: "chat-form", class: "chat-form" },
    el("label", { for: "chat-input", class: "visually-hidden", "data-i18n": "chat.message" }), input,
    el("button", { type: "submit", class: "btn btn-primary", "data-i18n": "chat.send" }));
  const fileInput = el("input", {
    id: "file-input", type: "file", class: "visually-hidden", tabindex: "-1", "aria-hidden": "true",
    accept: DOCUMENT_EXTENSIONS.map((x) => `.${x}`).join(","),
  });
  const attach = el("button", { type: "button", class: "btn btn-small", id: "attach-btn", "aria-describedby": "attach-hint" },
    el("span", { "aria-hidden": "true", class: "clip" }), el("span", { "data-i18n": "doc.attach" }));
  const status = el("p", { id: "upload-status", class: "hint", role: "status", "aria-live": "polite" });
  section.setAttribute("aria-labelledby", "chat-title");
  section.append(
    el("h3", { id: "chat-title", "data-i18n": "chat.docs.title" }), list, form,
    el("div", { class: "attach-row" }, fileInput, attach, el("small", { id: "attach-hint", class: "hint", "data-i18n": "doc.hint" })),
    status);
  applyI18n(section);

  const chat = new ChatLog(list, { me, token: () => current().token, onError, account });
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
  attach.addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", () => {
    const file = fileInput.files[0];
    fileInput.value = "";
    sendFile(file);
  });
  return { chat, sendFile };
}

/**
 * The "reconnecting…" notice over the call's video, driven by S→C `call:media`
 * ({party, state: "lost" | "restored"}). `prefix` picks the page's strings
 * (`${prefix}.media.${party}`), so each page says who is reconnecting in its own
 * words; `self` is the page's own party.
 */
export class MediaNotice {
  constructor(overlay, text, { prefix, self }) {
    this.overlay = overlay;
    this.text = text;
    this.prefix = prefix;
    this.self = self;
    this.lost = new Set();
  }

  update(msg) {
    if (msg.state === "lost") this.lost.add(msg.party);
    else this.lost.delete(msg.party);
    this.render();
  }

  clear() {
    this.lost.clear();
    this.render();
  }

  render() {
    // The other party first: their absence is what the user sees on screen.
    const party = [...this.lost].sort((a, b) => (a === this.self) - (b === this.self))[0];
    this.overlay.hidden = !party;
    if (party) this.text.textContent = t(`${this.prefix}.media.${party}`);
  }
}
