// Launch and early orbit (LEOP): first contact with a newly deployed satellite, and which launch
// object is ours.  `#/leop` lists the caller's campaigns and (operator or admin) starts one: the
// satellite (its own), the deployment (a TLE/OMM element set or a CCSDS OPM/OEM state vector,
// pasted or read from a file in the browser), the deployment time and its uncertainty, the
// separation velocity uncertainty, the hours to plan and the stations wanted per orbit
// (POST /leop/campaigns).  `#/leop/{id}` shows one campaign:
//
// - its windows (GET /leop/campaigns/{id}/windows): per station, the nominal pass inside the
//   window the timing uncertainty makes (earliest AOS to latest LOS), as tables and a chart;
//   the plan's notes (e.g. the uncertainty capped at half an orbit);
// - Book redundant contacts (POST .../book): k stations per orbit where possible; what it
//   booked per revolution, the orbits covered, the contacts it bumped, objective and bound;
// - End campaign (POST .../end, after an inline confirm): its future contacts are cancelled;
// - identification (POST .../identify): candidates pasted or a launch designator, Doppler files
//   (STRF or CSV, read in the browser) and STRF site ids mapped to stations; the ranking with
//   the receptions each candidate explains and its Doppler fit, the verdict and its confidence;
// - fit (POST .../fit): the chosen object's along-track elements fitted to the same evidence,
//   residuals before and after, stored as an element set of source "fit".
//
// A viewer sees the campaigns, windows, the last booking and identification, and no control.

import { ApiError, get, getAll, iso, send, utcText } from "./api.js";
import { canWrite } from "./book.js";
import { numberText, t, tHtml } from "./i18n.js";
import { esc, readUtc, showFormError, tableHtml, utcInputHtml } from "./ui.js";

const d3 = window.d3;

const DEFAULTS = { uncertaintyS: 600, dvMS: 0.5, hours: 24, k: 2 };
const MAX_FILE_BYTES = 2_000_000; // a deployment or Doppler file larger than this is not one
const CHART = { labelW: 150, phoneLabelW: 100, rowH: 26, axisH: 26, pxPerHour: 48, rightPad: 28 };
const HOUR_MS = 3_600_000;
const CONFIDENCES = ["clear", "ambiguous", "none"];
const DEPLOYMENT_KINDS = ["elements", "opm", "oem"];

const data = (text) => `<span translate="no">${esc(text)}</span>`;
const when = (text) => (text ? `<span translate="no" class="when">${esc(utcText(new Date(text)))}</span>` : "—");
const num = (v, digits = 1) => (v === null || v === undefined || !Number.isFinite(Number(v)) ? "—"
  : numberText(Number(v), digits));

function satelliteName(ctx, id) {
  return ctx.satellites.get(Number(id))?.name ?? `#${id}`;
}

function statusText(status) {
  return status === "active" || status === "ended" ? t(`leop.status.${status}`) : status;
}

export async function render(root, ctx, visit, campaignId = null) {
  if (campaignId !== null) return renderCampaign(root, ctx, visit, campaignId);
  const writer = canWrite(ctx);
  const own = [...ctx.satellites.values()].filter((s) => s.org_id === ctx.me.org.id)
    .sort((a, b) => a.name.localeCompare(b.name));
  root.innerHTML = `<div class="wf leop">
    <h1>${esc(t("leop.title"))}</h1>
    <p class="muted">${esc(t("leop.intro"))}</p>
    ${!writer ? `<p class="wf-note" id="leop-viewer-note">${esc(t("leop.viewer_note"))}</p>`
    : own.length ? formHtml(own) : `<p class="wf-note" id="leop-no-satellite">${esc(t("leop.no_satellite"))}</p>`}
    <h2 id="leop-list-title">${esc(t("leop.list_title"))}</h2>
    <div id="leop-campaigns"><p class="muted">${esc(t("leop.loading"))}</p></div>
  </div>`;
  const form = visit.el("leop-form");
  if (form) {
    form.addEventListener("submit", visit.guard(async (event) => {
      event.preventDefault();
      await createCampaign(ctx, visit);
    }));
    visit.el("leop-deployment-file").addEventListener("change", visit.guard(async (event) => {
      const file = event.target.files?.[0];
      if (!file) return;
      const box = visit.el("leop-form-error");
      if (file.size > MAX_FILE_BYTES) {
        showFormError(box, t("leop.error.file_size", { name: file.name }));
        return;
      }
      const text = await file.text();
      if (!visit.live) return;
      showFormError(box, null);
      visit.el("leop-deployment").value = text;
    }));
  }
  await drawList(ctx, visit);
}

// ---------------------------------------------------------------------------------------------
// The new campaign form and the list
// ---------------------------------------------------------------------------------------------

