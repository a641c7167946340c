// Small DOM helpers shared by the pages: escaping, the error box, tables.

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

/** Run an async action from a control; show its error instead of losing it. */
export function guarded(fn) {
  return async (...args) => {
    try {
      await fn(...args);
    } catch (error) {
      showError(error);
    }
  };
}
