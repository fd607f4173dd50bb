// Virtual Window — the response-time charts, drawn as inline SVG (no chart library).

import { t } from "/lib/i18n.js";
import { el, svg } from "/lib/dom.js";
import { num, pct, pad2, itemName } from "/s/admin/common.js";

const W = 560;
const H = 220;
const PAD = { l: 44, r: 12, t: 12, b: 30 };

function chartFrame(box, title, desc) {
  box.replaceChildren();
  const id = `${box.id}-desc`;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": `${box.id}-t ${id}`, class: "chart-svg" },
    svg("title", { id: `${box.id}-t` }, title), svg("desc", { id }, desc));
  box.append(root);
  return root;
}
function yAxis(root, max, fmt) {
  const ih = H - PAD.t - PAD.b;
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    const y = PAD.t + ih - (ih * i) / 4;
    root.append(svg("line", { x1: PAD.l, x2: W - PAD.r, y1: y, y2: y, class: "grid" }));
    root.append(svg("text", { x: PAD.l - 6, y: y + 4, "text-anchor": "end", class: "tick" }, fmt(v)));
  }
}

export function drawDistribution(box, m) {
  const h = m.connect_histogram;
  const s = m.threshold_s ?? 2;
  const counts = h ? [...h.counts, h.over] : [];
  const total = counts.reduce((a, b) => a + b, 0);
  let within = 0;
  if (h) h.counts.forEach((c, i) => { if ((i + 1) * h.bin_ms <= h.threshold_ms) within += c; });
  const root = chartFrame(box, t("adm.c.dist"), t("adm.c.dist.desc", { s, within: num(within), n: num(total) }));
  if (!h || !total) return;
  const max = Math.max(...counts, 1);
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  yAxis(root, max, (v) => Math.round(v));
  const bw = iw / counts.length;
  counts.forEach((c, i) => {
    const bh = (ih * c) / max;
    const over = i === counts.length - 1;
    const lo = i * h.bin_ms;
    const label = over ? `≥ ${h.counts.length * h.bin_ms} ms: ${c}` : `${lo}–${lo + h.bin_ms} ms: ${c}`;
    root.append(svg("rect", {
      x: PAD.l + i * bw + 0.5, y: PAD.t + ih - bh, width: Math.max(bw - 1, 1), height: bh,
      class: (i + 1) * h.bin_ms <= h.threshold_ms ? "bar ok" : "bar late",
    }, svg("title", {}, label)));
  });
  const step = Math.ceil(counts.length / 8);
  for (let i = 0; i < counts.length; i += step) {
    root.append(svg("text", { x: PAD.l + i * bw, y: H - 10, class: "tick" }, `${((i * h.bin_ms) / 1000).toFixed(1)}s`));
  }
  const x = PAD.l + (h.threshold_ms / h.bin_ms) * bw;
  root.append(svg("line", { x1: x, x2: x, y1: PAD.t - 4, y2: PAD.t + ih, class: "threshold" }));
  root.append(svg("text", { x: x + 4, y: PAD.t + 8, class: "threshold-label" }, `${s} s`));
}

export function drawHours(box, m) {
  const hours = m.by_hour || [];
  const offered = hours.reduce((a, r) => a + r.offered, 0);
  const root = chartFrame(box, t("adm.c.hour"), t("adm.c.hour.desc", { n: num(offered) }));
  if (!offered) return;
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  yAxis(root, 1, (v) => `${Math.round(v * 100)}%`);
  const bw = iw / 24;
  const maxVol = Math.max(...hours.map((r) => r.offered), 1);
  const pts = [];
  for (const r of hours) {
    const x = PAD.l + r.hour * bw;
    if (r.service_level != null) {
      const bh = ih * r.service_level;
      root.append(svg("rect", { x: x + 1, y: PAD.t + ih - bh, width: bw - 2, height: bh, class: "bar ok" },
        svg("title", {}, `${pad2(r.hour)}:00 · ${pct(r.service_level)} · ${r.offered}`)));
    }
    pts.push(`${x + bw / 2},${PAD.t + ih - (ih * r.offered) / maxVol}`);
    if (r.hour % 3 === 0) root.append(svg("text", { x: x + 2, y: H - 10, class: "tick" }, `${pad2(r.hour)}h`));
  }
  root.append(svg("polyline", { points: pts.join(" "), class: "volume" }, svg("title", {}, t("admin.offered"))));
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
  const legend = el("p", { class: "legend" },
    el("span", { class: "key ok" }), t("admin.answered"), " ",
    el("span", { class: "key late" }), t("admin.abandoned"), " ",
    el("span", { class: "key other" }), t("adm.c.other"));
  box.append(legend);
}
