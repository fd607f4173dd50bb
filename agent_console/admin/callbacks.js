// Virtual Window — administration view #/callbacks: the callers who chose to keep their place in
// the period, each with its state (held, alerted, reached, missed; GET /api/admin/callbacks) and
// a link to the session.

import { t, tv } from "/lib/i18n.js";
import { $, el } from "/lib/dom.js";
import { call, fillTable, itemName, timeNode, rangeQuery } from "/s/admin/common.js";

let last = null;

export function bind() {
  $("cb-state").addEventListener("change", () => show());
}

export async function show() {
  const q = rangeQuery("p-from", "p-to");
  if ($("cb-state").value) q.set("state", $("cb-state").value);
  const answer = await call(`/api/admin/callbacks?${q}`);
  if (!answer) return;
  last = answer.items;
  relabel();
}

export function relabel() {
  if (!last) return;
  fillTable($("t-callbacks"), [
    { label: t("adm.appts.reference"), cell: (c) => el("a", { href: `#/sessions/${c.session_id}`, class: "mono", text: c.reference || c.session_id }) },
    { label: t("adm.appts.item"), value: (c) => itemName(c.service_item.code, c.service_item.name) },
    { label: t("adm.appts.caller"), value: (c) => [c.caller.name, c.caller.phone].filter(Boolean).join(" · ") },
    { label: t("adm.cb.state"), value: (c) => tv("adm.cb.state", c.state) },
    { label: t("adm.cb.requested"), cell: (c) => timeNode(c.requested_at) },
    { label: t("adm.cb.changed"), cell: (c) => timeNode(c.changed_at) },
  ], last, { empty: t("adm.cb.none") });
}
