// Virtual Window — administration view #/accounts: specialists and administrators, their
// roles, passwords and skills.

import { t, tv } from "/lib/i18n.js";
import { $ } from "/lib/dom.js";
import { vw, call, putJson, fillTable, editButton } from "/s/admin/common.js";
import { fillFilterChoices } from "/s/admin/sessions.js";

export async function show() {
  const data = await call("/api/admin/accounts");
  if (!data) return;
  vw.accounts = data.items || [];
  fillFilterChoices();
  fillTable($("t-accounts"), [
    { label: t("login.username"), value: (a) => a.username },
    { label: t("adm.acc.display"), value: (a) => a.display_name },
    { label: t("adm.acc.role"), value: (a) => tv("adm.role", a.role) },
    { label: t("adm.acc.skills"), value: (a) => (a.skills || []).join(", ") },
    { label: "", cell: (a) => editButton(t("adm.acc.edit_one", { name: a.username }), () => editAccount(a)) },
  ], vw.accounts);
}

/** The form, filled with account `a` (null: a new specialist). */
function editAccount(a) {
  $("acc-form").hidden = false;
  $("acc-username").value = a ? a.username : "";
  $("acc-username").readOnly = Boolean(a);
  $("acc-display").value = a ? a.display_name : "";
  $("acc-role").value = a ? a.role : "specialist";
  $("acc-password").value = "";
  $("acc-skills").value = a ? (a.skills || []).join(", ") : "";
  $("acc-username").focus();
}

async function saveAccount(ev) {
  ev.preventDefault();
  const username = $("acc-username").value.trim();
  const body = {
    role: $("acc-role").value,
    display_name: $("acc-display").value.trim() || undefined,
    password: $("acc-password").value || undefined,
    skills: $("acc-skills").value.split(",").map((s) => s.trim()).filter(Boolean),
  };
  const saved = await putJson(`/api/admin/accounts/${encodeURIComponent(username)}`, body);
  if (!saved) return;
  $("acc-form").hidden = true;
  $("acc-status").textContent = t("adm.acc.saved", { name: saved.username });
  show();
}

export function bind() {
  $("acc-new").addEventListener("click", () => editAccount(null));
  $("acc-form").addEventListener("submit", saveAccount);
  $("acc-cancel").addEventListener("click", () => { $("acc-form").hidden = true; });
}
