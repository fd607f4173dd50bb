// Virtual Window — administration view #/queues: each service item's routing queue settings
// as the routing engine reports them (GET /api/queues), shown in words and edited one queue
// at a time. The server checks every value (routing/settings.py); the form only sends changes.

import { t, tv, fmtDuration } from "/lib/i18n.js";
import { $, el } from "/lib/dom.js";
import { showError, clearError } from "/lib/errors.js";
import { vw, call, putJson, fillTable, none, editButton, itemName, timeNode } from "/s/admin/common.js";

const STRATEGIES = ["longest_idle", "fewest_calls", "least_talk_time", "round_robin", "ring_all"];
const SCOPES = ["category", "item"];

// Each setting's input (docs/routing.md). A setting the server reports and this list does not
// know yet is still shown and edited, by the type of its value.
const SETTINGS = [
  { key: "strategy", kind: "choice", choices: STRATEGIES, label: "adm.q.strategy" },
  { key: "priority", kind: "int", min: 0, max: 100 },
  { key: "offer_timeout_s", kind: "seconds", min: 1 },
  { key: "wrap_up_s", kind: "seconds", min: 0 },
  { key: "max_wait_s", kind: "seconds", min: 1, nullable: true },
  { key: "max_wait_no_agent_s", kind: "seconds", min: 1, nullable: true },
  { key: "min_proficiency", kind: "int", min: 1, max: 5 },
  { key: "scope", kind: "choice", choices: SCOPES, label: "adm.q.scope" },
  { key: "rona_offers", kind: "int", min: 0, max: 100 },
  { key: "overflow_to", kind: "item" },
  { key: "shared_queue", kind: "item" },
  { key: "escalation", kind: "steps" },
];
// What a queue row says about itself rather than a setting: shown, never edited.
const QUEUE_FIXED = new Set(["service_item", "configured", "updated_at", "live"]);
const MAX_SECONDS = 86400;

const label = (key) => {
  const k = `adm.q.f.${key}`;
  return t(k) === k ? key.replace(/_s$/, "").replace(/_/g, " ") : t(k);
};
/** A limit in seconds, for people: "15 s", "2 min", "1:30"; none is "No limit". */
const seconds = (v) => (v == null ? t("adm.q.no_limit") : v >= 60 && v % 60 === 0 ? t("adm.u.min", { n: v / 60 }) : fmtDuration(v));
const itemText = (code) => {
  const i = vw.catalog.find((x) => x.code === code);
  return i ? itemName(i.code, i.name, i.name_en) : code;
};

/** Escalation steps as the text the server reads back: `30:min_proficiency=1;60:scope=category`. */
const stepsText = (steps) => (steps || []).map(({ after_s: after, ...rest }) =>
  `${after}:${Object.entries(rest).map(([k, v]) => `${k}=${v}`).join(",")}`).join(";");

/** Escalation steps in words: "after 30 s: proficiency ≥ 1; after 60 s: whole category". */
function stepsWords(steps) {
  if (!steps || !steps.length) return none();
  return steps.map((s) => {
    const what = [];
    if (s.min_proficiency != null) what.push(t("adm.esc.min", { n: s.min_proficiency }));
    if (s.scope) what.push(tv("adm.q.scope", s.scope));
    if (s.priority != null) what.push(t("adm.esc.priority", { n: s.priority }));
    if (s.overflow_to) what.push(t("adm.esc.overflow", { to: s.overflow_to }));
    return t("adm.esc.step", { s: seconds(s.after_s), what: what.join(", ") });
  }).join("; ");
}

/** A setting's value in words (the table). */
function valueText(key, v) {
  const spec = SETTINGS.find((s) => s.key === key);
  if (spec && spec.kind === "seconds") return seconds(v);
  if (spec && spec.kind === "choice") return tv(spec.label, v);
  if (spec && spec.kind === "steps") return stepsWords(v);
  if (key === "rona_offers") return v === 0 ? t("adm.q.never") : t("adm.q.rona_n", { n: v });
  if (v == null) return none();
  if (typeof v === "boolean") return v ? t("adm.yes") : t("adm.no");
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

export async function show() {
  const data = await call("/api/queues");
  if (!data) return;
  vw.queues = data.items || [];
  relabel();
}

export function relabel() {
  const rows = vw.queues || [];
  const known = new Set(SETTINGS.map((s) => s.key));
  const extra = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => !known.has(k) && !QUEUE_FIXED.has(k));
  const col = (key, cls) => ({ label: label(key), cls, value: (r) => valueText(key, r[key]) });
  fillTable($("t-queues"), [
    { label: t("admin.col.item"), cls: "wrap item", value: (r) => itemText(r.service_item) },
    col("strategy"), col("priority", "num"), col("offer_timeout_s", "num"), col("wrap_up_s", "num"),
    col("max_wait_s", "num"), col("max_wait_no_agent_s", "num"),
    { label: t("adm.q.col.skill"), value: (r) => t("adm.q.skill", { n: r.min_proficiency, scope: tv("adm.q.scope", r.scope) }) },
    col("rona_offers"),
    { label: t("adm.q.col.routing"), cls: "wrap", value: (r) => [
      r.overflow_to && t("adm.q.overflow", { to: r.overflow_to }),
      r.shared_queue && t("adm.q.shared", { to: r.shared_queue }),
      r.escalation && r.escalation.length ? stepsWords(r.escalation) : null,
    ].filter(Boolean).join("; ") || none() },
    ...extra.map((k) => col(k)),
    { label: t("adm.q.col.settings"), cell: (r) => (r.configured
      ? el("span", {}, t("adm.q.own"), " ", el("small", { class: "muted" }, timeNode(r.updated_at)))
      : el("span", { class: "muted", text: t("adm.q.defaults") })) },
    { label: t("adm.col.action"), cell: (r) => editButton(t("adm.q.edit_one", { code: r.service_item }), () => editQueue(r)) },
  ], rows, { empty: t("adm.q.none") });
  if (vw.queueEditing && !$("queue-form").hidden) editQueue(vw.queueEditing, true);
}

