// Virtual Window — administration pages (served at "/admin").
//
// One page, views chosen by the URL hash, one module each under admin/:
//   #/sessions            sessions.js   the session log: filters, sorting, pages, CSV export
//   #/sessions/{id}       session.js    one session: timeline, chat, documents, wrap-up, recordings in sync
//   #/overview            overview.js   response times and service level for a period, with charts
//   #/wallboard           wallboard.js  the live /admin `stats` stream and the supervisor monitor
//   #/scores[/{id}]       scores.js     the specialist leaderboard and one specialist's breakdown
//   #/catalog, #/accounts, #/queues     management
//   #/hours               hours.js      opening hours, the holiday calendar, day overrides, CSV import
//   #/appointments        appointments.js  the appointments calendar, one day at a time
//   #/callbacks           callbacks.js  callers who kept their place, with the callback's state
// A view exports show(arg) (load and draw), and relabel(arg) when it redraws in a new language.

import { t, onLangChange } from "/lib/i18n.js";
import { $ } from "/lib/dom.js";
import { mountChrome } from "/lib/chrome.js";
import { showError, clearError } from "/lib/errors.js";
import { mountSignIn, loadSession, clearSession } from "/s/staff.js";
import { vw, whenUnauthorized, applyPreset } from "/s/admin/common.js";
import * as sessions from "/s/admin/sessions.js";
import * as session from "/s/admin/session.js";
import * as overview from "/s/admin/overview.js";
import * as wallboard from "/s/admin/wallboard.js";
import * as scores from "/s/admin/scores.js";
import * as catalog from "/s/admin/catalog.js";
import * as accounts from "/s/admin/accounts.js";
import * as queues from "/s/admin/queues.js";
import * as hours from "/s/admin/hours.js";
import * as appointments from "/s/admin/appointments.js";
import * as callbacks from "/s/admin/callbacks.js";

const ROLE = "admin";
const VIEWS = { sessions, session, overview, wallboard, scores, catalog, accounts, queues, hours, appointments, callbacks };
const PERIOD_VIEWS = new Set(["overview", "scores", "callbacks"]);

function showLogin(message) {
  $("login-view").hidden = false;
  $("admin-view").hidden = true;
  $("admin-nav").hidden = true;
  $("logout-btn").hidden = true;
  $("whoami").hidden = true;
  if (message) showError({ message });
}

function showAdmin() {
  $("login-view").hidden = true;
  $("admin-view").hidden = false;
  $("admin-nav").hidden = false;
  $("logout-btn").hidden = false;
  $("whoami").hidden = false;
  const u = vw.session.user || {};
  $("whoami").textContent = u.display_name || u.username || "";
}

/** The view and its argument from the URL hash ("#/sessions/ID" is the session view). */
function current() {
  const parts = (location.hash.replace(/^#\/?/, "") || "sessions").split("/").map(decodeURIComponent);
  let view = parts[0];
  if (view === "sessions" && parts[1]) view = "session";
  if (!document.querySelector(`.view[data-view="${view}"]`)) view = "sessions";
  return { view, arg: parts[1] };
}

function route() {
  if (!vw.session) return;
  const { view, arg } = current();
  vw.view = view;
  for (const sec of document.querySelectorAll(".view")) sec.hidden = sec.dataset.view !== view;
  $("period").hidden = !PERIOD_VIEWS.has(view);
  for (const a of document.querySelectorAll("#admin-nav a[data-view]")) {
    if (a.dataset.view === view || (view === "session" && a.dataset.view === "sessions")) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  clearError();
  VIEWS[view].show(arg);
}

function start(s) {
  vw.session = s;
  vw.offset = 0;
  showAdmin();
  vw.choices = sessions.loadChoices(); // the names views show (catalog, accounts, categories)
  wallboard.connectLive();
  route();
}

function logout() {
  wallboard.disconnectLive();
  clearSession(ROLE);
  vw.session = null;
}

function init() {
  mountChrome();
  mountSignIn(ROLE, { onLogin: start });
  whenUnauthorized(() => {
    logout();
    showLogin(t("login.role.admin"));
  });
  onLangChange(() => {
    if (!vw.session) return;
    const { arg } = current();
    for (const v of Object.values(VIEWS)) if (v.relabel) v.relabel(arg);
  });
  for (const v of Object.values(VIEWS)) if (v.bind) v.bind();
  $("logout-btn").addEventListener("click", () => { logout(); showLogin(); });
  window.addEventListener("hashchange", route);
  $("p-preset").value = "week";
  applyPreset();
  $("p-preset").addEventListener("change", applyPreset);
  for (const id of ["p-from", "p-to"]) $(id).addEventListener("input", () => { $("p-preset").value = "custom"; });
  $("period").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const { view, arg } = current();
    if (view === "scores") scores.show(arg);
    else if (view === "callbacks") callbacks.show();
    else overview.show();
  });

  const saved = loadSession(ROLE);
  if (saved) start(saved);
  else showLogin();
}

init();
