// Virtual Window — the caller page's opening hours (GET /api/hours/next).
//
// Outside opening hours the page says so at once on load: the closed screen (#closed-panel)
// shows the next opening and the hours of the coming days, in the center's time zone, and the
// Call button stays disabled (app.js asks hoursOpen()). A `call:request` refused with `closed`
// shows the same screen. The hours are asked again with the chosen service item (it may have
// its own), when the center opens or closes, and every few minutes.
// #closed-options is where the ways to come back later are offered (appointments, callbacks).

import { t, tv, getLang, onLangChange } from "/lib/i18n.js";
import { $, el } from "/lib/dom.js";
import { request } from "/lib/http.js";

const DAYS_SHOWN = 7;
const RECHECK_MS = 5 * 60_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

let hours = null;    // the last answer of GET /api/hours/next (null: not known yet)
let itemCode = null; // the service item asked about
let changed = () => {};
let timer = 0;

/** False only when the server says the center is closed now (unknown: let call:request decide). */
export function hoursOpen() {
  return !hours || hours.open;
}

/** Ask for the hours now and then (`code`: the chosen service item; undefined keeps the last). */
export async function checkHours(code) {
  if (code !== undefined) itemCode = code || null;
  const q = new URLSearchParams({ days: String(DAYS_SHOWN) });
  if (itemCode) q.set("service_item", itemCode);
  try {
    hours = await request(`/api/hours/next?${q}`);
  } catch (_) {
    /* keep what was known; call:request still decides */
  }
  render();
  recheckLater();
  changed();
}

/** `call:request` was refused with `closed`: the same screen, at once, then the full hours. */
export function showClosed(ack) {
  hours = { ...(hours || { days: [] }), open: false, next_open_at: ack.next_open_at ?? null };
  render();
  changed();
  checkHours();
}

/** Render the closed screen and call `onChange` whenever open/closed may have changed. */
export function mountHours({ onChange }) {
  changed = onChange;
  onLangChange(render);
  checkHours(null);
}

function recheckLater() {
  clearTimeout(timer);
  const at = hours && (hours.open ? hours.closes_at : hours.next_open_at);
  const until = at ? Date.parse(at) - Date.now() + 1000 : RECHECK_MS;
  timer = setTimeout(() => checkHours(), Math.max(1000, Math.min(until, RECHECK_MS, MAX_TIMER_MS)));
}

const locale = () => (getLang() === "zh" ? "zh-CN" : "en-GB");
const zoneName = (zone) => tv("hours.zone", zone);

function fmtOpening(iso, zone) {
  const when = new Intl.DateTimeFormat(locale(), {
    timeZone: zone, weekday: "long", month: "long", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false,
  }).format(new Date(iso));
  return `${when} (${zoneName(zone)})`;
}

/** "Tuesday 24 February" for a date YYYY-MM-DD (a calendar date: no zone shifts it). */
function fmtDay(day) {
  return new Intl.DateTimeFormat(locale(), { timeZone: "UTC", weekday: "long", month: "long", day: "numeric" })
    .format(new Date(`${day}T12:00:00Z`));
}

function dayNote(d) {
  if (d.reason === "holiday") return d.name ? tv("holiday", d.name) : t("hours.reason.holiday");
  if (d.reason === "makeup_workday") return t("hours.reason.makeup_workday");
  return d.reason === "weekend" && !d.open ? t("hours.reason.weekend") : "";
}

function render() {
  const closed = !!hours && !hours.open;
  $("closed-panel").hidden = !closed;
  document.body.classList.toggle("center-closed", closed);
  if (!closed) return;
  $("closed-next").textContent = hours.next_open_at
    ? t("caller.closed.next", { when: fmtOpening(hours.next_open_at, hours.time_zone || "Asia/Shanghai") })
    : t("caller.closed.never");
  const days = hours.days || [];
  $("closed-hours").hidden = !days.length;
  $("closed-days").replaceChildren(...days.map((d, i) => el("tr", { class: d.open ? "" : "shut" },
    el("th", { scope: "row", text: i === 0 ? `${t("caller.closed.today")} · ${fmtDay(d.date)}` : fmtDay(d.date) }),
    el("td", { text: d.open ? d.periods.map(([a, b]) => `${a}–${b}`).join(", ") : t("caller.closed.shut") }),
    el("td", { class: "muted", text: dayNote(d) }))));
  if (days.length) $("closed-zone").textContent = t("caller.closed.zone", { zone: zoneName(hours.time_zone) });
}