function formHtml(own) {
  const options = own.map((s) => `<option value="${s.id}">${esc(s.name)} (${esc(s.norad_id)})</option>`).join("");
  return `<form id="leop-form" class="panel wf-form leop-form" novalidate>
    <h2>${esc(t("leop.create_title"))}</h2>
    <p><label for="leop-satellite">${esc(t("leop.satellite"))}</label>
      <select id="leop-satellite" name="satellite_id">${options}</select></p>
    <p><label for="leop-name">${esc(t("leop.name"))}</label>
      <input id="leop-name" name="name" type="text" maxlength="200" autocomplete="off"
        aria-describedby="leop-name-hint">
      <span class="muted wf-hint" id="leop-name-hint">${esc(t("leop.name_hint"))}</span></p>
    <p class="leop-wide"><label for="leop-deployment">${esc(t("leop.deployment"))}</label>
      <textarea id="leop-deployment" name="deployment_text" rows="6" spellcheck="false" autocomplete="off"
        aria-describedby="leop-deployment-hint" required></textarea>
      <span class="muted wf-hint" id="leop-deployment-hint">${tHtml("leop.deployment_hint", {
    formats: "TLE / OMM · CCSDS OPM / OEM" })}</span></p>
    <p><label for="leop-deployment-file">${esc(t("leop.deployment_file"))}</label>
      <input id="leop-deployment-file" type="file" accept=".tle,.txt,.json,.xml,.kvn,.opm,.oem,text/plain"></p>
    <p>${utcInputHtml("leop-deploy-time", t("leop.deploy_time"), null, { required: false })}
      <span class="muted wf-hint">${esc(t("leop.deploy_time_hint"))}</span></p>
    <p><label for="leop-uncertainty">${esc(t("leop.uncertainty"))}</label>
      <input id="leop-uncertainty" name="deploy_uncertainty_s" type="number" min="0" step="any"
        value="${DEFAULTS.uncertaintyS}"></p>
    <p><label for="leop-dv">${tHtml("leop.separation_dv", { unit: "m/s" })}</label>
      <input id="leop-dv" name="separation_dv_m_s" type="number" min="0" max="1000" step="any" value="${DEFAULTS.dvMS}"></p>
    <p><label for="leop-hours">${esc(t("leop.hours"))}</label>
      <input id="leop-hours" name="hours" type="number" min="1" max="240" step="any" value="${DEFAULTS.hours}"></p>
    <p><label for="leop-k">${esc(t("leop.stations_per_orbit"))}</label>
      <input id="leop-k" name="stations_per_orbit" type="number" min="1" max="20" step="1" value="${DEFAULTS.k}"></p>
    <p class="wf-actions"><button type="submit" class="primary" id="leop-create">${esc(t("leop.create"))}</button></p>
    <p role="alert" class="form-error" id="leop-form-error" hidden></p>
    <p role="status" class="wf-status" id="leop-form-status"></p>
  </form>`;
}

/** The number typed in `id` (null when empty); NaN when it is not a number. */
function numberField(visit, id) {
  const text = visit.el(id).value.trim();
  return text === "" ? null : Number(text);
}

async function createCampaign(ctx, visit) {
  const box = visit.el("leop-form-error");
  const status = visit.el("leop-form-status");
  showFormError(box, null);
  status.textContent = "";
  const satelliteId = Number(visit.el("leop-satellite").value);
  const deployment = visit.el("leop-deployment").value;
  if (!deployment.trim()) {
    showFormError(box, t("leop.error.deployment"));
    return;
  }
  const timeText = visit.el("leop-deploy-time").value.trim();
  const deployTime = timeText ? readUtc(timeText) : null;
  if (timeText && !deployTime) {
    showFormError(box, t("leop.error.deploy_time"));
    return;
  }
  // Ranges are the API's to check (its 422 names the field); here only that a number was typed.
  const fields = [["leop-uncertainty", "deploy_uncertainty_s", "leop.uncertainty"],
    ["leop-dv", "separation_dv_m_s", "leop.separation_dv"], ["leop-hours", "hours", "leop.hours"],
    ["leop-k", "stations_per_orbit", "leop.stations_per_orbit"]];
  const body = {
    satellite_id: satelliteId,
    name: visit.el("leop-name").value.trim() || t("leop.default_name", { satellite: satelliteName(ctx, satelliteId) }),
    deployment_text: deployment,
    deploy_time: deployTime ? iso(deployTime) : null,
  };
  for (const [id, key, label] of fields) {
    const value = numberField(visit, id);
    if (value === null) continue; // left out: the API's default
    if (!Number.isFinite(value)) {
      showFormError(box, t("leop.error.number", { field: t(label, { unit: "m/s" }) }));
      return;
    }
    body[key] = value;
  }
  visit.el("leop-create").disabled = true;
  status.textContent = t("leop.creating");
  let created;
  try {
    created = await send("POST", "/leop/campaigns", body);
  } catch (error) {
    if (!visit.live) return;
    visit.el("leop-create").disabled = false;
    status.textContent = "";
    if (!(error instanceof ApiError) || error.status === 401) throw error;
    showFormError(box, t("leop.error.create"), error);
    return;
  }
  if (!visit.live) return;
  location.hash = `#/leop/${created.id}`; // the campaign's own page (the hashchange routes)
}

async function drawList(ctx, visit) {
  const rows = await getAll("/leop/campaigns");
  if (!visit.live) return;
  rows.sort((a, b) => b.id - a.id);
  const holder = visit.el("leop-campaigns");
  if (!rows.length) {
    holder.innerHTML = `<p class="muted" id="leop-campaigns-empty">${esc(t("leop.empty"))}</p>`;
    return;
  }
  holder.innerHTML = tableHtml(t("leop.caption", { n: rows.length }), [
    { label: t("leop.col.id"), num: true }, { label: t("leop.col.name") }, { label: t("leop.col.satellite") },
    { label: t("leop.col.deploy_time") }, { label: t("leop.col.status") }, { label: t("leop.col.contacts"), num: true },
    { label: t("leop.col.open") }],
  rows.map((c) => ({
    attrs: ` class="leop-campaign-row" data-campaign-id="${c.id}" data-status="${esc(c.status)}"`,
    cells: [String(c.id), data(c.name), data(c.satellite_name ?? satelliteName(ctx, c.satellite_id)), when(c.deploy_time),
      `<span class="state leop-status-${esc(c.status)}">${esc(statusText(c.status))}</span>`,
      String((c.contact_ids || []).length),
      `<a href="#/leop/${c.id}" class="button-link" aria-label="${esc(t("leop.open_label", { name: c.name }))}">${
        esc(t("leop.open"))}</a>`],
  })), 'id="leop-campaigns-table" class="wf-table"');
}

// ---------------------------------------------------------------------------------------------
// One campaign
// ---------------------------------------------------------------------------------------------

