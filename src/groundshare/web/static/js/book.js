// My satellite's passes -> a booking (workflow 1).  The caller picks one of the satellites it
// may see (its own and public ones), a start (ISO UTC, the network's clock by default) and a
// number of hours; the page lists every pass of that satellite over every antenna the caller
// may use (GET /satellites/{id}/opportunities: its own antennas and partners' antennas shared
// by a sharing policy), with the pass's geometry, link margin and data volume where the radio
// parameters are known, and the age of the element set it was predicted with.  An operator or
// admin books a pass with its Book button (POST /contacts over the pass, AOS to LOS); a refusal
// is shown in words: a headline by the API's status and the API's own reasons.  A viewer sees
// the passes and a note saying why there is nothing to book.

import { ApiError, bytesText, get, iso, send, utcText } from "./api.js";
import { ageBadge, passAge } from "./age.js";
import { numberText, t } from "./i18n.js";
import { esc, readUtc, showFormError, tableHtml, utcInputHtml } from "./ui.js";

const MAX_HOURS = 72;
const DEFAULT_HOURS = 24;
const REFUSALS = new Set([403, 409, 422, 429]);

// What the user chose last, kept while the dashboard is open (a language switch redraws the page).
const chosen = { satelliteId: null, start: null, hours: DEFAULT_HOURS };

/** May the caller book (operator or admin)? */
export function canWrite(ctx) {
  return ctx.me.role === "operator" || ctx.me.role === "admin";
}

/** The satellites the caller may see, its own first, each by name. */
export function satelliteOptions(ctx, selectedId) {
  const own = ctx.me.org.id;
  const satellites = [...ctx.satellites.values()].sort((a, b) =>
    (a.org_id === own ? 0 : 1) - (b.org_id === own ? 0 : 1) || a.name.localeCompare(b.name));
  return satellites.map((s) => {
    const whose = s.org_id === own ? t("book.satellite.own") : ctx.orgName(s.org_id);
    return `<option value="${s.id}"${s.id === selectedId ? " selected" : ""}>${esc(s.name)} (${esc(s.norad_id)}) — ${
      esc(whose)}</option>`;
  }).join("");
}

/** The satellite picked by default: the caller's first one with an orbit, else any with one, else the first. */
function defaultSatellite(ctx) {
  const all = [...ctx.satellites.values()].sort((a, b) => a.name.localeCompare(b.name));
  const own = all.filter((s) => s.org_id === ctx.me.org.id);
  const withOrbit = (list) => list.find((s) => s.elements_in_force);
  return (withOrbit(own) || withOrbit(all) || all[0])?.id ?? null;
}

export async function render(root, ctx, visit) {
  if (chosen.satelliteId === null || !ctx.satellites.has(chosen.satelliteId)) chosen.satelliteId = defaultSatellite(ctx);
  const start = chosen.start || ctx.clock.now();
  const writer = canWrite(ctx);
  root.innerHTML = `<div class="wf">
    <h1>${esc(t("book.title"))}</h1>
    <p class="muted">${esc(t("book.intro"))}</p>
    ${writer ? "" : `<p class="wf-note" id="passes-viewer-note">${esc(t("book.viewer_note"))}</p>`}
    <form id="passes-form" class="panel wf-form" novalidate>
      <p><label for="passes-satellite">${esc(t("book.satellite"))}</label>
        <select id="passes-satellite" name="satellite">${satelliteOptions(ctx, chosen.satelliteId)}</select></p>
      <p>${utcInputHtml("passes-start", t("book.start"), start)}</p>
      <p><label for="passes-hours">${esc(t("book.hours"))}</label>
        <input id="passes-hours" name="hours" type="number" min="1" max="${MAX_HOURS}" step="1" value="${esc(chosen.hours)}"
          required></p>
      <p class="wf-actions"><button type="submit" class="primary" id="passes-show">${esc(t("book.show"))}</button></p>
      <p role="alert" class="form-error" id="passes-form-error" hidden></p>
    </form>
    <p role="alert" class="form-error" id="passes-refusal" hidden></p>
    <p role="status" class="wf-status" id="passes-status"></p>
    <div id="passes-results" aria-live="polite"></div>
  </div>`;
  const form = visit.el("passes-form");
  form.addEventListener("submit", visit.guard(async (event) => {
    event.preventDefault();
    await showPasses(ctx, visit);
  }));
  if (chosen.satelliteId !== null) await showPasses(ctx, visit);
}

