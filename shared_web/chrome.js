// Virtual Window — the page chrome every page shares: the header's brand and language
// switch, the error block under the header, and the footer.
//
// The page's markup keeps only what is its own:
//   <header class="topbar" data-title="console.title" data-subtitle="app.center">
//     <div class="topbar-tools">…the page's own pills and buttons…</div>
//   </header>
//   <footer class="footer" data-note="app.privacy"></footer>
// data-title: a key shown after the product's name; data-subtitle: the line under it
// (default app.center); data-note: a key added to the footer.

import { applyI18n, bindLangSwitch } from "./i18n.js";
import { el } from "./dom.js";
import { errorBlock } from "./errors.js";

const key = (k) => el("span", { "data-i18n": k });

/** Build the chrome around the page's own markup and translate the whole page. */
export function mountChrome() {
  const header = document.querySelector("header.topbar");
  const { title, subtitle = "app.center" } = header.dataset;
  header.prepend(el("div", { class: "brand" },
    el("span", { class: "emblem", "aria-hidden": "true", text: "窗" }),
    el("div", {},
      el("div", { class: "brand-name" }, key("app.name"), title ? [" · ", key(title)] : null),
      el("div", { class: "brand-sub", "data-i18n": subtitle }))));
  const lang = el("button", { type: "button", class: "btn btn-ghost", id: "lang-switch", "data-i18n": "lang.switch", "data-i18n-title": "lang.label" });
  bindLangSwitch(lang);
  header.querySelector(".topbar-tools").append(lang);
  header.after(errorBlock());

  const footer = document.querySelector("footer.footer");
  footer.append(key("app.center"), " · ", key("app.name"), ...(footer.dataset.note ? [" · ", key(footer.dataset.note)] : []));
  applyI18n();
}
