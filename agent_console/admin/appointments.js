// Virtual Window — administration view #/appointments: the appointments calendar, one day at a
// time (GET /api/admin/appointments?date=): time, reference, service item, caller, booked
// specialist and status, with the day's count per status.

import { t, tv } from "/lib/i18n.js";
import { $ } from "/lib/dom.js";
import { call, fillTable, none, itemName, timeNode } from "/s/admin/common.js";

let last = null;

function todayLocal() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
}

export function bind() {
  $("ap-date").addEventListener("change", () => show());
}

export async function show() {
  if (!$("ap-date").value) $("ap-date").value = todayLocal();
  const day = await call(`/api/admin/appointments?${new URLSearchParams({ date: $("ap-date").value })}`);
  if (!day) return;
  last = day;
  relabel();
}

export function relabel() {
  if (!last) return;
  $("ap-counts").textContent = Object.entries(last.counts || {}).filter(([, n]) => n)
    .map(([status, n]) => `${tv("appt.status", status)}: ${n}`).join(" · ") || t("adm.appts.none");
  fillTable($("t-appointments"), [
    { label: t("adm.appts.time"), cell: (a) => timeNode(a.slot_start) },
    { label: t("adm.appts.reference"), cls: "mono", value: (a) => a.reference },
    { label: t("adm.appts.item"), value: (a) => itemName(a.service_item.code, a.service_item.name, a.service_item.name_en) },
    { label: t("adm.appts.caller"), value: (a) => [a.caller.name, a.caller.company].filter(Boolean).join(" · ") },
    { label: t("adm.appts.specialist"), value: (a) => (a.specialist ? a.specialist.display_name : none()) },
    { label: t("adm.appts.status"), value: (a) => tv("appt.status", a.status) },
  ], last.items, { empty: t("adm.appts.none") });
}