/** Read the form, ask the API for the passes and draw them (or say what is wrong with the form). */
async function showPasses(ctx, visit) {
  const box = visit.el("passes-form-error");
  showFormError(box, null);
  showFormError(visit.el("passes-refusal"), null);
  visit.el("passes-status").textContent = "";
  const satelliteId = Number(visit.el("passes-satellite").value);
  const start = readUtc(visit.el("passes-start").value);
  const hours = Number(visit.el("passes-hours").value);
  if (!satelliteId) {
    showFormError(box, t("book.error.satellite"));
    return;
  }
  if (!start) {
    showFormError(box, t("book.error.start"));
    return;
  }
  if (!Number.isFinite(hours) || hours <= 0 || hours > MAX_HOURS) {
    showFormError(box, t("book.error.hours", { max: MAX_HOURS }));
    return;
  }
  Object.assign(chosen, { satelliteId, start, hours });
  const results = visit.el("passes-results");
  results.innerHTML = `<p class="muted">${esc(t("book.loading"))}</p>`;
  let answer;
  try {
    answer = await get(`/satellites/${satelliteId}/opportunities`, { start: iso(start), hours });
  } catch (error) {
    if (!visit.live) return;
    results.replaceChildren();
    if (!(error instanceof ApiError) || error.status === 401) throw error;
    showFormError(box, t("book.error.load"), error);
    return;
  }
  if (!visit.live) return;
  drawPasses(ctx, visit, satelliteId, start, hours, answer);
}

function marginText(row) {
  if (row.min_margin_db == null || row.max_margin_db == null) return null;
  return `${numberText(row.min_margin_db, 1)} – ${numberText(row.max_margin_db, 1)} dB`;
}

function ownerHtml(ctx, row) {
  if (row.owner_org_id === ctx.me.org.id || row.policy_id == null) return esc(t("book.owner.own"));
  return `<span translate="no">${esc(ctx.orgName(row.owner_org_id))}</span><br><span class="muted">${
    esc(t("book.owner.policy", { id: String(row.policy_id) }))}</span>`;
}

function actionHtml(ctx, row, i) {
  if (row.booked_contact_id != null) return bookedHtml(row.booked_contact_id);
  if (!row.bookable) return `<span class="muted">${esc(t("book.not_bookable"))}</span>`;
  if (!canWrite(ctx)) return "";
  const label = t("book.book_label", { antenna: `${row.station_name} / ${row.antenna_name}`, aos: utcText(new Date(row.aos)) });
  return `<button type="button" class="primary book-button" data-index="${i}" aria-label="${esc(label)}">${
    esc(t("book.book"))}</button>`;
}

function bookedHtml(contactId) {
  return `<span class="wf-booked">${esc(t("book.booked", { id: String(contactId) }))}</span>`;
}

