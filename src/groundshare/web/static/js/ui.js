// Small DOM helpers shared by the pages: escaping, the error box, tables, legends, and the
// Visit each page renders in.

export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** Show an error (or clear the box with null) in the page's alert area. */
export function showError(error) {
  const box = document.getElementById("error");
  box.textContent = error ? error.message || String(error) : "";
  box.hidden = !error;
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
    const item = document.createElement("li");
    item.append(swatch, ctx.orgName(id));
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
