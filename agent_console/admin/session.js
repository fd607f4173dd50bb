// Virtual Window — administration view #/sessions/{id}: one session's facts, timeline, chat,
// documents, wrap-up and its recordings played in sync.

import { t, tv, fmtDuration, fmtTime, fmtBytes } from "/lib/i18n.js";
import { $, el } from "/lib/dom.js";
import { request } from "/lib/http.js";
import { vw, call, none, timeNode, catalogItemName, staffName, fmtMs } from "/s/admin/common.js";
import { loadQualitySamples, qualitySection } from "/s/admin/quality.js";

/** Who an event names: the account by username or id ("演示坐席 (demo)"). */
function eventWho(d, s) {
  const id = d.specialist_id;
  const own = s.specialist && s.specialist.id === id ? s.specialist : null;
  return staffName(d.username || id, own ? own.display_name || own.username : null);
}

/** What a reason code means, in the page's language (the code itself when it is new to this page). */
const reason = (prefix, code) => (code ? tv(prefix, code) : none());
const capital = (text) => text.charAt(0).toUpperCase() + text.slice(1);

// One sentence per event type (strings adm.ev.*); the placeholders each needs, from its data.
const EVENT_VARS = {
  queued: (d) => ({ from: d.transferred_from_reference || d.transferred_from || "" }),
  offer_withdrawn: (d) => ({ why: reason("adm.offer_end", d.reason) }),
  ended: (d) => ({ by: tv("adm.d.party", d.ended_by) || none(), reason: reason("adm.reason", d.reason) }),
  wrap_up: (d) => ({ disposition: d.disposition ? tv("disp", d.disposition) : none() }),
  rated: (d) => ({ n: d.satisfaction ?? "" }),
  chat: (d) => ({ from: tv("adm.d.party", d.from) }),
  document: (d) => ({ from: tv("adm.d.party", d.from), name: d.name || "", size: fmtBytes(d.size) }),
  screen_share: (d) => ({ from: tv("adm.d.party", d.from) }),
  transferred: (d, s) => {
    const to = d.specialist ? staffName(d.specialist) : itemLabel(d.service_item);
    return { to: s.transferred_to_reference ? `${to} · ${s.transferred_to_reference}` : to };
  },
  media_lost: (d) => ({ party: tv("adm.d.party", d.party), why: reason("adm.media_why", d.reason) }),
  media_restored: (d) => ({ party: d.party ? tv("adm.d.party", d.party) : t("adm.d.both") }),
  overflowed: (d) => ({ from: itemLabel(d.from), to: itemLabel(d.to) }),
  escalated: (d) => ({ step: d.step ?? "", what: escalation(d) }),
  rona: (d) => ({ n: d.offers ?? "" }),
  monitor_started: (d) => ({ admin: staffName(d.admin || d.admin_id), mode: tv("adm.monitor_mode", d.mode || "listen") }),
  monitor_mode: (d) => ({ admin: staffName(d.admin || d.admin_id), mode: tv("adm.monitor_mode", d.mode) }),
  // Several people in one call (issue 13): the invited specialist is `who` (its username or id).
  invited: (d) => ({ who: staffName(d.specialist || d.specialist_id), mode: tv("adm.call_mode", d.mode), note: d.note || none() }),
  invite_accepted: (d) => ({ who: staffName(d.specialist || d.specialist_id), mode: tv("adm.call_mode", d.mode), wait: fmtMs(d.wait_ms) }),
  invite_ended: (d) => ({ why: reason("adm.invite_end", d.reason) }),
  participant_left: (d) => ({ who: staffName(d.specialist || d.specialist_id), why: reason("adm.left_why", d.reason) }),
  handed_over: (d, s) => {
    const who = staffName(d.specialist || d.specialist_id);
    return { to: s.transferred_to_reference ? `${who} · ${s.transferred_to_reference}` : who };
  },
  monitor_stopped: (d) => ({ admin: staffName(d.admin || d.admin_id), why: reason("adm.monitor_end", d.reason) }),
  requeued: (d) => ({ to: d.to_session || none() }),
  requeued_from: (d) => ({ from: d.from_session || none() }),
  callback_due: (d) => ({ n: d.accept_s ?? "" }),
  appointment: (d) => ({ ref: d.reference || none(), slot: d.slot_start ? fmtTime(d.slot_start) : none() }),
};

