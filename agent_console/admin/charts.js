// Virtual Window — the administration's charts (response times, network quality), drawn as inline
// SVG (no chart library).

import { t, fmtClock } from "/lib/i18n.js";
import { el, svg } from "/lib/dom.js";
import { num, pct, pad2, itemName } from "/s/admin/common.js";

const W = 560;
const H = 240;
const PAD = { l: 58, r: 12, t: 12, b: 44 };
const IW = W - PAD.l - PAD.r;
const IH = H - PAD.t - PAD.b;

function chartFrame(box, title, desc) {
  box.replaceChildren();
  const id = `${box.id}-desc`;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": `${box.id}-t ${id}`, class: "chart-svg" },
    svg("title", { id: `${box.id}-t` }, title), svg("desc", { id }, desc));
  box.append(root);
  return root;
}

/** Tick values 0..top for counts: whole numbers, a 1-2-5 step, at most about five ticks. */
export function countTicks(max) {
  const raw = Math.max(1, max) / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * mag).find((x) => x >= raw));
  const top = step * Math.ceil(Math.max(1, max) / step);
  const ticks = [];
  for (let v = 0; v <= top; v += step) ticks.push(v);
  return ticks;
}

/** Grid lines and labels at `ticks` (the last is the top of the axis), and the axis' name;
 * `band` is the vertical extent of the plot (the whole chart's, or one panel's of a stacked chart). */
function yAxis(root, ticks, fmt, name, band = { t: PAD.t, h: IH }) {
  const top = ticks[ticks.length - 1];
  for (const v of ticks) {
    const y = band.t + band.h - (band.h * v) / top;
    root.append(svg("line", { x1: PAD.l, x2: W - PAD.r, y1: y, y2: y, class: "grid" }));
    root.append(svg("text", { x: PAD.l - 6, y: y + 4, "text-anchor": "end", class: "tick y-tick" }, fmt(v)));
  }
  const cy = band.t + band.h / 2;
  if (name) root.append(svg("text", { x: 14, y: cy, transform: `rotate(-90 14 ${cy})`, "text-anchor": "middle", class: "axis-label y-label" }, name));
}

function xLabel(root, name) {
  root.append(svg("text", { x: PAD.l + IW / 2, y: H - 4, "text-anchor": "middle", class: "axis-label x-label" }, name));
}

function legend(box, entries) {
  box.append(el("p", { class: "legend" }, entries.map(([cls, text]) => [el("span", { class: `key ${cls}` }), text, " "])));
}

export function drawDistribution(box, m) {
  const h = m.connect_histogram;
  const s = m.threshold_s ?? 2;
  const counts = h ? [...h.counts, h.over] : [];
  const total = counts.reduce((a, b) => a + b, 0);
  let within = 0;
  if (h) h.counts.forEach((c, i) => { if ((i + 1) * h.bin_ms <= h.threshold_ms) within += c; });
  const root = chartFrame(box, t("adm.c.dist.title"), t("adm.c.dist.desc", { s, within: num(within), n: num(total) }));
  if (!h || !total) return;
  const ticks = countTicks(Math.max(...counts));
  const top = ticks[ticks.length - 1];
  yAxis(root, ticks, (v) => String(v), t("adm.c.axis.sessions"));
  xLabel(root, t("adm.c.axis.connect"));
  const bw = IW / counts.length;
  counts.forEach((c, i) => {
    const bh = (IH * c) / top;
    const over = i === counts.length - 1;
    const lo = i * h.bin_ms;
    const label = over ? `≥ ${h.counts.length * h.bin_ms} ms: ${c}` : `${lo}–${lo + h.bin_ms} ms: ${c}`;
    root.append(svg("rect", {
      x: PAD.l + i * bw + 0.5, y: PAD.t + IH - bh, width: Math.max(bw - 1, 1), height: bh, "data-count": c,
      class: (i + 1) * h.bin_ms <= h.threshold_ms ? "bar ok" : "bar late",
    }, svg("title", {}, label)));
  });
  const step = Math.ceil(counts.length / 8);
  for (let i = 0; i < counts.length; i += step) {
    root.append(svg("text", { x: PAD.l + i * bw, y: PAD.t + IH + 16, class: "tick" }, `${((i * h.bin_ms) / 1000).toFixed(1)}`));
  }
  const x = PAD.l + (h.threshold_ms / h.bin_ms) * bw;
  root.append(svg("line", { x1: x, x2: x, y1: PAD.t - 4, y2: PAD.t + IH, class: "threshold" }));
  root.append(svg("text", { x: x + 4, y: PAD.t + 8, class: "threshold-label" }, `${s} s`));
  legend(box, [["ok", t("adm.c.dist.within", { s })], ["late", t("adm.c.dist.over", { s })], ["threshold", t("adm.c.dist.line", { s })]]);
}

