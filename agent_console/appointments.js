// Virtual Window — the console's list of the day's appointments (GET /api/console/appointments):
// time, service item, caller and booked specialist, the specialist's own first. Loaded at
// sign-in and every minute.

import { t, tv, getLang, onLangChange } from "/lib/i18n.js";
import { $, el } from "/lib/dom.js";
import { request } from "/lib/http.js";

const REFRESH_MS = 60_000;
let items = [];
let timer = 0;

function clock(iso) {
  return new Intl.DateTimeFormat(getLang() === "zh" ? "zh-CN" : "en-GB", {
    hour: "2-digit", minute: "2-digit", hour12: false, timeZone: "Asia/Shanghai",
  }).format(new Date(iso));
}

function render() {
  const list = $("appts-list");
  $("appts-none").hidden = items.length > 0;
  list.replaceChildren(...items.map((a) => el("li", { class: a.mine ? "mine" : null, "data-reference": a.reference },
    el("span", { class: "mono", text: clock(a.slot_start) }), " ",
    el("span", { text: `${a.service_item.code} ${getLang() === "en" && a.service_item.name_en ? a.service_item.name_en : a.service_item.name || ""}` }),
    " · ", el("span", { text: a.caller.name }),
    a.specialist ? el("span", { class: "hint", text: ` · ${a.specialist.display_name}${a.mine ? ` (${t("con.appts.mine")})` : ""}` }) : null,
    a.status !== "booked" ? el("span", { class: "hint", text: ` · ${tv("appt.status", a.status)}` }) : null)));
}

async function load(token) {
  try {
    items = (await request("/api/console/appointments", { token })).items || [];
  } catch (_) {
    return; // kept as it was: the list is a help, not the call path
  }
  render();
}

/** Show the day's appointments for the signed-in specialist (`token`). */
export function mountAppointmentList(token) {
  clearInterval(timer);
  load(token);
  timer = setInterval(() => load(token), REFRESH_MS);
  onLangChange(render);
}