async function renderCampaign(root, ctx, visit, campaignId) {
  root.innerHTML = `<div class="wf leop">
    <p><a href="#/leop" id="leop-back">${esc(t("leop.back"))}</a></p>
    <div id="leop-campaign-holder"><p class="muted">${esc(t("leop.loading"))}</p></div>
  </div>`;
  let campaign;
  try {
    campaign = await get(`/leop/campaigns/${campaignId}`);
  } catch (error) {
    if (!visit.live) return;
    if (!(error instanceof ApiError) || error.status === 401) throw error;
    visit.el("leop-campaign-holder").innerHTML = `<p role="alert" class="form-error" id="leop-campaign-error"></p>`;
    showFormError(visit.el("leop-campaign-error"), t("leop.error.load", { id: String(campaignId) }), error);
    return;
  }
  if (!visit.live) return;
  const writer = canWrite(ctx);
  const active = campaign.status === "active";
  visit.el("leop-campaign-holder").innerHTML = `
    <section class="panel" id="leop-campaign" aria-labelledby="leop-campaign-title"></section>
    <section class="panel" id="leop-windows-panel" aria-labelledby="leop-windows-title">
      <h2 id="leop-windows-title">${esc(t("leop.windows.title"))}</h2>
      <div id="leop-windows"><p class="muted">${esc(t("leop.windows.loading"))}</p></div>
    </section>
    <section class="panel" id="leop-identify-panel" aria-labelledby="leop-identify-title">
      <h2 id="leop-identify-title">${esc(t("leop.identify.title"))}</h2>
      <p class="muted">${esc(t("leop.identify.intro"))}</p>
      ${writer && active ? identifyFormHtml() : ""}
      <div id="leop-identification" aria-live="polite"></div>
    </section>
    <section class="panel" id="leop-fit-panel" aria-labelledby="leop-fit-title">
      <h2 id="leop-fit-title">${esc(t("leop.fit.title"))}</h2>
      <p class="muted">${esc(t("leop.fit.intro"))}</p>
      ${writer && active ? `<form id="leop-fit-form" class="wf-form" novalidate></form>` : ""}
      <div id="leop-fit-result" aria-live="polite"></div>
    </section>`;
  drawCampaign(ctx, visit, campaign);
  drawIdentification(visit, campaign.identification);
  if (writer && active) {
    drawFitForm(ctx, visit, campaign, campaign.identification);
    visit.el("leop-identify-form").addEventListener("submit", visit.guard(async (event) => {
      event.preventDefault();
      await identify(ctx, visit, campaign);
    }));
    visit.el("leop-fit-form").addEventListener("submit", visit.guard(async (event) => {
      event.preventDefault();
      await fit(visit, campaign);
    }));
  }
  await drawWindows(visit, campaign);
}

function factsHtml(ctx, c) {
  const kind = DEPLOYMENT_KINDS.includes(c.deployment_kind) ? t(`leop.kind.${c.deployment_kind}`) : c.deployment_kind;
  return `<dl class="facts" id="leop-facts">
    <dt>${esc(t("leop.satellite"))}</dt><dd>${data(c.satellite_name ?? satelliteName(ctx, c.satellite_id))}</dd>
    <dt>${esc(t("leop.col.status"))}</dt><dd><span class="state leop-status-${esc(c.status)}" id="leop-status">${
  esc(statusText(c.status))}</span></dd>
    <dt>${esc(t("leop.facts.deployment"))}</dt><dd>${esc(kind)}</dd>
    <dt>${esc(t("leop.deploy_time"))}</dt><dd>${when(c.deploy_time)} ${data(`± ${num(c.deploy_uncertainty_s, 0)} s`)}</dd>
    <dt>${tHtml("leop.separation_dv", { unit: "m/s" })}</dt><dd class="num">${num(c.separation_dv_m_s, 3)}</dd>
    <dt>${esc(t("leop.hours"))}</dt><dd class="num">${num(c.hours, 1)}</dd>
    <dt>${esc(t("leop.stations_per_orbit"))}</dt><dd class="num">${esc(String(c.stations_per_orbit))}</dd>
    <dt>${esc(t("leop.facts.created"))}</dt><dd>${when(c.created_at)}</dd>
    <dt>${esc(t("leop.facts.booked_at"))}</dt><dd>${c.booked_at ? when(c.booked_at) : esc(t("leop.facts.not_booked"))}</dd>
    <dt>${esc(t("leop.col.contacts"))}</dt><dd class="num" id="leop-contact-count">${(c.contact_ids || []).length}</dd>
  </dl>`;
}

function drawCampaign(ctx, visit, campaign) {
  const section = visit.el("leop-campaign");
  section.dataset.campaignId = String(campaign.id);
  section.dataset.status = campaign.status;
  const writer = canWrite(ctx) && campaign.status === "active";
  section.innerHTML = `<h1 id="leop-campaign-title">${esc(t("leop.campaign_title"))} ${data(campaign.name)}</h1>
    ${factsHtml(ctx, campaign)}
    ${writer ? `<p class="wf-actions leop-actions" id="leop-actions">
      <button type="button" class="primary" id="leop-book">${esc(t("leop.book"))}</button>
      <button type="button" class="danger" id="leop-end">${esc(t("leop.end"))}</button></p>` : ""}
    ${campaign.status === "ended" ? `<p class="wf-note" id="leop-ended-note">${esc(t("leop.ended_note"))}</p>` : ""}
    <p role="alert" class="form-error" id="leop-action-error" hidden></p>
    <p role="status" class="wf-status" id="leop-action-status"></p>
    <div id="leop-booking">${campaign.last_booking ? bookingHtml(ctx, campaign.last_booking) : ""}</div>`;
  if (!writer) return;
  visit.el("leop-book").addEventListener("click", visit.guard((event) => book(ctx, visit, campaign, event.currentTarget)));
  visit.el("leop-end").addEventListener("click", () => askEnd(ctx, visit, campaign));
}

async function book(ctx, visit, campaign, button) {
  const box = visit.el("leop-action-error");
  const status = visit.el("leop-action-status");
  showFormError(box, null);
  status.textContent = t("leop.booking");
  button.disabled = true;
  let answer;
  try {
    answer = await send("POST", `/leop/campaigns/${campaign.id}/book`, { dry_run: false });
  } catch (error) {
    if (!visit.live) return;
    button.disabled = false;
    status.textContent = "";
    if (!(error instanceof ApiError) || error.status === 401) throw error;
    showFormError(box, t("leop.error.book"), error);
    return;
  }
  if (!visit.live) return;
  button.disabled = false;
  const ids = answer.booked_contact_ids || [];
  status.textContent = t("leop.booked", { n: ids.length });
  status.dataset.booked = ids.join(",");
  visit.el("leop-booking").innerHTML = bookingHtml(ctx, answer);
  const fresh = await get(`/leop/campaigns/${campaign.id}`); // the campaign's contacts, over every booking
  if (!visit.live) return;
  Object.assign(campaign, fresh);
  visit.el("leop-facts").outerHTML = factsHtml(ctx, campaign);
}

