// Virtual Window — administration view #/scores[/{id}]: the specialist leaderboard for the
// period, and one specialist's breakdown by service item.

import { t } from "/lib/i18n.js";
import { $, el } from "/lib/dom.js";
import { vw, call, fillTable, none, num, pct, fixed, itemName, periodQuery } from "/s/admin/common.js";

export async function show(id) {
  const data = await call(`/api/admin/scores?${periodQuery()}`);
  if (!data) return;
  vw.scores = data.items || [];
  relabel(id);
}

export function relabel(id) {
  const rows = vw.scores || [];
  const bar = (v) => el("span", { class: "scorebar" }, el("span", { style: `width:${Math.max(0, Math.min(100, v || 0))}%` }), el("span", { text: fixed(v) }));
  fillTable($("t-scores"), [
    { label: t("adm.col.rank"), cls: "num", value: (r) => r.rank ?? none() },
    { label: t("admin.col.specialist"), cell: (r) => el("a", { href: `#/scores/${r.id}`, "aria-label": t("adm.scores.show", { name: r.display_name || r.username }), text: r.display_name || r.username }) },
    { label: t("adm.col.score"), cell: (r) => bar(r.score) },
    { label: t("admin.answered"), cls: "num", value: (r) => num(r.answered) },
    { label: t("adm.col.timeliness"), cls: "num", value: (r) => pct(r.breakdown.timeliness) },
    { label: t("adm.col.difficulty"), cls: "num", value: (r) => pct(r.breakdown.difficulty) },
    { label: t("adm.col.satisfaction"), cls: "num", value: (r) => (r.breakdown.satisfaction == null ? t("adm.scores.neutral") : pct(r.breakdown.satisfaction)) },
    { label: t("adm.col.aht"), cls: "num", value: (r) => fixed(r.aht_s) },
    { label: t("adm.col.ratings"), cls: "num", value: (r) => num(r.ratings) },
  ], rows, { empty: t("adm.scores.none"), rowAttrs: (r) => ({ "data-specialist-id": r.id }) });
  const box = $("score-detail");
  box.replaceChildren();
  const r = rows.find((x) => String(x.id) === String(id));
  if (!r) return;
  const b = r.breakdown;
  box.append(el("h3", { id: "score-detail-title", text: t("adm.scores.detail", { name: r.display_name || r.username }) }));
  box.append(el("dl", { class: "kpis" },
    ...[[t("adm.col.score"), fixed(r.score)], [t("adm.col.timeliness"), pct(b.timeliness)],
      [`${t("adm.col.within")}`, pct(b.answer_timeliness)], [t("adm.col.handle"), fixed(b.handle_timeliness, 2)],
      [t("adm.col.difficulty"), `${pct(b.difficulty)} (${fixed(b.mean_difficulty, 2)} / 5)`],
      [t("adm.col.satisfaction"), b.satisfaction == null ? t("adm.scores.neutral") : `${pct(b.satisfaction)} (${fixed(b.mean_satisfaction, 2)} / 5)`]]
      .map(([k, v]) => el("div", { class: "kpi" }, el("dt", { text: k }), el("dd", { text: v })))));
  const t2 = el("table", { id: "t-score-items" });
  fillTable(t2, [
    { label: t("admin.col.item"), value: (i) => itemName(i.code, i.name, i.name_en) },
    { label: t("admin.answered"), cls: "num", value: (i) => num(i.answered) },
    { label: t("adm.col.within"), cls: "num", value: (i) => num(i.within) },
    { label: t("adm.col.aht"), cls: "num", value: (i) => fixed(i.aht_s) },
    { label: t("adm.col.norm"), cls: "num", value: (i) => fixed(i.norm_aht_s) },
    { label: t("adm.col.handle"), cls: "num", value: (i) => fixed(i.handle_factor, 2) },
    { label: t("adm.col.item_difficulty"), cls: "num", value: (i) => i.item_difficulty },
    { label: t("adm.col.rated_difficulty"), cls: "num", value: (i) => fixed(i.rated_difficulty, 2) },
    { label: t("adm.col.satisfaction"), cls: "num", value: (i) => fixed(i.satisfaction, 2) },
  ], b.items || []);
  box.append(el("div", { class: "table-wrap" }, t2));
}

