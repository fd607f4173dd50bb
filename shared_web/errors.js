// Virtual Window — the page's error block (role="alert"): one message at a time.
//
// Each shown error has an id: the error's code unless the page names another. A page
// clears the error it knows about by that id ("disconnected" once the socket is back), so
// it never hides a later, different error, and never has to read the text on screen.

import { t } from "./i18n.js";
import { el } from "./dom.js";

let block = null;
let text = null;
let shownId = null;

/** The block, hidden until an error is shown (chrome.js puts it under the header). */
export function errorBlock() {
  text = el("span", { id: "error-text" });
  block = el("div", { id: "error", class: "alert", role: "alert", hidden: true }, text,
    el("button", {
      type: "button", class: "btn btn-small btn-ghost", id: "error-dismiss", "data-i18n": "common.dismiss",
      text: t("common.dismiss"), onclick: () => clearError(),
    }));
  return block;
}

/** "Error: message (code)" from an error object, an {ok: false, error} ack or anything else. */
export function errorText(err) {
  const e = (err && err.error) || err || {};
  const message = e.message || e.code || String(err);
  return `${t("common.error")}: ${message}${e.code && e.message ? ` (${e.code})` : ""}`;
}

/** Show `err`; `id` names it for clearError (default: its code). */
export function showError(err, id) {
  const e = (err && err.error) || err || {};
  shownId = id ?? e.code ?? null;
  text.textContent = errorText(err);
  block.hidden = false;
}

/** Hide the error shown under `id`; with no id, whatever is shown. */
export function clearError(id) {
  if (id !== undefined && id !== shownId) return;
  shownId = null;
  block.hidden = true;
}

