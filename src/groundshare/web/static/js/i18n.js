// The dashboard's words in English, Spanish and Korean (the partners' languages), and the
// language the user reads it in: `?lang=en|es|ko` in the URL (for links), else the one
// chosen in the header (kept in localStorage), else the browser's first preferred language
// we have, else English.  `<html lang>` always says which is shown.
//
// The catalogue: every string the pages show lives in ../i18n/<section>.json, one file a
// part of the dashboard, each holding {"en": {...}, "es": {...}, "ko": {...}} with the same
// keys in every language (tests/web/test_catalogue.py fails on a gap) and no key in two
// sections.  `loadCatalogue()` reads them all once, before the first page is drawn.
//
// `t(key, vars)` returns the string of `key` in that language with `{name}` placeholders
// filled from `vars`; a key given as `{one, other}` is chosen with the language's plural
// rules (Intl.PluralRules) on `vars.n`.  A key missing in a language falls back to English,
// and a key missing everywhere shows as itself, so a gap shows on the page, never a crash.
// Numbers are written with the language's separators (`numberText`); times stay ISO UTC
// everywhere (api.js `utcText`), as operators of every partner read them.
//
// Static text of index.html carries `data-i18n="key"` (its text) or `data-i18n-label="key"`
// (its aria-label); `translateDocument()` fills them in the language shown.

const LANGUAGE_KEY = "groundshare.lang";

/** The languages, each named in itself (as the header's menu lists them). */
export const LANGUAGES = { en: "English", es: "Español", ko: "한국어" };

/** The catalogue's sections: ../i18n/<name>.json. */
export const SECTIONS = ["shell", "map", "timeline", "ledger", "gnss", "pages", "data",
  "book", "requests", "plan", "leop", "sharing", "manage", "tokens", "reports"];

/** Every language's strings, merged from the sections (filled by `loadCatalogue`). */
export const STRINGS = { en: {}, es: {}, ko: {} };

let loaded = null;

/** Read every section of the catalogue (once; later calls return the same promise). */
export function loadCatalogue() {
  loaded ??= Promise.all(SECTIONS.map(async (name) => {
    const response = await fetch(new URL(`../i18n/${name}.json`, import.meta.url));
    if (!response.ok) throw new Error(`the dashboard's catalogue section ${name}.json did not load (${response.status})`);
    return response.json();
  })).then((sections) => {
    for (const section of sections) {
      for (const lang of Object.keys(LANGUAGES)) Object.assign(STRINGS[lang], section[lang] || {});
    }
  });
  return loaded;
}

function stored() {
  try {
    return localStorage.getItem(LANGUAGE_KEY);
  } catch {
    return null; // storage refused (a locked-down browser): the browser's languages decide
  }
}

function fromUrl() {
  const code = new URLSearchParams(location.search).get("lang");
  return code && LANGUAGES[code] ? code : null;
}

/** The language shown: ?lang=, else the one chosen here, else the browser's first we have, else English. */
export function language() {
  const linked = fromUrl();
  if (linked) return linked;
  const chosen = stored();
  if (chosen && LANGUAGES[chosen]) return chosen;
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const primary = String(tag).toLowerCase().split("-")[0];
    if (LANGUAGES[primary]) return primary;
  }
  return "en";
}

/**
 * Choose `code` (a key of LANGUAGES) for this browser, and say so to the page (`<html lang>`).
 * A `?lang=` in the address gives way to the choice (the address is rewritten without it).
 */
export function setLanguage(code) {
  if (!LANGUAGES[code]) return;
  try {
    localStorage.setItem(LANGUAGE_KEY, code);
  } catch { /* not kept: this page still switches */ }
  if (fromUrl()) {
    const url = new URL(location.href);
    url.searchParams.set("lang", code);
    history.replaceState(history.state, "", url);
  }
  translateDocument();
}

/** Translate index.html's static text (data-i18n, data-i18n-label) and set `<html lang>`. */
export function translateDocument() {
  document.documentElement.lang = language();
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  document.title = t("shell.title");
}

/** The template of `key` in the language shown (its plural form chosen by `n`). */
function template(key, n) {
  const lang = language();
  let entry = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  if (typeof entry === "object") {
    const rule = new Intl.PluralRules(lang).select(Number(n ?? 0));
    entry = entry[rule] ?? entry.other;
  }
  return entry;
}

/** The string of `key` in the language shown, `{name}` filled from `vars` (plural by `vars.n`). */
export function t(key, vars = {}) {
  return template(key, vars.n).replace(/\{(\w+)\}/g, (whole, name) => {
    if (!(name in vars)) return whole;
    const value = vars[name];
    return typeof value === "number" ? numberText(value) : String(value);
  });
}

/**
 * The HTML of `key` in the language shown: the template's text escaped, each `{name}` filled
 * from `vars` as a data value marked `translate="no"` (a name, an id, a number), or, for a
 * value given as `{html: "..."}`, that HTML as it is (already escaped by the caller).
 */
export function tHtml(key, vars = {}) {
  return escapeHtml(template(key, vars.n)).replace(/\{(\w+)\}/g, (whole, name) => {
    if (!(name in vars)) return whole;
    const value = vars[name];
    if (value && typeof value === "object" && "html" in value) return value.html;
    const shown = typeof value === "number" ? numberText(value) : String(value ?? "");
    return `<span translate="no">${escapeHtml(shown)}</span>`;
  });
}

function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** `n` with the language's digit grouping and decimal sign (up to `digits` decimals). */
export function numberText(n, digits = 3) {
  return new Intl.NumberFormat(language(), { maximumFractionDigits: digits }).format(n);
}
