// Virtual Window — helpers shared by the staff pages (console and administration).

import { t, getLang } from "/c/i18n.js";

const key = (role) => `vw.session.${role}`;

/**
 * POST /api/login and keep {token, role, user} in sessionStorage (per tab).
 * Throws {code, message} on bad credentials or when the role does not fit.
 */
export async function login(username, password, role) {
  let r;
  let body = {};
  try {
    r = await fetch("/api/login", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ username, password }),
    });
    body = await r.json().catch(() => ({}));
  } catch (err) {
    throw { code: "network_error", message: err.message || String(err) };
  }
  if (r.status === 401) throw { code: (body.error && body.error.code) || "invalid_credentials", message: t("login.bad") };
  if (!r.ok) throw (body.error || { code: `http_${r.status}`, message: r.statusText });
  if (body.role !== role) throw { code: "wrong_role", message: t(`login.role.${role}`) };
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

/** GET/POST with the Bearer token; throws the contract's error object, with `status`. */
export async function api(path, token, init = {}) {
  const headers = { Accept: "application/json", ...(init.headers || {}), Authorization: `Bearer ${token}` };
  let r;
  try {
    r = await fetch(path, { ...init, headers });
  } catch (err) {
    throw { code: "network_error", message: err.message || String(err) };
  }
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw { status: r.status, ...(body.error || { code: `http_${r.status}`, message: r.statusText }) };
  return body;
}

/** "Name (CODE)" of a service item in the current language. */
export function itemLabel(item) {
  if (!item) return t("common.none");
  if (typeof item === "string") return item;
  const name = getLang() === "zh" ? item.name || item.name_en : item.name_en || item.name;
  return item.code ? `${name || ""} (${item.code})`.trim() : name || t("common.none");
}

/** The staff login form (`#login-form`, `#username`, `#password`, `#login-btn`) of a page for `role`. */
export function bindLoginForm(role, { onLogin, onError, clearError }) {
  const byId = (id) => document.getElementById(id);
  byId("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearError();
    byId("login-btn").disabled = true;
    try {
      const session = await login(byId("username").value.trim(), byId("password").value, role);
      byId("password").value = "";
      onLogin(session);
    } catch (err) {
      onError(err);
    } finally {
      byId("login-btn").disabled = false;
    }
  });
}
