// The executive report (GET /reports): the organisation's document for a period, downloaded as
// PDF, HTML or JSON in one of the partners' languages, with its key figures previewed here first.
//
// The period is a month (by default the previous whole month of the network's clock), a
// quarter, or any range of UTC days (the end day not included), written as the API takes it:
// `2025-11`, `2025-Q4`, `2025-11-03..2025-11-17`.  The preview is the JSON form of the same
// report (the summary with its changes against the previous period, and the hours given and
// received per partner), so what is shown is what the document says.  The download goes
// through fetch with the signed-in token (a plain link would carry none) and is saved under the
// name the API gives (Content-Disposition).  The API checks the period (a range of at most 366
// days, its end after its start) and its refusal is shown with the field it names.

import { ApiError, bytesText, get, getFile } from "./api.js";
import { LANGUAGES, language, numberText, t, tHtml } from "./i18n.js";
import { esc, saveBlob, showFormError, tableHtml } from "./ui.js";

const KINDS = ["month", "quarter", "range"];
const FORMATS = ["pdf", "html", "json"];
/** The summary's figures (the spec's fixed list), each with how its values are written. */
const FIGURES = {
  contacts_executed: "count", contacts_failed: "count", served_share: "share", hours_received: "hours",
  hours_given: "hours", balance_hours: "hours", bytes_delivered: "bytes", frames_delivered: "count",
};
const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

// What the user chose last, kept while the dashboard is open (a language switch redraws the page).
const chosen = { kind: "month", month: null, year: null, quarter: null, from: null, to: null, format: "pdf", lang: null };

const pad = (n) => String(n).padStart(2, "0");
const monthText = (date) => `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}`;
const dayText = (date) => date.toISOString().slice(0, 10);

/** The defaults from the network's clock: the previous whole month and quarter, and that month as a range. */
function defaults(now) {
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth();
  const previous = new Date(Date.UTC(year, month - 1, 1));
  const quarter = Math.floor(month / 3); // this quarter, 0..3
  return {
    month: monthText(previous),
    year: quarter === 0 ? year - 1 : year,
    quarter: quarter === 0 ? 4 : quarter,
    from: dayText(previous),
    to: dayText(new Date(Date.UTC(year, month, 1))),
  };
}

/** The period the form names, as the API takes it, or {field, error} naming what to fix. */
function readPeriod(visit) {
  const kind = visit.root.querySelector('input[name="report-kind"]:checked')?.value || "month";
  if (kind === "month") {
    const month = visit.el("report-month").value.trim();
    return MONTH.test(month) ? { period: month } : { field: "report-month", error: t("reports.error.month") };
  }
  if (kind === "quarter") {
    const year = visit.el("report-year").value.trim();
    if (!/^\d{4}$/.test(year)) return { field: "report-year", error: t("reports.error.year") };
    return { period: `${year}-Q${visit.el("report-quarter").value}` };
  }
  const from = visit.el("report-from").value.trim();
  const to = visit.el("report-to").value.trim();
  if (!DAY.test(from)) return { field: "report-from", error: t("reports.error.day", { field: t("reports.from") }) };
  if (!DAY.test(to)) return { field: "report-to", error: t("reports.error.day", { field: t("reports.to") }) };
  return { period: `${from}..${to}` };
}

/** Keep what the form holds, for the next drawing of the page. */
function remember(visit) {
  chosen.kind = visit.root.querySelector('input[name="report-kind"]:checked')?.value || "month";
  chosen.month = visit.el("report-month").value;
  chosen.year = visit.el("report-year").value;
  chosen.quarter = Number(visit.el("report-quarter").value);
  chosen.from = visit.el("report-from").value;
  chosen.to = visit.el("report-to").value;
  chosen.format = visit.el("report-format").value;
  chosen.lang = visit.el("report-lang").value;
}

function showKind(visit) {
  const kind = visit.root.querySelector('input[name="report-kind"]:checked')?.value || "month";
  for (const name of KINDS) visit.el(`report-${name}-fields`).hidden = name !== kind;
}

