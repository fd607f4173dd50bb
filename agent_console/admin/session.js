// Virtual Window — administration view #/sessions/{id}: one session's facts, timeline, chat,
// documents, wrap-up and its recordings played in sync.

import { t, tv, fmtDuration } from "/lib/i18n.js";
import { $, el } from "/lib/dom.js";
import { request } from "/lib/http.js";
import { vw, call, none, timeNode } from "/s/admin/common.js";

function describeEvent(ev, s) {
  const d = ev.data || {};
  const who = d.username || (s.specialist && s.specialist.id === d.specialist_id ? s.specialist.display_name || s.specialist.username : null) || (d.specialist_id != null ? `#${d.specialist_id}` : "");
  const key = `adm.ev.${ev.type}`;
  if (t(key) === key) return ev.type;
  return t(key, { who, by: tv("adm.d.party", d.ended_by) || none(), reason: d.reason || none(), n: d.satisfaction ?? "" });
}

export async function show(id) {
  const s = await call(`/api/sessions/${encodeURIComponent(id)}`);
  if (!s) return;
  vw.detail = s;
  if (!s.documents) {
    const docs = await request(`/api/sessions/${encodeURIComponent(id)}/documents`, { token: vw.session.token }).catch(() => null);
    s.documents = docs ? docs.items || [] : [];
  }
  relabel();
}

export function relabel() {
  const s = vw.detail;
  if (!s) return;
  $("detail-id").textContent = s.id;
  const box = $("detail-body");
  box.replaceChildren();
  const fact = (label, value, cls) => el("div", { class: cls }, el("dt", { text: label }), el("dd", {}, value == null || value === "" ? none() : value));
  const item = s.service_item || {};
  const caller = s.caller || {};
  box.append(el("dl", { class: "facts", id: "detail-facts" },
    fact(t("admin.col.outcome"), el("span", { class: `badge ${s.outcome || s.status}`, text: s.outcome ? tv("outcome", s.outcome) : s.status })),
    fact(t("admin.col.item"), item.code ? `${item.code} ${item.name || ""}` : null),
    fact(t("adm.d.caller"), caller.name), fact(t("adm.d.company"), caller.company), fact(t("adm.d.phone"), caller.phone),
    fact(t("admin.col.specialist"), s.specialist ? s.specialist.display_name || s.specialist.username : null),
    fact(t("admin.col.created"), timeNode(s.created_at)), fact(t("admin.col.answered"), timeNode(s.answered_at)),
    fact(t("admin.col.media"), timeNode(s.media_at)), fact(t("admin.col.ended"), timeNode(s.ended_at)),
    fact(t("admin.col.wait"), s.wait_ms), fact(t("admin.col.connect"), s.connect_ms),
    fact(t("admin.col.talk"), s.talk_s == null ? null : fmtDuration(s.talk_s)),
    fact(t("admin.col.reason"), [s.end_reason, s.ended_by && tv("adm.d.party", s.ended_by)].filter(Boolean).join(" / ")),
    fact(t("admin.col.rating"), s.satisfaction == null ? null : `${s.satisfaction} / 5`),
    fact(t("console.disposition"), s.disposition ? tv("disp", s.disposition) : null),
    fact(t("console.difficulty"), s.difficulty == null ? null : `${s.difficulty} / 5`),
    fact(t("console.notes"), s.notes, "wide"),
  ));

  // recordings, side by side, one set of controls
  box.append(el("h3", { text: t("adm.d.recordings") }));
  box.append(renderRecordings(s.recordings || []));

  // timeline
  const created = Date.parse(s.created_at);
  const events = s.events || [];
  box.append(el("h3", { text: t("adm.d.timeline") }));
  box.append(el("ol", { class: "timeline", id: "timeline" }, events.map((ev) => {
    const dt = (Date.parse(ev.at) - created) / 1000;
    return el("li", { "data-type": ev.type },
      el("span", { class: "offset mono", text: `+${dt.toFixed(3)} s` }), " ",
      timeNode(ev.at), " ", el("strong", { text: describeEvent(ev, s) }),
      ev.type === "chat" ? null : ev.data && Object.keys(ev.data).length ? el("code", { class: "muted", text: ` ${JSON.stringify(ev.data)}` }) : null);
  })));

  // chat transcript
  const chat = events.filter((ev) => ev.type === "chat" && ev.data);
  box.append(el("h3", { text: t("adm.d.chat") }));
  box.append(chat.length ? el("ol", { class: "chat-log", id: "transcript" }, chat.map((ev) =>
    el("li", { class: `from-${ev.data.from}` }, el("strong", { text: tv("adm.d.party", ev.data.from) }), " ",
      timeNode(ev.at), el("p", { text: ev.data.text })))) : el("p", { class: "muted", text: t("adm.d.chat.none") }));

  // documents (when the documents feature is present)
  box.append(el("h3", { text: t("adm.d.documents") }));
  const docs = s.documents || [];
  box.append(docs.length ? el("ul", { id: "documents" }, docs.map((d) => el("li", {},
    el("a", { href: d.url, target: "_blank", rel: "noopener", text: d.filename || d.name || d.id }),
    ` · ${tv("adm.d.party", d.sender) || ""} · ${d.size != null ? `${(d.size / 1024).toFixed(0)} KB` : ""} `,
    timeNode(d.created_at || d.at)))) : el("p", { class: "muted", text: t("adm.d.documents.none") }));
}

