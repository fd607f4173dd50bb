// Virtual Window — the language of every page (zh-CN / English); the tables are in strings.js.
//
// Markup declares what to translate:
//   data-i18n="key"            → textContent
//   data-i18n-aria="key"       → aria-label
//   data-i18n-title="key"      → title
//   data-i18n-ph="key"         → placeholder
// The choice is remembered in localStorage ("vw.lang"); the default follows
// navigator.language.

import { STRINGS } from "./strings.js";

const KEY = "vw.lang";

function initialLang() {
  try {
    const saved = localStorage.getItem(KEY);
    if (saved === "en" || saved === "zh") return saved;
  } catch (_) { /* storage disabled */ }
  const nav = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
  return nav.toLowerCase().startsWith("zh") ? "zh" : "en";
}

let lang = initialLang();
const listeners = new Set();

export function getLang() {
  return lang;
}

/** Translate `key`, substituting {name} placeholders from `vars`. */
export function t(key, vars) {
  let s = (STRINGS[lang] && STRINGS[lang][key]) ?? STRINGS.en[key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

/** The translation of `${prefix}.${value}`, or the value itself when there is none (states, reasons, roles). */
export function tv(prefix, value) {
  const key = `${prefix}.${value}`;
  return t(key) !== key ? t(key) : value;
}

/** Apply translations to every marked element under `root`. */
export function applyI18n(root = document) {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll("[data-i18n-ph]")) el.placeholder = t(el.dataset.i18nPh);
}

export function setLang(next) {
  lang = next === "zh" ? "zh" : "en";
  try { localStorage.setItem(KEY, lang); } catch (_) { /* storage disabled */ }
  applyI18n();
  for (const fn of listeners) fn(lang);
}

/** Called after every language change (for text built by scripts). */
export function onLangChange(fn) {
  listeners.add(fn);
}

/** Wire a button that toggles between the two languages. */
export function bindLangSwitch(button) {
  button.addEventListener("click", () => setLang(lang === "zh" ? "en" : "zh"));
}

/** Format an ISO timestamp in local time with milliseconds. */
export function fmtTime(iso) {
  if (!iso) return t("common.none");
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Sizes in B, KB, MB (1024-based): 45 → "45 B", 1536 → "1.5 KB". */
export function fmtBytes(n) {
  if (n == null || !Number.isFinite(Number(n))) return t("common.none");
  const v = Number(n);
  if (v < 1024) return `${v} B`;
  if (v < 1024 * 1024) return `${(v / 1024).toFixed(v < 10 * 1024 ? 1 : 0)} KB`;
  return `${(v / (1024 * 1024)).toFixed(1)} MB`;
}

/** "N s" under a minute, else "m:ss". */
export function fmtDuration(seconds) {
  if (seconds == null || Number.isNaN(seconds)) return t("common.none");
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return t("common.seconds", { n: s });
  return fmtClock(s);
}

/** A running clock, "m:ss" (call timers, waited, wrap-up left). */
export function fmtClock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}
