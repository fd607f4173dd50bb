// Virtual Window — the caller page's video appointments (docs/contract.md, "Appointments").
//
// "Book an appointment" opens #booking-panel for the chosen service item: a date, the free
// slots of that day (GET /api/appointments/slots, in the center's time zone), optionally a
// specialist, and Book (POST /api/appointments) with the caller's details. The answer's manage
// link (`/?appointment=TOKEN`) opens the same panel to view the booking, join it at its time
// (a call:request carrying the token: app.js `onJoin`), change its time (PATCH) or cancel it
// (DELETE). Which slots exist, their places and when one may join are the server's rules.

import { t, tv, getLang, onLangChange } from "/lib/i18n.js";
import { $, el } from "/lib/dom.js";
import { request } from "/lib/http.js";

const LINK_PARAM = "appointment";

let ctx = null;         // {selectedItem, details, onJoin, onError}
let mode = "new";       // "new" | "manage" | "change"
let item = null;        // {code, name, name_en} being booked
let appt = null;        // the appointment being managed (with its token)
let day = null;         // the slots answer shown
let asked = 0;          // the latest slots request: an older answer arriving late is dropped

function zoneOf() {
  return (day && day.time_zone) || "Asia/Shanghai";
}

function clock(iso) {
  return new Intl.DateTimeFormat(getLang() === "zh" ? "zh-CN" : "en-GB", {
    hour: "2-digit", minute: "2-digit", hour12: false, timeZone: zoneOf(),
  }).format(new Date(iso));
}

function when(a) {
  const date = new Intl.DateTimeFormat(getLang() === "zh" ? "zh-CN" : "en-GB", {
    year: "numeric", month: "2-digit", day: "2-digit", timeZone: zoneOf(),
  }).format(new Date(a.slot_start));
  return `${date} ${clock(a.slot_start)}–${clock(a.slot_end)}`;
}

function itemName(i) {
  return i ? `${i.code} ${getLang() === "en" && i.name_en ? i.name_en : i.name || ""}`.trim() : "";
}

function today() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: zoneOf() }).format(new Date());
}

async function loadSlots() {
  const fieldset = $("booking-slots");
  fieldset.replaceChildren(el("legend", { text: t("appt.slots") }));
  const mine = ++asked;
  let answer;
  try {
    answer = await request(`/api/appointments/slots?${new URLSearchParams({ service_item: item.code, date: $("booking-date").value })}`);
  } catch (err) {
    if (mine === asked) ctx.onError(err);
    return;
  }
  if (mine !== asked) return;
  day = answer;
  fieldset.dataset.date = day.date;
  const free = day.slots.filter((s) => s.available);
  for (const slot of free) {
    const id = `slot-${slot.start}`;
    fieldset.append(el("label", { class: "slot", for: id },
      el("input", { type: "radio", name: "slot", id, value: slot.start }), ` ${clock(slot.start)}`));
  }
  $("booking-none").hidden = free.length > 0;
  const select = $("booking-specialist");
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "", text: t("appt.anyone") }),
    ...day.specialists.map((s) => el("option", { value: s.username, text: s.display_name })));
  select.value = chosen;
}

function showPanel() {
  $("booking-panel").hidden = false;
  $("booking-panel").scrollIntoView({ block: "start" });
}

function render() {
  const managing = mode === "manage" && appt;
  $("booking-facts").hidden = !appt;
  $("booking-link-line").hidden = !appt || !appt.manage_url;
  $("booking-picker").hidden = managing;
  $("booking-submit").hidden = managing;
  $("booking-submit").textContent = mode === "change" ? t("appt.save") : t("appt.submit");
  $("booking-for").textContent = mode === "new" ? t("appt.for", { item: itemName(item) }) : "";
  const live = appt && appt.status === "booked";
  $("booking-join").hidden = !managing || !(appt.join && appt.join.open);
  $("booking-change").hidden = !managing || !live;
  $("booking-cancel").hidden = !managing || !live;
  const hint = managing && live && !(appt.join && appt.join.open);
  $("booking-join-hint").hidden = !hint;
  if (hint) $("booking-join-hint").textContent = t("appt.join_from", { time: clock(appt.join.from) });
  if (!appt) return;
  $("booking-reference").textContent = appt.reference;
  $("booking-item").textContent = itemName(appt.service_item);
  $("booking-when").textContent = when(appt);
  $("booking-status").textContent = tv("appt.status", appt.status);
  if (appt.manage_url) $("booking-link").href = appt.manage_url;
}

/** "Book an appointment": for the service item chosen in the catalog. */
async function openNew() {
  const chosen = ctx.selectedItem();
  if (!chosen) {
    ctx.onError({ code: "choose_item", message: t("appt.choose_item") });
    return;
  }
  mode = "new";
  item = chosen;
  appt = null;
  $("booking-date").value = today();
  render();
  showPanel();
  await loadSlots();
}

async function submit() {
  const chosen = document.querySelector('#booking-slots input[name="slot"]:checked');
  if (!chosen) {
    ctx.onError({ code: "choose_slot", message: t("appt.choose_slot") });
    return;
  }
  const specialist = $("booking-specialist").value || undefined;
  try {
    if (mode === "change") {
      appt = { ...await request(`/api/appointments/${appt.token}`, { method: "PATCH", json: { slot_start: chosen.value, specialist } }),
        token: appt.token };
    } else {
      const details = ctx.details();
      appt = await request("/api/appointments", { method: "POST", json: {
        service_item: item.code, slot_start: chosen.value, name: details.name || "", company: details.company || undefined,
        phone: details.phone || undefined, specialist } });
    }
  } catch (err) {
    ctx.onError(err);
    if (err.code === "slot_full" || err.code === "specialist_unavailable") loadSlots();
    return;
  }
  mode = "manage";
  render();
}

async function openManaged(token) {
  try {
    appt = { ...await request(`/api/appointments/${encodeURIComponent(token)}`), token };
  } catch (err) {
    ctx.onError(err);
    return;
  }
  mode = "manage";
  item = appt.service_item;
  render();
  showPanel();
}

async function cancel() {
  try {
    appt = { ...await request(`/api/appointments/${appt.token}`, { method: "DELETE" }), token: appt.token };
  } catch (err) {
    ctx.onError(err);
    return;
  }
  render();
}

async function change() {
  mode = "change";
  item = appt.service_item;
  $("booking-date").value = new Intl.DateTimeFormat("en-CA", { timeZone: zoneOf() }).format(new Date(appt.slot_start));
  render();
  await loadSlots();
}

/** Wire the panel; a page opened from a manage link shows that appointment at once. */
export function mountAppointments(options) {
  ctx = options;
  $("book-btn").addEventListener("click", openNew);
  $("closed-book-btn").addEventListener("click", openNew);
  $("wait-book-btn").addEventListener("click", openNew); // while waiting: the call goes on meanwhile
  $("booking-date").addEventListener("change", loadSlots);
  $("booking-submit").addEventListener("click", submit);
  $("booking-cancel").addEventListener("click", cancel);
  $("booking-change").addEventListener("click", change);
  $("booking-join").addEventListener("click", () => {
    $("booking-panel").hidden = true;
    ctx.onJoin(appt.token);
  });
  $("booking-close").addEventListener("click", () => { $("booking-panel").hidden = true; });
  onLangChange(() => { render(); if (day && mode !== "manage") loadSlots(); });
  const token = new URLSearchParams(location.search).get(LINK_PARAM);
  if (token) openManaged(token);
}