function bookingHtml(ctx, b) {
  const revolutions = b.revolutions || [];
  const bumped = b.bumped_count ?? (b.bumped || []).length;
  const revRows = revolutions.map((r) => ({
    attrs: ` class="leop-rev-row" data-rev="${r.rev}" data-booked="${(r.booked || []).length}"`,
    cells: [String(r.rev), when(r.start), String(r.windows), String((r.booked || []).length),
      (r.booked || []).length ? `<ul class="leop-booked-list">${r.booked.map((c) => `<li>${data(
        `${c.station}: ${utcText(new Date(c.start))} – ${utcText(new Date(c.end)).slice(11)}`)}${
        c.contact_id != null ? ` <span class="muted">${esc(t("leop.booking.contact", { id: String(c.contact_id) }))}</span>`
          : ""}</li>`).join("")}</ul>` : `<span class="muted">${esc(t("leop.booking.none_rev"))}</span>`],
  }));
  const windowText = (w) => (w && typeof w === "object"
    ? [w.station, w.earliest_aos && utcText(new Date(w.earliest_aos))].filter(Boolean).join(" · ") : String(w ?? "—"));
  const refused = (b.refused || []).map((r) => `<li>${data(windowText(r.window))} — <q translate="no">${
    esc(r.reason)}</q></li>`).join("");
  const bumpedList = (b.bumped || []).map((c) => `<li>${data(`${t("leop.booking.contact", { id: String(c.contact_id) })
  } · ${utcText(new Date(c.start))}`)} ${data(ctx.orgName(c.org_id))}</li>`).join("");
  return `<div id="leop-booking-result" data-dry-run="${Boolean(b.dry_run)}">
    <h2>${esc(t(b.dry_run ? "leop.booking.title_dry" : "leop.booking.title"))}</h2>
    <dl class="facts leop-booking-facts">
      <dt>${esc(t("leop.booking.orbits"))}</dt><dd class="num" id="leop-orbits">${esc(String(b.orbits ?? "—"))}</dd>
      <dt>${esc(t("leop.booking.covered"))}</dt><dd class="num" id="leop-orbits-covered">${esc(String(b.orbits_covered ?? "—"))}</dd>
      <dt>${esc(t("leop.booking.at_k", { k: b.stations_per_orbit ?? "k" }))}</dt>
        <dd class="num" id="leop-orbits-at-k">${esc(String(b.orbits_at_k ?? "—"))}</dd>
      <dt>${esc(t("leop.booking.contacts"))}</dt><dd class="num" id="leop-booked-count">${(b.booked_contact_ids || []).length}</dd>
      <dt>${esc(t("leop.booking.bumped"))}</dt><dd class="num" id="leop-bumped-count">${esc(String(bumped))}</dd>
      <dt>${esc(t("leop.booking.objective"))}</dt><dd class="num" id="leop-objective">${num(b.objective, 3)} / ${num(b.bound, 3)}</dd>
      <dt>${esc(t("leop.booking.solver"))}</dt><dd>${data(b.solver_status ?? "—")}</dd>
    </dl>
    ${bumpedList ? `<h3>${esc(t("leop.booking.bumped_title"))}</h3><ul id="leop-bumped">${bumpedList}</ul>` : ""}
    ${revolutions.length ? tableHtml(t("leop.booking.caption", { n: revolutions.length }), [
    { label: t("leop.booking.col.rev"), num: true }, { label: t("leop.booking.col.start") },
    { label: t("leop.booking.col.windows"), num: true }, { label: t("leop.booking.col.booked"), num: true },
    { label: t("leop.booking.col.contacts") }], revRows, 'id="leop-revolutions" class="wf-table"')
    : `<p class="muted">${esc(t("leop.booking.no_revolutions"))}</p>`}
    ${refused ? `<h3>${esc(t("leop.booking.refused_title"))}</h3><ul id="leop-refused">${refused}</ul>` : ""}
  </div>`;
}

/** Inline confirm of the campaign's end: Confirm ends it (and cancels its future contacts), Keep goes back. */
function askEnd(ctx, visit, campaign) {
  const actions = visit.el("leop-actions");
  const holder = document.createElement("p");
  holder.className = "wf-confirm";
  holder.id = "leop-end-confirm-holder";
  holder.innerHTML = `<span>${esc(t("leop.end_question"))}</span>
    <button type="button" class="danger" id="leop-end-confirm">${esc(t("leop.end_confirm"))}</button>
    <button type="button" id="leop-end-keep">${esc(t("leop.end_keep"))}</button>`;
  actions.replaceWith(holder);
  visit.el("leop-end-keep").addEventListener("click", () => holder.replaceWith(actions));
  visit.el("leop-end-confirm").addEventListener("click", visit.guard(async (event) => {
    event.currentTarget.disabled = true;
    const box = visit.el("leop-action-error");
    showFormError(box, null);
    let ended;
    try {
      ended = await send("POST", `/leop/campaigns/${campaign.id}/end`);
    } catch (error) {
      if (!visit.live) return;
      holder.replaceWith(actions);
      if (!(error instanceof ApiError) || error.status === 401) throw error;
      showFormError(box, t("leop.error.end"), error);
      return;
    }
    if (!visit.live) return;
    Object.assign(campaign, ended);
    drawCampaign(ctx, visit, campaign);
    visit.el("leop-action-status").textContent = t("leop.ended");
    for (const id of ["leop-identify-form", "leop-fit-form"]) visit.el(id)?.remove();
  }));
}

// ---------------------------------------------------------------------------------------------
// Windows
// ---------------------------------------------------------------------------------------------