/** An input for one setting, filled with its current value. */
function input(spec, v, code) {
  const id = `q-${spec.key}`;
  const attrs = { id, name: spec.key, "data-key": spec.key, "data-kind": spec.kind };
  if (spec.kind === "choice") {
    return el("select", attrs, spec.choices.map((c) => el("option", { value: c, text: tv(spec.label, c), selected: c === v })));
  }
  if (spec.kind === "item") {
    return el("select", attrs, el("option", { value: "", text: t("adm.q.none_item") }),
      vw.catalog.filter((i) => i.code !== code).map((i) => el("option", { value: i.code, text: itemName(i.code, i.name, i.name_en), selected: i.code === v })));
  }
  if (spec.kind === "int") {
    return el("input", { ...attrs, type: "number", inputmode: "numeric", step: 1, min: spec.min, max: spec.max, required: true, value: v ?? "" });
  }
  if (spec.kind === "seconds") {
    return el("input", { ...attrs, type: "number", step: "any", min: spec.min, max: MAX_SECONDS, required: !spec.nullable,
      value: v ?? "", placeholder: spec.nullable ? t("adm.q.no_limit") : null });
  }
  if (spec.kind === "steps") {
    return el("input", { ...attrs, type: "text", autocomplete: "off", spellcheck: "false", value: stepsText(v), placeholder: "30:min_proficiency=1;60:scope=category" });
  }
  if (spec.kind === "bool") return el("input", { ...attrs, type: "checkbox", checked: Boolean(v) });
  return el("input", { ...attrs, type: spec.kind === "number" ? "number" : "text", step: "any", value: v ?? "" });
}

/** The form, built from the queue's own settings; `keep` redraws it (a new language) with what was typed. */
function editQueue(q, keep = false) {
  const typed = keep ? readForm() : null;
  vw.queueEditing = q;
  $("queue-form").hidden = false;
  $("queue-form-title").textContent = t("adm.q.edit_one", { code: itemText(q.service_item) });
  const specs = Object.keys(q).filter((k) => !QUEUE_FIXED.has(k)).map((k) => SETTINGS.find((s) => s.key === k)
    || { key: k, kind: typeof q[k] === "boolean" ? "bool" : typeof q[k] === "number" ? "number" : "text" });
  $("queue-fields").replaceChildren(...specs.map((spec) => {
    const hintKey = `adm.q.h.${spec.key}`;
    const hint = t(hintKey) === hintKey ? null : el("small", { class: "hint", id: `q-${spec.key}-hint`, text: t(hintKey) });
    const field = input(spec, typed && spec.key in typed ? typed[spec.key] : q[spec.key], q.service_item);
    if (hint) field.setAttribute("aria-describedby", hint.id);
    return el("div", { class: spec.kind === "steps" ? "field wide" : "field" },
      el("label", { for: `q-${spec.key}`, text: label(spec.key) }), field, hint);
  }));
  if (!keep) $("queue-fields").querySelector("[data-key]").focus();
}

/** The form's values, as the server reads them. */
function readForm() {
  const out = {};
  for (const f of $("queue-fields").querySelectorAll("[data-key]")) {
    const { key, kind } = f.dataset;
    if (kind === "bool") out[key] = f.checked;
    else if (kind === "steps") out[key] = f.value.trim();
    else if (["int", "seconds", "number"].includes(kind)) out[key] = f.value.trim() === "" ? null : Number(f.value);
    else out[key] = f.value === "" ? null : f.value;
  }
  return out;
}

async function saveQueue(ev) {
  ev.preventDefault();
  const q = vw.queueEditing;
  const form = readForm();
  // Only what changed: an unchanged form is not a save (it would give the queue settings of its own).
  const body = Object.fromEntries(Object.entries(form).filter(([k, v]) => (k === "escalation" ? v !== stepsText(q[k]) : v !== q[k])));
  $("q-status").textContent = "";
  if (!Object.keys(body).length) {
    $("q-status").textContent = t("adm.q.unchanged");
    return;
  }
  const saved = await putJson(`/api/queues/${encodeURIComponent(q.service_item)}`, body);
  if (!saved) return; // the server said why (shown in the error block); nothing was saved
  clearError();
  done(q, "adm.q.saved");
}

async function resetQueue() {
  const q = vw.queueEditing;
  if (await call(`/api/queues/${encodeURIComponent(q.service_item)}`, { method: "DELETE" })) done(q, "adm.q.reset_done");
}

function done(q, key) {
  $("queue-form").hidden = true;
  vw.queueEditing = null;
  $("q-status").textContent = t(key, { code: q.service_item });
  show();
}

export function bind() {
  $("queue-form").addEventListener("submit", saveQueue);
  $("queue-reset").addEventListener("click", resetQueue);
  $("queue-cancel").addEventListener("click", () => { $("queue-form").hidden = true; vw.queueEditing = null; });
  $("queue-form").addEventListener("invalid", (ev) => showError({ code: "invalid_value", message: t("adm.q.invalid", { field: label(ev.target.dataset.key) }) }), true);
}