/** Service level per hour of day: the same numbers, by the same definition, as the table "By hour of day". */
export function drawHours(box, m) {
  const hours = m.by_hour || [];
  const s = m.threshold_s ?? 2;
  const offered = hours.reduce((a, r) => a + r.offered, 0);
  const root = chartFrame(box, t("adm.c.hour.title", { s }), t("adm.c.hour.desc", { n: num(offered), s }));
  if (!offered) return;
  yAxis(root, [0, 0.25, 0.5, 0.75, 1], (v) => `${Math.round(v * 100)}%`, t("adm.c.axis.sl"));
  xLabel(root, t("adm.c.axis.hour"));
  const bw = IW / 24;
  for (const r of hours) {
    const x = PAD.l + r.hour * bw;
    if (r.offered) {
      const sl = r.service_level;
      const bh = sl == null ? 0 : IH * sl;
      const text = `${pad2(r.hour)}:00 · ${sl == null ? t("adm.c.hour.none") : pct(sl)} · ${t("adm.c.hour.counts", { a: num(r.answered), n: num(r.offered) })}`;
      // Zero is drawn as a sliver, so an hour at 0 % is seen (an hour with nothing answered is hatched grey).
      root.append(svg("rect", {
        x: x + 1, y: PAD.t + IH - Math.max(bh, 2), width: bw - 2, height: Math.max(bh, 2),
        class: sl == null ? "bar other" : "bar ok", "data-hour": r.hour, "data-value": sl == null ? "" : pct(sl),
      }, svg("title", {}, text)));
    }
    if (r.hour % 3 === 0) root.append(svg("text", { x: x + 2, y: PAD.t + IH + 16, class: "tick" }, `${pad2(r.hour)}`));
  }
  legend(box, [["ok", t("adm.c.hour.key", { s })], ["other", t("adm.c.hour.none")]]);
}

export function drawItems(box, m) {
  const rows = [...(m.by_service_item || [])].sort((a, b) => b.offered - a.offered).slice(0, 12);
  const root = chartFrame(box, t("adm.c.items"), t("adm.c.items.desc", { n: rows.length }));
  if (!rows.length) return;
  root.setAttribute("viewBox", `0 0 ${W * 2} ${rows.length * 24 + 30}`);
  const max = Math.max(...rows.map((r) => r.offered), 1);
  const left = 300;
  const iw = W * 2 - left - 60;
  rows.forEach((r, i) => {
    const y = 8 + i * 24;
    const parts = [["ok", r.answered], ["late", r.abandoned ?? 0], ["other", r.offered - r.answered - (r.abandoned ?? 0)]];
    root.append(svg("text", { x: left - 8, y: y + 14, "text-anchor": "end", class: "tick" }, itemName(r.code, r.name, r.name_en).slice(0, 40)));
    let x = left;
    for (const [cls, v] of parts) {
      const w = (iw * v) / max;
      if (w > 0) root.append(svg("rect", { x, y, width: w, height: 18, class: `bar ${cls}` }, svg("title", {}, `${r.code}: ${v}`)));
      x += w;
    }
    root.append(svg("text", { x: x + 6, y: y + 14, class: "tick" }, String(r.offered)));
  });
  legend(box, [["ok", t("admin.answered")], ["late", t("admin.abandoned")], ["other", t("adm.c.other")]]);
}

// ---------------------------------------------------------------- network quality (issue 14)

export const QUALITY_PARTIES = ["caller", "specialist", "back_office"]; // back_office: an invited specialist
const QUALITY_SERIES = [
  { key: "rtt_ms", axis: "adm.qual.c.rtt", fmt: (v) => String(v) },
  { key: "loss_pct", axis: "adm.qual.c.loss", fmt: (v) => `${v}%` },
  { key: "kbps_in", axis: "adm.qual.c.kbps", fmt: (v) => num(v) },
];
const BAND_H = 12;
const PANEL_H = 84;
const PANEL_GAP = 22;

/** The path of one party's figure over the call: broken where samples are missing (hold, a lost leg). */
function linePath(points, x, y, gapS) {
  let d = "";
  let last = null;
  for (const p of points) {
    if (p.v == null) { last = null; continue; }
    d += `${last == null || p.s - last > gapS ? "M" : "L"}${x(p.s).toFixed(1)},${y(p.v).toFixed(1)}`;
    last = p.s;
  }
  return d;
}

/**
 * One session's network quality over the call (GET /api/sessions/{id}/quality): a band per party
 * coloured by its level in each sampling period, then the round trip, the loss and the bitrate the
 * server received, a line per party, on one time axis (from the first sample).
 */
