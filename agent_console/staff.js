// Virtual Window — what the staff pages (console and administration) share: signing in,
// the login kept per tab, and service item labels.

import { t, getLang, applyI18n } from "/lib/i18n.js";
import { $, el } from "/lib/dom.js";
import { request, HttpError } from "/lib/http.js";
import { showError, clearError } from "/lib/errors.js";

const key = (role) => `vw.session.${role}`;

/**
 * POST /api/login and keep {token, role, user} in sessionStorage (per tab).
 * Throws {code, message} on bad credentials or when the role does not fit.
 */
export async function login(username, password, role) {
  let body;
  try {
    body = await request("/api/login", { method: "POST", json: { username, password } });
  } catch (err) {
    if (err.status === 401) throw new HttpError(err.code, t("login.bad"), 401);
    throw err;
  }
  if (body.role !== role) throw new HttpError("wrong_role", t(`login.role.${role}`));
  const session = { token: body.token, role: body.role, user: body.user || { username } };
  try { sessionStorage.setItem(key(role), JSON.stringify(session)); } catch (_) { /* storage disabled */ }
  return session;
}

export function loadSession(role) {
  try {
    const s = JSON.parse(sessionStorage.getItem(key(role)) || "null");
    return s && s.token && s.role === role ? s : null;
  } catch (_) {
    return null;
  }
}

export function clearSession(role) {
  try { sessionStorage.removeItem(key(role)); } catch (_) { /* ignore */ }
}

/** "Name (CODE)" of a service item in the current language. */
export function itemLabel(item) {
  if (!item) return t("common.none");
  if (typeof item === "string") return item;
  const name = getLang() === "zh" ? item.name || item.name_en : item.name_en || item.name;
  return item.code ? `${name || ""} (${item.code})`.trim() : name || t("common.none");
}

/**
 * The staff sign-in: the form, built into the page's `<main id="login-view">`, and in the
 * header who is signed in (#whoami) and the Log out button (#logout-btn), both hidden until
 * then. `onLogin(session)` once a `role` has signed in.
 */
export function mountSignIn(role, { onLogin }) {
  const tools = document.querySelector("header .topbar-tools");
  tools.prepend(el("span", { id: "whoami", class: "pill", hidden: true }));
  $("lang-switch").before(el("button", { type: "button", class: "btn btn-ghost", id: "logout-btn", hidden: true, "data-i18n": "login.logout" }));
  applyI18n(tools);
  const field = (id, label, attrs) => el("div", { class: "field" },
    el("label", { for: id, "data-i18n": label }), el("input", { id, required: true, ...attrs }));
  const button = el("button", { type: "submit", class: "btn btn-primary", id: "login-btn", "data-i18n": "login.submit" });
  const form = el("form", { id: "login-form", class: "card login-card", "aria-labelledby": "login-title" },
    el("h1", { id: "login-title", "data-i18n": "login.title" }),
    field("username", "login.username", { type: "text", autocomplete: "username" }),
    field("password", "login.password", { type: "password", autocomplete: "current-password" }),
    el("div", { class: "actions" }, button));
  $("login-view").append(form);
  applyI18n(form);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearError();
    button.disabled = true;
    try {
      const session = await login($("username").value.trim(), $("password").value, role);
      $("password").value = "";
      onLogin(session);
    } catch (err) {
      showError(err);
      $("password").value = ""; // typed again, never left filled in after a refusal
      $("password").focus();
    } finally {
      button.disabled = false;
    }
  });
}
