// Virtual Window — administration view #/hours: the center's weekly schedule and time zone,
// the year's holiday calendar (China's official calendar and the overrides), one day's
// override, and a year imported as CSV. The rules are the server's (routing/hours.py):
// the page sends what was typed and shows the server's answer.

import { t, tv, getLang } from "/lib/i18n.js";
import { $, el } from "/lib/dom.js";
import { vw, call, putJson, fillTable, none } from "/s/admin/common.js";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

const periodsText = (periods) => (periods || []).map(([a, b]) => `${a}-${b}`).join(", ");
/** "09:00-12:00, 13:30-17:00" → [["09:00", "12:00"], ["13:30", "17:00"]] (checked by the server). */
const periodsOf = (text) => text.split(/[,;\s]+/).filter(Boolean).map((p) => p.split("-"));

export async function show() {
  if (!$("h-year").value) $("h-year").value = String(new Date().getFullYear());
  const data = await call("/api/admin/hours");
  if (!data) return;
  vw.hours = data;
  $("h-zone").value = data.time_zone;
  for (const d of DAYS) $(`h-${d}`).value = data.weekly ? periodsText(data.weekly[d]) : "";
  $("h-remove").disabled = !data.configured;
  await showCalendar();
}

export function relabel() {
  const data = vw.hours;
  if (!data) return;
  $("h-state").textContent = data.configured ? t("adm.h.set", { at: new Date(data.updated_at).toLocaleString() }) : t("adm.h.none");
  $("h-items").hidden = !data.items.length;
  $("h-items").textContent = t("adm.h.items", { list: data.items.map((i) => i.service_item).join(", ") });
  renderCalendar();
}

async function saveWeek(ev) {
  ev.preventDefault();
  const weekly = Object.fromEntries(DAYS.map((d) => [d, periodsOf($(`h-${d}`).value)]));
  if (!(await putJson("/api/admin/hours", { time_zone: $("h-zone").value.trim(), weekly }))) return;
  $("h-status").textContent = t("adm.h.saved");
  show();
}

async function removeWeek() {
  if (!(await call("/api/admin/hours", { method: "DELETE" }))) return;
  $("h-status").textContent = t("adm.h.removed");
  show();
}

// ---------------------------------------------------------------- the calendar

async function showCalendar() {
  const cal = await call(`/api/admin/hours/calendar?year=${encodeURIComponent($("h-year").value)}`);
  if (!cal) return;
  vw.calendar = cal;
  relabel();
}

function fmtDate(day) {
  const when = new Intl.DateTimeFormat(getLang() === "zh" ? "zh-CN" : "en-GB", { timeZone: "UTC", weekday: "short" });
  return `${day} ${when.format(new Date(`${day}T12:00:00Z`))}`;
}

const holidayName = (name) => (name ? tv("holiday", name) : "");

function renderCalendar() {
  const cal = vw.calendar;
  if (!cal) return;
  const notes = [];
  if (!cal.known) notes.push(t("adm.h.unknown", { year: cal.year }));
  if (!cal.applied) notes.push(t("adm.h.not_applied"));
  $("h-calendar-note").hidden = !notes.length;
  $("h-calendar-note").textContent = notes.join(" ");
  fillTable($("t-calendar"), [
    { label: t("adm.h.col.date"), cls: "mono", value: (d) => fmtDate(d.date) },
    { label: t("adm.h.col.official"), value: (d) => (d.official ? [tv("hours.reason", d.official), holidayName(d.official_name)].filter(Boolean).join(" · ") : none()) },
    { label: t("adm.h.col.hours"), value: (d) => `${d.open ? periodsText(d.periods) : t("caller.closed.shut")} · ${tv("hours.reason", d.reason)}` },
    { label: t("adm.h.col.override"), cell: (d) => (d.override ? [
      `${tv("adm.h.kind", d.override.kind)} ${periodsText(d.override.periods)} ${d.override.note}`.trim(), " ",
      el("button", { type: "button", class: "btn btn-small", text: t("adm.h.remove_day"),
                     "aria-label": t("adm.h.remove_one", { date: d.date }), onclick: () => removeDay(d.date) }),
    ] : none()) },
  ], cal.days, { rowAttrs: (d) => ({ "data-date": d.date }) });
}

async function saveDay(ev) {
  ev.preventDefault();
  const date = $("h-date").value;
  const kind = $("h-kind").value;
  const body = { kind, note: $("h-note").value.trim() };
  if (kind !== "closed") body.periods = periodsOf($("h-periods").value);
  if (!(await putJson(`/api/admin/hours/overrides/${encodeURIComponent(date)}`, body))) return;
  $("h-status").textContent = t("adm.h.day_saved", { date });
  $("h-year").value = date.slice(0, 4);
  showCalendar();
}

async function removeDay(date) {
  if (!(await call(`/api/admin/hours/overrides/${encodeURIComponent(date)}`, { method: "DELETE" }))) return;
  $("h-status").textContent = t("adm.h.day_removed", { date });
  showCalendar();
}

async function importYear(ev) {
  ev.preventDefault();
  const file = $("h-file").files[0];
  if (!file) { $("h-status").textContent = t("adm.cat.nofile"); return; }
  const year = $("h-year").value;
  const res = await call(`/api/admin/hours/overrides/import?year=${encodeURIComponent(year)}`, {
    method: "POST", headers: { "Content-Type": "text/csv" }, body: await file.text(),
  });
  if (!res) return;
  $("h-status").textContent = t("adm.h.imported", { n: res.imported, year });
  showCalendar();
}

export function bind() {
  $("hours-form").addEventListener("submit", saveWeek);
  $("h-remove").addEventListener("click", removeWeek);
  $("h-year-form").addEventListener("submit", (ev) => { ev.preventDefault(); showCalendar(); });
  $("h-day-form").addEventListener("submit", saveDay);
  $("h-kind").addEventListener("change", () => { $("h-periods").disabled = $("h-kind").value === "closed"; });
  $("h-import-form").addEventListener("submit", importYear);
}