async function drawWindows(visit, campaign) {
  const holder = visit.el("leop-windows");
  let plan;
  try {
    plan = await get(`/leop/campaigns/${campaign.id}/windows`);
  } catch (error) {
    if (!visit.live) return;
    if (!(error instanceof ApiError) || error.status === 401) throw error;
    holder.innerHTML = `<p role="alert" class="form-error" id="leop-windows-error"></p>`;
    showFormError(visit.el("leop-windows-error"), t("leop.windows.error"), error);
    return;
  }
  if (!visit.live) return;
  const windows = plan.windows || [];
  const notes = (plan.notes || []).map((n) => `<li>${esc(n)}</li>`).join("");
  const stations = [...new Set(windows.map((w) => w.station))].sort((a, b) => a.localeCompare(b));
  holder.innerHTML = `<dl class="facts" id="leop-plan-facts" data-windows="${windows.length}" data-capped="${
    Boolean(plan.capped)}">
      <dt>${esc(t("leop.windows.span"))}</dt><dd>${when(plan.start)} – ${when(plan.end)}</dd>
      <dt>${esc(t("leop.windows.final_uncertainty"))}</dt><dd class="num">± ${num(plan.final_uncertainty_s, 0)} s</dd>
      <dt>${esc(t("leop.windows.growth"))}</dt><dd class="num">${num(plan.growth_s_per_rev, 2)} s</dd>
      <dt>${esc(t("leop.windows.copies"))}</dt><dd class="num">${esc(String(plan.copies ?? "—"))}</dd>
      <dt>${esc(t("leop.windows.count"))}</dt><dd class="num">${windows.length}</dd>
    </dl>
    ${plan.capped ? `<p class="wf-note" id="leop-capped">${esc(t("leop.windows.capped"))}</p>` : ""}
    ${notes ? `<div class="wf-warnings" id="leop-notes"><p>${esc(t("leop.windows.notes"))}</p><ul translate="no">${
    notes}</ul></div>` : ""}
    ${windows.length ? `<div class="gantt-frame leop-chart-frame" id="leop-chart"></div>
      <p class="muted wf-note-small">${esc(t("leop.windows.chart_note"))}</p>` : ""}
    <div id="leop-window-tables"></div>`;
  if (!windows.length) {
    visit.el("leop-window-tables").innerHTML = `<p class="muted" id="leop-windows-empty">${esc(t("leop.windows.empty"))}</p>`;
    return;
  }
  drawChart(visit, plan, stations);
  visit.el("leop-window-tables").innerHTML = stations.map((station) => {
    const rows = windows.filter((w) => w.station === station);
    return `<h3 translate="no">${esc(station)}</h3>${tableHtml(t("leop.windows.caption", { n: rows.length }), [
      { label: t("leop.windows.col.earliest_aos") }, { label: t("leop.windows.col.aos") }, { label: t("leop.windows.col.tca") },
      { label: t("leop.windows.col.los") }, { label: t("leop.windows.col.latest_los") },
      { label: t("leop.windows.col.width"), num: true }, { label: t("leop.windows.col.uncertainty"), num: true },
      { label: t("leop.windows.col.copies"), num: true }, { label: t("leop.windows.col.elevation"), num: true }],
    rows.map((w) => ({
      attrs: ` class="leop-window-row" data-station="${esc(station)}" data-earliest-aos="${esc(w.earliest_aos)}"`,
      cells: [when(w.earliest_aos), ...[w.aos, w.tca, w.los, w.latest_los].map((text) => sameDay(text, w.earliest_aos)),
        esc(t("leop.minutes", { n: Math.round(w.width_s / 6) / 10 })), `± ${num(w.uncertainty_s, 0)} s`,
        `${num(100 * w.copies_in_view, 0)} %`,
        `${w.max_elevation_deg == null ? "—" : `${num(w.max_elevation_deg, 1)}°`} (${num(w.best_max_elevation_deg, 1)}°)`],
    })), `class="wf-table leop-windows-table" data-station="${esc(station)}"`)}`;
  }).join("");
}

/** A time of the same window: its time of day alone when on the UTC day of `first`, else in full. */
function sameDay(text, first) {
  if (!text) return "—";
  const full = utcText(new Date(text));
  return full.slice(0, 10) === utcText(new Date(first)).slice(0, 10)
    ? `<span translate="no" class="when" title="${esc(full)}">${esc(full.slice(11, 19))}</span>` : when(text);
}

