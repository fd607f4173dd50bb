// Virtual Window — administration view #/queues: each service item's routing queue
// settings as the routing engine reports them (GET /api/queues), edited one queue at a time.

import { t } from "/lib/i18n.js";
import { $, el } from "/lib/dom.js";
import { showError } from "/lib/errors.js";
import { vw, call, putJson, fillTable, none, editButton } from "/s/admin/common.js";

// What a queue row says about itself rather than a setting: shown in the table, never edited.
const QUEUE_FIXED = new Set(["service_item", "configured", "updated_at", "live"]);

export async function show() {
  const data = await call("/api/queues");
  if (!data) return;
  const rows = data.items || [];
  vw.queues = rows;
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => k !== "service_item" && k !== "live");
  const text = (v) => (v == null ? none() : typeof v === "object" ? JSON.stringify(v) : String(v));
  fillTable($("t-queues"), [
    { label: t("admin.col.item"), value: (r) => r.service_item },
    ...keys.map((k) => ({ label: k, value: (r) => text(r[k]) })),
    { label: "", cell: (r) => editButton(t("adm.q.edit_one", { code: r.service_item }), () => editQueue(r)) },
  ], rows);
}

/** A form built from the queue's own settings: numbers, switches, text, and JSON for lists. */
function editQueue(q) {
  vw.queueEditing = q;
  $("queue-form").hidden = false;
  $("queue-form-title").textContent = t("adm.q.edit_one", { code: q.service_item });
  $("queue-fields").replaceChildren(...Object.entries(q).filter(([k]) => !QUEUE_FIXED.has(k)).map(([k, v]) => {
    const id = `q-${k}`;
    const kind = typeof v === "boolean" ? "bool" : typeof v === "number" ? "number" : v !== null && typeof v === "object" ? "json" : "text";
    const attrs = { id, "data-key": k, "data-kind": kind };
    const input = kind === "bool" ? el("input", { ...attrs, type: "checkbox", checked: v })
      : kind === "number" ? el("input", { ...attrs, type: "number", step: "any", value: String(v) })
        : kind === "json" ? el("textarea", { ...attrs, rows: 3, text: JSON.stringify(v) })
          : el("input", { ...attrs, value: v == null ? "" : String(v) });
    return el("div", { class: kind === "json" ? "field wide" : "field" }, el("label", { for: id, text: k }), input);
  }));
}

async function saveQueue(ev) {
  ev.preventDefault();
  const q = vw.queueEditing;
  const body = {};
  for (const input of $("queue-fields").querySelectorAll("[data-key]")) {
    const k = input.dataset.key;
    const kind = input.dataset.kind;
    try {
      body[k] = kind === "bool" ? input.checked : kind === "number" ? Number(input.value)
        : kind === "json" ? JSON.parse(input.value || "null") : input.value === "" ? null : input.value;
    } catch (_) {
      showError({ code: "invalid_value", message: `${k}: JSON` });
      return;
    }
  }
  // Nothing to send is not a save: say so rather than "Saved".
  if (!Object.keys(body).length) {
    showError({ code: "nothing_to_save", message: t("adm.q.empty") });
    return;
  }
  const saved = await putJson(`/api/queues/${encodeURIComponent(q.service_item)}`, body);
  if (!saved) return;
  done(q);
}

async function resetQueue() {
  const q = vw.queueEditing;
  if (await call(`/api/queues/${encodeURIComponent(q.service_item)}`, { method: "DELETE" })) done(q);
}

function done(q) {
  $("queue-form").hidden = true;
  $("q-status").textContent = t("adm.cat.saved", { code: q.service_item });
  show();
}

export function bind() {
  $("queue-form").addEventListener("submit", saveQueue);
  $("queue-reset").addEventListener("click", resetQueue);
  $("queue-cancel").addEventListener("click", () => { $("queue-form").hidden = true; });
}
