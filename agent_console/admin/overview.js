// Virtual Window — administration view #/overview: response times and service level for a
// period, with charts and tables by service item, specialist and hour of day.

import { t, getLang, fmtDuration } from "/lib/i18n.js";
import { $ } from "/lib/dom.js";
import { vw, call, fillTable, none, num, pct, ms, fixed, pad2, periodQuery } from "/s/admin/common.js";
import { drawDistribution, drawHours, drawItems, drawPoorHours } from "/s/admin/charts.js";
import { poorShare, poorColumn } from "/s/admin/quality.js";

export async function show() {
  const q = periodQuery();
  q.set("tz_offset_min", String(-new Date().getTimezoneOffset()));
  const m = await call(`/api/metrics?${q}`);
  if (!m) return;
  vw.metrics = m;
  relabel();
}

/** The columns of a row of volumes (by service item, by hour). */
const volumes = () => [
  { label: t("admin.offered"), cls: "num", value: (r) => num(r.offered) },
  { label: t("admin.answered"), cls: "num", value: (r) => num(r.answered) },
  { label: t("admin.abandoned"), cls: "num", value: (r) => num(r.abandoned) },
  { label: t("adm.col.sl"), cls: "num", value: (r) => pct(r.service_level) },
  { label: t("adm.col.sla"), cls: "num", value: (r) => pct(r.service_level_abandons) },
  { label: t("adm.col.asa"), cls: "num", value: (r) => fixed(r.asa_ms, 0) },
  poorColumn(), // calls with a poor network (quality.js)
];

export function relabel() {
  const m = vw.metrics;
  if (!m) return;
  const s = m.threshold_s ?? 2;
  $("m-offered").textContent = num(m.offered);
  $("m-answered").textContent = num(m.answered);
  $("m-abandoned").textContent = num(m.abandoned);
  $("m-missed").textContent = num(m.missed);
  $("m-sl-label").textContent = t("adm.sl", { s });
  $("m-sla-label").textContent = t("adm.sla", { s });
  $("m-sl").textContent = pct(m.service_level);
  $("m-sla").textContent = pct(m.service_level_abandons);
  $("m-asa").textContent = ms(m.asa_ms);
  $("m-aht").textContent = m.aht_s == null ? none() : fmtDuration(m.aht_s);
  $("m-abr").textContent = pct(m.abandonment_rate);
  const c = m.connect_ms || {};
  $("m-connect").textContent = [c.p50, c.p90, c.p99].map((v) => (v == null ? "–" : Math.round(v))).join(" / ") + " ms";
  const cb = m.callbacks || {};
  const ap = m.appointments || {};
  $("m-callbacks").textContent = [cb.requested, cb.reached, cb.missed].map(num).join(" / ");
  $("m-appointments").textContent = [ap.booked, ap.kept, ap.no_show].map(num).join(" / ");
  $("m-appt-sl").textContent = pct(ap.service_level);
  drawDistribution($("c-dist"), m);
  drawHours($("c-hour"), m);
  drawItems($("c-items"), m);
  $("m-poor").textContent = poorShare(m.quality ? { ...m.quality, quality_calls: m.quality.calls } : null);
  drawPoorHours($("c-poor-hour"), m);

  fillTable($("t-items"), [
    { label: t("adm.col.code"), value: (r) => r.code },
    { label: t("adm.col.name"), value: (r) => (getLang() === "zh" ? r.name : r.name_en || r.name) },
    ...volumes(),
    { label: t("adm.col.aht"), cls: "num", value: (r) => fixed(r.aht_s) },
  ], m.by_service_item || []);
  fillTable($("t-specialists"), [
    { label: t("admin.col.specialist"), value: (r) => r.display_name || r.username || r.id },
    { label: t("admin.answered"), cls: "num", value: (r) => num(r.answered) },
    { label: t("adm.col.aht"), cls: "num", value: (r) => fixed(r.aht_s) },
    { label: t("adm.col.satisfaction"), cls: "num", value: (r) => fixed(r.satisfaction, 2) },
    { label: t("adm.col.score"), cls: "num", value: (r) => fixed(r.score) },
  ], m.by_specialist || []);
  fillTable($("t-hours"), [
    { label: t("adm.col.hour"), value: (r) => `${pad2(r.hour)}:00` },
    ...volumes(),
  ], (m.by_hour || []).filter((r) => r.offered), { rowAttrs: (r) => ({ "data-hour": r.hour }) }); // the chart above draws these rows
}
