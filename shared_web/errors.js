// Virtual Window — the page's error block (role="alert"): one message at a time.
//
// Each shown error has an id: the error's code unless the page names another. A page
// clears the error it knows about by that id ("disconnected" once the socket is back), so
// it never hides a later, different error, and never has to read the text on screen.

import { t } from "./i18n.js";
import { el } from "./dom.js";
import { HttpError } from "./http.js";

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

/**
 * The words shown for `err`, in the page's language. An error from the server or the network
 * (an HttpError, or an ack's `{ok: false, error}`) is told in the words strings.js has for its
 * code (`error.<code>`), its own (English) message otherwise; a `{code, message}` the page made
 * itself is already in the page's language. Codes are never shown: they are for support (the
 * block's `data-code` and the browser console).
 */
export function errorMessage(err) {
  const fromServer = err instanceof HttpError || !!(err && err.error);
  const e = (err && err.error) || err || {};
  const key = `error.${e.code}`;
  if (e.code && (fromServer || !e.message) && t(key) !== key) return t(key);
  if (e.message) return e.message;
  return typeof err === "string" ? err : t("error.unknown");
}

/** "Error: message" from an error object, an {ok: false, error} ack or anything else. */
export function errorText(err) {
  return `${t("common.error")}: ${errorMessage(err)}`;
}

/** Show `err`; `id` names it for clearError (default: its code). */
export function showError(err, id) {
  const e = (err && err.error) || err || {};
  shownId = id ?? e.code ?? null;
  text.textContent = errorText(err);
  block.dataset.code = e.code || "";
  if (e.code) console.info(`[error] ${e.code}: ${e.message || ""}`);
  block.hidden = false;
}

/** Hide the error shown under `id`; with no id, whatever is shown. */
export function clearError(id) {
  if (id !== undefined && id !== shownId) return;
  shownId = null;
  block.hidden = true;
}

