// Virtual Window — network quality in the administration: a session's per-party summary and its
// chart over the call (the session page), and the share of poor calls (the overview's column).

import { t, tv } from "/lib/i18n.js";
import { el } from "/lib/dom.js";
import { request } from "/lib/http.js";
import { vw, none, num, pct, fixed } from "/s/admin/common.js";
import { drawQuality, QUALITY_PARTIES } from "/s/admin/charts.js";

const party = (p) => tv("adm.d.party", p);
const pair = (a, b, unit) => (a == null && b == null ? none() : `${a ?? none()} / ${b ?? none()}${unit}`);
const round = (v) => (v == null ? null : num(Math.round(v)));
const percent = (v) => (v == null ? null : `${fixed(v)}%`);

/** The session's samples for the chart (GET /api/sessions/{id}/quality); null when there are none to get. */
export async function loadQualitySamples(id) {
  return request(`/api/sessions/${encodeURIComponent(id)}/quality`, { token: vw.session.token }).catch(() => null);
}

/** "5.0% (2 of 40)": a row's share of poor calls (the metrics' poor_share, poor_calls, quality_calls). */
export function poorShare(r) {
  if (!r || !r.quality_calls) return none();
  return t("adm.qual.share", { share: pct(r.poor_share), poor: num(r.poor_calls), n: num(r.quality_calls) });
}

/** The overview tables' column of poor calls (by service item, by hour). */
export const poorColumn = () => ({ label: t("adm.qual.col.poor"), cls: "num", value: poorShare });

const SUMMARY_COLUMNS = [
  ["adm.qual.col.party", (p) => party(p)],
  ["adm.qual.col.level", (p, q) => el("span", { class: `badge quality-${q.level}`, text: t(`quality.level.${q.level}`) })],
  ["adm.qual.col.share", (p, q) => { const s = q.share || {}; return `${pct(s.good)} / ${pct(s.fair)} / ${pct(s.poor)}`; }],
  ["adm.qual.col.rtt", (p, q) => pair(round((q.rtt_ms || {}).p50), round((q.rtt_ms || {}).p95), " ms")],
  ["adm.qual.col.loss", (p, q) => pair(percent((q.loss_pct || {}).mean), percent((q.loss_pct || {}).max), "")],
  ["adm.qual.col.kbps", (p, q) => pair(round((q.kbps_in || {}).mean), round((q.kbps_out || {}).mean), " kbps")],
  ["adm.qual.col.fps", (p, q) => pair(fixed(q.fps), fixed(q.fps_out), "")],
  ["adm.qual.col.freezes", (p, q) => (q.freezes == null ? none() : t("adm.qual.freezes", { n: num(q.freezes), s: fixed(q.frozen_s) }))],
  ["adm.qual.col.weak", (p, q) => (q.weak ? t(`adm.qual.weak.${q.weak}`) : none())],
];

/** The per-party summary (Session.quality) as a table, a row per party. */
function summaryTable(quality) {
  const rows = QUALITY_PARTIES.filter((p) => quality[p]);
  return el("div", { class: "table-wrap" }, el("table", { id: "quality-summary", class: "quality-summary" },
    el("thead", {}, el("tr", {}, SUMMARY_COLUMNS.map(([key]) => el("th", { scope: "col", text: t(key) })))),
    el("tbody", {}, rows.map((p) => el("tr", { "data-party": p, "data-level": quality[p].level },
      SUMMARY_COLUMNS.map(([, cell], i) => (i === 0 ? el("th", { scope: "row" }, cell(p, quality[p])) : el("td", {}, cell(p, quality[p])))))))));
}

/**
 * The session page's section: the call's level, the summary table and the chart over the call.
 * `s.quality` is null before the session ended after having media; `samples` is the answer of
 * GET /api/sessions/{id}/quality (or null).
 */
export function qualitySection(s, samples) {
  const section = el("section", { class: "quality-section", id: "quality", "aria-labelledby": "quality-title" },
    el("h3", { id: "quality-title", text: t("adm.qual.title") }));
  if (!s.quality) {
    section.append(el("p", { class: "muted", text: t("adm.qual.none") }));
    return section;
  }
  if (s.quality_level) {
    section.append(el("p", { class: "quality-verdict", id: "quality-level" },
      t("adm.qual.level"), " ", el("span", { class: `badge quality-${s.quality_level}`, text: t(`quality.level.${s.quality_level}`) }),
      s.quality_level === "poor" ? ` · ${t("adm.qual.poor_call")}` : ""));
  }
  section.append(summaryTable(s.quality));
  const chart = el("div", { id: "quality-chart" });
  section.append(el("figure", { class: "chart wide quality-chart" }, el("figcaption", { text: t("adm.qual.c.caption") }), chart));
  drawQuality(chart, samples, party);
  return section;
}