function formHtml(values) {
  const kinds = KINDS.map((kind) => `<label class="report-kind"><input type="radio" name="report-kind" value="${kind}"${
    kind === values.kind ? " checked" : ""}> ${esc(t(`reports.kind.${kind}`))}</label>`).join("");
  const quarters = [1, 2, 3, 4].map((q) => `<option value="${q}"${q === values.quarter ? " selected" : ""}>${
    esc(t("reports.quarter_n", { n: q }))}</option>`).join("");
  const formats = FORMATS.map((f) => `<option value="${f}"${f === values.format ? " selected" : ""}>${
    esc(t(`reports.format.${f}`))}</option>`).join("");
  const langs = Object.entries(LANGUAGES).map(([code, name]) => `<option value="${code}"${
    code === values.lang ? " selected" : ""}>${esc(name)}</option>`).join("");
  return `<form id="report-form" class="panel wf-form report-form" novalidate>
      <fieldset class="report-kinds"><legend>${esc(t("reports.period"))}</legend>${kinds}</fieldset>
      <p id="report-month-fields"><label for="report-month">${esc(t("reports.month"))}</label>
        <input id="report-month" name="month" type="month" value="${esc(values.month)}" required
          pattern="\\d{4}-\\d{2}" placeholder="YYYY-MM"></p>
      <p id="report-quarter-fields" class="report-pair"><span><label for="report-year">${esc(t("reports.year"))}</label>
        <input id="report-year" name="year" type="number" min="2000" max="2100" step="1" value="${esc(values.year)}"
          inputmode="numeric" required></span>
        <span><label for="report-quarter">${esc(t("reports.quarter"))}</label>
        <select id="report-quarter" name="quarter">${quarters}</select></span></p>
      <p id="report-range-fields" class="report-pair"><span><label for="report-from">${esc(t("reports.from"))}</label>
        <input id="report-from" name="from" type="text" class="utc-input report-day" value="${esc(values.from)}"
          placeholder="YYYY-MM-DD" inputmode="numeric" spellcheck="false" autocomplete="off" required></span>
        <span><label for="report-to">${esc(t("reports.to"))}</label>
        <input id="report-to" name="to" type="text" class="utc-input report-day" value="${esc(values.to)}"
          placeholder="YYYY-MM-DD" inputmode="numeric" spellcheck="false" autocomplete="off" required></span></p>
      <p><label for="report-format">${esc(t("reports.format"))}</label>
        <select id="report-format" name="format">${formats}</select></p>
      <p><label for="report-lang">${esc(t("reports.lang"))}</label>
        <select id="report-lang" name="lang">${langs}</select></p>
      <p class="wf-actions"><button type="submit">${esc(t("reports.show"))}</button>
        <button type="button" class="primary" id="report-download">${esc(t("reports.download"))}</button></p>
      <div role="alert" class="form-error" id="report-error" hidden></div>
      <p role="status" class="wf-status" id="report-status"></p>
    </form>`;
}

export async function render(root, ctx, visit) {
  const start = defaults(ctx.clock.now());
  const values = {
    kind: chosen.kind, format: chosen.format, lang: chosen.lang || language(),
    month: chosen.month || start.month, year: chosen.year || start.year, quarter: chosen.quarter || start.quarter,
    from: chosen.from || start.from, to: chosen.to || start.to,
  };
  root.innerHTML = `<div class="wf reports">
    <h1>${esc(t("reports.title"))}</h1>
    <p class="muted">${esc(t("reports.intro"))}</p>
    ${formHtml(values)}
    <section class="panel" aria-labelledby="report-preview-title">
      <h2 id="report-preview-title">${esc(t("reports.preview_title"))}</h2>
      <p id="report-period" class="report-period"></p>
      <div id="report-summary"></div>
    </section>
    <section class="panel" aria-labelledby="report-reciprocity-title">
      <h2 id="report-reciprocity-title">${esc(t("reports.reciprocity_title"))}</h2>
      <p class="muted">${esc(t("reports.reciprocity_note"))}</p>
      <div id="report-reciprocity"></div>
    </section>
  </div>`;
  showKind(visit);
  const box = visit.el("report-error");
  const status = visit.el("report-status");

  let latest = 0; // a period asked for later wins over an earlier answer still on its way
  let shown = null; // the period the preview shows

  /** The period of the form, or null after showing what to fix. */
  function period() {
    showFormError(box, null);
    const read = readPeriod(visit);
    if (read.error) {
      showFormError(box, read.error);
      visit.el(read.field)?.focus();
      return null;
    }
    return read.period;
  }

  /** The refusal of the API (422 naming `period`, `format` or `lang`) with its reasons; anything else as an error. */
  function refused(error) {
    if (!(error instanceof ApiError) || ![400, 403, 404, 422].includes(error.status)) throw error;
    showFormError(box, t(error.status === 422 ? "reports.error.refused" : "reports.error.failed"), error);
  }

  async function preview(wanted) {
    const ask = ++latest;
    status.textContent = t("reports.loading");
    let report;
    try {
      report = await get("/reports", { period: wanted, format: "json", lang: visit.el("report-lang").value });
    } catch (error) {
      if (!visit.live || ask !== latest) return;
      status.textContent = "";
      clearPreview(visit); // never another period's figures beside the form
      shown = null;
      refused(error);
      return;
    }
    if (!visit.live || ask !== latest) return;
    status.textContent = "";
    shown = wanted;
    drawPreview(ctx, visit, report);
  }

  async function download() {
    const wanted = period();
    if (!wanted) return;
    const format = visit.el("report-format").value;
    const lang = visit.el("report-lang").value;
    const button = visit.el("report-download");
    button.disabled = true;
    status.textContent = t("reports.downloading");
    try {
      const file = await getFile("/reports", { period: wanted, format, lang });
      if (!visit.live) return;
      const name = file.name || `groundshare-report-${wanted}.${format}`;
      saveBlob(file.blob, name);
      status.innerHTML = tHtml("reports.downloaded", { name, size: bytesText(file.blob.size) });
    } catch (error) {
      if (!visit.live) return;
      status.textContent = "";
      refused(error);
      return;
    } finally {
      button.disabled = false;
    }
    if (shown !== wanted) await preview(wanted); // so the figures beside the button are the file's
  }

  for (const radio of root.querySelectorAll('input[name="report-kind"]')) {
    radio.addEventListener("change", () => {
      showKind(visit);
      remember(visit);
    });
  }
  visit.el("report-form").addEventListener("change", () => remember(visit));
  visit.el("report-form").addEventListener("submit", (event) => {
    event.preventDefault();
    visit.guard(async () => {
      const wanted = period();
      if (wanted) await preview(wanted);
    })();
  });
  visit.el("report-download").addEventListener("click", visit.guard(download));
  const first = readPeriod(visit);
  if (first.period) await preview(first.period);
  else showFormError(box, first.error);
}