function drawPasses(ctx, visit, satelliteId, start, hours, answer) {
  const rows = answer.data || [];
  const satellite = ctx.satellites.get(satelliteId);
  const unknownLink = rows.some((r) => marginText(r) === null || r.data_volume_bytes == null);
  const dash = `<span title="${esc(t("book.no_link_title"))}">—</span>`;
  const columns = [
    { label: t("book.col.antenna") }, { label: t("book.col.owner") }, { label: t("book.col.aos") },
    { label: t("book.col.los") }, { label: t("book.col.elevation"), num: true }, { label: t("book.col.duration"), num: true },
    { label: t("book.col.margin"), num: true }, { label: t("book.col.volume"), num: true },
    { label: t("book.col.elements") }, { label: t("book.col.action") },
  ];
  const table = tableHtml(
    t("book.caption", { n: rows.length, hours }),
    columns,
    rows.map((row, i) => ({
      attrs: ` class="pass-row${row.booked_contact_id != null ? " booked" : ""}" data-index="${i}"` +
        ` data-antenna-id="${row.antenna_id}" data-aos="${esc(row.aos)}"`,
      cells: [
        `<span translate="no">${esc(row.station_name)} / ${esc(row.antenna_name)}</span>`,
        ownerHtml(ctx, row),
        `<span translate="no" class="when">${esc(utcText(new Date(row.aos)))}</span>`,
        `<span translate="no" class="when">${esc(utcText(new Date(row.los)))}</span>`,
        `${numberText(row.max_elevation_deg, 1)}°`,
        esc(t("book.minutes", { n: Math.round(row.duration_s / 6) / 10 })),
        marginText(row) === null ? dash : esc(marginText(row)),
        row.data_volume_bytes == null ? dash : esc(bytesText(row.data_volume_bytes)),
        ageBadge(passAge(row)),
        actionHtml(ctx, row, i),
      ],
    })),
    'id="passes-table" class="wf-table"',
  );
  const warnings = (answer.warnings || []).map((w) => `<li>${esc(w)}</li>`).join("");
  const results = visit.el("passes-results");
  const heading = `<h2 id="passes-heading">${esc(t("book.results"))} <span translate="no">${
    esc(satellite?.name ?? String(satelliteId))} · ${esc(utcText(start))}</span></h2>`;
  results.innerHTML = heading + (rows.length ? table : `<p class="muted" id="passes-empty">${esc(t("book.empty"))}</p>`);
  results.insertAdjacentHTML("beforeend", `${rows.length && unknownLink
    ? `<p class="muted wf-note-small">— ${esc(t("book.no_link_note"))}</p>` : ""}${warnings
    ? `<div class="wf-warnings"><p>${esc(t("book.warnings"))}</p><ul translate="no">${warnings}</ul></div>` : ""}`);
  for (const button of results.querySelectorAll(".book-button")) {
    button.addEventListener("click", visit.guard(() => book(ctx, visit, satelliteId, rows[Number(button.dataset.index)],
      button)));
  }
}

/** The headline of a refused booking, by the API's status. */
export function refusalHeadline(status) {
  return t(REFUSALS.has(status) ? `book.refused.${status}` : "book.refused.other");
}

/** Book `row` (AOS to LOS, inside the pass to the second) and show the contact, or why it was refused. */
async function book(ctx, visit, satelliteId, row, button) {
  const refusal = visit.el("passes-refusal");
  const status = visit.el("passes-status");
  showFormError(refusal, null);
  status.textContent = "";
  button.disabled = true;
  const startMs = Math.ceil(new Date(row.aos).getTime() / 1000) * 1000;
  const endMs = Math.floor(new Date(row.los).getTime() / 1000) * 1000;
  let contact;
  try {
    contact = await send("POST", "/contacts", {
      antenna_id: row.antenna_id, satellite_id: satelliteId, start: iso(new Date(startMs)), end: iso(new Date(endMs)),
    });
  } catch (error) {
    if (!visit.live) return;
    button.disabled = false;
    if (!(error instanceof ApiError) || error.status === 401) throw error;
    showFormError(refusal, refusalHeadline(error.status), error);
    refusal.scrollIntoView({ block: "nearest" });
    return;
  }
  if (!visit.live) return;
  row.booked_contact_id = contact.id;
  const tr = button.closest("tr");
  tr.classList.add("booked");
  tr.dataset.contactId = String(contact.id);
  button.replaceWith(document.createRange().createContextualFragment(bookedHtml(contact.id)));
  status.innerHTML = `${esc(t("book.success", { id: String(contact.id) }))} <span translate="no">${
    esc(`${row.station_name} / ${row.antenna_name}: ${utcText(new Date(contact.start))} – ${utcText(new Date(contact.end))}`)
  }</span>`;
  status.dataset.contactId = String(contact.id);
}