/** The windows as bars: per station, the uncertainty window (light) with the nominal pass inside (dark). */
function drawChart(visit, plan, stations) {
  const holder = visit.el("leop-chart");
  const start = new Date(plan.start);
  const end = new Date(plan.end);
  const available = Math.max(240, holder.clientWidth || 960);
  const labelW = available < 600 ? CHART.phoneLabelW : CHART.labelW;
  const hours = Math.max(1, (end - start) / HOUR_MS);
  const width = Math.max(available - labelW - 2, Math.ceil(hours * CHART.pxPerHour) + CHART.rightPad);
  const height = CHART.axisH + stations.length * CHART.rowH + 6;
  const x = d3.scaleUtc().domain([start, end]).range([10, width - CHART.rightPad]);
  const y = new Map(stations.map((s, i) => [s, CHART.axisH + i * CHART.rowH]));
  holder.replaceChildren();
  const frame = d3.select(holder);
  const labels = frame.append("svg").attr("class", "gantt-labels").attr("width", labelW).attr("height", height)
    .attr("viewBox", `0 0 ${labelW} ${height}`).attr("aria-hidden", "true");
  const maxChars = Math.floor((labelW - 8) / 6.6);
  labels.append("g").attr("translate", "no").selectAll("text").data(stations).join("text").attr("class", "row-label")
    .attr("x", 4).attr("y", (s) => y.get(s) + CHART.rowH / 2 + 4)
    .text((s) => (s.length > maxChars ? `${s.slice(0, maxChars - 1)}…` : s))
    .append("title").text((s) => s);
  const scroller = frame.append("div").attr("class", "leop-chart-scroll");
  const svg = scroller.append("svg").attr("class", "gantt leop-chart").attr("width", width).attr("height", height)
    .attr("viewBox", `0 0 ${width} ${height}`).attr("role", "img")
    .attr("aria-label", t("leop.windows.chart_label", { n: plan.windows.length, stations: stations.length }));
  svg.append("g").selectAll("rect").data(stations).join("rect").attr("class", "row-bg")
    .attr("x", 0).attr("width", width).attr("y", (s) => y.get(s) + 2).attr("height", CHART.rowH - 4);
  const every = [1, 2, 3, 6, 12, 24].find((h) => h * ((width - CHART.rightPad) / hours) >= 64) ?? 24;
  const axis = d3.axisTop(x).ticks(d3.utcHour.every(every)).tickFormat((d) => (d.getUTCHours() === 0 && d.getUTCMinutes() === 0
    ? d3.utcFormat("%m-%d")(d) : d3.utcFormat("%H:%M")(d)));
  svg.append("g").attr("class", "axis").attr("translate", "no").attr("transform", `translate(0,${CHART.axisH - 4})`)
    .call(axis);
  const bars = svg.append("g");
  const clampX = (text) => x(Math.min(end, Math.max(start, new Date(text))));
  const windows = plan.windows;
  bars.selectAll("rect.leop-band").data(windows).join("rect").attr("class", "leop-band")
    .attr("x", (w) => clampX(w.earliest_aos)).attr("width", (w) => Math.max(2, clampX(w.latest_los) - clampX(w.earliest_aos)))
    .attr("y", (w) => y.get(w.station) + 4).attr("height", CHART.rowH - 8)
    .append("title").text((w) => `${w.station}: ${utcText(new Date(w.earliest_aos))} – ${
      utcText(new Date(w.latest_los)).slice(11)} (± ${Math.round(w.uncertainty_s)} s)`);
  const nominal = windows.filter((w) => w.aos && w.los);
  bars.selectAll("rect.leop-nominal").data(nominal).join("rect").attr("class", "leop-nominal")
    .attr("x", (w) => clampX(w.aos)).attr("width", (w) => Math.max(2, clampX(w.los) - clampX(w.aos)))
    .attr("y", (w) => y.get(w.station) + 8).attr("height", CHART.rowH - 16)
    .append("title").text((w) => `${w.station}: AOS ${utcText(new Date(w.aos))} – LOS ${utcText(new Date(w.los)).slice(11)}`);
  bars.selectAll("line.leop-tca").data(nominal.filter((w) => w.tca)).join("line").attr("class", "leop-tca")
    .attr("x1", (w) => clampX(w.tca)).attr("x2", (w) => clampX(w.tca))
    .attr("y1", (w) => y.get(w.station) + 4).attr("y2", (w) => y.get(w.station) + CHART.rowH - 4);
}

// ---------------------------------------------------------------------------------------------
// Identification and fit
// ---------------------------------------------------------------------------------------------

function identifyFormHtml() {
  return `<form id="leop-identify-form" class="wf-form leop-form" novalidate>
    <p class="leop-wide"><label for="leop-candidates">${esc(t("leop.identify.candidates"))}</label>
      <textarea id="leop-candidates" name="candidates_text" rows="5" spellcheck="false" autocomplete="off"
        aria-describedby="leop-candidates-hint"></textarea>
      <span class="muted wf-hint" id="leop-candidates-hint">${esc(t("leop.identify.candidates_hint"))}</span></p>
    <p><label for="leop-launch">${esc(t("leop.identify.launch"))}</label>
      <input id="leop-launch" name="launch" type="text" placeholder="2025-123" maxlength="12" autocomplete="off"
        spellcheck="false" aria-describedby="leop-launch-hint">
      <span class="muted wf-hint" id="leop-launch-hint">${esc(t("leop.identify.launch_hint"))}</span></p>
    <p><label for="leop-doppler">${esc(t("leop.identify.doppler"))}</label>
      <input id="leop-doppler" name="doppler" type="file" multiple accept=".txt,.dat,.csv,text/plain,text/csv"
        aria-describedby="leop-doppler-hint">
      <span class="muted wf-hint" id="leop-doppler-hint">${tHtml("leop.identify.doppler_hint", {
    strf: "STRF", columns: "MJD frequency_Hz flux site_id" })}</span></p>
    <p class="leop-wide"><label for="leop-strf-sites">${tHtml("leop.identify.sites", { strf: "STRF" })}</label>
      <textarea id="leop-strf-sites" name="strf_sites" rows="2" spellcheck="false" autocomplete="off"
        placeholder="4171 = daejeon-1" aria-describedby="leop-strf-sites-hint"></textarea>
      <span class="muted wf-hint" id="leop-strf-sites-hint">${esc(t("leop.identify.sites_hint"))}</span></p>
    <p class="wf-actions"><button type="submit" class="primary" id="leop-identify">${esc(t("leop.identify.run"))}</button></p>
    <p role="alert" class="form-error" id="leop-identify-error" hidden></p>
    <p role="status" class="wf-status" id="leop-identify-status"></p>
  </form>`;
}

/** Read the Doppler files chosen ({name, text} each), or throw a translated Error naming the file. */
async function readDoppler(visit) {
  const files = [...(visit.el("leop-doppler")?.files || [])];
  const read = [];
  for (const file of files) {
    if (file.size > MAX_FILE_BYTES) throw new Error(t("leop.error.file_size", { name: file.name }));
    read.push({ name: file.name, text: await file.text() });
  }
  return read;
}

/** The STRF site mapping typed one a line ("4171 = daejeon-1"): {site: station}, or {error}. */
function readSites(text) {
  const sites = {};
  const lines = String(text || "").split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  for (const line of lines) {
    const match = /^(\d{1,6})\s*(?:[=:,]\s*|\s+)(.+)$/.exec(line);
    if (!match) return { error: t("leop.error.sites", { line }) };
    sites[match[1]] = match[2].trim();
  }
  return { sites };
}