/** Two <video>s played in sync: one clock (the first), the other follows it. */
function renderRecordings(recs) {
  if (!recs.length) return el("p", { class: "muted", text: t("adm.d.recordings.none") });
  const videos = recs.map((r) => el("video", { src: r.url, preload: "metadata", playsinline: true, "data-party": r.party, "aria-label": `${tv("adm.d.party", r.party)} · ${t("adm.d.recordings")}` }));
  const grid = el("div", { class: "recordings" }, recs.map((r, i) => el("figure", {},
    videos[i], el("figcaption", {}, `${tv("adm.d.party", r.party)}${r.duration_s != null ? ` · ${fmtDuration(r.duration_s)}` : ""} · `,
      el("a", { href: r.url, download: `${r.party}.webm`, text: "WebM" })))));
  const master = videos[0];
  const play = el("button", { type: "button", class: "btn btn-primary", id: "rec-play", text: t("adm.d.play") });
  const seek = el("input", { type: "range", id: "rec-seek", min: 0, max: 1000, value: 0, "aria-label": t("adm.d.seek") });
  const clock = el("span", { class: "mono", id: "rec-clock", text: "0:00" });
  const duration = () => Math.max(...videos.map((v) => (Number.isFinite(v.duration) ? v.duration : 0)), 0);
  const sync = () => {
    for (const v of videos.slice(1)) {
      if (Math.abs(v.currentTime - master.currentTime) > 0.25 && master.currentTime <= (v.duration || Infinity)) v.currentTime = master.currentTime;
    }
  };
  play.addEventListener("click", async () => {
    if (master.paused) {
      sync();
      await Promise.all(videos.map((v) => v.play().catch(() => {})));
    } else {
      videos.forEach((v) => v.pause());
    }
  });
  master.addEventListener("play", () => { play.textContent = t("adm.d.pause"); });
  master.addEventListener("pause", () => { play.textContent = t("adm.d.play"); videos.slice(1).forEach((v) => v.pause()); });
  master.addEventListener("timeupdate", () => {
    sync();
    const d = duration();
    if (d) seek.value = String(Math.round((1000 * master.currentTime) / d));
    clock.textContent = `${fmtDuration(master.currentTime)} / ${fmtDuration(d)}`;
  });
  seek.addEventListener("input", () => {
    const at = (Number(seek.value) / 1000) * duration();
    videos.forEach((v) => { v.currentTime = Math.min(at, v.duration || at); });
  });
  vw.recordings = videos;
  return el("div", { class: "recording-player" }, grid, el("div", { class: "toolbar" }, play, seek, clock));
}

