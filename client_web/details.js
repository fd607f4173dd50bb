// Virtual Window — the caller page's enterprise details: remembered on this device (when the
// caller agrees), and checked as typed (the unified social credit code, the phone number).

import { t } from "/lib/i18n.js";
import { $ } from "/lib/dom.js";
import { normalise as normaliseCredit, problem as creditProblem } from "/c/uscc.js";

const STORE = "vw.caller";
const FIELDS = [["company", "company"], ["credit_code", "credit-code"], ["name", "name"], ["phone", "phone"]];

export function loadDetails() {
  try {
    const d = JSON.parse(localStorage.getItem(STORE) || "{}");
    for (const [k, id] of FIELDS) if (d[k]) $(id).value = d[k];
    if (d.remember === false) $("remember").checked = false;
  } catch (_) { /* ignore */ }
}

export function saveDetails() {
  const d = $("remember").checked ? Object.fromEntries(FIELDS.map(([k, id]) => [k, $(id).value])) : { remember: false };
  try { localStorage.setItem(STORE, JSON.stringify(d)); } catch (_) { /* ignore */ }
}

function creditError() {
  const raw = $("credit-code").value.trim();
  if (!raw) return "";
  const p = creditProblem(raw);
  return p ? t(`caller.credit.${p}`) : "";
}

function phoneError() {
  const raw = $("phone").value.trim();
  if (!raw) return "";
  return /^\+?[\d\s()-]{5,40}$/.test(raw) ? "" : t("caller.phone.bad");
}

/** The details can be sent: a name, and a credit code and phone that are empty or well-formed. */
export function detailsReady() {
  return $("name").value.trim().length > 0 && !creditError() && !phoneError();
}

/** Show the field errors of the fields left once (all of them with `force`). */
export function showFieldErrors(force = false) {
  for (const [input, out, fn] of [["credit-code", "credit-error", creditError], ["phone", "phone-error", phoneError]]) {
    const msg = fn();
    const field = $(input);
    const show = msg && (force || field.dataset.touched === "1");
    $(out).textContent = show ? msg : "";
    field.setAttribute("aria-invalid", show ? "true" : "false");
  }
}

/** The caller's part of call:request. */
export function detailsPayload() {
  return {
    name: $("name").value.trim(),
    company: $("company").value.trim() || undefined,
    phone: $("phone").value.trim() || undefined,
    credit_code: normaliseCredit($("credit-code").value) || undefined,
  };
}

/** Wire the fields: `onInput` after every change (summary, call button). */
export function bindDetails(onInput) {
  for (const [, id] of FIELDS) {
    $(id).addEventListener("input", () => { showFieldErrors(); onInput(); });
    $(id).addEventListener("blur", () => { $(id).dataset.touched = "1"; showFieldErrors(); });
    $(id).addEventListener("change", saveDetails);
  }
  $("credit-code").addEventListener("change", () => {
    $("credit-code").value = normaliseCredit($("credit-code").value);
  });
  $("remember").addEventListener("change", saveDetails);
}