/** The text of a figure's value: counts and hours as numbers, a share as a percentage, bytes in units. */
function valueText(kind, value) {
  if (value === null || value === undefined) return "—";
  if (kind === "share") return t("reports.percent", { value: numberText(value * 100, 1) });
  if (kind === "bytes") return bytesText(value);
  return numberText(value, 3);
}

function signed(text, value) {
  return value > 0 ? `+${text}` : text; // a negative number carries its own sign
}

/** The change against the previous period: its amount (points for a share) and, where there is one, its percentage. */
function changeText(kind, figure) {
  const { change, change_pct: pct } = figure;
  if (change === null || change === undefined) return "—";
  const amount = kind === "share" ? t("reports.points", { value: signed(numberText(change * 100, 1), change) })
    : kind === "bytes" ? (change < 0 ? `−${bytesText(-change)}` : signed(bytesText(change), change))
      : signed(numberText(change, 3), change);
  if (pct === null || pct === undefined || kind === "share") return amount;
  return `${amount} (${t("reports.percent", { value: signed(numberText(pct, 1), pct) })})`;
}

function clearPreview(visit) {
  for (const id of ["report-period", "report-summary", "report-reciprocity"]) visit.el(id).replaceChildren();
}

function drawPreview(ctx, visit, report) {
  const p = report.period;
  // The days covered, first to last, as the document writes them (the API's ends are exclusive).
  const first = (text) => dayText(new Date(text));
  const last = (text) => dayText(new Date(new Date(text).getTime() - DAY_MS));
  visit.el("report-period").innerHTML = tHtml("reports.period_line", {
    org: report.organisation.name, label: p.label, start: first(p.start), end: last(p.end),
    previous_start: first(p.previous_start), previous_end: last(p.previous_end) });

  const number = (text) => `<span translate="no">${esc(text)}</span>`;
  const rows = report.summary.map((figure) => {
    const kind = FIGURES[figure.key] || "count";
    const name = FIGURES[figure.key] ? t(`reports.figure.${figure.key}`) : figure.key;
    return {
      attrs: ` class="summary-row" data-key="${esc(figure.key)}"`,
      cells: [esc(name), number(valueText(kind, figure.value)), number(valueText(kind, figure.previous)),
        number(changeText(kind, figure))],
    };
  });
  visit.el("report-summary").innerHTML = tableHtml(t("reports.summary_caption", { label: p.label }),
    [{ label: t("reports.col.figure") }, { label: t("reports.col.value"), num: true },
      { label: t("reports.col.previous"), num: true }, { label: t("reports.col.change"), num: true }],
    rows, 'id="report-summary-table" class="report-summary"');

  const r = report.reciprocity;
  const hours = (h) => number(numberText(h, 3));
  const partners = r.partners.map((partner) => ({
    attrs: ` class="partner-row" data-org-id="${esc(partner.org_id)}"`,
    cells: [number(partner.name), hours(partner.given_hours), hours(partner.received_hours),
      hours(partner.balance_hours), hours(partner.cumulative_given_hours), hours(partner.cumulative_received_hours),
      hours(partner.cumulative_balance_hours)],
  }));
  const holder = visit.el("report-reciprocity");
  if (!partners.length) {
    holder.innerHTML = `<p class="muted" id="report-no-partners">${esc(t("reports.no_partners"))}</p>`;
    return;
  }
  partners.push({
    attrs: ' class="partner-total"',
    cells: [esc(t("reports.total")), hours(r.given_hours), hours(r.received_hours), hours(r.balance_hours), "", "", ""],
  });
  holder.innerHTML = tableHtml(t("reports.reciprocity_caption", { label: p.label }),
    [{ label: t("reports.col.partner") }, { label: t("reports.col.given"), num: true },
      { label: t("reports.col.received"), num: true }, { label: t("reports.col.balance"), num: true },
      { label: t("reports.col.cumulative_given"), num: true }, { label: t("reports.col.cumulative_received"), num: true },
      { label: t("reports.col.cumulative_balance"), num: true }],
    partners, 'id="report-reciprocity-table" class="report-reciprocity"');
}
