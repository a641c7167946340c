// Small DOM helpers shared by the pages: escaping, the error box, tables, legends, and the
// Visit each page renders in.

export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** Show an error (or clear the box with null) in the page's alert area. */
export function showError(error) {
  const box = document.getElementById("error");
  box.replaceChildren();
  box.hidden = !error;
  if (!error) return;
  const message = document.createElement("span");
  message.setAttribute("translate", "no"); // the API's or the browser's own words
  message.textContent = error.message || String(error);
  box.append(message);
}

/** Return the HTML of a table: columns [{label, num?}], rows of already-escaped cells. */
export function tableHtml(caption, columns, rows, attrs = "") {
  const head = columns.map((c) => `<th scope="col"${c.num ? ' class="num"' : ""}>${esc(c.label)}</th>`).join("");
  const body = rows.map((row) => `<tr${row.attrs || ""}>${row.cells.map((cell, i) =>
    `<td${columns[i].num ? ' class="num"' : ""}>${cell}</td>`).join("")}</tr>`).join("");
  return `<div class="table-wrap"><table ${attrs}><caption class="muted">${esc(caption)}</caption>
    <thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

/**
 * Fill a legend list with a colour swatch and a name per organisation.  The colour is set
 * through the DOM (CSSOM), not a style attribute, which the Content-Security-Policy refuses.
 */
export function fillLegend(list, orgIds, ctx) {
  list.replaceChildren(...orgIds.map((id) => {
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.setAttribute("aria-hidden", "true");
    swatch.style.background = ctx.orgColour(id);
    const name = document.createElement("span");
    name.setAttribute("translate", "no"); // an organisation's name: a data value
    name.textContent = ctx.orgName(id);
    const item = document.createElement("li");
    item.append(swatch, name);
    return item;
  }));
}

/**
 * One visit to a page, from its navigation until the next (or sign-out) ends it.
 *
 * Each page renders into its own `root` element, which the shell detaches when the visit
 * ends: a render still waiting on the API then writes into a detached element, never into
 * the page that replaced it.  Renders check `live` after each await and stop when it is
 * false; errors of an ended visit are dropped; `onLeave` registers what to stop (timers,
 * listeners) and runs it at once if the visit has already ended.
 */
export class Visit {
  constructor(root) {
    this.root = root;
    this.controller = new AbortController();
  }

  /** Aborted when the visit ends (for listeners and anything that takes an AbortSignal). */
  get signal() {
    return this.controller.signal;
  }

  get live() {
    return !this.controller.signal.aborted;
  }

  end() {
    this.controller.abort();
  }

  onLeave(fn) {
    if (!this.live) fn();
    else this.signal.addEventListener("abort", () => fn(), { once: true });
  }

  /** The page's element with this id (null once the page is gone: never another page's element). */
  el(id) {
    return this.root.querySelector(`#${CSS.escape(id)}`);
  }

  /** Show `error` in the alert area if this visit is still the page shown; drop it otherwise. */
  report(error) {
    if (this.live) showError(error);
  }

  /** `fn` as an event handler: run it while the visit is live and report its error. */
  guard(fn) {
    return async (...args) => {
      if (!this.live) return;
      try {
        await fn(...args);
      } catch (error) {
        this.report(error);
      }
    };
  }
}

/**
 * The HTML of a time field in ISO 8601 UTC ("2025-11-07T04:12:00Z"): a text input, never the
 * browser's locale date picker (which writes 11/07/2025 and local time).  Read it back with
 * `readUtc`.  `label` is already translated; `value` a Date or null.
 */
export function utcInputHtml(id, label, value = null, { required = true } = {}) {
  const text = value ? value.toISOString().replace(/\.\d{3}Z$/, "Z") : "";
  return `<label for="${esc(id)}">${esc(label)}</label>
    <input id="${esc(id)}" name="${esc(id)}" type="text" class="utc-input" inputmode="numeric" spellcheck="false"
      autocomplete="off" placeholder="YYYY-MM-DDTHH:MM:SSZ" value="${esc(text)}"${required ? " required" : ""}
      pattern="\\d{4}-\\d{2}-\\d{2}[T ]\\d{2}:\\d{2}(:\\d{2})?Z?">`;
}

/** The Date of an ISO 8601 UTC text ("2025-11-07T04:12Z", "2025-11-07 04:12:30"; UTC when no Z), or null. */
export function readUtc(text) {
  const match = /^\s*(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?\s*Z?\s*$/i.exec(String(text ?? ""));
  if (!match) return null;
  const [, y, mo, d, h, mi, s] = match.map(Number);
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s || 0));
  return date.getUTCMonth() === mo - 1 && date.getUTCDate() === d && h < 24 && mi < 60 && (s || 0) < 60 ? date : null;
}

/**
 * Show what the API answered to a form in `box` (an element with role="alert" or "status"):
 * `headline` (translated) and, for an ApiError, the API's own reasons, one a line, marked
 * translate="no" (they are the server's words, quoted as it wrote them).  null clears it.
 */
export function showFormError(box, headline, error = null) {
  if (!box) return;
  if (headline === null) {
    box.replaceChildren();
    box.hidden = true;
    return;
  }
  const title = document.createElement("strong");
  title.textContent = headline;
  const items = (error?.reasons?.length ? error.reasons : error ? [error.message || String(error)] : []);
  const list = document.createElement("ul");
  list.setAttribute("translate", "no");
  for (const reason of items) {
    const li = document.createElement("li");
    li.textContent = reason;
    list.append(li);
  }
  box.replaceChildren(title, ...(items.length ? [list] : []));
  box.hidden = false;
}

/**
 * Hand `blob` to the browser as a download named `name`.  The file is fetched with the
 * bearer token (a plain link would carry none), so it passes through this tab's memory.
 */
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