const itemLabel = (code) => (code ? catalogItemName(code) : none());

function escalation(d) {
  const parts = [];
  if (d.min_proficiency != null) parts.push(t("adm.esc.min", { n: d.min_proficiency }));
  if (d.scope) parts.push(tv("adm.q.scope", d.scope));
  if (d.priority != null) parts.push(t("adm.esc.priority", { n: d.priority }));
  return parts.join(", ") || none();
}

/** An event as a sentence; an event type this page does not know yet is named, with its plain values. */
export function describeEvent(ev, s) {
  const d = ev.data || {};
  const key = `adm.ev.${ev.type}${ev.type === "queued" && d.transferred_from ? ".transfer" : ""}${ev.type === "screen_share" ? (d.sharing ? ".on" : ".off") : ""}`;
  if (t(key) === key) {
    const values = Object.entries(d).filter(([, v]) => v == null || typeof v !== "object").map(([k, v]) => `${k.replace(/_/g, " ")}: ${v ?? none()}`);
    return t("adm.ev.other", { type: ev.type.replace(/_/g, " ") }) + (values.length ? ` (${values.join(", ")})` : "");
  }
  return t(key, { who: eventWho(d, s), ...(EVENT_VARS[ev.type] ? EVENT_VARS[ev.type](d, s) : {}) });
}

export async function show(id) {
  await vw.choices; // names of the specialists and service items the events refer to
  const s = await call(`/api/sessions/${encodeURIComponent(id)}`);
  if (!s) return;
  vw.detail = s;
  if (!s.documents) {
    const docs = await request(`/api/sessions/${encodeURIComponent(id)}/documents`, { token: vw.session.token }).catch(() => null);
    s.documents = docs ? docs.items || [] : [];
  }
  s.qualitySamples = s.quality ? await loadQualitySamples(id) : null; // the network quality chart's
  relabel();
}

/** A link to another session of the log, by its reference when it has one. */
const sessionLink = (id, ref) => (id ? el("a", { href: `#/sessions/${encodeURIComponent(id)}`, text: ref || id.slice(0, 8) }) : null);