/** The evidence both identify and fit send: candidates, Doppler files, site mapping; or {error}. */
async function readEvidence(visit) {
  const sites = readSites(visit.el("leop-strf-sites")?.value);
  if (sites.error) return { error: sites.error };
  let doppler;
  try {
    doppler = await readDoppler(visit);
  } catch (error) {
    return { error: error.message };
  }
  const candidates = visit.el("leop-candidates")?.value ?? "";
  return { candidates_text: candidates.trim() ? candidates : null, doppler, strf_sites: sites.sites };
}

async function identify(ctx, visit, campaign) {
  const box = visit.el("leop-identify-error");
  const status = visit.el("leop-identify-status");
  showFormError(box, null);
  status.textContent = "";
  const evidence = await readEvidence(visit);
  if (!visit.live) return;
  if (evidence.error) {
    showFormError(box, evidence.error);
    return;
  }
  const launch = visit.el("leop-launch").value.trim();
  if (Boolean(launch) === Boolean(evidence.candidates_text)) {
    showFormError(box, t("leop.error.candidates"));
    return;
  }
  if (launch && !/^\d{4}-\d{3}$/.test(launch)) {
    showFormError(box, t("leop.error.launch"));
    return;
  }
  const body = { candidates_text: evidence.candidates_text, launch: launch || null, doppler: evidence.doppler,
    strf_sites: evidence.strf_sites };
  const button = visit.el("leop-identify");
  button.disabled = true;
  status.textContent = t("leop.identify.running");
  let answer;
  try {
    answer = await send("POST", `/leop/campaigns/${campaign.id}/identify`, body);
  } catch (error) {
    if (!visit.live) return;
    button.disabled = false;
    status.textContent = "";
    if (!(error instanceof ApiError) || error.status === 401) throw error;
    showFormError(box, t("leop.error.identify"), error);
    return;
  }
  if (!visit.live) return;
  button.disabled = false;
  status.textContent = t("leop.identify.done");
  campaign.identification = answer;
  drawIdentification(visit, answer);
  drawFitForm(ctx, visit, campaign, answer);
}

/** The verdict in the language shown, from the ranking (the API's own sentence is quoted below it). */
function verdictHtml(ident) {
  const ranking = ident.ranking || [];
  const n = ident.receptions ?? 0;
  if (!n && !ident.doppler_samples) return esc(t("leop.verdict.no_evidence", { n: ranking.length }));
  if (!ranking.length) return esc(t("leop.verdict.no_candidates"));
  const part = (c) => {
    const who = `${c.name} (${c.norad_id})`;
    const receptions = n ? tHtml("leop.verdict.explains", { who, k: c.consistent, n }) : tHtml("leop.verdict.who", { who });
    return c.doppler_rms_hz == null ? receptions : `${receptions} ${tHtml("leop.verdict.doppler", {
      rms: numberText(c.doppler_rms_hz, 1) })}`;
  };
  const next = ranking.length > 1 ? ` ${tHtml("leop.verdict.next", { next: { html: part(ranking[1]) } })}` : "";
  return `${part(ranking[0])}.${next}`;
}

function drawIdentification(visit, ident) {
  const holder = visit.el("leop-identification");
  if (!ident) {
    holder.innerHTML = `<p class="muted" id="leop-identification-none">${esc(t("leop.identify.none_yet"))}</p>`;
    return;
  }
  const confidence = CONFIDENCES.includes(ident.confidence) ? ident.confidence : "none";
  const ranking = ident.ranking || [];
  const n = ident.receptions ?? 0;
  const rows = ranking.map((c, i) => ({
    attrs: ` class="leop-rank-row${i === 0 ? " best" : ""}" data-norad-id="${c.norad_id}" data-consistent="${
      c.consistent}" data-receptions="${c.receptions}"`,
    cells: [String(i + 1), data(String(c.norad_id)), data(c.name), data(c.object_id || "—"),
      `${c.consistent}/${c.receptions}`, num(c.doppler_rms_hz, 1),
      c.rest_frequency_hz == null ? "—" : `${numberText(c.rest_frequency_hz / 1e6, 6)} MHz`,
      String(c.doppler_samples ?? 0)],
  }));
  const outliers = (ident.outliers || []).map((o) => `<li>${data(`${o.station} · ${utcText(new Date(o.received_at))} · ${
    numberText(o.frequency_hz, 1)} Hz (${numberText(o.residual_hz, 1)} Hz)`)}</li>`).join("");
  holder.innerHTML = `<div class="leop-verdict confidence-${confidence}" id="leop-verdict" data-confidence="${confidence}">
      <p class="leop-confidence">${esc(t("leop.confidence.label"))} <strong id="leop-confidence">${
  esc(t(`leop.confidence.${confidence}`))}</strong></p>
      <p class="leop-verdict-text" id="leop-verdict-text">${verdictHtml(ident)}</p>
      ${ident.verdict ? `<p class="muted leop-verdict-api">${esc(t("leop.verdict.api"))} <q translate="no" id="leop-verdict-api">${
    esc(ident.verdict)}</q></p>` : ""}
    </div>
    <dl class="facts" id="leop-evidence">
      ${ident.launch ? `<dt>${esc(t("leop.identify.launch"))}</dt><dd>${data(ident.launch)}</dd>` : ""}
      <dt>${esc(t("leop.identify.receptions"))}</dt><dd class="num" id="leop-receptions">${n}</dd>
      ${(ident.stations || []).length ? `<dt>${esc(t("leop.identify.stations"))}</dt><dd>${data(ident.stations.join(", "))}</dd>`
    : ""}
      <dt>${esc(t("leop.identify.doppler_samples"))}</dt><dd class="num">${ident.doppler_samples ?? 0}</dd>
      <dt>${esc(t("leop.identify.gaps"))}</dt><dd class="num">${ident.doppler_gaps ?? 0}</dd>
    </dl>
    ${ranking.length ? tableHtml(t("leop.identify.caption", { n: ranking.length }), [
    { label: t("leop.rank.col.rank"), num: true }, { label: t("leop.rank.col.norad") }, { label: t("leop.rank.col.name") },
    { label: t("leop.rank.col.object") }, { label: t("leop.rank.col.explained"), num: true },
    { label: t("leop.rank.col.rms"), num: true }, { label: t("leop.rank.col.rest"), num: true },
    { label: t("leop.rank.col.samples"), num: true }], rows, 'id="leop-ranking" class="wf-table"') : ""}
    ${outliers ? `<h3>${esc(t("leop.identify.outliers", { n: ident.outliers.length }))}</h3><ul id="leop-outliers">${
    outliers}</ul>` : ""}`;
}