export function drawQuality(box, q, names) {
  const samples = (q && q.samples) || [];
  const interval = (q && q.interval_s) || 2;
  const parties = QUALITY_PARTIES.filter((p) => samples.some((s) => s.party === p));
  const share = (p) => {
    const mine = samples.filter((s) => s.party === p);
    return t("adm.qual.c.party", { party: names(p), poor: pct(mine.filter((s) => s.level === "poor").length / mine.length) });
  };
  const root = chartFrame(box, t("adm.qual.c.title"), samples.length
    ? t("adm.qual.c.desc", { n: num(samples.length), parties: parties.map(share).join("; ") }) : t("adm.qual.none"));
  if (!samples.length) return;
  const t0 = Date.parse(samples[0].at) - interval * 1000;
  const at = (s) => (Date.parse(s.at) - t0) / 1000;
  const end = Math.max(interval, ...samples.map(at));
  const x = (sec) => PAD.l + (IW * sec) / end;
  const bandsH = parties.length * (BAND_H + 4);
  const panelsEnd = PAD.t + bandsH + QUALITY_SERIES.length * (PANEL_H + PANEL_GAP);
  const height = panelsEnd + 40; // the time axis' ticks and its name
  root.setAttribute("viewBox", `0 0 ${W} ${height}`);

  // the level bands: each sample colours the period it ends
  parties.forEach((p, i) => {
    const y = PAD.t + i * (BAND_H + 4);
    root.append(svg("text", { x: PAD.l - 6, y: y + BAND_H - 2, "text-anchor": "end", class: "tick" }, names(p)));
    for (const s of samples.filter((r) => r.party === p)) {
      const x1 = x(Math.max(0, at(s) - interval));
      root.append(svg("rect", {
        x: x1, y, width: Math.max(x(at(s)) - x1, 1), height: BAND_H, class: `band ${s.level}`, "data-party": p, "data-level": s.level,
      }, svg("title", {}, `${fmtClock(at(s))} · ${names(p)} · ${t(`quality.level.${s.level}`)}`)));
    }
  });

  // a panel per figure, a line per party
  QUALITY_SERIES.forEach((series, i) => {
    const band = { t: PAD.t + bandsH + PANEL_GAP + i * (PANEL_H + PANEL_GAP), h: PANEL_H };
    const values = samples.map((s) => s[series.key]).filter((v) => v != null);
    const ticks = countTicks(Math.max(0, ...values));
    const top = ticks[ticks.length - 1];
    yAxis(root, ticks, series.fmt, "", band);
    root.append(svg("text", { x: PAD.l + 4, y: band.t - 4, class: "axis-label" }, t(series.axis)));
    const y = (v) => band.t + band.h - (band.h * Math.min(v, top)) / top;
    for (const p of parties) {
      const points = samples.filter((s) => s.party === p).map((s) => ({ s: at(s), v: s[series.key] }));
      const d = linePath(points, x, y, interval * 2.5);
      if (d) root.append(svg("path", { d, class: `series party-${p}`, "data-party": p, "data-series": series.key, "data-points": points.filter((pt) => pt.v != null).length }));
    }
  });

  // the time axis, m:ss from the call's first sample
  const axisY = panelsEnd + 16;
  const step = Math.max(1, Math.ceil(end / 6 / 10)) * 10;
  for (let sec = 0; sec <= end; sec += step) {
    root.append(svg("text", { x: x(sec), y: axisY, "text-anchor": "middle", class: "tick" }, fmtClock(sec)));
  }
  root.append(svg("text", { x: PAD.l + IW / 2, y: height - 4, "text-anchor": "middle", class: "axis-label x-label" }, t("adm.qual.c.time")));
  legend(box, [
    ...parties.map((p) => [`line party-${p}`, names(p)]),
    ["band good", t("quality.level.good")], ["band fair", t("quality.level.fair")], ["band poor", t("quality.level.poor")],
  ]);
}

/** The share of poor calls per hour of day (the `by_hour` rows' poor_share), as in the table By hour of day. */
export function drawPoorHours(box, m) {
  const hours = m.by_hour || [];
  const measured = hours.reduce((a, r) => a + (r.quality_calls || 0), 0);
  const poor = hours.reduce((a, r) => a + (r.poor_calls || 0), 0);
  const root = chartFrame(box, t("adm.qual.c.hour.title"), t("adm.qual.c.hour.desc", { poor: num(poor), n: num(measured) }));
  if (!measured) return;
  const highest = Math.max(...hours.map((r) => r.poor_share || 0));
  const ticks = highest > 0.5 ? [0, 0.25, 0.5, 0.75, 1] : highest > 0.2 ? [0, 0.1, 0.2, 0.3, 0.4, 0.5] : [0, 0.05, 0.1, 0.15, 0.2];
  const top = ticks[ticks.length - 1];
  yAxis(root, ticks, (v) => `${Math.round(v * 100)}%`, t("adm.qual.c.axis.poor"));
  xLabel(root, t("adm.c.axis.hour"));
  const bw = IW / 24;
  for (const r of hours) {
    const x = PAD.l + r.hour * bw;
    if (r.quality_calls) {
      const bh = (IH * (r.poor_share || 0)) / top;
      root.append(svg("rect", {
        x: x + 1, y: PAD.t + IH - Math.max(bh, 2), width: bw - 2, height: Math.max(bh, 2),
        class: r.poor_calls ? "bar late" : "bar ok", "data-hour": r.hour, "data-value": pct(r.poor_share),
      }, svg("title", {}, `${pad2(r.hour)}:00 · ${t("adm.qual.share", { share: pct(r.poor_share), poor: num(r.poor_calls), n: num(r.quality_calls) })}`)));
    }
    if (r.hour % 3 === 0) root.append(svg("text", { x: x + 2, y: PAD.t + IH + 16, class: "tick" }, `${pad2(r.hour)}`));
  }
  legend(box, [["late", t("adm.qual.c.hour.key")], ["ok", t("adm.qual.c.hour.none")]]);
}
