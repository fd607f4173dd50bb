// Virtual Window — administration view #/accounts: specialists and administrators, their
// roles, passwords and skills; an account is disabled rather than deleted (the log names it).

import { t, tv } from "/lib/i18n.js";
import { $, el } from "/lib/dom.js";
import { vw, call, putJson, fillTable, editButton, categoryLabel } from "/s/admin/common.js";
import { fillFilterChoices } from "/s/admin/sessions.js";

/** A skill in words: `category:tax@4` → "Tax (4)", `SI-001` → "SI-001". */
function skillText(skill) {
  const [target, level] = skill.split("@");
  const name = target.startsWith("category:") ? categoryLabel(target.slice(9)) : target;
  return level ? `${name} (${level})` : name;
}

export async function show() {
  const data = await call("/api/admin/accounts");
  if (!data) return;
  vw.accounts = data.items || [];
  fillFilterChoices();
  relabel();
}

export function relabel() {
  fillTable($("t-accounts"), [
    { label: t("login.username"), cls: "mono", value: (a) => a.username },
    { label: t("adm.acc.display"), value: (a) => a.display_name },
    { label: t("adm.acc.role"), value: (a) => tv("adm.role", a.role) },
    { label: t("adm.acc.status"), cell: (a) => el("span", { class: a.disabled ? "badge missed" : "badge answered", text: a.disabled ? t("adm.acc.disabled") : t("adm.acc.active") }) },
    { label: t("adm.acc.skills_col"), cls: "wrap", value: (a) => (a.skills || []).map(skillText).join(", ") },
    { label: t("adm.col.action"), cell: (a) => editButton(t("adm.acc.edit_one", { name: a.username }), () => editAccount(a)) },
  ], vw.accounts, { rowAttrs: (a) => ({ "data-username": a.username }) });
}

/** The form, filled with account `a` (null: a new specialist). */
function editAccount(a) {
  $("acc-form").hidden = false;
  $("acc-form-title").textContent = a ? t("adm.acc.edit_one", { name: a.username }) : t("adm.acc.new");
  $("acc-username").value = a ? a.username : "";
  $("acc-username").readOnly = Boolean(a);
  $("acc-display").value = a ? a.display_name : "";
  $("acc-role").value = a ? a.role : "specialist";
  $("acc-password").value = "";
  $("acc-password").required = !a; // a new account needs one; an existing one keeps its own when left empty
  $("acc-skills").value = a ? (a.skills || []).join(", ") : "";
  $("acc-disabled").checked = Boolean(a && a.disabled);
  (a ? $("acc-display") : $("acc-username")).focus();
}

async function saveAccount(ev) {
  ev.preventDefault();
  const username = $("acc-username").value.trim();
  const body = {
    role: $("acc-role").value,
    display_name: $("acc-display").value.trim() || undefined,
    password: $("acc-password").value || undefined,
    skills: $("acc-skills").value.split(",").map((s) => s.trim()).filter(Boolean),
    disabled: $("acc-disabled").checked, // disabled: cannot sign in, its open sessions are signed out
  };
  const saved = await putJson(`/api/admin/accounts/${encodeURIComponent(username)}`, body);
  if (!saved) return;
  $("acc-form").hidden = true;
  $("acc-password").value = "";
  $("acc-status").textContent = t(saved.disabled ? "adm.acc.saved_disabled" : "adm.acc.saved", { name: saved.username });
  show();
}

export function bind() {
  $("acc-new").addEventListener("click", () => editAccount(null));
  $("acc-form").addEventListener("submit", saveAccount);
  $("acc-cancel").addEventListener("click", () => { $("acc-form").hidden = true; });
}