function drawFitForm(ctx, visit, campaign, ident) {
  const form = visit.el("leop-fit-form");
  if (!form) return;
  const ranking = ident?.ranking || [];
  const own = ctx.satellites.get(campaign.satellite_id);
  const choice = ranking.length
    ? `<select id="leop-fit-object" name="norad_id">${ranking.map((c, i) => `<option value="${c.norad_id}"${
      i === 0 ? " selected" : ""}>${esc(`${c.name} (${c.norad_id}) — ${c.consistent}/${c.receptions}`)}</option>`).join("")}
      </select>`
    : `<input id="leop-fit-object" name="norad_id" type="number" min="1" step="1" value="${esc(own?.norad_id ?? "")}">`;
  form.innerHTML = `<p><label for="leop-fit-object">${esc(t("leop.fit.object"))}</label>${choice}</p>
    <p class="leop-check"><label><input type="checkbox" id="leop-fit-bstar" name="fit_bstar"> ${
  esc(t("leop.fit.bstar"))}</label></p>
    <p class="muted wf-hint leop-wide">${esc(t("leop.fit.evidence_note"))}</p>
    <p class="wf-actions"><button type="submit" class="primary" id="leop-fit">${esc(t("leop.fit.run"))}</button></p>
    <p role="alert" class="form-error" id="leop-fit-error" hidden></p>
    <p role="status" class="wf-status" id="leop-fit-status"></p>`;
}

async function fit(visit, campaign) {
  const box = visit.el("leop-fit-error");
  const status = visit.el("leop-fit-status");
  showFormError(box, null);
  status.textContent = "";
  const norad = Number(visit.el("leop-fit-object").value);
  if (!Number.isInteger(norad) || norad <= 0) {
    showFormError(box, t("leop.error.fit_object"));
    return;
  }
  const evidence = visit.el("leop-identify-form") ? await readEvidence(visit)
    : { candidates_text: null, doppler: [], strf_sites: {} };
  if (!visit.live) return;
  if (evidence.error) {
    showFormError(box, evidence.error);
    return;
  }
  const body = { norad_id: norad, candidates_text: evidence.candidates_text, doppler: evidence.doppler,
    strf_sites: evidence.strf_sites, fit_bstar: visit.el("leop-fit-bstar").checked, store: true };
  const button = visit.el("leop-fit");
  button.disabled = true;
  status.textContent = t("leop.fit.running");
  let answer;
  try {
    answer = await send("POST", `/leop/campaigns/${campaign.id}/fit`, body);
  } catch (error) {
    if (!visit.live) return;
    button.disabled = false;
    status.textContent = "";
    if (!(error instanceof ApiError) || error.status === 401) throw error;
    showFormError(box, t("leop.error.fit"), error);
    return;
  }
  if (!visit.live) return;
  button.disabled = false;
  status.textContent = "";
  drawFit(visit, answer);
}

function residualCells(r) {
  return [`${r.explained}/${r.receptions}`, `${num(r.shortfall_rms_deg, 3)}°`, num(r.doppler_rms_hz, 1),
    String(r.doppler_samples ?? 0), String(r.doppler_outliers ?? 0),
    r.rest_frequency_hz == null ? "—" : `${numberText(r.rest_frequency_hz / 1e6, 6)} MHz`];
}

function drawFit(visit, answer) {
  const holder = visit.el("leop-fit-result");
  const columns = [{ label: "" }, { label: t("leop.fit.col.explained"), num: true }, { label: t("leop.fit.col.shortfall"), num: true },
    { label: t("leop.rank.col.rms"), num: true }, { label: t("leop.rank.col.samples"), num: true },
    { label: t("leop.fit.col.outliers"), num: true }, { label: t("leop.rank.col.rest"), num: true }];
  const stored = answer.element_set_id != null
    ? `<p class="wf-status" id="leop-fit-stored" data-element-set-id="${answer.element_set_id}">${
      esc(t("leop.fit.stored", { id: String(answer.element_set_id) }))}</p>`
    : `<p class="muted" id="leop-fit-not-stored">${esc(t("leop.fit.not_stored"))}</p>`;
  holder.innerHTML = `<div id="leop-fit-answer" data-norad-id="${answer.norad_id}" data-converged="${Boolean(answer.converged)}">
    <h3>${esc(t("leop.fit.result"))} ${data(`${answer.name} (${answer.norad_id})`)}</h3>
    ${stored}
    ${tableHtml(t("leop.fit.caption"), columns, [
    { attrs: ' class="leop-fit-before"', cells: [esc(t("leop.fit.before")), ...residualCells(answer.before)] },
    { attrs: ' class="leop-fit-after"', cells: [esc(t("leop.fit.after")), ...residualCells(answer.after)] }],
  'id="leop-fit-residuals" class="wf-table"')}
    <dl class="facts">
      <dt>${esc(t("leop.fit.shift"))}</dt><dd class="num">${num(answer.start_shift_s, 1)} s</dd>
      <dt>${esc(t("leop.fit.delta_m"))}</dt><dd class="num">${num(answer.delta_mean_anomaly_deg, 4)}°</dd>
      <dt>${esc(t("leop.fit.delta_n"))}</dt><dd class="num">${num(answer.delta_mean_motion_rev_day, 8)}</dd>
      <dt>${esc(t("leop.fit.bstar_value"))}</dt><dd class="num">${data(answer.bstar == null ? "—" : Number(answer.bstar).toExponential(4))}</dd>
      <dt>${esc(t("leop.fit.iterations"))}</dt><dd class="num">${esc(String(answer.iterations ?? "—"))}</dd>
      <dt>${esc(t("leop.fit.converged"))}</dt><dd>${esc(t(answer.converged ? "leop.yes" : "leop.no"))}</dd>
    </dl>
  </div>`;
}