export function relabel() {
  const s = vw.detail;
  if (!s) return;
  $("detail-id").textContent = s.reference || s.id;
  const box = $("detail-body");
  box.replaceChildren();
  const fact = (label, value, cls) => el("div", { class: cls }, el("dt", { text: label }), el("dd", {}, value == null || value === "" ? none() : value));
  const item = s.service_item || {};
  const caller = s.caller || {};
  const endedBy = s.ended_by ? tv("adm.d.party", s.ended_by) : null;
  box.append(el("dl", { class: "facts", id: "detail-facts" },
    fact(t("admin.col.outcome"), el("span", { class: `badge ${s.outcome || s.status}`, text: s.outcome ? tv("outcome", s.outcome) : tv("adm.status", s.status) })),
    fact(t("admin.col.item"), item.code ? catalogItemName(item.code, item.name) : null),
    fact(t("adm.d.caller"), caller.name), fact(t("adm.d.company"), caller.company), fact(t("adm.d.phone"), caller.phone),
    caller.credit_code ? fact(t("adm.d.credit_code"), el("span", { class: "mono", text: caller.credit_code })) : null,
    fact(t("admin.col.specialist"), s.specialist ? staffName(s.specialist.id, s.specialist.display_name || s.specialist.username) : null),
    fact(t("admin.col.created"), timeNode(s.created_at)), fact(t("admin.col.answered"), timeNode(s.answered_at)),
    fact(t("admin.col.media"), timeNode(s.media_at)), fact(t("admin.col.ended"), timeNode(s.ended_at)),
    fact(t("adm.d.wait"), s.wait_ms == null ? null : fmtMs(s.wait_ms)),
    fact(t("adm.d.connect"), s.connect_ms == null ? null : fmtMs(s.connect_ms)),
    fact(t("adm.d.talk"), s.talk_s == null ? null : fmtDuration(s.talk_s)),
    fact(t("admin.col.reason"), s.end_reason ? capital(endedBy ? t("adm.d.reason_by", { reason: reason("adm.reason", s.end_reason), by: endedBy }) : reason("adm.reason", s.end_reason)) : null),
    s.transferred_from ? fact(t("adm.d.transferred_from"), sessionLink(s.transferred_from, s.transferred_from_reference)) : null,
    s.transferred_to ? fact(t("adm.d.transferred_to"), sessionLink(s.transferred_to, s.transferred_to_reference)) : null,
    s.transfer_note ? fact(t("adm.d.transfer_note"), s.transfer_note, "wide") : null,
    fact(t("admin.col.rating"), s.satisfaction == null ? null : `${s.satisfaction} / 5`),
    fact(t("console.disposition"), s.disposition ? tv("disp", s.disposition) : null),
    fact(t("console.difficulty"), s.difficulty == null ? null : `${s.difficulty} / 5`),
    fact(t("console.notes"), s.notes, "wide"),
  ));

  box.append(participantsSection(s.participants || []));
  box.append(qualitySection(s, s.qualitySamples)); // network quality: the summary and the chart over the call

  // recordings, side by side, one set of controls
  box.append(el("h3", { text: t("adm.d.recordings") }));
  box.append(renderRecordings(s.recordings || []));

  // timeline: when (from the request, and the clock time), and what happened, as a sentence
  const created = Date.parse(s.created_at);
  const events = s.events || [];
  box.append(el("h3", { text: t("adm.d.timeline") }));
  box.append(el("ol", { class: "timeline", id: "timeline" }, events.map((ev) => {
    const dt = (Date.parse(ev.at) - created) / 1000;
    return el("li", { "data-type": ev.type },
      el("span", { class: "offset mono", text: `+${dt.toFixed(3)} s` }), " ",
      timeNode(ev.at), " ", el("strong", { text: describeEvent(ev, s) }));
  })));

  // chat transcript
  const chat = events.filter((ev) => ev.type === "chat" && ev.data);
  box.append(el("h3", { text: t("adm.d.chat") }));
  box.append(chat.length ? el("ol", { class: "chat-log", id: "transcript" }, chat.map((ev) =>
    el("li", { class: `from-${ev.data.from}` }, el("strong", { text: tv("adm.d.party", ev.data.from) }), " ",
      timeNode(ev.at), el("p", { text: ev.data.text })))) : el("p", { class: "muted", text: t("adm.d.chat.none") }));

  // documents
  box.append(el("h3", { text: t("adm.d.documents") }));
  const docs = s.documents || [];
  box.append(docs.length ? el("ul", { id: "documents" }, docs.map((d) => el("li", {},
    el("a", { href: d.url, target: "_blank", rel: "noopener", text: d.name || d.filename || d.id }),
    ` · ${tv("adm.d.party", d.from || d.sender)} · `, el("span", { class: "size", text: fmtBytes(d.size) }), " · ",
    timeNode(d.at || d.created_at)))) : el("p", { class: "muted", text: t("adm.d.documents.none") }));
}

/** Who was in the call, in which role and mode, from when to when (several people in one call). */
function participantsSection(rows) {
  if (rows.length <= 2 && rows.every((p) => p.role === "caller" || p.role === "front_desk")) return el("div", {}); // a call of two
  const who = (p) => (p.account_id != null ? staffName(p.account_id, p.display_name) : p.display_name || none());
  return el("div", {}, el("h3", { text: t("adm.d.participants") }),
    el("ul", { class: "participants", id: "participants" }, rows.map((p) => el("li", { "data-role": p.role },
      el("strong", { text: tv("adm.role", p.role) }), ` · ${who(p)}`,
      p.mode ? ` · ${tv(p.role === "supervisor" ? "adm.monitor_mode" : "adm.call_mode", p.mode)}` : "",
      p.wait_ms != null ? ` · ${t("adm.d.reached_in", { wait: fmtMs(p.wait_ms) })}` : "", " · ",
      timeNode(p.joined_at), " – ", p.left_at ? timeNode(p.left_at) : none()))));
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

