// Virtual Window — the response-time charts, drawn as inline SVG (no chart library).

import { t } from "/lib/i18n.js";
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

/** Grid lines and labels at `ticks` (the last is the top of the axis), and the axis' name. */
function yAxis(root, ticks, fmt, name) {
  const top = ticks[ticks.length - 1];
  for (const v of ticks) {
    const y = PAD.t + IH - (IH * v) / top;
    root.append(svg("line", { x1: PAD.l, x2: W - PAD.r, y1: y, y2: y, class: "grid" }));
    root.append(svg("text", { x: PAD.l - 6, y: y + 4, "text-anchor": "end", class: "tick y-tick" }, fmt(v)));
  }
  const cy = PAD.t + IH / 2;
  root.append(svg("text", { x: 14, y: cy, transform: `rotate(-90 14 ${cy})`, "text-anchor": "middle", class: "axis-label y-label" }, name));
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
